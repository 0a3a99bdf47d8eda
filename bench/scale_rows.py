"""Rows of the scale generator (bench/scale_data.py): demo-cohort plans → in-memory forms with primary keys
drawn from the sequences, derived and edit-checked as the services would, central review and data queries,
written with bulk_create (so the audit triggers fire). Split from scale_data.py to keep files short."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models.base import ModelState
from django.utils import timezone

from registry.crfs.casebook import build_casebook
from registry.crfs.catalogue import family
from registry.crfs.demo.generator import PatientPlan
from registry.crfs.derive import PatientRecords, derive_form, derive_patient, normalise_partial_dates
from registry.crfs.models import (
    Baseline,
    Enrolment,
    FollowUp,
    FormStatus,
    LabResult,
    LocalPathology,
    OtherTreatment,
    Regimen,
    RegimenComponent,
    ResponseEvaluation,
    SystemicTreatmentStatus,
    TreatmentLine,
    TumourStaging,
)
from registry.crfs.models.base import CaseReportForm, fill_completeness
from registry.crfs.services.checks import findings_store_many
from registry.crfs.validation import Severity, run_checks
from registry.pathology import rules
from registry.pathology.models import (
    REQUIRED_MATERIAL,
    Adjudication,
    AdjudicationParticipant,
    CaseStatus,
    CentralReview,
    FinalClassification,
    FinalMethod,
    ReviewCase,
    Shipment,
    ShipmentItem,
)
from registry.patients.models import Patient, StudyIdCounter
from registry.patients.study_ids import format_study_id
from registry.queries.models import DataQuery, MessageKind, QueryMessage, QueryOrigin, QueryStatus
from registry.queries.services.reconcile import hits_from_findings, reconcile_hits
from registry.sites.demo import seed_sites_and_users
from registry.sites.models import Site

#: pghistory context of every audit event the generator causes (DESIGN.md: who/why on every write).
AUDIT_CONTEXT = {"command": "bench.scale_data"}
#: Form tables in foreign-key order.
FORM_MODELS = (Enrolment, Baseline, TumourStaging, LocalPathology, SystemicTreatmentStatus, OtherTreatment,
               TreatmentLine, LabResult, ResponseEvaluation, FollowUp)
_ONE = {Enrolment: "enrolment", Baseline: "baseline", TumourStaging: "tumour",
        SystemicTreatmentStatus: "treatment_status"}
_MANY = {LocalPathology: "specimens", LabResult: "labs", TreatmentLine: "lines", ResponseEvaluation: "evaluations",
         OtherTreatment: "other_treatments", FollowUp: "followups"}
#: Central-review stage by patient position modulo 20: mostly final, the rest spread over the open queue.
_OPEN_STAGES = {0: CaseStatus.AWAITING_MATERIAL, 7: CaseStatus.READY, 13: CaseStatus.READY,
                17: CaseStatus.IN_REVIEW}
_TYPICAL_KI67 = {rules.Category.NEC: Decimal("70.0"), rules.Category.NET: Decimal("30.0")}
_CELL_TYPE = {"NEC_small_cell": "small_cell", "NEC_large_cell": "large_cell"}
#: Every n-th patient gets a manual data query from the monitor.
MANUAL_QUERY_EVERY = 12


@dataclass
class Context:
    """What every batch needs: sites, the demo users in their roles, regimens and their drugs."""

    sites: dict[str, Site]
    coordinators: dict[str, object]
    monitor: object
    data_manager: object
    pathologists: tuple[object, object]
    regimens: dict[str, Regimen]
    regimen_drugs: dict[int, list]

    @classmethod
    def load(cls) -> Context:
        seed_sites_and_users()
        users = {u.username: u for u in get_user_model().objects.all()}
        sites = {s.code: s for s in Site.objects.all()}
        drugs: dict[int, list] = {}
        for component in RegimenComponent.objects.select_related("drug").order_by("regimen_id", "drug__code"):
            drugs.setdefault(component.regimen_id, []).append(component.drug)
        return cls(sites=sites,
                   coordinators={c: users[f"coordinator.{c.lower()}"] for c in sites
                                 if f"coordinator.{c.lower()}" in users},
                   monitor=users["monitor.nordic"], data_manager=users["datamanager"],
                   pathologists=(users["pathologist.perren"], users["pathologist.couvelard"]),
                   regimens={r.code: r for r in Regimen.objects.all()}, regimen_drugs=drugs)


def allocate(model: type[models.Model], count: int) -> list[int]:
    """`count` ids from the table's own sequence, so later ordinary inserts never collide with them."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [table, count])
        return [row[0] for row in cursor.fetchall()]


