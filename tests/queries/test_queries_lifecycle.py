"""The query lifecycle: open → answered → closed and reopen; who may do each step; structured answers;
every change audited."""

import pytest

from registry.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.crfs.models import FormStatus
from registry.queries.models import DataQuery, MessageKind, QueryStatus
from registry.queries.services import (
    query_answer,
    query_close,
    query_comment,
    query_correct,
    query_raise,
    query_reopen,
)
from tests.factories.crfs import complete_casebook
from tests.factories.queries import manual_query

pytestmark = pytest.mark.django_db


@pytest.fixture
def casebook(site_a, coordinator_a):
    return complete_casebook(site=site_a, user=coordinator_a)


@pytest.fixture
def query(casebook, monitor_a):
    return manual_query(casebook["pathology"], user=monitor_a, field="ki67_percent", text="Ki-67 80 or 8?")


def test_full_cycle_with_thread(query, coordinator_a, monitor_a):
    assert query.status == QueryStatus.OPEN and query.raised_by == monitor_a
    query = query_answer(query, user=coordinator_a, text="80 % per report", reason="confirmed_as_is")
    assert (query.status, query.response_reason, query.answered_by) == (
        QueryStatus.ANSWERED, "confirmed_as_is", coordinator_a)
    first_answer = query.first_answered_at
    query = query_reopen(query, user=monitor_a, text="Report says 8 %")
    assert query.status == QueryStatus.OPEN and query.reopen_count == 1 and query.response_reason == ""
    query = query_answer(query, user=coordinator_a, text="Not in the chart", reason="not_available")
    assert query.first_answered_at == first_answer  # time-to-answer counts the first answer
    query = query_close(query, user=monitor_a, text="OK")
    assert query.status == QueryStatus.CLOSED and query.closed_by == monitor_a and query.closed_at
    query = query_reopen(query, user=monitor_a, text="New source document arrived")
    assert query.status == QueryStatus.OPEN and query.closed_at is None and query.reopen_count == 2
    kinds = list(query.messages.order_by("pk").values_list("kind", flat=True))
    assert kinds == [MessageKind.QUESTION, MessageKind.ANSWER, MessageKind.REOPEN, MessageKind.ANSWER,
                     MessageKind.CLOSE, MessageKind.REOPEN]


def test_only_monitors_and_data_managers_raise_close_and_reopen(casebook, query, coordinator_a, investigator_a,
                                                                 data_manager, monitor_a):
    with pytest.raises(PermissionDenied):
        manual_query(casebook["baseline"], user=coordinator_a, field="weight_kg")
    with pytest.raises(PermissionDenied):
        query_close(query, user=coordinator_a)
    with pytest.raises(PermissionDenied):
        query_close(query, user=investigator_a)
    dm_query = manual_query(casebook["baseline"], user=data_manager, field="weight_kg")
    query_close(dm_query, user=data_manager, text="raised by mistake")
    with pytest.raises(PermissionDenied):
        query_reopen(dm_query, user=coordinator_a, text="please")
    query_reopen(dm_query, user=monitor_a, text="still unclear")


def test_only_site_staff_answer(query, monitor_a, data_manager, coordinator_b, investigator_a):
    for user in (monitor_a, data_manager, coordinator_b):
        with pytest.raises(PermissionDenied):
            query_answer(query, user=user, text="x", reason="corrected")
    assert query_answer(query, user=investigator_a, text="checked", reason="corrected").status == "answered"


def test_answers_need_a_reason_and_text_and_an_open_query(query, coordinator_a, monitor_a):
    with pytest.raises(ValidationFailed):
        query_answer(query, user=coordinator_a, text="x", reason="because")
    with pytest.raises(ValidationFailed):
        query_answer(query, user=coordinator_a, text="  ", reason="corrected")
    query_answer(query, user=coordinator_a, text="done", reason="corrected")
    with pytest.raises(Conflict):
        query_answer(query, user=coordinator_a, text="again", reason="corrected")
    with pytest.raises(ValidationFailed):
        query_reopen(query, user=monitor_a, text="")
    query_close(query, user=monitor_a)
    with pytest.raises(Conflict):
        query_close(query, user=monitor_a)
    with pytest.raises(Conflict):
        query_comment(query, user=coordinator_a, text="after close")


def test_raise_validates_the_target(casebook, monitor_a, monitor_a_other_patient):
    patient = casebook["patient"]
    with pytest.raises(ValidationFailed):
        query_raise(patient=patient, family_code="nope", object_id=None, field="", text="x", user=monitor_a)
    with pytest.raises(ValidationFailed):
        query_raise(patient=patient, family_code="pathology", object_id=casebook["pathology"].pk,
                    field="status", text="x", user=monitor_a)
    with pytest.raises(NotFound):  # a form of another patient
        query_raise(patient=patient, family_code="pathology", object_id=monitor_a_other_patient.pk, field="",
                    text="x", user=monitor_a)
    one = query_raise(patient=patient, family_code="baseline", object_id=None, field="", text="Whole form?",
                      user=monitor_a)
    assert one.object_id == casebook["baseline"].pk and one.field == ""


@pytest.fixture
def monitor_a_other_patient(site_a, coordinator_a):
    return complete_casebook(site=site_a, user=coordinator_a)["pathology"]


def test_correct_updates_the_form_and_answers(query, coordinator_a, casebook):
    form = casebook["pathology"]
    query = query_correct(query, user=coordinator_a, value="75", expected_version=form.version,
                          text="Typo: 75 %, not 80 %")
    form.refresh_from_db()
    assert float(form.ki67_percent) == 75.0
    assert form.version == 2 and query.status == QueryStatus.ANSWERED and query.response_reason == "corrected"
    event = type(form).pgh_event_model.objects.filter(pgh_obj_id=form.pk).order_by("pgh_id").last()
    assert event.pgh_context.metadata["reason"].startswith(f"Query Q{query.pk}:")


def test_correct_refuses_a_locked_form(query, coordinator_a, casebook, data_manager):
    from registry.crfs.services import form_lock, form_submit

    form = form_lock(form_submit(casebook["pathology"], user=coordinator_a), user=data_manager)
    with pytest.raises(Conflict):
        query_correct(query, user=coordinator_a, value="75", expected_version=form.version, text="fix")
    form.refresh_from_db()
    query.refresh_from_db()
    assert form.status == FormStatus.LOCKED and float(form.ki67_percent) == 80.0
    assert query.status == QueryStatus.OPEN


def test_every_change_is_audited_with_user_and_action(query, coordinator_a):
    query_answer(query, user=coordinator_a, text="ok", reason="confirmed_as_is")
    event = DataQuery.pgh_event_model.objects.filter(pgh_obj_id=query.pk).order_by("pgh_id").last()
    assert event.status == "answered"
    assert event.pgh_context.metadata["user"] == coordinator_a.pk
    assert event.pgh_context.metadata["action"] == "query.answer"
    assert query.messages.model.pgh_event_model.objects.filter(pgh_obj_id__in=query.messages.values("pk")).count() == 2
