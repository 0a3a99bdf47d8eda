"""Pinned query counts (DESIGN.md §3.4): every list and detail costs the same whatever the number of rows.
Each endpoint is measured at two data sizes with the same pinned number."""

import pytest

from registry.crfs.services import form_update
from tests.crfs.api.conftest import collection_url, form_url
from tests.factories.crfs import LabResultFactory, LocalPathologyFactory, ResponseEvaluationFactory, days_ago
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db

#: Token authentication is one query of every request.
AUTH = 1


def grow(casebook, user):
    """More rows of the repeating forms, findings included (a second specimen with a warning)."""
    patient = casebook["patient"]
    for n in range(3):
        LabResultFactory(patient=patient, user=user, analyte="ldh", sample_date=days_ago(170 - n), value=300,
                         lln=100, uln=250)
    LocalPathologyFactory(patient=patient, user=user, is_diagnostic=False, specimen_type="resection",
                          specimen_site="primary", ki67_percent=18, mitoses_per_2mm2=30)
    ResponseEvaluationFactory(line=casebook["treatment"], user=user, eval_date=days_ago(110))


def measure(client, url, queries, django_assert_num_queries, **params):
    with django_assert_num_queries(queries):
        response = client.get(url, params)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("code", ["labs", "pathology", "response", "followup", "treatment"])
def test_form_list_and_detail(code, casebook, api_client, coordinator_a, django_assert_num_queries):
    client = api_client(coordinator_a)
    # patient + (parent line) + count + page + findings
    listed = AUTH + 4 + (1 if code == "response" else 0)
    detail = AUTH + 3 + (1 if code == "response" else 0)  # patient + (parent line) + form + findings
    small = measure(client, collection_url(casebook, code), listed, django_assert_num_queries)
    measure(client, form_url(casebook, code), detail, django_assert_num_queries)
    grow(casebook, coordinator_a)
    large = measure(client, collection_url(casebook, code), listed, django_assert_num_queries)
    measure(client, form_url(casebook, code), detail, django_assert_num_queries)
    if code in ("labs", "pathology", "response"):
        assert large.json()["count"] > small.json()["count"]


@pytest.mark.parametrize("code", ["enrolment", "baseline", "tumour", "treatment_status"])
def test_one_per_patient_form(code, casebook, api_client, coordinator_a, django_assert_num_queries):
    client = api_client(coordinator_a)
    measure(client, form_url(casebook, code), AUTH + 3, django_assert_num_queries)
    grow(casebook, coordinator_a)
    measure(client, form_url(casebook, code), AUTH + 3, django_assert_num_queries)


def test_patient_detail(casebook, api_client, coordinator_a, django_assert_num_queries):
    client = api_client(coordinator_a)
    url = f"/api/v1/patients/{casebook['patient'].pk}/"
    # patient + one UNION over the form tables + findings
    small = measure(client, url, AUTH + 3, django_assert_num_queries)
    grow(casebook, coordinator_a)
    large = measure(client, url, AUTH + 3, django_assert_num_queries)
    assert len(large.json()["findings"]) > len(small.json()["findings"])


def test_patient_list(casebook, api_client, coordinator_a, site_a, django_assert_num_queries):
    client = api_client(coordinator_a)
    measure(client, "/api/v1/patients/", AUTH + 2, django_assert_num_queries)  # count + page
    for _ in range(4):
        PatientFactory(site=site_a)
    large = measure(client, "/api/v1/patients/", AUTH + 2, django_assert_num_queries, withdrawn="false")
    assert large.json()["count"] == 5


def test_findings_and_regimens(casebook, api_client, coordinator_a, django_assert_num_queries):
    client = api_client(coordinator_a)
    form_update(casebook["pathology"], data={"ki67_percent": 18, "mitoses_per_2mm2": 30}, user=coordinator_a,
                expected_version=1)
    small = measure(client, "/api/v1/findings/", AUTH + 2, django_assert_num_queries)
    grow(casebook, coordinator_a)
    large = measure(client, "/api/v1/findings/", AUTH + 2, django_assert_num_queries)
    assert large.json()["count"] > small.json()["count"]
    # role check + regimens + their drugs (prefetch)
    measure(client, "/api/v1/regimens/", AUTH + 3, django_assert_num_queries)
