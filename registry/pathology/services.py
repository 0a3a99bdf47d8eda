"""Writes of central review (DESIGN.md §3.1): open a case, ship and receive material, claim and assign,
submit blinded reads, adjudicate, finalise and tell the site.

Each service locks the ReviewCase row (SELECT ... FOR UPDATE) before changing it, so two pathologists
claiming or submitting at once are serialised, and records who/why in the audit context.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from smtplib import SMTPException
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.crfs.models import FormStatus, LocalPathology
from registry.pathology import rules
from registry.pathology.access import COORDINATION, REVIEWERS, SITE_SENDERS
from registry.pathology.models import (
    REQUIRED_MATERIAL,
    Adjudication,
    AdjudicationParticipant,
    CaseStatus,
    CentralReview,
    FinalClassification,
    FinalDiagnosis,
    FinalMethod,
    Material,
    Notification,
    Priority,
    ReviewCase,
    Shipment,
    ShipmentItem,
)
from registry.sites.models import Role, SiteMembership
from registry.sites.scoping import has_role, scope_queryset

logger = logging.getLogger(__name__)

#: Input fields of a central read (F9) the reviewer types in.
REVIEW_FIELDS: tuple[str, ...] = (
    "review_date", "material_received", "blinded_to_local_diagnosis", "blinded_to_outcome", "adequate_material",
    "central_diagnosis", "differentiation", "cell_type", "morph_organoid_pattern",
    "morph_capillary_network_contact", "morph_desmoplastic_stroma", "morph_necrosis", "ki67_central_percent",
    "ki67_central_cells_counted", "mitoses_per_2mm2", "p53_ihc", "rb1_ihc", "sstr2_ihc", "comment",
)
_CELL_TYPE_OF = {"NEC_small_cell": "small_cell", "NEC_large_cell": "large_cell"}


def block_return_days() -> int:
    return settings.REGISTRY_PATHOLOGY_BLOCK_RETURN_DAYS


def _require(user, roles: Iterable[str], site_id: int, action: str) -> None:
    if not has_role(user, roles, site_id):
        raise PermissionDenied(f"Your role does not allow you to {action}.", rule="role")


def _lock_case(case: ReviewCase) -> ReviewCase:
    return ReviewCase.objects.select_for_update().select_related("patient", "specimen").get(pk=case.pk)


def _save_case(case: ReviewCase, **context: Any) -> ReviewCase:
    case.version += 1
    with audit_context(**context):
        case.save()
    return case


# --- Opening a case ---------------------------------------------------------------------------------------

@transaction.atomic
def review_case_open(*, specimen: LocalPathology, user=None) -> ReviewCase:
    """Open the patient's review case for a submitted local pathology form (idempotent: one per patient)."""
    specimen = LocalPathology.objects.select_related("patient").get(pk=specimen.pk)
    if specimen.status == FormStatus.DRAFT:
        raise Conflict("Only a submitted local pathology form opens a central review.", rule="workflow")
    case = ReviewCase.objects.select_for_update().filter(patient_id=specimen.patient_id).first()
    user_id = getattr(user, "pk", None)
    if case is None:
        with audit_context(user=user_id, action="pathology.case_open"):
            return ReviewCase.objects.create(patient_id=specimen.patient_id, specimen=specimen,
                                             opened_at=timezone.now())
    # A later diagnostic specimen replaces a non-diagnostic one while no material has arrived.
    if (case.status == CaseStatus.AWAITING_MATERIAL and specimen.is_diagnostic and case.specimen_id != specimen.pk
            and not LocalPathology.objects.filter(pk=case.specimen_id, is_diagnostic=True).exists()):
        case.specimen = specimen
        _save_case(case, user=user_id, action="pathology.case_specimen")
    return case


# --- Material -----------------------------------------------------------------------------------------------

