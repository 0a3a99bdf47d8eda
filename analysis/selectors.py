"""Read-only access from the analysis app to the registry (DESIGN.md §2: `analysis → registry` via selectors).

`registry_snapshot()` reads every table the analysis dataset needs with one query per table (`SnapshotReader`,
shared with the wide export), so building the dataset costs the same number of queries for 10 patients or
100,000 (pinned in the tests).
Nothing here writes to the registry. The second half holds the reads of the analysis app's own tables
(definitions, runs, results) for pages, API and reports.
"""

from __future__ import annotations

import contextlib
import itertools
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from analysis.arrays import TableRows
from analysis.datasets import BASELINE_ANALYTES, RegistrySnapshot
from registry.crfs.models import (
    Baseline,
    Enrolment,
    FollowUp,
    LabResult,
    LocalPathology,
    RegimenComponent,
    ResponseEvaluation,
    SystemicTreatmentStatus,
    TreatmentLine,
    TumourStaging,
)
from registry.patients.models import Patient
from registry.sites.models import Role
from registry.sites.scoping import has_role

#: Form statuses in workflow order; a run may restrict itself to forms at or past one of them.
STATUS_ORDER = ("draft", "submitted", "verified", "locked")
#: Roles that may see the analysis pages, API and figures.
ANALYSIS_ROLES = frozenset({Role.STATISTICIAN, Role.DATA_MANAGER})
#: Roles that may change definitions and settings and ask for a recompute.
ANALYSIS_MANAGERS = frozenset({Role.DATA_MANAGER})


def _statuses(minimum_status: str) -> list[str]:
    if minimum_status not in STATUS_ORDER:
        raise ValueError(f"unknown form status {minimum_status!r}")
    return list(STATUS_ORDER[STATUS_ORDER.index(minimum_status):])


def registry_snapshot(*, minimum_status: str = "draft",
                      regimen_components: list[dict[str, Any]] | None = None) -> RegistrySnapshot:
    """Every row the analysis dataset needs, one query per table (12 queries whatever the cohort size), in one
    consistent read; `regimen_components`, when given, is reused instead of read again."""
    from registry.core.reads import consistent_read

    components = regimen_components if regimen_components is not None else regimen_component_rows()
    with consistent_read():
        return next(SnapshotReader(minimum_status=minimum_status).chunks(None, components))


@dataclass
class _Read:
    attr: str
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]


