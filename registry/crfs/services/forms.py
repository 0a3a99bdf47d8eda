"""The form workflow: create, update, submit, verify (monitor), lock and unlock (data manager), delete.

Every write locks the patient row first, so the saves of one patient's forms run one at a time (cross-form
derived values and findings are recomputed from a consistent case book), then locks the form row and
compares its version with the one the client read (compare-and-swap: a concurrent edit gets StaleVersion,
never a lost update). Reasons for change go into the pghistory context of the audit events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.core.errors import Conflict, PermissionDenied, PreconditionRequired, StaleVersion, ValidationFailed
from registry.crfs.casebook import load_records, with_overrides
from registry.crfs.catalogue import FormFamily, family, family_of
from registry.crfs.derive import PatientRecords, derive_form
from registry.crfs.models import CaseReportForm, FormStatus, TreatmentLine
from registry.crfs.services.checks import (
    block_introduced_errors,
    findings_for,
    findings_on,
    raise_on_errors,
    refresh_patient,
)
from registry.crfs.services.data import apply_data
from registry.crfs.signals import form_changed, form_submitted
from registry.crfs.validation import Finding
from registry.patients.models import Patient
from registry.sites.models import Role
from registry.sites.scoping import DATA_ENTRY, has_role

#: Statuses in which an edit needs a reason for change (ICH E6(R3) 4.2.2(a): "why", after first save).
REASON_REQUIRED = frozenset({FormStatus.SUBMITTED, FormStatus.VERIFIED})
_LAB_INPUT = frozenset({"analyte", "value", "unit", "lln", "uln"})


def require_role(user, roles: Iterable[str], patient: Patient, action: str) -> None:
    """PermissionDenied unless the user holds one of `roles` at the patient's site (entry and form workflow)."""
    if not has_role(user, roles, patient.site_id):
        raise PermissionDenied(f"Your role at this site does not allow you to {action}.", rule="role")


def _require_reason(reason: str | None, *, why: str) -> str:
    if reason is None or not reason.strip():
        raise ValidationFailed(f"A reason for change is required {why}.", field="reason", rule="reason_required")
    return reason.strip()


def _lock(form: CaseReportForm, expected_version: int | None) -> tuple[Patient, CaseReportForm]:
    """Lock the patient, then the form; refuse when the form changed since the client read it."""
    # Only the patient row is locked; its site comes along for the case book (`load_records`).
    patient = Patient.objects.select_for_update(of=("self",)).select_related("site").get(pk=form.patient_id)
    current = type(form).objects.select_for_update().get(pk=form.pk)
    current.patient = patient
    if expected_version is not None and current.version != expected_version:
        raise StaleVersion(
            f"This form was changed by someone else (version {current.version}, you had {expected_version}). "
            "Reload it and apply your change again.", rule="version",
        )
    return patient, current


def _check_placement(form: CaseReportForm, fam: FormFamily, records: PatientRecords) -> None:
    """Invariants over sibling rows that the in-memory case book can answer without a query."""
    if isinstance(form, TreatmentLine) and form.line_number is not None and any(
            line.line_number == form.line_number and line.pk != form.pk for line in records.lines):
        raise ValidationFailed(f"Line {form.line_number} already exists for this patient.", field="line_number",
                               rule="unique")
    parent_field = fam.parent_field
    if parent_field and getattr(form, f"{parent_field}_id") not in {line.pk for line in records.lines}:
        raise ValidationFailed("The treatment line does not belong to this patient.", field=parent_field,
                               rule="parent")
    lab_line = getattr(form, "line_id", None) if fam.code == "labs" else None
    if lab_line is not None and lab_line not in {line.pk for line in records.lines}:
        raise ValidationFailed("The treatment line does not belong to this patient.", field="line", rule="parent")


def _write(form: CaseReportForm, records: PatientRecords, *, user, context: Mapping[str, Any],
           update_fields: list[str] | None = None, checked: PatientRecords | None = None,
           findings: list[Finding] | None = None) -> CaseReportForm:
    """Save the form under the audit context, then refresh derived values and findings (`checked` and
    `findings`: the case book with the form in it and its findings, from `apply_checked_input` on a form that
    already had its id; the edit checks do not read what saving changes — timestamps, completeness counts)."""
    form.updated_by = user
    with audit_context(user=user.pk, **context):
        form.save(update_fields=update_fields)
        if checked is None:
            refresh_patient(with_overrides(records, [form]))
        else:
            refresh_patient(checked, findings)
    return form