@transaction.atomic
def shipment_create(*, specimen: LocalPathology, user, shipped_on: date, items: Mapping[str, int],
                    courier_reference: str = "", blocks_return_due: date | None = None,
                    comment: str = "") -> Shipment:
    """Record material a site has sent for one specimen (each kind of material with its quantity)."""
    specimen = LocalPathology.objects.select_related("patient").get(pk=specimen.pk)
    _require(user, SITE_SENDERS, specimen.patient.site_id, "send material for this patient")
    case = ReviewCase.objects.filter(patient_id=specimen.patient_id).first()
    if case is None or case.status == CaseStatus.FINAL:
        raise Conflict("Material is sent for an open central review only.", rule="workflow")
    if shipped_on > timezone.localdate():
        raise ValidationFailed("The shipment date cannot be in the future.", field="shipped_on", rule="date")
    items = {str(k): int(v) for k, v in items.items() if v}
    unknown = set(items) - set(Material.values)
    if not items or unknown:
        raise ValidationFailed("List at least one kind of material (" + ", ".join(Material.values) + ").",
                               field="items", rule="material")
    if any(q < 1 for q in items.values()):
        raise ValidationFailed("Quantities must be at least 1.", field="items", rule="material")
    with audit_context(user=user.pk, action="pathology.shipment_create"):
        shipment = Shipment.objects.create(specimen=specimen, shipped_on=shipped_on, sent_by=user,
                                           courier_reference=courier_reference.strip(),
                                           blocks_return_due=blocks_return_due, comment=comment.strip())
        ShipmentItem.objects.bulk_create(
            [ShipmentItem(shipment=shipment, material=m, quantity=q) for m, q in sorted(items.items())])
    return shipment


def received_material(specimen_id: int) -> set[str]:
    """Kinds of material received centrally for a specimen."""
    return set(ShipmentItem.objects.filter(shipment__specimen_id=specimen_id, shipment__received_on__isnull=False)
               .values_list("material", flat=True))


@transaction.atomic
def shipment_receive(*, shipment: Shipment, user, received_on: date, condition_on_receipt: str = "") -> Shipment:
    """Accession a shipment centrally; the case becomes ready once H&E, CgA, synaptophysin and Ki-67 are in."""
    shipment = Shipment.objects.select_for_update().select_related("specimen__patient").get(pk=shipment.pk)
    site_id = shipment.specimen.patient.site_id
    _require(user, COORDINATION, site_id, "receive material")
    if shipment.received_on is not None:
        raise Conflict("This shipment has already been received.", rule="workflow")
    if received_on < shipment.shipped_on or received_on > timezone.localdate():
        raise ValidationFailed("The receipt date must lie between the shipment date and today.",
                               field="received_on", rule="date")
    shipment.received_on, shipment.received_by = received_on, user
    shipment.condition_on_receipt = condition_on_receipt.strip()
    has_blocks = shipment.items.filter(material=Material.BLOCK).exists()
    if has_blocks and shipment.blocks_return_due is None:
        shipment.blocks_return_due = received_on + timedelta(days=block_return_days())
    with audit_context(user=user.pk, action="pathology.shipment_receive"):
        shipment.save()
    case = ReviewCase.objects.select_for_update().filter(patient_id=shipment.specimen.patient_id).first()
    if (case is not None and case.status == CaseStatus.AWAITING_MATERIAL
            and set(REQUIRED_MATERIAL) <= received_material(case.specimen_id)):
        case.status, case.material_received_at = CaseStatus.READY, timezone.now()
        _save_case(case, user=user.pk, action="pathology.case_ready")
    return shipment


@transaction.atomic
def shipment_return_blocks(*, shipment: Shipment, user, returned_on: date, courier_reference: str = "") -> Shipment:
    """Record that the blocks of a shipment went back to the site (they are needed for clinical testing)."""
    shipment = Shipment.objects.select_for_update().select_related("specimen__patient").get(pk=shipment.pk)
    _require(user, COORDINATION, shipment.specimen.patient.site_id, "return blocks")
    if shipment.received_on is None or not shipment.items.filter(material=Material.BLOCK).exists():
        raise Conflict("Only blocks that were received can be returned.", rule="workflow")
    if shipment.blocks_returned_on is not None:
        raise Conflict("The blocks have already been returned.", rule="workflow")
    if returned_on < shipment.received_on or returned_on > timezone.localdate():
        raise ValidationFailed("The return date must lie between receipt and today.", field="returned_on",
                               rule="date")
    shipment.blocks_returned_on, shipment.return_courier_reference = returned_on, courier_reference.strip()
    with audit_context(user=user.pk, action="pathology.blocks_return"):
        shipment.save()
    return shipment


