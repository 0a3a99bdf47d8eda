"""Reads of central review, scoped through registry/sites/scoping.py and blinding-aware.

Blinding (DESIGN.md §4): a central pathologist sees the material, the specimen's site and type and the clinical
context, but not the local diagnosis, local Ki-67, local differentiation or the other reads of a case until
they have submitted their own read. Every reader path (queue, detail, history, API) asks `case_view` or the
lists here, which never carry local values for a blinded reader.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from registry.core.errors import NotFound
from registry.crfs.models import Baseline, LocalPathology, TumourStaging
from registry.pathology import rules
from registry.pathology.access import (
    QUEUE_ROLES,
    SITE_READERS,
    holds_reviewer_role,
    is_blinded,
)
from registry.pathology.models import (
    OPEN_STATUSES,
    REQUIRED_MATERIAL,
    Adjudication,
    CaseStatus,
    CentralReview,
    FinalClassification,
    Material,
    Notification,
    ReviewCase,
    Shipment,
    ShipmentItem,
)
from registry.sites.scoping import roles_of, scope_queryset


def overdue_days() -> int:
    """Days from material receipt after which an open case is overdue (settings, default 28)."""
    return settings.REGISTRY_PATHOLOGY_OVERDUE_DAYS


def turnaround_days(case: ReviewCase, now: datetime | None = None) -> int | None:
    """Whole days since the material arrived (until the final classification for closed cases)."""
    if case.material_received_at is None:
        return None
    end = case.finalised_at or now or timezone.now()
    return (end - case.material_received_at).days


def is_overdue(case: ReviewCase, now: datetime | None = None) -> bool:
    days = turnaround_days(case, now)
    return case.status != CaseStatus.FINAL and days is not None and days > overdue_days()


# --- Queue ---------------------------------------------------------------------------------------------------

def case_list_for_user(user) -> QuerySet[ReviewCase]:
    """Review cases of the sites where the user works the queue, with `my_read` (user submitted a read)."""
    mine = CentralReview.objects.filter(case=OuterRef("pk"), reviewer_id=getattr(user, "pk", None))
    return (scope_queryset(ReviewCase.objects.all(), user, site_field="patient__site", roles=QUEUE_ROLES)
            .select_related("patient__site", "specimen", "assigned_to", "final_classification")
            .annotate(my_read=Exists(mine)))


def case_get_for_user(user, pk) -> ReviewCase:
    """One case of the queue; NotFound when absent or not visible (never which)."""
    try:
        return case_list_for_user(user).get(pk=pk)
    except (ReviewCase.DoesNotExist, ValueError, TypeError):
        raise NotFound("Review case not found.") from None


@dataclass
class QueueRow:
    case: ReviewCase
    turnaround_days: int | None
    age_days: int
    overdue: bool
    assigned_to_me: bool


#: How many pages past the one asked for a list's count reads ("Page 1 of 11+"): the count of a 100,000-row list
#: then costs a few hundred index entries, not a scan of the list and every table its scoping joins.
COUNT_LOOKAHEAD_PAGES = 10
#: Page numbers beyond this are treated as this (the count's LIMIT stays a sane integer).
_MAX_PAGE = 1_000_000


class BoundedPaginator(Paginator):
    """A Django Paginator whose count stops at `limit` + 1 rows; `more` says the list goes on past them."""

    def __init__(self, object_list, per_page, *, limit: int):
        super().__init__(object_list, per_page)
        self.limit = limit

    @cached_property
    def count(self) -> int:
        # SELECT COUNT(*) FROM (SELECT id … ORDER BY … LIMIT n): the ordered index scan stops after n rows.
        return self.object_list.values("pk")[: self.limit + 1].count()

    @property
    def more(self) -> bool:
        return self.count > self.limit


def page_of(rows: QuerySet, number, per_page: int) -> Page:
    """One page of an ordered queryset, in two bounded statements whatever the size of the list.

    The count reads at most COUNT_LOOKAHEAD_PAGES pages past the one asked for (`BoundedPaginator`), without
    annotations or select_related joins. The rows are fetched by primary key from the page's window of the
    ordered scan (a narrow read of the keys, the order's index where there is one), so the joins, wide columns
    and per-row subqueries (`my_read`) run for the page's rows only: selecting them over the whole ordered scan
    made PostgreSQL hash every read the user ever submitted, and sort every matching row at full width (on
    disk) for a deep page.
    """
    try:
        wanted = min(max(int(number), 1), _MAX_PAGE)
    except (TypeError, ValueError):
        wanted = 1
    paginator = BoundedPaginator(rows, per_page, limit=(wanted + COUNT_LOOKAHEAD_PAGES) * per_page)
    page = paginator.get_page(number)
    page.object_list = list(rows.filter(pk__in=page.object_list.values("pk")))
    return page


def queue_rows(cases: Iterable[ReviewCase], user, now: datetime | None = None) -> list[QueueRow]:
    """Rows for the queue page (no queries: everything comes from the case queryset)."""
    now = now or timezone.now()
    return [QueueRow(case=c, turnaround_days=turnaround_days(c, now), age_days=(now - c.opened_at).days,
                     overdue=is_overdue(c, now), assigned_to_me=c.assigned_to_id == user.pk) for c in cases]


# --- One case, blinded or not ----------------------------------------------------------------------------------

@dataclass
class ClinicalContext:
    primary_site: str
    sex: str
    age_years: int | None


@dataclass
class LocalRead:
    """The site's read: shown only to unblinded users."""

    local_diagnosis: str
    local_diagnosis_label: str
    local_ki67: Decimal | None
    local_differentiation: str
    local_cell_type: str
    local_mitoses: Decimal | None


@dataclass
class CaseView:
    case: ReviewCase
    blinded: bool
    context: ClinicalContext
    shipments: list[Shipment]
    material_received: list[str]
    reviews: list[CentralReview] = field(default_factory=list)
    local: LocalRead | None = None
    adjudication: Adjudication | None = None
    final: FinalClassification | None = None
    my_review: CentralReview | None = None


def _age(dob: date | None, on: date | None) -> int | None:
    if dob is None or on is None:
        return None
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def clinical_context(case: ReviewCase) -> ClinicalContext:
    """Primary site, sex and age at the specimen date (what a reviewer may know)."""
    tumour = TumourStaging.objects.filter(patient_id=case.patient_id).only("primary_site").first()
    baseline = Baseline.objects.filter(patient_id=case.patient_id).only("sex", "date_of_birth").first()
    on = case.specimen.specimen_date or case.opened_at.date()
    return ClinicalContext(
        primary_site=tumour.get_primary_site_display() if tumour and tumour.primary_site else "not recorded",
        sex=baseline.get_sex_display() if baseline and baseline.sex else "not recorded",
        age_years=_age(baseline.date_of_birth if baseline else None, on))


def blinded_for(user, case: ReviewCase, roles: set[str] | None = None) -> bool:
    """Whether `user` is blinded on `case` (case from `case_list_for_user`, which annotates `my_read`)."""
    has_submitted = getattr(case, "my_read", None)
    if has_submitted is None:
        has_submitted = case.reviews.filter(reviewer_id=user.pk).exists()
    return is_blinded(status=case.status, is_reviewer=holds_reviewer_role(user, roles), has_submitted=has_submitted)


def case_view(user, case: ReviewCase) -> CaseView:
    """Everything the user may see of a case (a constant number of queries)."""
    blinded = blinded_for(user, case)
    shipments = list(Shipment.objects.filter(specimen_id=case.specimen_id).select_related("specimen__patient")
                     .prefetch_related(Prefetch("items", queryset=ShipmentItem.objects.order_by("material")))
                     .order_by("shipped_on", "pk"))
    received = sorted({i.material for s in shipments if s.received_on for i in s.items.all()})
    view = CaseView(case=case, blinded=blinded, context=clinical_context(case), shipments=shipments,
                    material_received=received)
    reviews = list(CentralReview.objects.filter(case=case).select_related("reviewer").order_by("read_number"))
    view.my_review = next((r for r in reviews if r.reviewer_id == user.pk), None)
    if blinded:
        # A blinded reader has no read of their own yet, so sees no read at all.
        return view
    specimen = case.specimen
    view.reviews = reviews
    view.local = LocalRead(
        local_diagnosis=specimen.local_diagnosis, local_diagnosis_label=specimen.get_local_diagnosis_display(),
        local_ki67=specimen.ki67_percent, local_differentiation=specimen.differentiation,
        local_cell_type=specimen.cell_type, local_mitoses=specimen.mitoses_per_2mm2)
    view.adjudication = (Adjudication.objects.filter(case=case).prefetch_related("participants").first()
                         if case.status == CaseStatus.FINAL else None)
    view.final = getattr(case, "final_classification", None) if case.status == CaseStatus.FINAL else None
    return view


# --- History (audit trail of a case), with the same blinding ----------------------------------------------------

#: Fields of each audited model a blinded reader may see in the history of a case.
_BLINDED_FIELDS = {
    ReviewCase: ("status", "priority", "assigned_to_id", "opened_at", "material_received_at", "finalised_at"),
    Shipment: ("shipped_on", "courier_reference", "received_on", "condition_on_receipt", "blocks_return_due",
               "blocks_returned_on", "return_courier_reference", "comment"),
    ShipmentItem: ("shipment_id", "material", "quantity"),
}
_OPEN_FIELDS = {
    ReviewCase: (*_BLINDED_FIELDS[ReviewCase], "discordant_with_local", "discordance_reasons"),
    Shipment: _BLINDED_FIELDS[Shipment],
    ShipmentItem: _BLINDED_FIELDS[ShipmentItem],
    CentralReview: ("read_number", "reviewer_id", "review_date", "adequate_material", "central_diagnosis",
                    "differentiation", "cell_type", "ki67_central_percent", "ki67_central_cells_counted",
                    "mitoses_per_2mm2", "p53_ihc", "rb1_ihc", "sstr2_ihc", "comment"),
    Adjudication: ("decided_on", "final_diagnosis", "final_ki67", "rationale"),
    FinalClassification: ("final_diagnosis", "final_ki67", "ki67_source", "method", "discordant_with_local"),
    LocalPathology: ("status", "local_diagnosis", "differentiation", "cell_type", "ki67_percent",
                     "mitoses_per_2mm2"),
}


@dataclass
class HistoryEntry:
    at: datetime
    record: str
    record_id: int
    action: str
    user: str
    reason: str
    values: dict


def case_history(user, case: ReviewCase, *, blinded: bool) -> list[HistoryEntry]:
    """The audit events of a case, oldest first; a blinded reader gets no local or read fields at all."""
    sources = [
        (ReviewCase, {"pgh_obj_id": case.pk}),
        (Shipment, {"specimen_id": case.specimen_id}),
        (ShipmentItem, {"shipment__specimen_id": case.specimen_id}),
    ]
    if not blinded:
        sources += [
            (CentralReview, {"case_id": case.pk}),
            (Adjudication, {"case_id": case.pk}),
            (FinalClassification, {"patient_id": case.patient_id}),
            (LocalPathology, {"pgh_obj_id": case.specimen_id}),
        ]
    fields_for = _BLINDED_FIELDS if blinded else _OPEN_FIELDS
    entries: list[tuple] = []
    for model, lookup in sources:
        fields = fields_for[model]
        events = model.pgh_event_model.objects.select_related("pgh_context")
        if model is ShipmentItem:
            shipment_ids = Shipment.objects.filter(specimen_id=case.specimen_id).values("pk")
            events = events.filter(shipment_id__in=shipment_ids)
        else:
            events = events.filter(**lookup)
        for event in events.order_by("pgh_id"):
            metadata = event.pgh_context.metadata if event.pgh_context_id else {}
            entries.append((event.pgh_created_at, model._meta.verbose_name.capitalize(), event.pgh_obj_id,
                            event.pgh_label, metadata, {n: getattr(event, n) for n in fields}))
    user_ids = {m.get("user") for *_, m, _v in entries if isinstance(m.get("user"), int)}
    usernames = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    entries.sort(key=lambda e: e[0])
    return [HistoryEntry(at=at, record=record, record_id=obj, action=label,
                         user=usernames.get(meta.get("user"), "system"), reason=meta.get("reason", ""), values=values)
            for at, record, obj, label, meta, values in entries]


# --- Site side: material outstanding, notices ----------------------------------------------------------------------

@dataclass
class Outstanding:
    case: ReviewCase
    missing: list[str]
    in_transit: list[Shipment]
    blocks_out: list[Shipment]


#: A shipment's items. Ordered by material only: the model's default order goes through the shipment's date, which
#: joins every shipment of the registry to the prefetch (the order within one shipment is the same).
_ITEMS = Prefetch("items", queryset=ShipmentItem.objects.order_by("material"))


def shipment_list_for_user(user) -> QuerySet[Shipment]:
    """Shipments of the sites the user works at (site staff) or of every site (central team)."""
    return (scope_queryset(Shipment.objects.all(), user, site_field="specimen__patient__site",
                           roles=SITE_READERS | QUEUE_ROLES)
            .select_related("specimen__patient__site").prefetch_related(_ITEMS))


def shipment_get_for_user(user, pk) -> Shipment:
    try:
        return shipment_list_for_user(user).get(pk=pk)
    except (Shipment.DoesNotExist, ValueError, TypeError):
        raise NotFound("Shipment not found.") from None


def outstanding_cases_for_user(user) -> QuerySet[ReviewCase]:
    """Open cases of the user's sites (site staff), oldest first: what the material page lists, a page at a
    time (`outstanding_rows`)."""
    return (scope_queryset(ReviewCase.objects.filter(status__in=OPEN_STATUSES), user, site_field="patient__site",
                           roles=SITE_READERS)
            .select_related("patient__site", "specimen").order_by("opened_at", "pk"))


def outstanding_rows(cases: Iterable[ReviewCase]) -> list[Outstanding]:
    """What material is still missing, in transit, or blocks not back, for these cases (two queries: their
    shipments and the shipments' items)."""
    cases = list(cases)
    shipments: dict[int, list[Shipment]] = {}
    for s in (Shipment.objects.filter(specimen_id__in=[c.specimen_id for c in cases])
              .prefetch_related(_ITEMS).order_by("shipped_on", "pk")):
        shipments.setdefault(s.specimen_id, []).append(s)
    rows = []
    for case in cases:
        sent = shipments.get(case.specimen_id, [])
        shipped = {i.material for s in sent for i in s.items.all()}
        rows.append(Outstanding(
            case=case,
            missing=[Material(m).label for m in REQUIRED_MATERIAL if m not in shipped],
            in_transit=[s for s in sent if s.received_on is None],
            blocks_out=[s for s in sent if s.received_on and s.blocks_returned_on is None
                        and any(i.material == Material.BLOCK for i in s.items.all())]))
    return rows


def outstanding_for_user(user) -> list[Outstanding]:
    """Open cases of the user's sites with what material is still missing, in transit, or blocks not back
    (every one: the API's list; the material page pages `outstanding_cases_for_user` instead)."""
    return outstanding_rows(outstanding_cases_for_user(user))


def shipments_to_receive(user) -> QuerySet[Shipment]:
    """Parcels sent to central review and not yet received, oldest first."""
    return shipment_list_for_user(user).filter(received_on__isnull=True).order_by("shipped_on", "pk")


def shipments_with_blocks_out(user) -> QuerySet[Shipment]:
    """Received shipments whose blocks central review still holds, the soonest due back first."""
    return (shipment_list_for_user(user)
            .filter(received_on__isnull=False, blocks_returned_on__isnull=True)
            .filter(Exists(ShipmentItem.objects.filter(shipment=OuterRef("pk"), material=Material.BLOCK)))
            .order_by("blocks_return_due", "pk"))


def notification_list_for_user(user) -> QuerySet[Notification]:
    """Notices to the sites where the user is site staff, monitor or data manager."""
    return scope_queryset(Notification.objects.all(), user, site_field="site", roles=SITE_READERS) \
        .select_related("site", "patient", "read_by")


def notification_get_for_user(user, pk) -> Notification:
    try:
        return notification_list_for_user(user).get(pk=pk)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise NotFound("Notification not found.") from None


# --- What analyses read -----------------------------------------------------------------------------------------

def final_classification_for_patients(patient_ids: Iterable[int]) -> dict[int, FinalClassification]:
    """{patient id: FinalClassification} for the patients that have one (one query; no scoping: analysis code
    works on the whole cohort and is itself restricted to statisticians and data managers)."""
    return {f.patient_id: f for f in FinalClassification.objects.filter(patient_id__in=list(patient_ids))}


def analysis_group(final: FinalClassification | None) -> str | None:
    """F10 `group`: "NEC" | "NET_G3" | None (not high-grade, not reviewable, or no final classification)."""
    return rules.analysis_group(final.final_diagnosis if final is not None else None)


@dataclass
class AgreementInputs:
    local_vs_central: list[tuple[str, str]]
    ki67_pairs: list[tuple[float, float]]
    reviewer_pairs: list[tuple[str, str]]
    reviewer_ki67_pairs: list[tuple[float, float]]


def agreement_inputs(user) -> AgreementInputs:
    """Local vs first central read and read 1 vs read 2 of the cases the user may see (adequate reads only)."""
    reads = (CentralReview.objects.filter(
        case__in=scope_queryset(ReviewCase.objects.all(), user, site_field="patient__site", roles=QUEUE_ROLES),
        adequate_material=True).select_related("specimen").order_by("case_id", "read_number"))
    by_case: dict[int, dict[int, CentralReview]] = {}
    for r in reads:
        by_case.setdefault(r.case_id, {})[r.read_number] = r
    out = AgreementInputs([], [], [], [])
    for pair in by_case.values():
        first, second = pair.get(1), pair.get(2)
        if first is None:
            continue
        local = first.specimen
        if local.local_diagnosis:
            out.local_vs_central.append((rules.agreement_category(local.local_diagnosis),
                                         rules.agreement_category(first.central_diagnosis)))
        if local.ki67_percent is not None and first.ki67_central_percent is not None:
            out.ki67_pairs.append((float(local.ki67_percent), float(first.ki67_central_percent)))
        if second is not None:
            out.reviewer_pairs.append((rules.agreement_category(first.central_diagnosis),
                                       rules.agreement_category(second.central_diagnosis)))
            if first.ki67_central_percent is not None and second.ki67_central_percent is not None:
                out.reviewer_ki67_pairs.append((float(first.ki67_central_percent),
                                                float(second.ki67_central_percent)))
    return out


def reviewer_roles(user) -> set[str]:
    """The user's roles, fetched once per request for the blinding checks."""
    return roles_of(user)
