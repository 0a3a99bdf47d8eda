"""Every CRF page for the three personas: a member of the patient's site sees it, a member of another site
and a user with no membership get 404 (the patient's existence is not revealed), anonymous users are sent to
the login page."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _pages(casebook):
    patient = casebook["patient"]
    line, baseline = casebook["treatment"], casebook["baseline"]
    return {
        "patient": reverse("crfs:patient", args=[patient.pk]),
        "form": reverse("crfs:form", args=[patient.pk, "baseline", baseline.pk]),
        "repeating form": reverse("crfs:form", args=[patient.pk, "treatment", line.pk]),
        "new form": reverse("crfs:form_new", args=[patient.pk, "labs"]),
        "new evaluation": reverse("crfs:form_new", args=[patient.pk, "response"]) + f"?line={line.pk}",
        "history": reverse("crfs:form_history", args=[patient.pk, "baseline", baseline.pk]),
    }


def test_member_sees_every_page(casebook, login, coordinator_a):
    client = login(coordinator_a)
    for name, url in _pages(casebook).items():
        assert client.get(url).status_code == 200, name
    assert client.get(reverse("crfs:dashboard")).status_code == 200
    assert client.get(reverse("crfs:enrol")).status_code == 200


@pytest.mark.parametrize("persona", ["coordinator_b", "outsider"])
def test_other_site_member_and_outsider_get_404(casebook, login, request, persona):
    client = login(request.getfixturevalue(persona))
    for name, url in _pages(casebook).items():
        assert client.get(url).status_code == 404, name
    baseline = casebook["baseline"]
    patient = casebook["patient"]
    posts = [
        reverse("crfs:form", args=[patient.pk, "baseline", baseline.pk]),
        reverse("crfs:form_validate", args=[patient.pk, "baseline", baseline.pk]),
        reverse("crfs:form_workflow", args=[patient.pk, "baseline", baseline.pk]),
    ]
    for url in posts:
        assert client.post(url, {"version": baseline.version, "action": "lock", "weight_kg": "80"}).status_code == 404
    baseline.refresh_from_db()
    assert baseline.weight_kg == 74


def test_outsider_has_no_dashboard_and_cannot_enrol(login, outsider):
    client = login(outsider)
    assert client.get(reverse("crfs:dashboard")).status_code == 404
    assert client.get(reverse("crfs:enrol")).status_code == 404


def test_other_site_member_dashboard_lists_only_own_patients(casebook, login, coordinator_b):
    response = login(coordinator_b).get(reverse("crfs:dashboard"))
    assert response.status_code == 200
    assert casebook["patient"].study_id not in response.content.decode()


def test_anonymous_is_sent_to_login(casebook, client):
    urls = [reverse("crfs:dashboard"), reverse("crfs:enrol"), *_pages(casebook).values()]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_form_of_another_patient_is_404_under_this_patient(casebook, login, coordinator_a, site_a):
    from tests.factories.crfs import BaselineFactory
    from tests.factories.patients import PatientFactory

    other = BaselineFactory(patient=PatientFactory(site=site_a), user=coordinator_a)
    url = reverse("crfs:form", args=[casebook["patient"].pk, "baseline", other.pk])
    assert login(coordinator_a).get(url).status_code == 404


def test_unknown_family_is_404(casebook, login, coordinator_a):
    url = reverse("crfs:form_new", args=[casebook["patient"].pk, "nonsense"])
    assert login(coordinator_a).get(url).status_code == 404


def test_monitor_reads_but_cannot_start_forms(casebook, login, monitor_a):
    client = login(monitor_a)
    patient, baseline = casebook["patient"], casebook["baseline"]
    page = client.get(reverse("crfs:form", args=[patient.pk, "baseline", baseline.pk])).content.decode()
    assert "Read only" in page
    assert "Save draft" not in page
    assert client.get(reverse("crfs:form_new", args=[patient.pk, "labs"])).status_code == 403
    assert client.get(reverse("crfs:enrol")).status_code == 404