class SnapshotReader:
    """The snapshot queries, one per table, compiled to SQL once.

    Every table comes in patient id order (registration order), then in its own order. Unscoped
    (`patients=None`), they read every patient: what an analysis run reads, and what bench/export_bench.py
    COPYs as the export's floor. Scoped to a queryset of patients, `chunks()` streams the snapshot a chunk of
    patients at a time from server-side cursors: every table is read once, in one pass, whatever the cohort
    size. (One query per table per chunk, with the chunk's ids, made PostgreSQL fetch the rows one index
    look-up at a time: 5 s of 10 for 100,000 patients. Sorting every table by site and sequence number instead
    of patient id cost 6 s of PostgreSQL time against 2.6 s, all spent before the first chunk.)

    Rows are taken as tuples straight from psycopg: the ORM's per-row work of `.values()` and a dict per row
    were most of the dataset build at 100,000 patients.
    """

    #: Rows fetched from each server-side cursor per round trip.
    BATCH = 10000

    def __init__(self, *, minimum_status: str, patients: QuerySet | None = None) -> None:
        from registry.pathology.models import FinalClassification

        ok = Q(status__in=_statuses(minimum_status))
        self.streamed = patients is not None
        in_scope = Q(patient__in=patients.values("pk")) if patients is not None else Q()

        def read(model, *own_order, keyed=False):
            """The table's rows in scope, in patient order then `own_order` (tables keyed by patient: unordered
            when every patient is read, since nothing depends on their order then)."""
            qs = model.objects.filter(in_scope, ok)
            if keyed and not self.streamed:
                return qs.order_by()
            return qs.order_by("patient_id", *own_order)

        scope = patients if patients is not None else Patient.objects.all()
        querysets = {
            "patients": scope.order_by("pk").values("id", "study_id", "site_id", "site__country", "withdrawn"),
            "enrolments": read(Enrolment, keyed=True).values(
                "patient_id", "eligible", "date_of_diagnosis", "date_of_diagnosis_precision", "registration_date"),
            "baselines": read(Baseline, keyed=True).values(
                "patient_id", "sex", "date_of_birth", "date_of_birth_precision", "ecog_ps"),
            # liver metastases tested in the query: parsing every metastatic-site array cost more than the rest
            "tumours": read(TumourStaging, keyed=True).annotate(liver_metastases=ExpressionWrapper(
                Q(metastatic_sites__contains=["liver"]), output_field=BooleanField())).values(
                "patient_id", "primary_site", "primary_site_group", "disease_extent_at_diagnosis",
                "advanced_disease_date", "liver_metastases", "resection_of_primary"),
            "specimens": read(LocalPathology, "specimen_date", "pk").values(
                "patient_id", "is_diagnostic", "ki67_percent", "cell_type"),
            # Baseline samples: `is_baseline` is derived against the linked line (no link = line 1).
            "labs": read(LabResult, "sample_date", "analyte", "pk").filter(
                is_baseline=True, analyte__in=BASELINE_ANALYTES).values(
                "patient_id", "line_id", "analyte", "above_uln", "value_x_uln"),
            "lines": read(TreatmentLine, "line_number", "pk").values(
                "patient_id", "id", "line_number", "intent", "regimen_id", "regimen__code", "backbone_regimen_id",
                "start_date", "start_date_precision", "n_cycles", "clinical_progression",
                "clinical_progression_date", "clinical_progression_date_precision", "is_platinum_etoposide",
                "is_temozolomide_based", "ecog_ps_at_start"),
            # Every line's evaluations: the derivations only look up line 1's (a palliative line), and a join
            # to the lines here would make PostgreSQL scan every treatment line once more.
            "evaluations": read(ResponseEvaluation, "eval_date", "pk").values(
                "patient_id", "line_id", "eval_date", "overall_response"),
            "followups": read(FollowUp, "visit_date", "pk").values(
                "patient_id", "visit_date", "vital_status", "date_last_known_alive",
                "date_last_known_alive_precision", "date_of_death", "date_of_death_precision"),
            "treatment_status": read(SystemicTreatmentStatus, keyed=True).values(
                "patient_id", "received_palliative_systemic"),
            "classifications": FinalClassification.objects.filter(in_scope).order_by(
                *(("patient_id",) if self.streamed else ())).values(
                "patient_id", "final_diagnosis", "final_ki67", "ki67_source"),
        }
        self.reads = []
        for attr, qs in querysets.items():
            sql, params = qs.query.sql_with_params()
            # `selected`: the values() names in SELECT order, annotations included
            self.reads.append(_Read(attr, sql, tuple(params), tuple(qs.query.selected)))

    def chunks(self, chunk_size: int | None, regimen_components: list[dict[str, Any]], *, conn: Any = None
               ) -> Iterator[RegistrySnapshot]:
        """RegistrySnapshots of `chunk_size` consecutive patients (all of them when None), in patient order.

        Reads on Django's connection inside the caller's transaction (`registry.core.reads.consistent_read`),
        or on `conn`, a private psycopg connection already in its own read transaction
        (`registry.core.reads.private_consistent_read`): there the fetches are pipelined, so PostgreSQL
        produces the next rows while Python derives the last ones."""
        from django.db import connection

        if conn is None:
            if not connection.in_atomic_block:
                raise RuntimeError("SnapshotReader.chunks() reads inside a transaction (consistent_read())")
            connection.ensure_connection()
        if chunk_size is None:
            with (conn or connection).cursor() as cursor:
                snap = RegistrySnapshot(regimen_components=regimen_components)
                for read in self.reads:
                    cursor.execute(read.sql, read.params)
                    setattr(snap, read.attr, TableRows(read.names, cursor.fetchall()))
            yield snap
            return
        yield from self._streamed_chunks(chunk_size, regimen_components, conn or connection.connection,
                                         pipelined=conn is not None)

    def _streamed_chunks(self, chunk_size: int, regimen_components, raw, *, pipelined: bool
                         ) -> Iterator[RegistrySnapshot]:
        import psycopg

        prefix = f"snapshot_{next(_CURSOR_NUMBERS)}"
        declare = psycopg.ClientCursor(raw)  # Django's SQL takes its parameters client-side, as Django binds them
        for read in self.reads:
            declare.execute(f"DECLARE {prefix}_{read.attr} NO SCROLL CURSOR FOR {read.sql}", read.params)
        pipeline = raw.pipeline() if pipelined else contextlib.nullcontext()
        try:
            with pipeline:
                streams = [(read, _PatientRuns(raw.cursor(), f"{prefix}_{read.attr}",
                                               read.names.index("id" if read.attr == "patients" else "patient_id"),
                                               self.BATCH)) for read in self.reads]
                patients_read, patients = streams[0]
                while rows := patients.fetch(chunk_size):
                    last = rows[-1][0]
                    snap = RegistrySnapshot(regimen_components=regimen_components)
                    snap.patients = TableRows(patients_read.names, rows)
                    for read, stream in streams[1:]:
                        setattr(snap, read.attr, TableRows(read.names, stream.take_through(last)))
                    yield snap
        finally:
            # a private connection's cursors end with its transaction; in a caller's, close them (unless an
            # error has already aborted it: then they go with it)
            if not pipelined and raw.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                declare.execute("; ".join(f"CLOSE {prefix}_{read.attr}" for read in self.reads))


