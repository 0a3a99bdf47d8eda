"""Source data verification: a monitor marks fields (FieldVerification) or a whole form (the CRF status
`verified`, through crfs.form_verify) as checked against the source. A later change to a verified value
un-verifies it (OpenClinica 4 item-level SDV); the row is kept, so the history shows it."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.core.errors import Conflict, PermissionDenied, ValidationFailed
from registry.crfs import services as crfs_services
from registry.crfs.catalogue import family_of
from registry.crfs.models import CaseReportForm, FormStatus
from registry.queries.access import SDV_ROLES
from registry.queries.models import FieldVerification
from registry.queries.targets import field_value
from registry.sites.scoping import has_role


def _require_monitor(user, form: CaseReportForm) -> None:
    if not has_role(user, SDV_ROLES, form.patient.site_id):
        raise PermissionDenied("Only a monitor of this site may verify source data.", rule="role")


@transaction.atomic
def sdv_verify_fields(*, form: CaseReportForm, fields: Iterable[str], user) -> list[FieldVerification]:
    """Mark fields of a submitted form as verified against the source (value snapshot kept)."""
    _require_monitor(user, form)
    fields = list(dict.fromkeys(fields))
    if not fields:
        raise ValidationFailed("Choose at least one field to verify.", field="fields", rule="required")
    allowed = set(type(form).data_fields())
    unknown = [name for name in fields if name not in allowed]
    if unknown:
        raise ValidationFailed(f"Not data fields of this form: {', '.join(unknown)}.", field="fields",
                               rule="choice")
    current = type(form).objects.select_for_update().select_related("patient").get(pk=form.pk)
    if current.status == FormStatus.DRAFT:
        raise Conflict("A draft cannot be verified; the site must submit it first.", rule="workflow")
    code = family_of(current).code
    now = timezone.now()
    existing = {v.field: v for v in FieldVerification.objects.select_for_update().filter(
        form_family=code, object_id=current.pk, field__in=fields, unverified_at__isnull=True)}
    stale, created = [], []
    for name in fields:
        value = field_value(current, name)
        old = existing.get(name)
        if old is not None and old.value_snapshot == value:
            continue
        if old is not None:
            old.unverified_at, old.unverified_reason = now, "value changed before it was verified again"
            stale.append(old)
        created.append(FieldVerification(patient=current.patient, form_family=code, object_id=current.pk,
                                         field=name, value_snapshot=value, form_version=current.version,
                                         verified_by=user, verified_at=now))
    with audit_context(user=user.pk, action="sdv.verify_fields"):
        if stale:
            FieldVerification.objects.bulk_update(stale, ["unverified_at", "unverified_reason", "updated_at"])
        FieldVerification.objects.bulk_create(created)
    return created


@transaction.atomic
def sdv_unverify_field(*, verification: FieldVerification, user, reason: str) -> FieldVerification:
    """A monitor withdraws a verification (e.g. ticked by mistake); needs a reason."""
    if not has_role(user, SDV_ROLES, verification.patient.site_id):
        raise PermissionDenied("Only a monitor of this site may change source data verification.", rule="role")
    if not reason or not reason.strip():
        raise ValidationFailed("A reason is required.", field="reason", rule="reason_required")
    current = FieldVerification.objects.select_for_update().get(pk=verification.pk)
    if current.unverified_at is not None:
        raise Conflict("This verification was already withdrawn.", rule="workflow")
    current.unverified_at, current.unverified_reason = timezone.now(), reason.strip()[:200]
    with audit_context(user=user.pk, action="sdv.unverify", reason=reason.strip()):
        current.save()
    return current


def sdv_verify_form(*, form: CaseReportForm, user, expected_version: int | None = None) -> CaseReportForm:
    """Whole-form SDV: the CRF's own submitted → verified step (crfs drops it back on any edit)."""
    return crfs_services.form_verify(form, user=user, expected_version=expected_version)


def unverify_changed(forms: Iterable[CaseReportForm],
                     verifications: Iterable[FieldVerification]) -> list[FieldVerification]:
    """Current verifications whose value differs from the form's value now (no queries; caller saves)."""
    by_key = {(family_of(f).code, f.pk): f for f in forms}
    now = timezone.now()
    changed = []
    for v in verifications:
        form = by_key.get((v.form_family, v.object_id))
        if form is None:
            reason = "the form was deleted"
        else:
            value = field_value(form, v.field)
            if value == v.value_snapshot:
                continue
            reason = f"value changed from {v.value_snapshot or '(empty)'} to {value or '(empty)'} " \
                     f"(form version {form.version})"
        v.unverified_at, v.unverified_reason = now, reason[:200]
        changed.append(v)
    return changed


@transaction.atomic
def sdv_check_form(form: CaseReportForm, *, user=None) -> list[FieldVerification]:
    """After a change: un-verify every verified field of the form whose value is no longer the one verified."""
    code = family_of(form).code
    verifications = list(FieldVerification.objects.select_for_update().filter(
        form_family=code, object_id=form.pk, unverified_at__isnull=True))
    if not verifications:
        return []
    # Compare with the stored row, not the instance the service returned (its Decimals are not yet quantised).
    current = type(form).objects.filter(pk=form.pk).first()
    changed = unverify_changed([current] if current is not None else [], verifications)
    if changed:
        with audit_context(user=user.pk if user else None, action="sdv.unverify_on_change"):
            FieldVerification.objects.bulk_update(changed, ["unverified_at", "unverified_reason", "updated_at"])
    return changed