# --- Queue: claim, assign, priority -------------------------------------------------------------------------

def _claimable(user):
    """Cases this pathologist may take now: ready ones, and second reads they did not do the first read of."""
    mine = CentralReview.objects.filter(case=OuterRef("pk"), reviewer_id=user.pk)
    return scope_queryset(ReviewCase.objects.all(), user, site_field="patient__site", roles=REVIEWERS).filter(
        Q(status=CaseStatus.READY)
        | Q(status=CaseStatus.SECOND_REVIEW, assigned_to__isnull=True) & ~Exists(mine))


def _take(case: ReviewCase, reviewer, *, by, action: str) -> ReviewCase:
    if case.status == CaseStatus.READY:
        case.status = CaseStatus.IN_REVIEW
    elif case.status == CaseStatus.SECOND_REVIEW:
        if case.reviews.filter(reviewer_id=reviewer.pk).exists():
            raise ValidationFailed("The second read must be done by a different pathologist.",
                                   field="reviewer", rule="second_reviewer_differs")
    else:
        raise Conflict(f"A case that is {case.get_status_display().lower()} cannot be assigned.", rule="workflow")
    case.assigned_to, case.assigned_at = reviewer, timezone.now()
    return _save_case(case, user=by.pk, action=action)


@transaction.atomic
def case_claim(*, case: ReviewCase, user) -> ReviewCase:
    """Take a ready (or second-read) case for oneself."""
    case = _lock_case(case)
    _require(user, REVIEWERS, case.patient.site_id, "review cases")
    if case.assigned_to_id is not None:
        raise Conflict("Someone has already claimed this case.", rule="claimed")
    return _take(case, user, by=user, action="pathology.case_claim")


@transaction.atomic
def case_claim_next(*, user) -> ReviewCase | None:
    """Claim the most urgent, longest-waiting case; rows other pathologists are claiming are skipped."""
    if not has_role(user, REVIEWERS):
        raise PermissionDenied("Only central pathologists claim cases.", rule="role")
    case = (_claimable(user).order_by("-priority", "material_received_at", "opened_at", "pk")
            .select_for_update(skip_locked=True).first())
    if case is None:
        return None
    return _take(case, user, by=user, action="pathology.case_claim")


@transaction.atomic
def case_assign(*, case: ReviewCase, reviewer, user) -> ReviewCase:
    """Assign (or reassign) a case to a central pathologist."""
    case = _lock_case(case)
    _require(user, COORDINATION, case.patient.site_id, "assign cases")
    # The membership itself, not has_role: a superuser is not a pathologist by virtue of seeing everything.
    if not reviewer.is_active or not SiteMembership.objects.filter(
            Q(site__isnull=True) | Q(site_id=case.patient.site_id), user=reviewer,
            role=Role.CENTRAL_PATHOLOGIST).exists():
        raise ValidationFailed("Cases can be assigned to central pathologists only.", field="reviewer",
                               rule="reviewer_role")
    if case.status == CaseStatus.IN_REVIEW or (case.status == CaseStatus.SECOND_REVIEW and case.assigned_to_id):
        # Reassignment of a read in progress: back to the pool state first.
        case.status = CaseStatus.READY if case.status == CaseStatus.IN_REVIEW else case.status
        case.assigned_to = None
    return _take(case, reviewer, by=user, action="pathology.case_assign")


