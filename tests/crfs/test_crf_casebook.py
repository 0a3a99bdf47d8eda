"""The case book built from the ORM: fixed query count, DOMAIN.md names, overrides of unsaved input."""

from decimal import Decimal

import pytest

from registry.crfs.casebook import CASEBOOK_QUERIES, casebook_for_patient
from registry.crfs.models import EditCheckFinding, ResponseEvaluation
from registry.crfs.validation import Severity, run_checks
from tests.factories.crfs import (
    FollowUpFactory,
    LabResultFactory,
    LocalPathologyFactory,
    ResponseEvaluationFactory,
    TreatmentLineFactory,
    complete_casebook,
    days_ago,
)

pytestmark = pytest.mark.django_db


def test_complete_casebook_passes_every_check():
    forms = complete_casebook()
    assert run_checks(casebook_for_patient(forms["patient"])) == []
    assert not EditCheckFinding.objects.filter(patient=forms["patient"]).exists()


def test_query_count_is_fixed_whatever_the_size(django_assert_num_queries, coordinator_a, site_a):
    small = complete_casebook(site=site_a, user=coordinator_a)
    with django_assert_num_queries(CASEBOOK_QUERIES):
        casebook_for_patient(small["patient"])
    big = complete_casebook(site=site_a, user=coordinator_a)
    patient = big["patient"]
    line2 = TreatmentLineFactory(patient=patient, user=coordinator_a, line_number=2, regimen="folfiri",
                                 start_date=days_ago(95), end_date=None, reason_stopped="", n_cycles=3,
                                 etoposide_route="")
    ResponseEvaluationFactory(line=line2, user=coordinator_a, eval_date=days_ago(40), overall_response="SD")
    for n in range(3):
        LabResultFactory(patient=patient, user=coordinator_a, analyte="ldh", value=200 + n, uln=205, lln=105,
                         sample_date=days_ago(150 - n), timepoint="on_treatment")
        LocalPathologyFactory(patient=patient, user=coordinator_a, is_diagnostic=False, specimen_site="primary")
        FollowUpFactory(patient=patient, user=coordinator_a, visit_date=days_ago(60 + n),
                        date_last_known_alive=days_ago(60 + n))
    assert CASEBOOK_QUERIES == 12
    with django_assert_num_queries(CASEBOOK_QUERIES):
        casebook = casebook_for_patient(patient)
    assert len(casebook.lines) == 2 and len(casebook.labs) == 4 and len(casebook.followups) == 4


def test_mappings_use_domain_names(coordinator_a, site_a):
    forms = complete_casebook(site=site_a, user=coordinator_a)
    cb = casebook_for_patient(forms["patient"])
    assert cb.enrolment["study_id"] == forms["patient"].study_id
    assert cb.enrolment["site"] == "OUS" and cb.enrolment["country"] == "NO"
    assert cb.enrolment["date_of_diagnosis"] == days_ago(200) and cb.enrolment["eligible"] is True
    assert cb.baseline["birth_year"] == cb.baseline["date_of_birth"].year
    assert cb.baseline["date_of_birth_precision"] == "year"
    specimen = cb.specimens[0]
    assert specimen["local_diagnosis"] == "NEC_large_cell" and specimen["ki67_percent"] == Decimal("80.0")
    assert specimen["minen_nonNE_component"] is None  # blanks are None, never ""
    line = cb.lines[0]
    assert line["regimen"] == "carbo_etop" and line["is_platinum_etoposide"] is True
    assert line["evaluations"][0]["overall_response"] == "PR"
    assert line["evaluations"][0]["line_id"] == line["id"]
    lab = cb.labs[0]
    assert (lab["analyte"], lab["unit"], lab["is_baseline"]) == ("alp", "U/L", True)
    assert cb.followups[0]["vital_status"] == "alive"
    assert cb.tumour["metastatic_sites"] == ["liver", "lymph_nodes_distant"]


def test_overrides_replace_stored_rows_and_add_new_ones(coordinator_a, site_a):
    forms = complete_casebook(site=site_a, user=coordinator_a)
    specimen = forms["pathology"]
    specimen.ki67_percent = Decimal("150")  # unsaved input
    new_eval = ResponseEvaluation(patient=forms["patient"], line=forms["treatment"], eval_date=days_ago(170),
                                  overall_response="PD", new_lesions=True, method="ct", criteria="recist_1_1")
    cb = casebook_for_patient(forms["patient"], overrides=[specimen, new_eval])
    assert cb.specimens[0]["ki67_percent"] == Decimal("150") and len(cb.specimens) == 1
    evaluations = cb.lines[0]["evaluations"]
    assert [(e["eval_number"], e["overall_response"]) for e in evaluations] == [(1, "PD"), (2, "PR")]
    assert cb.lines[0]["date_progression"] == days_ago(170)
    errors = {f.rule for f in run_checks(cb) if f.severity == Severity.ERROR}
    assert "EC14" in errors
    # Nothing was written.
    specimen.refresh_from_db()
    assert specimen.ki67_percent == Decimal("80.0")
    assert forms["treatment"].evaluations.count() == 1
