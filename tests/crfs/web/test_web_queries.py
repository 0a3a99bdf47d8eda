"""The dashboard and the patient page run a fixed number of queries, whatever the amount of data."""

import pytest
from django.urls import reverse

from tests.factories.crfs import LabResultFactory, ResponseEvaluationFactory, TreatmentLineFactory, complete_casebook
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db

#: session + user, the menu's roles, sites for the filter (exists + options), count, page, one UNION over
#: the families, and the "Enrol patient" role check.
DASHBOARD_QUERIES = 9
#: session + user, the patient, one query per form family (10), the findings, the data-entry role
#: check, and the menu's roles.
PATIENT_QUERIES = 16


def _grow(patient, user, extra):
    line = TreatmentLineFactory(patient=patient, user=user, line_number=2, start_date=None, end_date=None,
                                reason_stopped="", n_cycles=None)
    for _ in range(extra):
        LabResultFactory(patient=patient, user=user)
        ResponseEvaluationFactory(line=line, user=user)


def test_dashboard_query_count_is_constant(client, django_assert_num_queries, site_a, coordinator_a):
    client.force_login(coordinator_a)
    complete_casebook(PatientFactory(site=site_a), user=coordinator_a)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        small = client.get(reverse("crfs:dashboard"))
    assert small.status_code == 200
    for _ in range(3):
        patient = PatientFactory(site=site_a)
        complete_casebook(patient, user=coordinator_a)
    _grow(patient, coordinator_a, 2)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        large = client.get(reverse("crfs:dashboard"))
    assert large.content.decode().count("/patients/") > small.content.decode().count("/patients/")


def test_dashboard_filters_keep_the_count(client, django_assert_num_queries, site_a, coordinator_a):
    client.force_login(coordinator_a)
    complete_casebook(PatientFactory(site=site_a), user=coordinator_a)
    with django_assert_num_queries(DASHBOARD_QUERIES + 1):  # + the chosen site's lookup
        response = client.get(reverse("crfs:dashboard"), {"site": site_a.pk, "status": "draft", "q": "OUS"})
    assert response.status_code == 200


def test_patient_page_query_count_is_constant(client, django_assert_num_queries, site_a, coordinator_a):
    client.force_login(coordinator_a)
    forms = complete_casebook(PatientFactory(site=site_a), user=coordinator_a)
    patient = forms["patient"]
    url = reverse("crfs:patient", args=[patient.pk])
    with django_assert_num_queries(PATIENT_QUERIES):
        before = client.get(url)
    _grow(patient, coordinator_a, 3)
    with django_assert_num_queries(PATIENT_QUERIES):
        after = client.get(url)
    assert after.content.decode().count("Evaluation") >= before.content.decode().count("Evaluation")
    assert after.content.decode().count("/response/") > before.content.decode().count("/response/")