@transaction.atomic
def case_release(*, case: ReviewCase, user) -> ReviewCase:
    """Give a claimed case back to the queue (the assignee, or a coordinator)."""
    case = _lock_case(case)
    if case.assigned_to_id != user.pk:
        _require(user, COORDINATION, case.patient.site_id, "release cases")
    if case.status not in (CaseStatus.IN_REVIEW, CaseStatus.SECOND_REVIEW) or case.assigned_to_id is None:
        raise Conflict("Only a claimed case can be released.", rule="workflow")
    if case.status == CaseStatus.IN_REVIEW:
        case.status = CaseStatus.READY
    case.assigned_to, case.assigned_at = None, None
    return _save_case(case, user=user.pk, action="pathology.case_release")


@transaction.atomic
def case_set_priority(*, case: ReviewCase, priority: int, user) -> ReviewCase:
    """Change a case's priority (urgent cases are claimed first)."""
    case = _lock_case(case)
    _require(user, COORDINATION, case.patient.site_id, "change priorities")
    if priority not in Priority.values:
        raise ValidationFailed("Unknown priority.", field="priority", rule="choice")
    case.priority = priority
    return _save_case(case, user=user.pk, action="pathology.case_priority")


# --- Reads ---------------------------------------------------------------------------------------------------

def _read(review: CentralReview) -> rules.Read:
    return rules.Read(review.central_diagnosis, review.ki67_central_percent, adequate=review.adequate_material)


def _local_read(specimen: LocalPathology) -> rules.Read:
    return rules.Read(specimen.local_diagnosis, specimen.ki67_percent)


def _build_review(case: ReviewCase, user, data: Mapping[str, Any], read_number: int) -> CentralReview:
    unknown = set(data) - set(REVIEW_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(sorted(unknown))}.", field=sorted(unknown)[0],
                               rule="unknown_field")
    values = {k: v for k, v in data.items() if v is not None}
    values.setdefault("review_date", timezone.localdate())
    if not values.get("material_received"):
        values["material_received"] = sorted(received_material(case.specimen_id))
    review = CentralReview(case=case, specimen=case.specimen, reviewer=user, read_number=read_number,
                           submitted_at=timezone.now(), **values)
    errors: dict[str, list[str]] = {}
    if review.adequate_material is None:
        errors["adequate_material"] = ["Say whether the material is adequate."]
    elif review.adequate_material:
        for name in ("central_diagnosis", "differentiation", "ki67_central_percent"):
            if getattr(review, name) in (None, ""):
                errors[name] = [f"{name} is required when the material is adequate."]
    expected_cell = _CELL_TYPE_OF.get(review.central_diagnosis)
    if expected_cell and not review.cell_type:
        review.cell_type = expected_cell
    if expected_cell and review.cell_type != expected_cell:
        errors["cell_type"] = [f"{review.central_diagnosis} needs cell_type {expected_cell}."]
    if review.cell_type and review.cell_type != "not_applicable" and review.central_diagnosis not in rules.NEC_CODES:
        errors["cell_type"] = ["cell_type is recorded for NEC only."]
    if review.review_date and review.review_date > timezone.localdate():
        errors["review_date"] = ["The review date cannot be in the future."]
    try:
        review.full_clean(exclude=["case", "specimen", "reviewer"], validate_unique=False,
                          validate_constraints=False)
    except DjangoValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(errors[first][0], field=first, rule="review", errors=errors)
    return review


@transaction.atomic
def review_submit(*, case: ReviewCase, user, data: Mapping[str, Any]) -> CentralReview:
    """Submit the assigned pathologist's blinded read and move the case on by the discordance rules."""
    case = _lock_case(case)
    _require(user, REVIEWERS, case.patient.site_id, "review cases")
    if case.status not in (CaseStatus.IN_REVIEW, CaseStatus.SECOND_REVIEW) or case.assigned_to_id != user.pk:
        raise Conflict("Claim the case before submitting a read.", rule="not_assigned")
    read_number = 1 if case.status == CaseStatus.IN_REVIEW else 2
    first = case.reviews.filter(read_number=1).first() if read_number == 2 else None
    if first is not None and first.reviewer_id == user.pk:
        raise ValidationFailed("The second read must be done by a different pathologist.", field="reviewer",
                               rule="second_reviewer_differs")
    review = _build_review(case, user, data, read_number)
    context = {"user": user.pk, "action": f"pathology.read{read_number}_submit"}
    with audit_context(**context):
        review.save()
    local = _local_read(case.specimen)
    if read_number == 1:
        reasons = rules.discordance(local, _read(review)) if review.adequate_material else []
        case.discordant_with_local, case.discordance_reasons = bool(reasons), reasons
        if rules.step_after_first_read(local, _read(review)) == rules.Step.FINAL:
            _finalise(case, reads=[review], method=FinalMethod.SINGLE_REVIEWER, user=user)
        else:
            case.status, case.assigned_to, case.assigned_at = CaseStatus.SECOND_REVIEW, None, None
            _save_case(case, **context)
        return review
    if _reads_agree(_read(first), _read(review)):
        _finalise(case, reads=[first, review], method=FinalMethod.TWO_REVIEWERS_AGREE, user=user)
    else:
        case.status, case.assigned_to, case.assigned_at = CaseStatus.ADJUDICATION, None, None
        _save_case(case, **context)
    return review


