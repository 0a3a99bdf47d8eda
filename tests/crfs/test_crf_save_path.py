"""The save path's shortcuts (issue 7, DESIGN.md §6) give what the long way gives: check constraints evaluated
in one query, and the case book loaded around the form and site the service has just locked and read."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from registry.crfs.casebook import CASEBOOK_QUERIES, load_records
from registry.crfs.models import Baseline, MissingReason
from registry.crfs.services.data import validate_constraints
from tests.factories.crfs import TreatmentLineFactory, complete_casebook, days_ago

pytestmark = pytest.mark.django_db


def _errors(call) -> dict:
    try:
        call()
    except ValidationError as exc:
        return exc.message_dict
    return {}


def test_batched_check_constraints_report_what_django_reports(coordinator_a, site_a):
    patient = complete_casebook(site=site_a, user=coordinator_a)["patient"]
    baseline = Baseline.objects.get(patient=patient)
    assert _errors(lambda: validate_constraints(baseline, exclude=None)) == {}

    baseline.ecog_ps = 5
    baseline.ecog_ps_missing_reason = MissingReason.NOT_DONE
    baseline.date_of_birth, baseline.date_of_birth_precision = date(1958, 3, 7), "year"
    expected = _errors(lambda: baseline.validate_constraints())
    assert len(expected["__all__"]) == 3
    assert _errors(lambda: validate_constraints(baseline, exclude=None)) == expected
    # A constraint on an excluded field is skipped, as Django skips it.
    skip = ["ecog_ps", "ecog_ps_missing_reason"]
    expected = _errors(lambda: baseline.validate_constraints(exclude=skip))
    assert len(expected["__all__"]) == 1
    assert _errors(lambda: validate_constraints(baseline, exclude=skip)) == expected


def test_case_book_around_the_locked_form_equals_the_loaded_one(coordinator_a, site_a,
                                                                django_assert_num_queries):
    patient = complete_casebook(site=site_a, user=coordinator_a)["patient"]
    TreatmentLineFactory(patient=patient, user=coordinator_a, line_number=2, regimen="folfiri",
                         start_date=days_ago(95), end_date=None, reason_stopped="", n_cycles=3, etoposide_route="")
    baseline = Baseline.objects.get(patient=patient)
    full = load_records(patient)
    with django_assert_num_queries(CASEBOOK_QUERIES - 2):
        short = load_records(patient, loaded=baseline, site=site_a)
    assert short.baseline is baseline and short.site == full.site
    for one in ("enrolment", "tumour", "treatment_status"):
        assert getattr(short, one).pk == getattr(full, one).pk
    for rows in ("specimens", "labs", "lines", "evaluations", "other_treatments", "followups"):
        assert [f.pk for f in getattr(short, rows)] == [f.pk for f in getattr(full, rows)]
    assert {k: [d.code for d in v] for k, v in short.regimen_drugs.items()} == \
        {k: [d.code for d in v] for k, v in full.regimen_drugs.items()}
    assert short.stored == full.stored