_TEMPLATES: dict[type, tuple[dict, list]] = {}


def new_row(model: type[models.Model], **values) -> models.Model:
    """`model(**values)` without Model.__init__'s per-field keyword handling (a third of the build time for
    ~25 rows a patient): a copy of a default instance's attributes, fresh values for callable defaults."""
    template = _TEMPLATES.get(model)
    if template is None:
        proto = model()
        fresh = [f for f in model._meta.concrete_fields if f.has_default() and callable(f.default)]
        template = _TEMPLATES[model] = ({k: v for k, v in proto.__dict__.items() if k != "_state"}, fresh)
    attrs, fresh = template
    obj = model.__new__(model)
    obj.__dict__.update(attrs)
    obj._state = ModelState()
    for f in fresh:
        obj.__dict__[f.attname] = f.get_default()
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


@lru_cache(maxsize=8192)
def _stamp(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(min(day, timezone.localdate()), time(12)))


@dataclass
class Batch:
    """The rows of one batch, in insertion order, plus the records the findings are computed from."""

    rows: dict[type, list] = field(default_factory=lambda: defaultdict(list))
    records: list[PatientRecords] = field(default_factory=list)
    found: dict[int, list] = field(default_factory=dict)
    counters: dict[Site, int] = field(default_factory=dict)
    ctx: Context | None = None

    def add(self, obj: models.Model) -> models.Model:
        self.rows[type(obj)].append(obj)
        return obj

    def write(self) -> Counter:
        """COPY every table in dependency order (row triggers fire for COPY as for INSERT, so each row gets its
        audit event); findings and automatic queries as the nightly re-check stores them; the per-site
        study-id counters moved on. Returns rows written per table."""
        written: Counter = Counter()
        order = (Patient, *FORM_MODELS, Shipment, ShipmentItem, ReviewCase, CentralReview, Adjudication,
                 AdjudicationParticipant, FinalClassification, DataQuery, QueryMessage)
        for model in order:
            objs = self.rows.get(model, [])
            if objs:
                copy_rows(model, objs)
                written[model._meta.db_table] += len(objs)
        stored = findings_store_many(self.records, self.found)
        written["crfs_editcheckfinding"] += len(stored)
        result = reconcile_hits([r.patient for r in self.records], hits_from_findings(stored))
        written["queries_dataquery (auto)"] += result.as_dict().get("opened", 0)
        set_counters(self.counters)
        return written


def set_counters(last_numbers: dict[Site, int]) -> None:
    """Move each site's study-id counter to the last number handed out (through save: audited, and the
    never-decrements trigger guards it)."""
    for site, last in last_numbers.items():
        counter, _ = StudyIdCounter.objects.get_or_create(site=site)
        counter.last_number = last
        counter.save(update_fields=["last_number", "updated_at"])


