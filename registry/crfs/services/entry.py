"""Interactive data entry on top of the form workflow: check input without saving it, and save a form with an
optional submit as one all-or-nothing step (the web form's "Submit" saves the typed changes and submits)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from registry.core.errors import Conflict
from registry.crfs.casebook import load_records, with_overrides
from registry.crfs.catalogue import family
from registry.crfs.models import CaseReportForm, FormStatus
from registry.crfs.services.checks import findings_for, findings_on
from registry.crfs.services.forms import apply_checked_input, form_create, form_submit, form_update, require_role
from registry.crfs.validation import Finding, Severity
from registry.patients.models import Patient
from registry.sites.scoping import DATA_ENTRY


def form_validate(*, patient: Patient, family_code: str, data: Mapping[str, Any], user,
                  form: CaseReportForm | None = None) -> list[Finding]:
    """Run the checks a save of `data` would run, writing nothing: ValidationFailed on a field error or a
    hard edit check the input introduces, else the soft findings (warnings) the form would then carry."""
    fam = family(family_code)
    require_role(user, DATA_ENTRY, patient, "enter data")
    if form is not None and form.status == FormStatus.LOCKED:
        raise Conflict("This form is locked; a data manager must unlock it first.", rule="locked")
    records = load_records(patient)
    # A fresh copy: the checks write the input and derived values onto the instance they are given.
    target = fam.model(patient=patient) if form is None else fam.model.objects.get(pk=form.pk)
    target.patient = patient
    apply_checked_input(target, fam, records, data, creating=form is None)
    findings = findings_on(findings_for(with_overrides(records, [target])), target)
    return [f for f in findings if f.severity != Severity.ERROR]


@transaction.atomic
def form_save(*, patient: Patient, family_code: str, data: Mapping[str, Any], user,
              form: CaseReportForm | None = None, expected_version: int | None = None,
              reason: str | None = None, submit: bool = False) -> CaseReportForm:
    """Create the form (or update it with the changed `data`), then submit it if asked, in one transaction:
    when the submit is refused (required fields, hard edit checks) the changes are not saved either."""
    if form is None:
        form = form_create(patient=patient, family_code=family_code, data=data, user=user, reason=reason)
        expected_version = form.version
    elif data:
        form = form_update(form, data=data, user=user, expected_version=expected_version, reason=reason)
        expected_version = form.version
    if submit:
        form = form_submit(form, user=user, expected_version=expected_version)
    return form
