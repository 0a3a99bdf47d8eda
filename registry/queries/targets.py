"""Addressing a form instance by catalogue family + id, the canonical text of a value (for SDV snapshots)
and the content hash of a casebook (for e-signatures)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from registry.core.errors import NotFound, ValidationFailed
from registry.crfs.catalogue import BY_CODE, FAMILIES, family, family_of
from registry.crfs.models import CaseReportForm


def canonical(value) -> str:
    """One text per value, whatever Python type carried it (80, 80.0 and Decimal("80.00") are equal)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, float):
        return canonical(Decimal(repr(value)))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def field_value(form: CaseReportForm, name: str) -> str:
    """The canonical text of a data field (a foreign key by its id, never a query)."""
    return canonical(getattr(form, form._meta.get_field(name).attname))


def check_family(code: str) -> None:
    if code not in BY_CODE:
        raise ValidationFailed(f"Unknown form family {code!r}.", field="form_family", rule="choice")


def check_field(code: str, field: str) -> None:
    """The field must be one the site enters on that form (empty = the whole form)."""
    check_family(code)
    if field and field not in family(code).model.data_fields():
        raise ValidationFailed(f"{field!r} is not a data field of the {family(code).label} form.", field="field",
                               rule="choice")


def form_for(patient, code: str, object_id: int | None) -> CaseReportForm | None:
    """The form instance a query points at (the patient's only form of a one-per-patient family when the
    id is empty); None when it does not exist."""
    check_family(code)
    fam = family(code)
    forms = fam.model.objects.filter(patient_id=patient.pk)
    if object_id is not None:
        return forms.filter(pk=object_id).first()
    return None if fam.repeating else forms.first()


def form_or_404(patient, code: str, object_id: int | None) -> CaseReportForm:
    form = form_for(patient, code, object_id)
    if form is None:
        raise NotFound("Form not found.")
    return form


def describe(form: CaseReportForm) -> str:
    return f"{family_of(form).code} #{form.pk}"


def casebook_hash(forms: Iterable[CaseReportForm]) -> str:
    """SHA-256 over every data field of every form (workflow fields left out: submitting, verifying or
    locking a form does not change what was signed; any data change does)."""
    rows = []
    for form in forms:
        fam = family_of(form)
        rows.append([fam.code, form.pk, {name: field_value(form, name) for name in type(form).data_fields()}])
    rows.sort(key=lambda r: (r[0], r[1]))
    payload = json.dumps(rows, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def patient_forms(patient) -> list[CaseReportForm]:
    """Every form of the patient (one query per family)."""
    return [form for fam in FAMILIES for form in fam.model.objects.filter(patient_id=patient.pk).order_by("pk")]