def _reads_agree(first: rules.Read, second: rules.Read) -> bool:
    """No discordance and the same final code (a NEC NOS read yields to a read naming the cell type)."""
    if rules.step_after_second_read(first, second) != rules.Step.FINAL:
        return False
    return _agreed_diagnosis([first, second]) is not None


def _agreed_diagnosis(reads: list[rules.Read]) -> str | None:
    codes = {rules.final_diagnosis_for(r) for r in reads}
    if len(codes) == 1:
        return codes.pop()
    specific = codes - {FinalDiagnosis.NEC_NOS}
    if FinalDiagnosis.NEC_NOS in codes and len(specific) == 1 and specific <= {"NEC_small", "NEC_large"}:
        return specific.pop()
    return None


# --- Adjudication and the final classification ----------------------------------------------------------------

@transaction.atomic
def adjudication_record(*, case: ReviewCase, user, participants: Iterable, final_diagnosis: str,
                        final_ki67: Decimal | None, rationale: str, decided_on: date | None = None) -> Adjudication:
    """Record the consensus decision (participants, rationale) on an unresolved case and finalise it."""
    case = _lock_case(case)
    _require(user, COORDINATION, case.patient.site_id, "record adjudications")
    if case.status != CaseStatus.ADJUDICATION:
        raise Conflict("Only a case in adjudication can be adjudicated.", rule="workflow")
    participants = list({p.pk: p for p in participants}.values())
    errors: dict[str, list[str]] = {}
    if not participants:
        errors["participants"] = ["Name the people who took part."]
    elif not any(has_role(p, REVIEWERS, case.patient.site_id) for p in participants):
        errors["participants"] = ["At least one central pathologist must take part."]
    if final_diagnosis not in FinalDiagnosis.values:
        errors["final_diagnosis"] = ["Unknown final diagnosis."]
    if final_ki67 is None and final_diagnosis != FinalDiagnosis.NOT_REVIEWABLE:
        errors["final_ki67"] = ["State the agreed Ki-67 %."]
    if final_ki67 is not None and not Decimal(0) <= Decimal(final_ki67) <= Decimal(100):
        errors["final_ki67"] = ["Ki-67 must lie between 0 and 100 %."]
    if not (rationale or "").strip():
        errors["rationale"] = ["Give the rationale of the decision."]
    decided_on = decided_on or timezone.localdate()
    if decided_on > timezone.localdate():
        errors["decided_on"] = ["The decision date cannot be in the future."]
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(errors[first][0], field=first, rule="adjudication", errors=errors)
    with audit_context(user=user.pk, action="pathology.adjudication"):
        adjudication = Adjudication.objects.create(
            case=case, decided_on=decided_on, final_diagnosis=final_diagnosis,
            final_ki67=None if final_ki67 is None else Decimal(final_ki67), rationale=rationale.strip(),
            recorded_by=user)
        AdjudicationParticipant.objects.bulk_create(
            [AdjudicationParticipant(adjudication=adjudication, user=p) for p in participants])
    ki67 = adjudication.final_ki67
    source = "central" if ki67 is not None else "none"
    _finalise(case, reads=None, method=FinalMethod.CONSENSUS_MEETING, user=user,
              decided=(final_diagnosis, ki67, source))
    return adjudication


