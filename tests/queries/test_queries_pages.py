"""The data-quality pages: three personas, actions through the web, CSV exports, pinned query counts."""

import csv
import io

import pytest
from django.urls import reverse

from registry.crfs.models import FormStatus, LocalPathology
from registry.queries.models import CasebookSignature, DataQuery, QueryStatus
from tests.factories.crfs import complete_casebook
from tests.factories.queries import manual_query, submit_all
from tests.factories.sites import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def casebook(site_a, coordinator_a):
    return submit_all(complete_casebook(site=site_a, user=coordinator_a), coordinator_a)


@pytest.fixture
def query(casebook, monitor_a):
    return manual_query(casebook["pathology"], user=monitor_a, field="ki67_percent", text="Ki-67 80?")


def test_pages_three_personas(client, casebook, query, coordinator_a, coordinator_b, outsider):
    patient, form = casebook["patient"], casebook["pathology"]
    urls = [reverse("queries:detail", args=[query.pk]), reverse("queries:patient", args=[patient.pk]),
            reverse("queries:form", args=["pathology", form.pk])]
    client.force_login(coordinator_a)
    assert "Ki-67 80?" in client.get(reverse("queries:list")).content.decode()
    for url in urls:
        assert client.get(url).status_code == 200
    client.force_login(coordinator_b)
    assert "Ki-67 80?" not in client.get(reverse("queries:list")).content.decode()
    for url in urls:
        assert client.get(url).status_code == 404
    client.force_login(outsider)
    assert client.get(reverse("queries:list")).status_code == 403
    for url in urls:
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(reverse("queries:list")).status_code == 302


def test_list_page_query_count_is_pinned(client, casebook, monitor_a, django_assert_num_queries):
    manual_query(casebook["pathology"], user=monitor_a, field="ki67_percent")
    client.force_login(monitor_a)
    client.get(reverse("queries:list"))

    def count():
        with django_assert_num_queries(7) as captured:
            client.get(reverse("queries:list"))
        return len(captured)

    first = count()
    for field in ("specimen_date", "cell_type", "differentiation"):
        manual_query(casebook["pathology"], user=monitor_a, field=field)
    assert count() == first


def test_answer_with_correction_then_close_through_the_web(client, query, casebook, coordinator_a, monitor_a):
    form = casebook["pathology"]
    client.force_login(coordinator_a)
    page = client.get(reverse("queries:detail", args=[query.pk])).content.decode()
    assert 'id="answer-form"' in page and 'id="close-form"' not in page
    client.post(reverse("queries:answer", args=[query.pk]), {
        "reason": "corrected", "text": "Typo", "value": "75", "expected_version": form.version})
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    assert float(LocalPathology.objects.get(pk=form.pk).ki67_percent) == 75.0
    response = client.post(reverse("queries:close", args=[query.pk]), {"text": "no"}, follow=True)
    assert "does not allow" in response.content.decode()
    client.force_login(monitor_a)
    client.post(reverse("queries:close", args=[query.pk]), {"text": "Thanks"})
    assert DataQuery.objects.get(pk=query.pk).status == QueryStatus.CLOSED


def test_locked_form_refuses_correction_through_the_web(client, query, casebook, coordinator_a, data_manager):
    client.force_login(data_manager)
    client.post(reverse("queries:patient_lock", args=[casebook["patient"].pk]),
                {"reason": "Freeze", "action": "lock"})
    form = LocalPathology.objects.get(pk=casebook["pathology"].pk)
    assert form.status == FormStatus.LOCKED
    client.force_login(coordinator_a)
    page = client.get(reverse("queries:detail", args=[query.pk])).content.decode()
    assert 'name="value"' not in page  # no correction offered on a locked form
    response = client.post(reverse("queries:answer", args=[query.pk]), {
        "reason": "corrected", "text": "Typo", "value": "75", "expected_version": form.version}, follow=True)
    assert "locked" in response.content.decode()
    assert float(LocalPathology.objects.get(pk=form.pk).ki67_percent) == 80.0
    assert DataQuery.objects.get(pk=query.pk).status == QueryStatus.OPEN