def apply_checked_input(form: CaseReportForm, fam: FormFamily, records: PatientRecords, data: Mapping[str, Any],
                *, creating: bool) -> tuple[PatientRecords, list[Finding]]:
    """Apply the input, derive, and refuse it if it brings a hard edit-check error; returns the case book with
    the form in it and its findings."""
    before = findings_for(records)
    apply_data(form, data, creating=creating)
    _check_placement(form, fam, records)
    # Lab units are converted from what the user typed, so only when the measured values were written.
    derive_form(form, records, entered=creating or bool(_LAB_INPUT & set(data)))
    checked = with_overrides(records, [form])
    after = findings_for(checked)
    block_introduced_errors(before, after)
    return checked, after


def _one_per_patient_attr(fam: FormFamily) -> str:
    return {"enrolment": "enrolment", "baseline": "baseline", "tumour": "tumour",
            "treatment_status": "treatment_status"}[fam.code]


@transaction.atomic
def form_create(*, patient: Patient, family_code: str, data: Mapping[str, Any], user,
                reason: str | None = None) -> CaseReportForm:
    """Create a draft form of the family for the patient (a response evaluation names its `line`)."""
    fam = family(family_code)
    require_role(user, DATA_ENTRY, patient, "enter data")
    patient = Patient.objects.select_for_update(of=("self",)).select_related("site").get(pk=patient.pk)
    records = load_records(patient, site=patient.site)
    if not fam.repeating and getattr(records, _one_per_patient_attr(fam)) is not None:
        raise Conflict(f"The patient already has a {fam.label} form; update it instead.", rule="one_per_patient")
    form = fam.model(patient=patient, created_by=user)
    apply_checked_input(form, fam, records, data, creating=True)
    transaction.on_commit(lambda: form_changed.send(sender=type(form), form=form, user=user, family=fam.code,
                                                    changed_fields=list(data)))
    return _write(form, records, user=user, context={"reason": reason, "action": f"{fam.code}.create"})



@transaction.atomic
def form_update(form: CaseReportForm, *, data: Mapping[str, Any], user, expected_version: int,
                reason: str | None = None) -> CaseReportForm:
    """Change a form's data. Submitted and verified forms need a reason; a verified form drops back to
    submitted (its source-data verification no longer covers the new values); locked forms refuse."""
    fam = family_of(form)
    require_role(user, DATA_ENTRY, form.patient, "enter data")
    if expected_version is None:
        raise PreconditionRequired("The version the change is based on is required (If-Match).",
                                   field="expected_version", rule="version")
    patient, current = _lock(form, expected_version)
    if current.status == FormStatus.LOCKED:
        raise Conflict("This form is locked; a data manager must unlock it first.", rule="locked")
    if current.status in REASON_REQUIRED:
        reason = _require_reason(reason, why=f"to change a {current.get_status_display().lower()} form")
    records = load_records(patient, loaded=current, site=patient.site)
    checked, findings = apply_checked_input(current, fam, records, data, creating=False)
    if current.status == FormStatus.VERIFIED:
        current.status, current.verified_by, current.verified_at = FormStatus.SUBMITTED, None, None
    current.version += 1
    transaction.on_commit(lambda: form_changed.send(sender=type(current), form=current, user=user, family=fam.code,
                                                    changed_fields=list(data)))
    return _write(current, records, user=user, context={"reason": reason, "action": f"{fam.code}.update"},
                  checked=checked, findings=findings)


@transaction.atomic
def form_submit(form: CaseReportForm, *, user, expected_version: int | None = None) -> CaseReportForm:
    """Draft → submitted, once every required field is filled and no hard edit check fails on the form."""
    fam = family_of(form)
    require_role(user, DATA_ENTRY, form.patient, "submit forms")
    patient, current = _lock(form, expected_version)
    if current.status != FormStatus.DRAFT:
        raise Conflict(f"Only a draft can be submitted; this form is {current.status}.", rule="workflow")
    missing = current.incomplete_fields()
    if missing:
        first = next(iter(missing))
        raise ValidationFailed(missing[first], field=first, rule="required",
                               errors={name: [message] for name, message in missing.items()})
    records = load_records(patient, loaded=current, site=patient.site)
    raise_on_errors([f for f in findings_on(findings_for(records), current) if f.severity == "E"])
    current.status, current.submitted_by, current.submitted_at = FormStatus.SUBMITTED, user, timezone.now()
    current.version += 1
    transaction.on_commit(lambda: form_submitted.send(sender=type(current), form=current, user=user, family=fam.code))
    return _write(current, records, user=user, context={"action": f"{fam.code}.submit"})


