"""Demo central review: for demo patients whose local pathology is submitted, ship material, and take the cases
through the services to a mix of states — waiting for material, in transit, in the queue, in review,
concordant finals, discordant cases settled by a second reader, adjudicated cases and a few still in
adjudication. Idempotent: each case only moves forward from the state it is in."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.crfs.models import FormStatus, LocalPathology
from registry.pathology import rules, services
from registry.pathology.models import REQUIRED_MATERIAL, CaseStatus, ReviewCase, Shipment

REVIEWER_1, REVIEWER_2, COORDINATOR = "pathologist.perren", "pathologist.couvelard", "datamanager"
#: Stage per case, by the case's position modulo 10 (deterministic, so re-runs agree).
STAGES = ("awaiting", "in_transit", "ready", "in_review", "concordant", "concordant", "concordant", "concordant",
          "second_agrees", "adjudicated")
_TYPICAL_KI67 = {rules.Category.NEC: Decimal("70.0"), rules.Category.NET: Decimal("30.0")}


def _concordant_read(local: LocalPathology) -> dict:
    category = rules.category(local.local_diagnosis)
    diagnosis = local.local_diagnosis if category in (rules.Category.NEC, rules.Category.NET, rules.Category.MINEN) \
        else "NEC_nos"
    ki67 = local.ki67_percent if local.ki67_percent is not None else _TYPICAL_KI67.get(category, Decimal("60.0"))
    return _read(diagnosis, Decimal(ki67))


def _discordant_read(local: LocalPathology) -> dict:
    if rules.category(local.local_diagnosis) == rules.Category.NEC:
        return _read("NET_G3", Decimal("35.0"))
    return _read("NEC_large_cell", Decimal("75.0"))


def _read(diagnosis: str, ki67: Decimal) -> dict:
    nec = rules.category(diagnosis) == rules.Category.NEC
    return {
        "adequate_material": True, "central_diagnosis": diagnosis,
        "differentiation": "poor" if nec or diagnosis == "MiNEN" else "well",
        "morph_organoid_pattern": "absent" if nec else "present",
        "morph_capillary_network_contact": "absent" if nec else "present",
        "morph_desmoplastic_stroma": "present" if nec else "absent",
        "morph_necrosis": "extensive" if nec else "focal",
        "ki67_central_percent": ki67, "ki67_central_cells_counted": 1000,
        "p53_ihc": "aberrant" if nec else "wild_type", "rb1_ihc": "lost" if nec else "retained",
    }


def _dates(specimen: LocalPathology) -> tuple[date, date]:
    today = timezone.localdate()
    start = specimen.specimen_date or today - timedelta(days=60)
    shipped = min(start + timedelta(days=14), today - timedelta(days=6))
    return shipped, min(shipped + timedelta(days=3), today)


def _advance(case: ReviewCase, stage: str, users: dict, index: int) -> None:
    perren, couvelard, dm = users[REVIEWER_1], users[REVIEWER_2], users[COORDINATOR]
    specimen = case.specimen
    sender = specimen.submitted_by or specimen.created_by
    if stage == "awaiting" or sender is None:
        return
    shipped_on, received_on = _dates(specimen)
    if not Shipment.objects.filter(specimen=specimen).exists():
        services.shipment_create(specimen=specimen, user=sender, shipped_on=shipped_on,
                                 items={**{m: 1 for m in REQUIRED_MATERIAL}, "block": 1},
                                 courier_reference=f"DEMO-{specimen.pk:05d}")
    if stage == "in_transit":
        return
    for shipment in Shipment.objects.filter(specimen=specimen, received_on__isnull=True):
        services.shipment_receive(shipment=shipment, user=dm, received_on=received_on,
                                  condition_on_receipt="Good")
    case.refresh_from_db()
    if stage == "ready" or case.status == CaseStatus.AWAITING_MATERIAL:
        return
    first_reader, second_reader = (perren, couvelard) if index % 2 == 0 else (couvelard, perren)
    if case.status == CaseStatus.READY:
        case = services.case_claim(case=case, user=first_reader)
    if stage == "in_review":
        return
    if case.status == CaseStatus.IN_REVIEW:
        data = _concordant_read(specimen) if stage == "concordant" else _discordant_read(specimen)
        services.review_submit(case=case, user=case.assigned_to, data=data)
        case.refresh_from_db()
    if case.status == CaseStatus.SECOND_REVIEW:
        if case.assigned_to_id is None:
            reader = second_reader if not case.reviews.filter(reviewer=second_reader).exists() else first_reader
            case = services.case_claim(case=case, user=reader)
        first = case.reviews.get(read_number=1)
        if stage == "second_agrees":
            data = _read(first.central_diagnosis, first.ki67_central_percent)
        else:
            data = _concordant_read(specimen)
        services.review_submit(case=case, user=case.assigned_to, data=data)
        case.refresh_from_db()
    # Every third adjudication case is left waiting for the consensus meeting.
    if case.status == CaseStatus.ADJUDICATION and (index // len(STAGES)) % 3 != 0:
        first = case.reviews.get(read_number=1)
        services.adjudication_record(
            case=case, user=dm, participants=[perren, couvelard, dm],
            final_diagnosis=rules.final_diagnosis_for(rules.Read(first.central_diagnosis,
                                                                 first.ki67_central_percent)),
            final_ki67=first.ki67_central_percent,
            rationale="Consensus at the review meeting: morphology (organoid pattern, capillary network, "
                      "stroma) and p53/Rb decide; the first central read is upheld.")


def load_pathology_demo(stdout) -> None:
    """Central review for the demo cohort (needs the demo users and patients with submitted local pathology)."""
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[REVIEWER_1, REVIEWER_2,
                                                                                  COORDINATOR])}
    if len(users) < 3:
        stdout.write("Pathology demo skipped: demo pathologists and data manager are missing.")
        return
    specimens = (LocalPathology.objects.exclude(status=FormStatus.DRAFT).select_related("patient")
                 .order_by("patient_id", "-is_diagnostic", "pk"))
    first_per_patient: dict[int, LocalPathology] = {}
    for specimen in specimens:
        first_per_patient.setdefault(specimen.patient_id, specimen)
    counts: dict[str, int] = {}
    with audit_context(command="seed_demo", step="pathology"):
        for index, specimen in enumerate(first_per_patient.values()):
            with transaction.atomic():
                case = services.review_case_open(specimen=specimen, user=specimen.submitted_by)
                if case.status != CaseStatus.FINAL:
                    _advance(case, STAGES[index % len(STAGES)], users, index)
                case.refresh_from_db()
            counts[case.status] = counts.get(case.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no submitted local pathology"
    stdout.write(f"Pathology demo: {summary}.")
