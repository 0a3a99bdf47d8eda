"""Edit checks around a save: block hard errors the change introduces, keep derived values current, and
store every finding as an EditCheckFinding for the data-queries feature."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable

from django.utils import timezone

from registry.core.errors import ValidationFailed
from registry.crfs.casebook import build_casebook
from registry.crfs.catalogue import FAMILIES, family_of
from registry.crfs.derive import PatientRecords, cross_form_fields, derive_patient
from registry.crfs.models import CaseReportForm, EditCheckFinding
from registry.crfs.validation import Finding, Severity, run_checks


def findings_for(records: PatientRecords) -> list[Finding]:
    """Run every edit check over the case book in `records` (derived values refreshed in memory)."""
    return run_checks(build_casebook(records))


def _key(f: Finding) -> tuple:
    return (f.rule, f.form, f.field, f.row)


@functools.cache
def _field_names(model: type[CaseReportForm]) -> frozenset[str]:
    return frozenset({f.name for f in model._meta.concrete_fields} | {f.attname for f in model._meta.concrete_fields})


def findings_on(findings: Iterable[Finding], form: CaseReportForm) -> list[Finding]:
    """The findings that point at this form instance (family, row and — where families share a validation
    form, as treatment lines and other treatments do — a field of this model)."""
    fam = family_of(form)
    shared = sum(1 for f in FAMILIES if f.check_form == fam.check_form) > 1
    names = _field_names(type(form))
    result = []
    for f in findings:
        if f.form != fam.check_form:
            continue
        if fam.repeating and f.row != form.pk:
            continue
        if not fam.repeating and f.row not in (None, form.pk):
            continue
        if shared and f.field and f.field not in names:
            continue
        result.append(f)
    return result


def raise_on_errors(errors: list[Finding]) -> None:
    """ValidationFailed naming the first error's field and rule, with every error listed by field."""
    if not errors:
        return
    by_field: dict[str, list[str]] = defaultdict(list)
    for f in errors:
        by_field[f.field or "non_field_errors"].append(f.message)
    first = errors[0]
    raise ValidationFailed(first.message, field=first.field or None, rule=first.rule, errors=dict(by_field))


def block_introduced_errors(before: list[Finding], after: list[Finding]) -> None:
    """Refuse a change that creates a hard error; errors that were already there do not block other edits."""
    known = {_key(f) for f in before if f.severity == Severity.ERROR}
    raise_on_errors([f for f in after if f.severity == Severity.ERROR and _key(f) not in known])


def catalogue_code(finding: Finding, records: PatientRecords) -> str:
    """The catalogue family a finding belongs to (validation's "treatment" covers three families)."""
    if finding.form != "treatment":
        return finding.form
    for code, rows in (("other_treatment", records.other_treatments), ("treatment", records.lines)):
        model = type(rows[0]) if rows else None
        if model and any(r.pk == finding.row for r in rows) and (
                not finding.field or finding.field in _field_names(model)):
            return code
    if records.treatment_status is not None and finding.row in (None, records.treatment_status.pk) and \
            finding.field in _field_names(type(records.treatment_status)):
        return "treatment_status"
    return "treatment"


def findings_store(records: PatientRecords, findings: list[Finding]) -> list[EditCheckFinding]:
    """Make the stored findings of the patient equal `findings` (see `findings_store_many`)."""
    return findings_store_many([records], {records.patient.pk: findings})


def findings_store_many(batch: list[PatientRecords], found: dict[int, list[Finding]]) -> list[EditCheckFinding]:
    """Make the stored findings of each patient in `batch` equal `found[patient.pk]` with one read and at most
    three writes: keep unchanged rows (their `created_at` says how long a problem has been open), update changed
    ones, add new ones, delete resolved ones. The save path and the nightly re-check both store through here."""
    wanted: dict[tuple, EditCheckFinding] = {}
    for records in batch:
        patient = records.patient
        for f in found[patient.pk]:
            row = f.row if isinstance(f.row, int) else None
            stored = EditCheckFinding(patient=patient, form=catalogue_code(f, records), object_id=row, rule=f.rule,
                                      severity=str(f.severity), field=f.field or "", message=f.message)
            wanted.setdefault((patient.pk, stored.form, stored.object_id, stored.rule, stored.field), stored)
    existing = {(e.patient_id, e.form, e.object_id, e.rule, e.field): e
                for e in EditCheckFinding.objects.filter(patient_id__in=[r.patient.pk for r in batch])}
    stale = [e.pk for key, e in existing.items() if key not in wanted]
    changed = []
    now = timezone.now()
    for key, e in existing.items():
        new = wanted.get(key)
        if new is not None and (e.severity, e.message) != (new.severity, new.message):
            e.severity, e.message, e.updated_at = new.severity, new.message, now
            changed.append(e)
    fresh = [w for key, w in wanted.items() if key not in existing]
    if stale:
        EditCheckFinding.objects.filter(pk__in=stale).delete()
    if changed:
        EditCheckFinding.objects.bulk_update(changed, ["severity", "message", "updated_at"])
    if fresh:
        EditCheckFinding.objects.bulk_create(fresh)
    return [*fresh, *(e for key, e in existing.items() if key in wanted)]


def refresh_patient(records: PatientRecords, findings: list[Finding] | None = None) -> list[Finding]:
    """After a write: store cross-form derived values that changed, then re-run and store the findings
    (`findings`: those a caller just ran over these very records, reused instead of running them again)."""
    changed: dict[type, list[CaseReportForm]] = defaultdict(list)
    for form in derive_patient(records):
        changed[type(form)].append(form)
    for model, forms in changed.items():
        # Derived values are not user data: they change without a version bump (the audit trail still
        # records each change, under the context of the save that caused it).
        model.objects.bulk_update(forms, list(cross_form_fields(model)))
    if findings is None:
        findings = findings_for(records)
    findings_store(records, findings)
    return findings
