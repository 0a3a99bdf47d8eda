"""Saving CRFs through the web pages: the services do the work; errors name the field and the rule; nothing
is saved on a hard error; a submitted form needs a reason; a stale save shows the conflict page with the
user's input; the audit history shows the change and its reason."""

from unittest import mock

import pytest
from django.http import QueryDict
from django.urls import reverse

from registry.crfs import services
from registry.crfs.catalogue import family
from registry.crfs.models import Baseline, Enrolment, FormStatus, ResponseEvaluation, TreatmentLine
from registry.crfs.web import views
from registry.crfs.web.forms import form_class_for, reapply_data
from registry.patients.models import Patient
from tests.factories.crfs import EnrolmentFactory, days_ago, form_data

pytestmark = pytest.mark.django_db


def post_data(form, **changes):
    """What the browser posts for the saved form (values and their "as first seen" copies), plus `changes`."""
    fam = family(_code(form))
    data = reapply_data(form_class_for(fam, creating=False), form, QueryDict(), [], patient=form.patient)
    body = {key: data.getlist(key) for key in data}
    body.update({k: v for k, v in changes.items()})
    return body


def _code(form):
    from registry.crfs.catalogue import family_of

    return family_of(form).code


def url(form, name="crfs:form"):
    return reverse(name, args=[form.patient_id, _code(form), form.pk])


def test_save_draft_calls_the_service_with_only_the_changed_field(casebook, login, coordinator_a):
    baseline = casebook["baseline"]
    client = login(coordinator_a)
    with mock.patch.object(views, "form_save", wraps=views.form_save) as save:
        response = client.post(url(baseline), post_data(baseline, weight_kg="80.5", action="draft"))
    assert response.status_code == 302
    assert response.url == url(baseline)
    kwargs = save.call_args.kwargs
    assert set(kwargs["data"]) == {"weight_kg"}
    assert kwargs["expected_version"] == baseline.version and kwargs["submit"] is False
    saved = Baseline.objects.get(pk=baseline.pk)
    assert str(saved.weight_kg) == "80.5" and saved.version == baseline.version + 1
    page = client.get(response.url).content.decode()
    assert "saved as draft" in page and "80.5" in page


def test_hard_edit_check_is_shown_next_to_the_field_with_its_rule_and_nothing_is_saved(casebook, login,
                                                                                       coordinator_a):
    line = casebook["treatment"]
    before = line.end_date
    response = login(coordinator_a).post(
        url(line), post_data(line, end_date=days_ago(190).isoformat(), action="draft"))
    assert response.status_code == 422
    html = response.content.decode()
    errors = html.split('id="errors-end_date"', 1)[1].split("</div></div>", 1)[0]
    assert "EC07: " in errors and "end_date" in errors
    current = TreatmentLine.objects.get(pk=line.pk)
    assert current.end_date == before and current.version == line.version
    # The user's input stays in the form.
    assert f'value="{days_ago(190).isoformat()}"' in html


def test_field_range_error_is_shown_and_nothing_saved(casebook, login, coordinator_a):
    baseline = casebook["baseline"]
    response = login(coordinator_a).post(url(baseline), post_data(baseline, weight_kg="500", action="draft"))
    assert response.status_code == 422
    errors = response.content.decode().split('id="errors-weight_kg"', 1)[1].split("</div></div>", 1)[0]
    assert "less than or equal to 250" in errors
    assert Baseline.objects.get(pk=baseline.pk).version == baseline.version


def test_submit_with_required_fields_missing_saves_nothing(casebook, login, coordinator_a):
    baseline = casebook["baseline"]
    response = login(coordinator_a).post(url(baseline), post_data(baseline, sex="", weight_kg="81",
                                                                  action="submit"))
    assert response.status_code == 422
    errors = response.content.decode().split('id="errors-sex"', 1)[1].split("</div></div>", 1)[0]
    assert "Required: sex is required" in errors
    current = Baseline.objects.get(pk=baseline.pk)
    assert current.status == FormStatus.DRAFT and current.sex == "male" and current.weight_kg == 74


def test_reason_is_required_after_submit_and_history_shows_change_and_reason(casebook, login, coordinator_a):
    baseline = casebook["baseline"]
    client = login(coordinator_a)
    assert client.post(url(baseline), post_data(baseline, action="submit")).status_code == 302
    baseline.refresh_from_db()
    assert baseline.status == FormStatus.SUBMITTED
    page = client.get(url(baseline)).content.decode()
    assert "Reason for change" in page and "Save changes" in page and 'value="submit"' not in page

    refused = client.post(url(baseline), post_data(baseline, weight_kg="76", reason="", action="draft"))
    assert refused.status_code == 422
    errors = refused.content.decode().split('id="errors-reason"', 1)[1].split("</div></div>", 1)[0]
    assert "Reason for change: A reason for change is required" in errors
    assert Baseline.objects.get(pk=baseline.pk).weight_kg == 74

    done = client.post(url(baseline), post_data(baseline, weight_kg="76", reason="Typo: chart says 76 kg",
                                                action="draft"))
    assert done.status_code == 302
    history = client.get(url(baseline, "crfs:form_history"))
    assert history.status_code == 200
    html = history.content.decode()
    assert "Typo: chart says 76 kg" in html
    assert "<code>weight_kg</code>" in html and "74.0" in html and "76.0" in html
    assert coordinator_a.username in html and "baseline.update" in html


