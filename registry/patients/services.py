"""Writes for patients: study-id allocation and withdrawal. Enrolment (Patient + F1 form in one
transaction) is `registry.crfs.services.patient_enrol`, because the F1 form lives in crfs and dependencies
point one way (sites ← patients ← crfs)."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from registry.audit.tracking import audit_context
from registry.core.errors import Conflict, PermissionDenied, ValidationFailed
from registry.patients.models import Patient, StudyIdCounter
from registry.patients.study_ids import format_study_id
from registry.sites.models import Role, Site
from registry.sites.scoping import DATA_ENTRY, has_role


def study_id_allocate(*, site: Site) -> tuple[int, str]:
    """The site's next study-id number and id. Call inside the enrolling transaction: the counter row stays
    locked until it commits, so concurrent enrolments queue here instead of racing for a number."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("study_id_allocate must run inside transaction.atomic()")
    StudyIdCounter.objects.bulk_create([StudyIdCounter(site=site)], ignore_conflicts=True)
    counter = StudyIdCounter.objects.select_for_update().get(site=site)
    counter.last_number += 1
    counter.save(update_fields=["last_number", "updated_at"])
    return counter.last_number, format_study_id(site.country, site.code, counter.last_number)


def patient_create(*, site: Site, user) -> Patient:
    """A new Patient with the site's next study id (no forms; see crfs.services.patient_enrol)."""
    if not has_role(user, DATA_ENTRY, site):
        raise PermissionDenied("You may not enrol patients at this site.", rule="role")
    if not site.is_active:
        raise Conflict(f"Site {site.code} is inactive and cannot enrol patients.", field="site",
                       rule="site_inactive")
    with transaction.atomic():
        number, study_id = study_id_allocate(site=site)
        return Patient.objects.create(site=site, study_id=study_id, sequence_number=number, enrolled_by=user)


@transaction.atomic
def patient_withdraw(*, patient: Patient, user, withdrawal_date: date, reason: str) -> Patient:
    """Record the patient's withdrawal; the data and the study id are kept (the number is never reused)."""
    if not has_role(user, {*DATA_ENTRY, Role.DATA_MANAGER}, patient.site_id):
        raise PermissionDenied("You may not withdraw patients at this site.", rule="role")
    if not reason or not reason.strip():
        raise ValidationFailed("A reason for the withdrawal is required.", field="withdrawal_reason",
                               rule="reason_required")
    if withdrawal_date is None:
        raise ValidationFailed("The withdrawal date is required.", field="withdrawal_date", rule="required")
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if locked.withdrawn:
        raise Conflict(f"{locked.study_id} is already withdrawn.", rule="already_withdrawn")
    locked.withdrawn, locked.withdrawal_date, locked.withdrawal_reason = True, withdrawal_date, reason.strip()
    with audit_context(user=user.pk, reason=reason.strip(), action="patient.withdraw"):
        locked.save(update_fields=["withdrawn", "withdrawal_date", "withdrawal_reason", "updated_at"])
    return locked