#: Cursor names unique within a connection (two reads may share a caller's transaction).
_CURSOR_NUMBERS = itertools.count()


class _PatientRuns:
    """A server-side cursor over rows sorted by patient id, taken a run of patients at a time. One FETCH is
    always in flight: in pipeline mode PostgreSQL works on it while the caller works on what came before."""

    def __init__(self, cursor, name: str, patient_column: int, batch: int) -> None:
        self.cursor, self.name, self.key, self.batch = cursor, name, itemgetter(patient_column), batch
        self.buffer: list[tuple] = []
        self.at = 0
        self.pending = self.done = False
        self.size = max(batch // 8, 1)  # small first: the first chunk waits on every table's first fetch
        self._ask()

    def _ask(self) -> None:
        if not self.done:
            self.cursor.execute(f"FETCH FORWARD {self.size} FROM {self.name}")
            self.pending = True

    def _fill(self) -> bool:
        """Whether rows are buffered, taking the fetch in flight (and asking for the next) when none are."""
        if self.at >= len(self.buffer) and self.pending:
            self.buffer, self.at, self.pending = self.cursor.fetchall(), 0, False
            self.done = len(self.buffer) < self.size
            self.size = min(2 * self.size, self.batch)
            self._ask()
        return self.at < len(self.buffer)

    def fetch(self, count: int) -> list[tuple]:
        """The next `count` rows (fewer at the end)."""
        out: list[tuple] = []
        while len(out) < count and self._fill():
            take = self.buffer[self.at:self.at + count - len(out)]
            out += take
            self.at += len(take)
        return out

    def take_through(self, last_patient: int) -> list[tuple]:
        """The rows of the patients up to `last_patient` (rows come sorted by patient id, so these are the next
        ones: a binary search per fetched batch finds where they end)."""
        out: list[tuple] = []
        while self._fill():
            end = bisect_right(self.buffer, last_patient, lo=self.at, key=self.key)
            out += self.buffer[self.at:end]
            self.at = end
            if end < len(self.buffer):
                break
        return out


#: Every registry model the dataset reads: each is audited, so its event table's highest id moves on every insert,
#: update and delete (pghistory row triggers), which makes the source stamp a handful of index look-ups.
STAMPED_MODELS = (Patient, Enrolment, Baseline, TumourStaging, LocalPathology, LabResult, TreatmentLine,
                  ResponseEvaluation, FollowUp, SystemicTreatmentStatus, RegimenComponent)


def source_stamp() -> str:
    """A digest that changes whenever any row the analysis dataset, the definitions or the settings are read
    from changes: the highest audit-event id of each source table (one query of index look-ups, whatever the
    cohort size), plus a digest of the definitions and settings rows. Equal stamps mean equal inputs."""
    import hashlib

    from django.apps import apps
    from django.db import connection

    from analysis.models import AnalysisDefinition, AnalysisSettings
    from registry.pathology.models import FinalClassification
    from registry.sites.models import Site

    tracked = {*STAMPED_MODELS, FinalClassification, Site, *(f.related_model for f in RegimenComponent._meta.fields
                                                             if f.is_relation)}
    tables = sorted(m._meta.db_table for m in apps.get_models()
                    if getattr(m, "pgh_tracked_model", None) in tracked)
    # table names come from model metadata, quoted; nothing from a request reaches this SQL
    quote = connection.ops.quote_name
    marks = [f"(SELECT max(pgh_id) FROM {quote(t)})" for t in tables]  # noqa: S608
    # definitions and settings are a few rows: their whole content, so even a bulk update() shows
    definitions, settings_table = quote(AnalysisDefinition._meta.db_table), quote(AnalysisSettings._meta.db_table)
    marks += [f"(SELECT md5(string_agg(d::text, ',' ORDER BY d.id)) FROM {definitions} d)",  # noqa: S608
              f"(SELECT md5(string_agg(s::text, ',')) FROM {settings_table} s)"]  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(marks))
        row = cursor.fetchone()
    return hashlib.sha256(repr((tables, row)).encode()).hexdigest()