def test_stale_version_shows_conflict_page_keeping_the_input_and_reapplies(casebook, login, coordinator_a,
                                                                           investigator_a):
    baseline = casebook["baseline"]
    mine = post_data(baseline, weight_kg="82", action="draft")
    # Someone else saves first.
    services.form_update(baseline, data={"height_cm": "181"}, user=investigator_a,
                         expected_version=baseline.version)
    client = login(coordinator_a)
    response = client.post(url(baseline), mine)
    assert response.status_code == 409
    html = response.content.decode()
    assert "someone else changed this form" in html
    row = html.split("conflict-table", 1)[1]
    assert "Weight (kg)" in row and "82" in row and "74.0" in row
    reapply = response.context["form"]
    assert reapply.data["version"] == str(baseline.version + 1)
    assert reapply.data["weight_kg"] == "82" and reapply.data["height_cm"] == "181.0"
    assert 'value="82"' in html
    # Nothing was saved by the stale post.
    assert Baseline.objects.get(pk=baseline.pk).weight_kg == 74

    body = {key: reapply.data.getlist(key) for key in reapply.data}
    body["action"] = "draft"
    assert client.post(url(baseline), body).status_code == 302
    saved = Baseline.objects.get(pk=baseline.pk)
    assert saved.weight_kg == 82 and saved.height_cm == 181 and saved.version == baseline.version + 2


def test_htmx_validate_returns_field_errors_with_rule_and_saves_nothing(casebook, login, coordinator_a):
    line = casebook["treatment"]
    patient = casebook["patient"]
    client = login(coordinator_a)
    new_url = reverse("crfs:form_validate_new", args=[patient.pk, "response"])
    count = ResponseEvaluation.objects.count()
    response = client.post(new_url, {"line": line.pk, "eval_date": days_ago(185).isoformat(), "method": "ct",
                                     "criteria": "recist_1_1", "overall_response": "SD"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    fragment = html.split('id="errors-eval_date"', 1)[1].split("</div></div>", 1)[0]
    assert 'hx-swap-oob="true"' in fragment and "EC08: eval_date" in fragment
    assert ResponseEvaluation.objects.count() == count

    ok = client.post(new_url, {"line": line.pk, "eval_date": days_ago(120).isoformat(), "method": "ct",
                               "criteria": "recist_1_1", "overall_response": "SD"}, HTTP_HX_REQUEST="true")
    assert "EC08: eval_date" not in ok.content.decode()
    assert ResponseEvaluation.objects.count() == count


def enrolment_post():
    """F1 as the browser posts it (booleans as the Yes/No select's values, the precision select's default)."""
    data = {k: ("true" if v is True else v) for k, v in form_data(EnrolmentFactory).items()}
    return {**data, "date_of_diagnosis_precision": "day"}


def test_enrol_creates_the_patient_and_shows_the_study_id(login, coordinator_a, site_a):
    client = login(coordinator_a)
    page = client.get(reverse("crfs:enrol")).content.decode()
    assert site_a.name in page
    data = enrolment_post()
    response = client.post(reverse("crfs:enrol"), {"site": site_a.pk, **data}, follow=True)
    patient = Patient.objects.get()
    assert response.redirect_chain[-1][0] == reverse("crfs:patient", args=[patient.pk])
    html = response.content.decode()
    assert patient.study_id in html and f"Patient enrolled with study id {patient.study_id}" in html
    assert Enrolment.objects.get(patient=patient).consent_obtained == "yes"


def test_enrol_with_a_hard_error_uses_no_study_id(login, coordinator_a, site_a):
    data = enrolment_post()
    data["registration_date"] = "2031-01-01"
    response = login(coordinator_a).post(reverse("crfs:enrol"), {"site": site_a.pk, **data})
    assert response.status_code == 422
    assert "registration_date" in response.content.decode()
    assert not Patient.objects.exists()


def test_verify_lock_and_unlock_by_role(casebook, login, coordinator_a, monitor_a, data_manager):
    baseline = casebook["baseline"]
    services.form_submit(baseline, user=coordinator_a)
    baseline.refresh_from_db()
    workflow = url(baseline, "crfs:form_workflow")

    assert login(coordinator_a).post(workflow, {"action": "verify", "version": baseline.version}).status_code == 403
    page = login(monitor_a).get(url(baseline)).content.decode()
    assert "Verify (SDV done)" in page
    assert login(monitor_a).post(workflow, {"action": "verify", "version": baseline.version}).status_code == 302
    baseline.refresh_from_db()
    assert baseline.status == FormStatus.VERIFIED

    dm = login(data_manager)
    assert dm.post(workflow, {"action": "lock", "version": baseline.version}).status_code == 302
    baseline.refresh_from_db()
    assert baseline.status == FormStatus.LOCKED
    locked_page = login(coordinator_a).get(url(baseline)).content.decode()
    assert "This form is locked" in locked_page and "Save changes" not in locked_page

    dm = login(data_manager)
    response = dm.post(workflow, {"action": "unlock", "version": baseline.version, "reason": ""}, follow=True)
    assert "Reason for change: A reason for change is required to unlock" in response.content.decode()
    dm.post(workflow, {"action": "unlock", "version": baseline.version, "reason": "Correct the weight"})
    baseline.refresh_from_db()
    assert baseline.status == FormStatus.VERIFIED
