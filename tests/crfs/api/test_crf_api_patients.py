"""Patients through the API: scoped list with filters and pagination, enrolment, detail, withdrawal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registry.patients.models import Patient
from tests.crfs.api.conftest import create_data
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def patients(site_a, site_b):
    a1, a2 = PatientFactory(site=site_a), PatientFactory(site=site_a)
    Patient.objects.filter(pk=a2.pk).update(withdrawn=True, withdrawal_date=timezone.localdate(),
                                            withdrawal_reason="Consent withdrawn")
    return {"a1": a1, "a2": a2, "b1": PatientFactory(site=site_b)}


def test_list_three_personas(patients, api_client, coordinator_a, coordinator_b, monitor_a, data_manager, outsider,
                             statistician, pathologist):
    a, b = [patients["a1"].pk, patients["a2"].pk], [patients["b1"].pk]
    assert ids(api_client(coordinator_a).get(URL)) == a
    assert ids(api_client(monitor_a).get(URL)) == a
    assert ids(api_client(coordinator_b).get(URL)) == b
    assert sorted(ids(api_client(data_manager).get(URL))) == sorted(a + b)
    for nobody in (outsider, statistician, pathologist):
        assert ids(api_client(nobody).get(URL)) == []
    assert api_client().get(URL).status_code == 401


def test_list_filters_and_pagination(patients, api_client, coordinator_a, data_manager, site_a, site_b):
    client = api_client(coordinator_a)
    assert ids(client.get(URL, {"withdrawn": "true"})) == [patients["a2"].pk]
    assert ids(client.get(URL, {"withdrawn": "false"})) == [patients["a1"].pk]
    assert ids(client.get(URL, {"study_id": patients["a2"].study_id[-5:-1]})) == [patients["a2"].pk]
    assert ids(client.get(URL, {"site": site_a.pk})) == [patients["a1"].pk, patients["a2"].pk]
    # Another site's id or code filters to nothing: it never widens the scope.
    assert ids(client.get(URL, {"site": site_b.pk})) == []
    assert ids(client.get(URL, {"site_code": "AUH"})) == []
    assert ids(api_client(data_manager).get(URL, {"site_code": "auh"})) == [patients["b1"].pk]
    page = client.get(URL, {"page_size": 1}).json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (2, 1, True)
    bad = client.get(URL, {"site": "one"})
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["site"])
    assert client.get(URL, {"page": 99}).status_code == 404


def test_enrol_returns_the_study_id_and_the_enrolment_draft(api_client, coordinator_a, site_a):
    response = api_client(coordinator_a).post(URL, create_data("enrolment"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["study_id"].startswith("NO-OUS-0001")
    assert body["site"] == site_a.pk
    enrolment = next(f for f in body["forms"] if f["family"] == "enrolment")
    assert (enrolment["count"], enrolment["statuses"]["draft"]) == (1, 1)
    explicit = api_client(coordinator_a).post(URL, {**create_data("enrolment"), "site": site_a.pk}, format="json")
    assert explicit.json()["study_id"].startswith("NO-OUS-0002")


def test_enrol_refusals_create_nothing(api_client, site_a, coordinator_b, monitor_a, outsider, coordinator_a):
    data = create_data("enrolment")
    other_site = api_client(coordinator_b).post(URL, {**data, "site": site_a.pk}, format="json")
    assert (other_site.status_code, list(other_site.json()["errors"])) == (400, ["site"])
    for body in ({**data, "site": site_a.pk}, data):
        response = api_client(outsider).post(URL, body, format="json")
        assert (response.status_code, list(response.json()["errors"])) == (400, ["site"])
    monitor = api_client(monitor_a).post(URL, {**data, "site": site_a.pk}, format="json")
    assert (monitor.status_code, monitor.json()["rule"]) == (403, "role")
    bad_choice = api_client(coordinator_a).post(URL, {**data, "consent_obtained": "maybe"}, format="json")
    assert (bad_choice.status_code, list(bad_choice.json()["errors"])) == (400, ["consent_obtained"])
    future = str(timezone.localdate() + timedelta(days=30))
    hard = api_client(coordinator_a).post(URL, {**data, "registration_date": future}, format="json")
    assert (hard.status_code, hard.json()["rule"]) == (400, "EC01")
    assert "registration_date" in hard.json()["errors"]
    assert Patient.objects.count() == 0


def test_detail_three_personas(casebook, api_client, coordinator_a, coordinator_b, outsider, statistician):
    patient = casebook["patient"]
    response = api_client(coordinator_a).get(f"{URL}{patient.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["study_id"] == patient.study_id
    summary = {f["family"]: f for f in body["forms"]}
    assert set(summary) == {"enrolment", "baseline", "tumour", "pathology", "labs", "treatment", "other_treatment",
                            "treatment_status", "response", "followup"}
    assert summary["response"]["items"][0]["parent_id"] == casebook["treatment"].pk
    assert summary["pathology"]["items"] == [{"id": casebook["pathology"].pk, "status": "draft", "version": 1,
                                              "parent_id": None}]
    for user in (coordinator_b, outsider, statistician):
        assert api_client(user).get(f"{URL}{patient.pk}/").status_code == 404
    assert api_client(coordinator_a).get(f"{URL}999999999/").status_code == 404


def test_withdraw(casebook, api_client, coordinator_a, coordinator_b, outsider, monitor_a):
    patient = casebook["patient"]
    url = f"{URL}{patient.pk}/withdraw/"
    today = str(timezone.localdate())
    for user, code in ((coordinator_b, 404), (outsider, 404), (monitor_a, 403)):
        assert api_client(user).post(url, {"withdrawal_date": today, "reason": "x"}, format="json").status_code == code
    missing = api_client(coordinator_a).post(url, {"withdrawal_date": today}, format="json")
    assert (missing.status_code, list(missing.json()["errors"])) == (400, ["reason"])
    bad_date = api_client(coordinator_a).post(url, {"withdrawal_date": "soon", "reason": "x"}, format="json")
    assert (bad_date.status_code, list(bad_date.json()["errors"])) == (400, ["withdrawal_date"])
    patient.refresh_from_db()
    assert not patient.withdrawn
    done = api_client(coordinator_a).post(url, {"withdrawal_date": today}, format="json",
                                          HTTP_X_CHANGE_REASON="Patient withdrew consent")
    assert (done.status_code, done.json()["withdrawn"]) == (200, True)
    event = Patient.pgh_event_model.objects.filter(pgh_obj_id=patient.pk).order_by("pgh_id").last()
    assert event.pgh_context.metadata["reason"] == "Patient withdrew consent"
    again = api_client(coordinator_a).post(url, {"withdrawal_date": today, "reason": "x"}, format="json")
    assert again.status_code == 409