def regimen_component_rows() -> list[dict[str, Any]]:
    """Drug components of every regimen (derives the first-line regimen class)."""
    return list(RegimenComponent.objects.values("regimen_id", "drug__code", "drug__is_cytotoxic",
                                                "drug__platinum_agent"))


# ---------------------------------------------------------------------------------------------------------
# The analysis app's own tables


def can_view_analyses(user) -> bool:
    """Statisticians and data managers (study-wide or at any site) see analyses; nobody else."""
    return has_role(user, ANALYSIS_ROLES)


def can_manage_analyses(user) -> bool:
    """Data managers edit definitions and settings and ask for recomputes."""
    return has_role(user, ANALYSIS_MANAGERS)


def definition_list(*, enabled_only: bool = False) -> QuerySet:
    """Analysis definitions in report order."""
    from analysis.models import AnalysisDefinition

    qs = AnalysisDefinition.objects.order_by("display_order", "code")
    return qs.filter(enabled=True) if enabled_only else qs


def definitions_etag() -> str:
    """A validator of the whole definition list, from one aggregate query: any create, edit or delete changes
    the count, the newest update time or the highest id."""
    from django.db.models import Count, Max

    from analysis.models import AnalysisDefinition

    agg = AnalysisDefinition.objects.aggregate(n=Count("pk"), updated=Max("updated_at"), top=Max("pk"))
    stamp = agg["updated"].timestamp() if agg["updated"] else 0
    return f'"defs-{agg["n"]}-{agg["top"] or 0}-{stamp:.6f}"'


def run_list() -> QuerySet:
    """Runs, newest first (without the frozen dataset blob)."""
    from analysis.models import AnalysisRun

    return AnalysisRun.objects.defer("dataset").select_related("requested_by").order_by("-created_at", "-pk")


def latest_good_results() -> dict[str, Any]:
    """definition code → the newest succeeded result of a finished run (older good results stay visible
    when a later run fails), with its run and figures; one query plus one for the figures."""
    from analysis.models import AnalysisFigure, AnalysisResult, ResultStatus, RunStatus

    results = list(
        AnalysisResult.objects.filter(status=ResultStatus.SUCCEEDED,
                                      run__status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL])
        .select_related("run").defer("run__dataset")
        .order_by("definition_code", "-run__finished_at", "-run_id")
        .distinct("definition_code")
    )
    figures: dict[int, list] = {}
    for fig in AnalysisFigure.objects.filter(result__in=[r.pk for r in results]).only(
            "id", "result_id", "name", "fmt", "title").order_by("pk"):
        figures.setdefault(fig.result_id, []).append(fig)
    for result in results:
        result.figure_list = figures.get(result.pk, [])
    return {r.definition_code: r for r in results}


def figure_get(pk: int):
    """One stored figure with its result's code (the view checks the role before calling)."""
    from analysis.models import AnalysisFigure

    return AnalysisFigure.objects.select_related("result").only(
        "id", "result_id", "name", "title", "fmt", "content", "result__id", "result__definition_code").get(pk=pk)


def figures_with_content(ids: list[int]) -> QuerySet:
    """Figures with their bytes (for embedding in the PDF report)."""
    from analysis.models import AnalysisFigure

    return AnalysisFigure.objects.filter(pk__in=ids)
