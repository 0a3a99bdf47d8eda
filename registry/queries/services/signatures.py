"""Casebook e-signatures (21 CFR Part 11): the signer re-enters the password (§11.200(a)(1)), the signature
shows printed name, time and meaning (§11.50) and is linked to the signed content by a hash (§11.70), so a
later change voids it — visibly, the row stays with the change that voided it."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.core.errors import Conflict, PermissionDenied, ValidationFailed
from registry.crfs.models import FormStatus
from registry.patients.models import Patient
from registry.queries.access import SIGNER_ROLES
from registry.queries.models import APPROVAL_MEANING, CasebookSignature
from registry.queries.targets import casebook_hash, patient_forms
from registry.sites.scoping import has_role

security_log = logging.getLogger("registry.security")


def casebook_content_hash(patient: Patient) -> str:
    """SHA-256 of the patient's casebook data as stored now."""
    return casebook_hash(patient_forms(patient))


@transaction.atomic
def casebook_sign(*, patient: Patient, user, password: str, meaning: str = APPROVAL_MEANING) -> CasebookSignature:
    """A site investigator signs the patient's casebook after re-entering the password."""
    if not has_role(user, SIGNER_ROLES, patient.site_id):
        raise PermissionDenied("Only an investigator of this site may sign the casebook.", rule="role")
    if not password or not user.check_password(password):
        # §11.300(d): attempted misuse is detected and reported.
        security_log.warning("casebook signature refused: wrong password for user %s on patient %s",
                             user.pk, patient.pk)
        raise PermissionDenied("The password is not correct; the casebook was not signed.", field="password",
                               rule="password")
    meaning = (meaning or "").strip()
    if not meaning:
        raise ValidationFailed("The meaning of the signature is required.", field="meaning", rule="required")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    forms = patient_forms(patient)
    if not forms:
        raise Conflict("The casebook has no forms to sign.", rule="empty")
    drafts = [f for f in forms if f.status == FormStatus.DRAFT]
    if drafts:
        raise Conflict(f"{len(drafts)} form(s) are still drafts; submit them before signing.", rule="drafts")
    with audit_context(user=user.pk, action="casebook.sign", reason=meaning):
        return CasebookSignature.objects.create(
            patient=patient, signer=user, signer_name=user.get_full_name() or user.get_username(),
            meaning=meaning, signed_at=timezone.now(), content_hash=casebook_hash(forms))


def signatures_void(*, patient_ids: list[int], change: str, user=None) -> int:
    """Void every valid signature of the patients, naming the change; returns how many."""
    with audit_context(user=user.pk if user else None, action="casebook.signature_void"):
        return CasebookSignature.objects.filter(patient_id__in=patient_ids, voided_at__isnull=True).update(
            voided_at=timezone.now(), voided_by=user, voided_by_change=change[:300], updated_at=timezone.now())


@transaction.atomic
def signatures_verify(patient: Patient, *, change: str = "", user=None) -> int:
    """Void the valid signatures whose hash no longer matches the casebook (a change by any write path),
    naming the change when the caller knows it; returns how many were voided."""
    valid = list(CasebookSignature.objects.select_for_update().filter(patient=patient, voided_at__isnull=True))
    if not valid:
        return 0
    current = casebook_content_hash(patient)
    stale = [s.pk for s in valid if s.content_hash != current]
    if not stale:
        return 0
    with audit_context(user=user.pk if user else None, action="casebook.signature_void"):
        return CasebookSignature.objects.filter(pk__in=stale).update(
            voided_at=timezone.now(), voided_by=user, updated_at=timezone.now(),
            voided_by_change=(change or "casebook content changed since signing (hash mismatch)")[:300])