@transaction.atomic
def form_verify(form: CaseReportForm, *, user, expected_version: int | None = None) -> CaseReportForm:
    """Submitted → verified: a monitor has checked the form against the source documents (SDV)."""
    fam = family_of(form)
    require_role(user, {Role.MONITOR}, form.patient, "verify forms")
    patient, current = _lock(form, expected_version)
    if current.status != FormStatus.SUBMITTED:
        raise Conflict(f"Only a submitted form can be verified; this form is {current.status}.", rule="workflow")
    current.status, current.verified_by, current.verified_at = FormStatus.VERIFIED, user, timezone.now()
    current.version += 1
    return _write(current, load_records(patient, loaded=current, site=patient.site), user=user,
                  context={"action": f"{fam.code}.verify"})


@transaction.atomic
def form_lock(form: CaseReportForm, *, user, expected_version: int | None = None) -> CaseReportForm:
    """Submitted or verified → locked (data manager): no more edits until unlocked with a reason."""
    fam = family_of(form)
    require_role(user, {Role.DATA_MANAGER}, form.patient, "lock forms")
    patient, current = _lock(form, expected_version)
    if current.status not in (FormStatus.SUBMITTED, FormStatus.VERIFIED):
        raise Conflict(f"Only a submitted or verified form can be locked; this form is {current.status}.",
                       rule="workflow")
    current.status, current.locked_by, current.locked_at = FormStatus.LOCKED, user, timezone.now()
    current.version += 1
    return _write(current, load_records(patient, loaded=current, site=patient.site), user=user,
                  context={"action": f"{fam.code}.lock"})


@transaction.atomic
def form_unlock(form: CaseReportForm, *, user, reason: str | None,
                expected_version: int | None = None) -> CaseReportForm:
    """Locked → the status it had (verified if it was verified, else submitted); needs a reason."""
    fam = family_of(form)
    require_role(user, {Role.DATA_MANAGER}, form.patient, "unlock forms")
    reason = _require_reason(reason, why="to unlock a form")
    patient, current = _lock(form, expected_version)
    if current.status != FormStatus.LOCKED:
        raise Conflict(f"Only a locked form can be unlocked; this form is {current.status}.", rule="workflow")
    current.status = FormStatus.VERIFIED if current.verified_at else FormStatus.SUBMITTED
    current.locked_by, current.locked_at = None, None
    current.version += 1
    return _write(current, load_records(patient, loaded=current, site=patient.site), user=user,
                  context={"reason": reason, "action": f"{fam.code}.unlock"})


@transaction.atomic
def form_delete(form: CaseReportForm, *, user, expected_version: int, reason: str | None = None) -> None:
    """Delete a repeating form entered by mistake (a reason is needed once submitted; never when locked)."""
    fam = family_of(form)
    require_role(user, DATA_ENTRY, form.patient, "delete forms")
    if not fam.repeating:
        raise Conflict(f"The {fam.label} form cannot be deleted; correct it instead.", rule="one_per_patient")
    patient, current = _lock(form, expected_version)
    if current.status == FormStatus.LOCKED:
        raise Conflict("This form is locked; a data manager must unlock it first.", rule="locked")
    if current.status in REASON_REQUIRED:
        reason = _require_reason(reason, why="to delete a submitted form")
    records = load_records(patient)
    with audit_context(user=user.pk, reason=reason, action=f"{fam.code}.delete"):
        try:
            with transaction.atomic():
                current.delete()
        except ProtectedError:
            raise Conflict("Delete the forms that belong to this one first (response evaluations, "
                           "baseline labs).", rule="protected") from None
        for name in ("specimens", "labs", "lines", "evaluations", "other_treatments", "followups"):
            setattr(records, name, [row for row in getattr(records, name) if row is not current and not (
                type(row) is type(current) and row.pk == form.pk)])
        refresh_patient(records)