def test_raise_query_page(client, casebook, monitor_a, coordinator_a):
    url = reverse("queries:raise", args=["treatment", casebook["treatment"].pk])
    client.force_login(coordinator_a)
    assert client.get(url).status_code == 403
    client.force_login(monitor_a)
    assert client.get(url + "?field=n_cycles").status_code == 200
    response = client.post(url, {"field": "n_cycles", "text": "Six cycles?"})
    query = DataQuery.objects.get(text="Six cycles?")
    assert response.url == reverse("queries:detail", args=[query.pk]) and query.raised_by == monitor_a


def test_sdv_page_verifies_fields_and_whole_form(client, casebook, monitor_a):
    line = casebook["treatment"]
    url = reverse("queries:form_verify", args=["treatment", line.pk])
    client.force_login(monitor_a)
    client.post(url, {"fields": ["n_cycles", "regimen"]})
    page = client.get(reverse("queries:form", args=["treatment", line.pk])).content.decode()
    assert page.count(">Verified</span>") == 2
    client.post(url, {"whole_form": "1", "version": line.version})
    line.refresh_from_db()
    assert line.status == FormStatus.VERIFIED


def test_sign_page_with_wrong_and_right_password(client, casebook, investigator_a):
    url = reverse("queries:patient_sign", args=[casebook["patient"].pk])
    client.force_login(investigator_a)
    response = client.post(url, {"password": "wrong", "meaning": "I approve"}, follow=True)
    assert "password is not correct" in response.content.decode()
    assert not CasebookSignature.objects.exists()
    response = client.post(url, {"password": PASSWORD, "meaning": "I approve"}, follow=True)
    assert "The casebook is signed." in response.content.decode() and ">Valid</span>" in response.content.decode()


def test_dashboard_worklist_and_csv(client, casebook, query, monitor_a, coordinator_a, data_manager):
    client.force_login(coordinator_a)
    assert client.get(reverse("queries:dashboard")).status_code == 403
    worklist = client.get(reverse("queries:worklist")).content.decode()
    assert f"Q{query.pk}" in worklist
    client.force_login(monitor_a)
    assert "Treatment lines #" in client.get(reverse("queries:worklist")).content.decode()
    client.force_login(data_manager)
    assert "All forms" in client.get(reverse("queries:dashboard")).content.decode()
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("queries:dashboard_csv")).content.decode())))
    total = next(r for r in rows if r["site"] == "OUS" and r["form_family"] == "all")
    assert total["forms"] == "9" and total["open_queries"] == "1" and total["completeness_pct"] == "100.0"
    export = client.get(reverse("queries:list_csv") + "?status=open").content.decode()
    assert export.splitlines()[0].startswith("id,site,study_id") and "Ki-67 80?" in export


def test_site_freeze_page(client, casebook, site_a, data_manager, monitor_a):
    client.force_login(monitor_a)
    client.post(reverse("queries:freezes"), {"site": site_a.pk, "reason": "x", "action": "freeze"})
    assert LocalPathology.objects.get(pk=casebook["pathology"].pk).status == FormStatus.SUBMITTED
    client.force_login(data_manager)
    client.post(reverse("queries:freezes"), {"site": site_a.pk, "reason": "Cut-off", "action": "freeze"})
    assert LocalPathology.objects.get(pk=casebook["pathology"].pk).status == FormStatus.LOCKED
    page = client.get(reverse("queries:freezes")).content.decode()
    assert "Cut-off" in page and "Active" in page


def test_pages_have_no_inline_scripts():
    from pathlib import Path

    for template in Path("templates/queries").glob("*.html"):
        text = template.read_text()
        assert "<script" not in text and "style=" not in text and "onclick" not in text, template
