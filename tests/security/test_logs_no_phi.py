"""No patient data or secrets in the logs: the app is driven through failed logins, validation errors, API
errors, server errors whose database error echoes the input, and a failing Celery task, with every logger at
DEBUG writing through the handlers settings.LOGGING configures; the output must not contain free text, dates
of birth, passwords, tokens, session ids or the SECRET_KEY — and must still say what failed."""

import io
import logging

import pytest
from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from registry.crfs.web import views
from tests.crfs.web.test_web_forms import post_data
from tests.factories.crfs import complete_casebook
from tests.factories.patients import PatientFactory
from tests.factories.sites import PASSWORD

pytestmark = pytest.mark.django_db

FREE_TEXT = "Mrs Ingrid Johansen, lives at Storgata 12, husband Per"
DOB = "1957-03-14"
WRONG_PASSWORD = "Wrong-Horse-Stapler-77"  # noqa: S105 - a typed (wrong) password that must not be logged


@pytest.fixture
def logs():
    """Everything the configured handlers write, with all loggers at DEBUG."""
    buffer = io.StringIO()
    handlers = [h for h in logging.getLogger().handlers + logging.getLogger("django").handlers
                if h.get_name() == "console"]
    assert handlers, "settings.LOGGING's console handler is not installed"
    saved = [(h, h.setStream(buffer)) for h in handlers]
    # factory_boy (test tooling, not the app) logs the fixtures' passwords at DEBUG: kept at its own level
    quiet = logging.getLogger("factory")
    loggers = [logging.getLogger(), logging.getLogger("django"), quiet]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO if logger is quiet else logging.DEBUG)
    yield buffer
    for handler, stream in saved:
        handler.setStream(stream)
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def secrets_and_phi(*extra: str) -> list[str]:
    return [FREE_TEXT, "Storgata", DOB, WRONG_PASSWORD, PASSWORD, settings.SECRET_KEY, *extra]


def assert_clean(text: str, *extra: str) -> None:
    leaked = [value for value in secrets_and_phi(*extra) if value and value in text]
    assert leaked == [], f"leaked into the logs: {leaked}\n{text}"


def db_error_with(value: str):
    """A genuine PostgreSQL error whose message echoes `value` (as a cast of user input would)."""

    def fail(*args, **kwargs):
        with transaction.atomic(), connection.cursor() as cursor:  # the savepoint keeps the test's transaction
            cursor.execute("SELECT %s::date", [value])

    return fail


def test_failed_logins_and_lockout_log_no_password(logs, coordinator_a):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post(reverse("login"), {"username": coordinator_a.username, "password": WRONG_PASSWORD})
    assert client.post(reverse("login"), {"username": coordinator_a.username, "password": PASSWORD}).status_code \
        in (403, 429, 200)
    assert_clean(logs.getvalue())


def test_web_validation_error_and_server_error_log_no_patient_data(logs, site_a, coordinator_a, monkeypatch):
    baseline = complete_casebook(PatientFactory(site=site_a), user=coordinator_a)["baseline"]
    client = Client(raise_request_exception=False)
    client.force_login(coordinator_a)
    url = reverse("crfs:form", args=[baseline.patient_id, "baseline", baseline.pk])
    refused = client.post(url, post_data(baseline, date_of_birth=f"{DOB} {FREE_TEXT}", action="draft"))
    assert refused.status_code == 422
    monkeypatch.setattr(views, "form_save", db_error_with(f"{DOB} {FREE_TEXT}"))
    crashed = client.post(url, post_data(baseline, date_of_birth=DOB, weight_kg="70", action="draft"))
    assert crashed.status_code == 500
    text = logs.getvalue()
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert_clean(text, session)
    # ...and still says what failed, where.
    assert "Internal Server Error: " + url in text
    assert "SQLSTATE 22007" in text and "message withheld" in text and "views.py" in text


def test_api_errors_log_no_patient_data_or_token(logs, site_a, coordinator_a, api_client, monkeypatch):
    from registry.crfs import services

    forms = complete_casebook(PatientFactory(site=site_a), user=coordinator_a)
    pathology = forms["pathology"]
    client = api_client(coordinator_a)
    token = Token.objects.get(user=coordinator_a).key
    url = f"/api/v1/patients/{pathology.patient_id}/pathology/{pathology.pk}/"
    bad = client.patch(url, {"report_text": FREE_TEXT, "specimen_date": DOB + "x"}, format="json",
                       HTTP_IF_MATCH=f'"{pathology.version}"')
    assert bad.status_code == 400
    stale = client.patch(url, {"report_text": FREE_TEXT}, format="json", HTTP_IF_MATCH='"999"')
    assert stale.status_code == 412
    monkeypatch.setattr(services, "form_update", db_error_with(FREE_TEXT))
    client.raise_request_exception = False
    crashed = client.patch(url, {"report_text": FREE_TEXT}, format="json", HTTP_IF_MATCH=f'"{pathology.version}"')
    assert crashed.status_code == 500
    text = logs.getvalue()
    assert_clean(text, token)
    assert "Internal Server Error: " + url in text and "SQLSTATE 22007" in text


@shared_task(name="tests.leaky_task")
def leaky_task(form_id: int) -> None:
    """Takes an id, as every registry task does; the database error it meets echoes a patient's text."""
    db_error_with(FREE_TEXT)()


def test_failing_celery_task_logs_no_patient_data(logs):
    from django.db import DatabaseError

    result = leaky_task.apply(args=[42], task_id="leak-2")
    assert result.failed() and isinstance(result.result, DatabaseError)
    text = logs.getvalue()
    assert_clean(text)
    assert "leak-2" in text and "SQLSTATE 22007" in text
