"""Locking a whole patient or freezing a whole site (data freeze for an analysis cut-off), and releasing
them with a reason. A DataFreeze row records each; the forms carry the lock (status `locked`), so every
write path that goes through the CRF services refuses them.

The forms are locked with one UPDATE per form family rather than form_lock per form: a site freeze covers
thousands of forms, and a lock changes no data, so there are no edit checks or derived values to refresh.
The patients are locked first (SELECT … FOR UPDATE, the CRF services' first step), so no save can slip in
between; the audit trail records every form's change under the freeze's context (user, reason, action).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.core.errors import Conflict, PermissionDenied, ValidationFailed
from registry.crfs.catalogue import FAMILIES
from registry.crfs.models import FormStatus
from registry.patients.models import Patient
from registry.queries.access import LOCK_ROLES
from registry.queries.models import DataFreeze, FreezeScope
from registry.sites.models import Site
from registry.sites.scoping import has_role


def _require_dm(user, site_id: int, action: str) -> None:
    if not has_role(user, LOCK_ROLES, site_id):
        raise PermissionDenied(f"Only a data manager may {action}.", rule="role")


def _reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise ValidationFailed("A reason is required.", field="reason", rule="reason_required")
    return reason.strip()


def _lock_patients(patient_ids: list[int]) -> None:
    list(Patient.objects.filter(pk__in=patient_ids).order_by("pk").select_for_update().values_list("pk", flat=True))


def _lock_forms(patient_ids: list[int], user) -> tuple[int, int]:
    """Lock every submitted or verified form of the patients; return (locked, drafts left unlocked)."""
    now, locked, drafts = timezone.now(), 0, 0
    for fam in FAMILIES:
        forms = fam.model.objects.filter(patient_id__in=patient_ids)
        locked += forms.filter(status__in=[FormStatus.SUBMITTED, FormStatus.VERIFIED]).update(
            status=FormStatus.LOCKED, locked_by=user, locked_at=now, updated_by=user, updated_at=now,
            version=F("version") + 1)
        drafts += forms.filter(status=FormStatus.DRAFT).count()
    return locked, drafts


def _unlock_forms(patient_ids: list[int], user) -> int:
    """Locked → verified if it had been verified, else submitted (as crfs.form_unlock does)."""
    now, unlocked = timezone.now(), 0
    for fam in FAMILIES:
        unlocked += fam.model.objects.filter(patient_id__in=patient_ids, status=FormStatus.LOCKED).update(
            status=Case(When(verified_at__isnull=False, then=Value(FormStatus.VERIFIED)),
                        default=Value(FormStatus.SUBMITTED)),
            locked_by=None, locked_at=None, updated_by=user, updated_at=now, version=F("version") + 1)
    return unlocked


def _active(scope: str, site_id: int, patient_id: int | None):
    return DataFreeze.objects.select_for_update().filter(scope=scope, site_id=site_id, patient_id=patient_id,
                                                         released_at__isnull=True).first()


@transaction.atomic
def patient_lock(*, patient: Patient, user, reason: str) -> DataFreeze:
    """Lock every submitted or verified form of the patient (drafts cannot be locked and are counted)."""
    _require_dm(user, patient.site_id, "lock patients")
    reason = _reason(reason)
    _lock_patients([patient.pk])
    if _active(FreezeScope.PATIENT, patient.site_id, patient.pk) is not None:
        raise Conflict(f"{patient.study_id} is already locked.", rule="already_locked")
    with audit_context(user=user.pk, reason=reason, action="patient.lock"):
        locked, drafts = _lock_forms([patient.pk], user)
        return DataFreeze.objects.create(scope=FreezeScope.PATIENT, site_id=patient.site_id, patient=patient,
                                         reason=reason, locked_by=user, forms_locked=locked, drafts_skipped=drafts)


@transaction.atomic
def patient_unlock(*, patient: Patient, user, reason: str) -> int:
    """Unlock every locked form of the patient (not while the site is frozen); returns how many."""
    _require_dm(user, patient.site_id, "unlock patients")
    reason = _reason(reason)
    _lock_patients([patient.pk])
    if _active(FreezeScope.SITE, patient.site_id, None) is not None:
        raise Conflict("The patient's site is frozen; unfreeze the site first.", rule="site_frozen")
    freeze = _active(FreezeScope.PATIENT, patient.site_id, patient.pk)
    with audit_context(user=user.pk, reason=reason, action="patient.unlock"):
        unlocked = _unlock_forms([patient.pk], user)
        if freeze is not None:
            freeze.released_at, freeze.released_by = timezone.now(), user
            freeze.release_reason, freeze.forms_unlocked = reason, unlocked
            freeze.save()
    return unlocked


@transaction.atomic
def site_freeze(*, site: Site, user, reason: str) -> DataFreeze:
    """Data freeze: lock every submitted or verified form of every patient of the site."""
    _require_dm(user, site.pk, "freeze sites")
    reason = _reason(reason)
    patient_ids = list(Patient.objects.filter(site=site).values_list("pk", flat=True))
    _lock_patients(patient_ids)
    if _active(FreezeScope.SITE, site.pk, None) is not None:
        raise Conflict(f"Site {site.code} is already frozen.", rule="already_frozen")
    with audit_context(user=user.pk, reason=reason, action="site.freeze"):
        locked, drafts = _lock_forms(patient_ids, user)
        return DataFreeze.objects.create(scope=FreezeScope.SITE, site=site, reason=reason, locked_by=user,
                                         forms_locked=locked, drafts_skipped=drafts)


@transaction.atomic
def site_unfreeze(*, site: Site, user, reason: str) -> int:
    """Release the site's freeze: unlock its forms, except those of patients locked on their own."""
    _require_dm(user, site.pk, "unfreeze sites")
    reason = _reason(reason)
    freeze = _active(FreezeScope.SITE, site.pk, None)
    if freeze is None:
        raise Conflict(f"Site {site.code} is not frozen.", rule="not_frozen")
    still_locked = set(DataFreeze.objects.filter(scope=FreezeScope.PATIENT, site=site, released_at__isnull=True)
                       .values_list("patient_id", flat=True))
    patient_ids = [pk for pk in Patient.objects.filter(site=site).values_list("pk", flat=True)
                   if pk not in still_locked]
    _lock_patients(patient_ids)
    with audit_context(user=user.pk, reason=reason, action="site.unfreeze"):
        unlocked = _unlock_forms(patient_ids, user)
        freeze.released_at, freeze.released_by = timezone.now(), user
        freeze.release_reason, freeze.forms_unlocked = reason, unlocked
        freeze.save()
    return unlocked