def _finalise(case: ReviewCase, *, reads: list[CentralReview] | None, method: str, user,
              decided: tuple[str, Decimal | None, str] | None = None) -> FinalClassification:
    specimen = case.specimen
    if decided is None:
        central = [_read(r) for r in reads]
        diagnosis = _agreed_diagnosis(central) or rules.final_diagnosis_for(central[0])
        ki67, source = rules.final_ki67([r.ki67_central_percent for r in reads], specimen.ki67_percent)
        if diagnosis == FinalDiagnosis.NOT_REVIEWABLE:
            ki67, source = rules.final_ki67([], specimen.ki67_percent)
    else:
        diagnosis, ki67, source = decided
        if ki67 is None:
            ki67, source = rules.final_ki67([], specimen.ki67_percent)
    if FinalClassification.objects.filter(patient_id=case.patient_id).exists():
        raise Conflict("This patient already has a final classification.", rule="one_per_patient")
    now = timezone.now()
    with audit_context(user=user.pk, action="pathology.finalise"):
        final = FinalClassification.objects.create(
            patient_id=case.patient_id, case=case, final_diagnosis=diagnosis, final_ki67=ki67, ki67_source=source,
            method=method, discordant_with_local=rules.discordant_with_local(_local_read(specimen), diagnosis, ki67),
            decided_at=now)
    case.status, case.finalised_at, case.assigned_to, case.assigned_at = CaseStatus.FINAL, now, None, None
    _save_case(case, user=user.pk, action="pathology.finalise")
    _notify_site(case, final, user=user)
    return final


def _notify_site(case: ReviewCase, final: FinalClassification, *, user) -> Notification:
    """In-app notice to the site and an e-mail to its staff, sent once the transaction commits."""
    patient = case.patient
    ki67 = f"{final.final_ki67} % ({final.get_ki67_source_display().lower()})" if final.final_ki67 is not None \
        else "not available"
    subject = f"Central pathology review final for {patient.study_id}: {final.get_final_diagnosis_display()}"
    body = (f"Central review of patient {patient.study_id} is complete.\n"
            f"Final classification: {final.get_final_diagnosis_display()}\n"
            f"Final Ki-67: {ki67}\n"
            f"Method: {final.get_method_display()}\n"
            + ("The central classification differs from the local report; both are kept, and analyses use the "
               "central classification.\n" if final.discordant_with_local else
               "The central classification agrees with the local report.\n"))
    with audit_context(user=user.pk, action="pathology.notify"):
        notification = Notification.objects.create(site_id=patient.site_id, patient=patient, subject=subject,
                                                   body=body)
    recipients = sorted(set(
        get_user_model().objects.filter(
            is_active=True, memberships__site_id=patient.site_id,
            memberships__role__in=[Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR]).exclude(email="")
        .values_list("email", flat=True)))
    if recipients:
        transaction.on_commit(lambda: _email_notification(notification.pk, subject, body, recipients))
    return notification


def _email_notification(notification_id: int, subject: str, body: str, recipients: list[str]) -> None:
    """E-mail is a second channel: the in-app notice is already committed, so a mail server that is down must
    not turn the saved classification into an error page. The failure is logged without the message text."""
    try:
        send_mail(subject, body, None, recipients, fail_silently=False)
    except (OSError, SMTPException) as exc:
        logger.warning("could not e-mail notification %s (%s); it stays visible in the app",
                       notification_id, type(exc).__name__)


@transaction.atomic
def notification_mark_read(*, notification: Notification, user) -> Notification:
    """Acknowledge a notice (site staff of its site)."""
    notification = Notification.objects.select_for_update().get(pk=notification.pk)
    if not has_role(user, {Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER},
                    notification.site_id):
        raise NotFound("Notification not found.")
    if notification.read_at is None:
        notification.read_at, notification.read_by = timezone.now(), user
        with audit_context(user=user.pk, action="pathology.notification_read"):
            notification.save()
    return notification