def copy_rows(model: type[models.Model], objs: list[models.Model]) -> None:
    """Write `objs` with one COPY: ids drawn from the sequence where missing, foreign keys taken from the
    related instances (as bulk_create does), auto_now/auto_now_add stamped. The caller's transaction must
    already carry the pghistory context (any ORM statement inside `audit_context` sets it)."""
    if issubclass(model, CaseReportForm):
        fill_completeness(objs)  # COPY skips save(): store the dashboard's completeness counts here
    fields = list(model._meta.concrete_fields)
    missing = [o for o in objs if o.pk is None]
    for obj, pk in zip(missing, allocate(model, len(missing)), strict=True):
        obj.pk = pk
    now = timezone.now()
    relations = [f for f in fields if f.is_relation]
    stamps = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    for obj in objs:
        for f in relations:
            if getattr(obj, f.attname) is None and f.is_cached(obj):
                related = f.get_cached_value(obj)
                setattr(obj, f.attname, related.pk if related is not None else None)
        for f in stamps:
            if f.auto_now or getattr(obj, f.attname) is None:
                setattr(obj, f.attname, now)
    attnames = [f.attname for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for obj in objs:
            copy.write_row([getattr(obj, a) for a in attnames])


def build_batch(plans: list[PatientPlan], ctx: Context, numbers: dict[str, int] | None = None) -> Batch:
    """In-memory rows for the plans (ids allocated up front). Patients are numbered after each site's counter,
    which the batch moves on; or, when `numbers` (site → last number before this batch) is given, from there,
    leaving the counters to the caller (parallel batches)."""
    batch = Batch(ctx=ctx)
    track = numbers is None
    counts: Counter = Counter()
    for plan in plans:
        for fp in plan.forms:
            if fp.op == "create":
                counts[family(fp.family).model] += 1
    ids = {model: iter(allocate(model, counts[model])) for model in FORM_MODELS}
    patient_ids = iter(allocate(Patient, len(plans)))
    if track:
        numbers = dict(StudyIdCounter.objects.select_for_update().values_list("site__code", "last_number"))
    else:
        numbers = dict(numbers)
    for plan in plans:
        site = ctx.sites[plan.site]
        number = numbers.get(site.code, 0) + 1
        numbers[site.code] = number
        if track:
            batch.counters[site] = number
        coordinator = ctx.coordinators[site.code]
        patient = batch.add(new_row(Patient, id=next(patient_ids), site=site, sequence_number=number,
                                    study_id=format_study_id(site.country, site.code, number),
                                    enrolled_by=coordinator))
        records = _forms(plan, patient, site, coordinator, ids, batch, ctx)
        batch.records.append(records)
        batch.found[patient.pk] = run_checks(build_casebook(records))
        _central_review(plan, records, batch, ctx)
        if plan.index % MANUAL_QUERY_EVERY == 0:
            _manual_query(plan, records, batch, ctx)
    return batch


def _forms(plan: PatientPlan, patient: Patient, site: Site, user, ids: dict, batch: Batch,
           ctx: Context) -> PatientRecords:
    records = PatientRecords(patient=patient, site=site, regimen_drugs=ctx.regimen_drugs)
    by_key: dict[str, TreatmentLine] = {}
    created = []
    for fp in plan.forms:
        if fp.op == "update":
            line = by_key[fp.key]
            for name, value in fp.data.items():
                setattr(line, name, value)
            line.version += 1
            continue
        model = family(fp.family).model
        form = new_row(model, id=next(ids[model]), patient=patient, created_by=user, updated_by=user)
        for name, value in fp.data.items():
            if name == "regimen":
                form.regimen = ctx.regimens[value]
            else:
                setattr(form, name, value)
        if fp.parent:
            form.line = by_key[fp.parent]
        if fp.key:
            by_key[fp.key] = form
        normalise_partial_dates(form)
        derive_form(form, records, entered=True)
        if model in _ONE:
            setattr(records, _ONE[model], form)
        else:
            getattr(records, _MANY[model]).append(form)
        created.append((fp, form))
    derive_patient(records)
    entered = plan.forms[0].data["registration_date"]
    for fp, form in created:
        _workflow(form, fp.status, entered, user, site, ctx)
        batch.add(form)
    return records


def _workflow(form, status: str, entered: date, user, site: Site, ctx: Context) -> None:
    """Status and the who/when of each step it implies, with the version the services would have reached."""
    form.status = status
    if status == FormStatus.DRAFT:
        return
    form.submitted_by, form.submitted_at = user, _stamp(entered)
    form.version += 1
    if status in (FormStatus.VERIFIED, FormStatus.LOCKED):
        form.verified_by, form.verified_at = ctx.monitor, _stamp(entered + timedelta(days=60))
        form.version += 1
    if status == FormStatus.LOCKED:
        form.locked_by, form.locked_at = ctx.data_manager, _stamp(entered + timedelta(days=90))
        form.version += 1


def _read(case: ReviewCase, specimen: LocalPathology, reviewer, number: int, read: rules.Read,
          day: date) -> CentralReview:
    if not read.adequate:
        return new_row(CentralReview, case=case, specimen=specimen, reviewer=reviewer, read_number=number,
                       review_date=day, submitted_at=_stamp(day), material_received=list(REQUIRED_MATERIAL),
                       adequate_material=False, comment="Cytology only: not reviewable.")
    nec = rules.category(read.diagnosis) == rules.Category.NEC
    return CentralReview(
        case=case, specimen=specimen, reviewer=reviewer, read_number=number, review_date=day,
        submitted_at=_stamp(day), material_received=list(REQUIRED_MATERIAL), adequate_material=True,
        central_diagnosis=read.diagnosis, differentiation="poor" if nec or read.diagnosis == "MiNEN" else "well",
        cell_type=_CELL_TYPE.get(read.diagnosis, ""), morph_organoid_pattern="absent" if nec else "present",
        morph_capillary_network_contact="absent" if nec else "present",
        morph_desmoplastic_stroma="present" if nec else "absent", morph_necrosis="extensive" if nec else "focal",
        ki67_central_percent=read.ki67, ki67_central_cells_counted=1000,
        p53_ihc="aberrant" if nec else "wild_type", rb1_ihc="lost" if nec else "retained")


def _central_review(plan: PatientPlan, records: PatientRecords, batch: Batch, ctx: Context) -> None:
    """The case of the diagnostic specimen, taken to the stage of the patient's position; final cases end in
    the plan's final diagnosis by the routing rules of the pathology services (one read when concordant with
    the local report, two agreeing reads otherwise, every third of those through a consensus meeting)."""
    specimen = records.specimens[0]
    if specimen.status == FormStatus.DRAFT:
        return
    patient = records.patient
    stage = _OPEN_STAGES.get(plan.index % 20, CaseStatus.FINAL)
    shipped = specimen.specimen_date + timedelta(days=14)
    received = shipped + timedelta(days=3)
    case = batch.add(new_row(ReviewCase, patient=patient, specimen=specimen, status=stage, opened_at=_stamp(shipped)))
    if stage == CaseStatus.AWAITING_MATERIAL:
        return
    shipment = batch.add(new_row(Shipment, specimen=specimen, shipped_on=shipped, sent_by=specimen.submitted_by,
                                  received_on=received, received_by=ctx.data_manager, condition_on_receipt="Good",
                                  courier_reference=f"SCALE-{patient.pk}"))
    for material in (*REQUIRED_MATERIAL, "block"):
        batch.add(new_row(ShipmentItem, shipment=shipment, material=material, quantity=1))
    case.material_received_at = _stamp(received)
    first, second = ctx.pathologists if plan.index % 2 == 0 else reversed(ctx.pathologists)
    if stage == CaseStatus.IN_REVIEW:
        case.assigned_to, case.assigned_at = first, _stamp(received)
    if stage != CaseStatus.FINAL:
        return
    local = rules.Read(specimen.local_diagnosis, specimen.ki67_percent)
    ki67 = specimen.ki67_percent
    if ki67 is None:
        ki67 = _TYPICAL_KI67.get(rules.category(specimen.local_diagnosis), Decimal("60.0"))
    final_read = rules.read_of_final(plan.final_diagnosis, Decimal(ki67))
    if not final_read.adequate:
        final_read = rules.Read("", None, adequate=False)
    day = received + timedelta(days=7)
    reads = [batch.add(_read(case, specimen, first, 1, final_read, day))]
    reasons = rules.discordance(local, final_read) if final_read.adequate else []
    case.discordant_with_local, case.discordance_reasons = bool(reasons), reasons
    method = FinalMethod.SINGLE_REVIEWER
    diagnosis = rules.final_diagnosis_for(final_read)
    if rules.step_after_first_read(local, final_read) != rules.Step.FINAL:
        if plan.index % 3 == 0:  # the second reader sided with the local report: consensus meeting
            batch.add(_read(case, specimen, second, 2, local, day + timedelta(days=7)))
            adjudication = batch.add(Adjudication(
                case=case, decided_on=day + timedelta(days=21), final_diagnosis=diagnosis, final_ki67=final_read.ki67,
                rationale="Consensus meeting: morphology and p53/Rb decide; the first read is upheld.",
                recorded_by=ctx.data_manager))
            for person in (*ctx.pathologists, ctx.data_manager):
                batch.add(new_row(AdjudicationParticipant, adjudication=adjudication, user=person))
            method, reads = FinalMethod.CONSENSUS_MEETING, reads
        else:
            reads.append(batch.add(_read(case, specimen, second, 2, final_read, day + timedelta(days=7))))
            method = FinalMethod.TWO_REVIEWERS_AGREE
    if diagnosis == "not_reviewable":
        final_ki67, source = rules.final_ki67([], specimen.ki67_percent)
    else:
        final_ki67, source = rules.final_ki67([r.ki67_central_percent for r in reads], specimen.ki67_percent)
    decided = day + timedelta(days=21 if method == FinalMethod.CONSENSUS_MEETING else 7)
    case.finalised_at = _stamp(decided)
    batch.add(FinalClassification(
        patient=patient, case=case, final_diagnosis=diagnosis, final_ki67=final_ki67, ki67_source=source,
        method=method, discordant_with_local=rules.discordant_with_local(local, diagnosis, final_ki67),
        decided_at=_stamp(decided)))


def _manual_query(plan: PatientPlan, records: PatientRecords, batch: Batch, ctx: Context) -> None:
    """A monitor's question on the baseline weight: open, answered or closed by the patient's position."""
    baseline = records.baseline
    raised = _stamp(plan.forms[0].data["registration_date"] + timedelta(days=30))
    state = (QueryStatus.OPEN, QueryStatus.ANSWERED, QueryStatus.CLOSED)[(plan.index // MANUAL_QUERY_EVERY) % 3]
    coordinator = ctx.coordinators[records.site.code]
    query = batch.add(new_row(DataQuery, patient=records.patient, form_family="baseline", object_id=baseline.pk,
                                field="weight_kg", origin=QueryOrigin.MANUAL, status=state,
                                text="Please confirm the weight against the source.", raised_by=ctx.monitor,
                                assigned_to=coordinator))
    batch.add(new_row(QueryMessage, query=query, author=ctx.monitor, kind=MessageKind.QUESTION, text=query.text))
    if state == QueryStatus.OPEN:
        return
    answered = raised + timedelta(days=5)
    query.response_reason, query.first_answered_at, query.answered_at = "confirmed_as_is", answered, answered
    query.answered_by = coordinator
    batch.add(new_row(QueryMessage, query=query, author=coordinator, kind=MessageKind.ANSWER,
                      text="Confirmed in the chart.", response_reason="confirmed_as_is"))
    if state == QueryStatus.CLOSED:
        query.closed_at, query.closed_by = answered + timedelta(days=3), ctx.monitor
        batch.add(new_row(QueryMessage, query=query, author=ctx.monitor, kind=MessageKind.CLOSE))


def error_findings(batch: Batch) -> list:
    """Hard edit-check errors in the batch (there should be none: the plans are entered as valid data)."""
    return [f for found in batch.found.values() for f in found if f.severity == Severity.ERROR]


def audit_rows() -> int:
    """Audit events written under the generator's pghistory context, over every event table."""
    import pghistory.models

    total = 0
    for model in apps.get_models():
        if issubclass(model, pghistory.models.Event) and any(f.name == "pgh_context" for f in model._meta.fields):
            total += model.objects.filter(pgh_context__metadata__command=AUDIT_CONTEXT["command"]).count()
    return total
