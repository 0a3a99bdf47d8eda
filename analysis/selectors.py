"""Read-only access from the analysis app to the registry (DESIGN.md §2: `analysis → registry` via selectors).

`registry_snapshot()` reads every table the analysis dataset needs with one query per table (`SnapshotReader`,
shared with the wide export), so building the dataset costs the same number of queries for 10 patients or
100,000 (pinned in the tests).
Nothing here writes to the registry. The second half holds the reads of the analysis app's own tables
(definitions, runs, results) for pages, API and reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

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
#: Baseline laboratory analytes the dataset carries (above-ULN flags).
BASELINE_ANALYTES = ("alp", "ldh", "platelets", "crp", "cga", "nse")
#: Roles that may see the analysis pages, API and figures.
ANALYSIS_ROLES = frozenset({Role.STATISTICIAN, Role.DATA_MANAGER})
#: Roles that may change definitions and settings and ask for a recompute.
ANALYSIS_MANAGERS = frozenset({Role.DATA_MANAGER})


@dataclass
class RegistrySnapshot:
    """Plain rows (dicts) of every registry table the dataset is built from."""

    patients: list[dict[str, Any]] = field(default_factory=list)
    enrolments: list[dict[str, Any]] = field(default_factory=list)
    baselines: list[dict[str, Any]] = field(default_factory=list)
    tumours: list[dict[str, Any]] = field(default_factory=list)
    specimens: list[dict[str, Any]] = field(default_factory=list)
    labs: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    treatment_status: list[dict[str, Any]] = field(default_factory=list)
    regimen_components: list[dict[str, Any]] = field(default_factory=list)
    classifications: dict[int, dict[str, Any]] = field(default_factory=dict)


def _statuses(minimum_status: str) -> list[str]:
    if minimum_status not in STATUS_ORDER:
        raise ValueError(f"unknown form status {minimum_status!r}")
    return list(STATUS_ORDER[STATUS_ORDER.index(minimum_status):])


def registry_snapshot(*, minimum_status: str = "draft", patient_ids: list[int] | None = None,
                      regimen_components: list[dict[str, Any]] | None = None) -> RegistrySnapshot:
    """Every row the analysis dataset needs, one query per table (12 queries whatever the cohort size).

    `patient_ids` restricts it to those patients; `regimen_components`, when given, is reused instead of read
    again (exports stream the wide table chunk by chunk through one `SnapshotReader` instead).
    """
    reader = SnapshotReader(minimum_status=minimum_status, chunked=patient_ids is not None)
    components = regimen_components if regimen_components is not None else regimen_component_rows()
    return reader.snapshot(patient_ids, components)


class _Ids:
    """Placeholder for the chunk's patient ids in a compiled query's parameters."""


def _in_chunk(model, column: str, ids: _Ids) -> RawSQL:
    """`<table>.<column> = ANY(<ids>)`: one array parameter, a plan that stays linear whatever the statistics
    (`IN (SELECT unnest(…))` got a nested loop on a freshly loaded, unanalysed table; a 100,000-element IN list
    is slow to bind and to plan)."""
    sql = f'"{model._meta.db_table}"."{column}" = ANY(%s::bigint[])'  # table and column are model metadata
    return RawSQL(sql, (ids,), output_field=BooleanField())  # noqa: S611


@dataclass
class _Read:
    attr: str
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]


class SnapshotReader:
    """The snapshot queries, compiled to SQL once and run per chunk of patient ids (`chunked=False`: over every
    patient, which is what an analysis run reads and what bench/export_bench.py COPYs as its floor).

    Rows are taken as tuples straight from psycopg and zipped with the column names: the ORM's per-row work of
    `.values()` and a patient-id IN list as long as the cohort were most of the dataset build at 100,000
    patients.
    """

    def __init__(self, *, minimum_status: str, chunked: bool = True) -> None:
        from registry.pathology.models import FinalClassification

        ids = _Ids()
        self.chunked = chunked
        ok = Q(status__in=_statuses(minimum_status))

        def chunk(model, column="patient_id"):
            return _in_chunk(model, column, ids) if chunked else Q()

        querysets = {
            "patients": Patient.objects.filter(chunk(Patient, "id")).order_by("pk").values(
                "id", "study_id", "site_id", "site__country", "withdrawn"),
            "enrolments": Enrolment.objects.filter(chunk(Enrolment), ok).order_by().values(
                "patient_id", "eligible", "date_of_diagnosis", "date_of_diagnosis_precision", "registration_date"),
            "baselines": Baseline.objects.filter(chunk(Baseline), ok).order_by().values(
                "patient_id", "sex", "date_of_birth", "date_of_birth_precision", "ecog_ps"),
            "tumours": TumourStaging.objects.filter(chunk(TumourStaging), ok).order_by().values(
                "patient_id", "primary_site", "primary_site_group", "disease_extent_at_diagnosis",
                "advanced_disease_date", "metastatic_sites", "resection_of_primary"),
            "specimens": LocalPathology.objects.filter(chunk(LocalPathology), ok).order_by(
                "patient_id", "specimen_date", "pk").values(
                "patient_id", "is_diagnostic", "specimen_date", "ki67_percent", "cell_type", "local_diagnosis"),
            # Baseline samples: `is_baseline` is derived against the linked line (no link = line 1).
            "labs": LabResult.objects.filter(
                chunk(LabResult), ok, is_baseline=True, analyte__in=BASELINE_ANALYTES).order_by(
                "patient_id", "sample_date", "analyte", "pk").values(
                "patient_id", "line_id", "analyte", "above_uln", "value_x_uln"),
            "lines": TreatmentLine.objects.filter(chunk(TreatmentLine), ok).order_by(
                "patient_id", "line_number", "pk").values(
                "id", "patient_id", "line_number", "intent", "regimen_id", "regimen__code", "backbone_regimen_id",
                "start_date", "start_date_precision", "n_cycles", "clinical_progression",
                "clinical_progression_date", "clinical_progression_date_precision", "is_platinum_etoposide",
                "contains_platinum_any", "is_temozolomide_based", "ecog_ps_at_start"),
            # Every line's evaluations: the derivations only look up line 1's (a palliative line), and a join
            # to the lines here made PostgreSQL scan every treatment line once per export chunk.
            "evaluations": ResponseEvaluation.objects.filter(chunk(ResponseEvaluation), ok).order_by(
                "patient_id", "eval_date", "pk").values("patient_id", "line_id", "eval_date", "overall_response"),
            "followups": FollowUp.objects.filter(chunk(FollowUp), ok).order_by(
                "patient_id", "visit_date", "pk").values(
                "patient_id", "visit_date", "vital_status", "date_last_known_alive",
                "date_last_known_alive_precision", "date_of_death", "date_of_death_precision"),
            "treatment_status": SystemicTreatmentStatus.objects.filter(
                chunk(SystemicTreatmentStatus), ok).order_by().values(
                "patient_id", "received_palliative_systemic"),
            "classifications": FinalClassification.objects.filter(chunk(FinalClassification)).order_by().values(
                "patient_id", "final_diagnosis", "final_ki67", "ki67_source"),
        }
        self.reads = []
        for attr, qs in querysets.items():
            sql, params = qs.query.sql_with_params()
            self.reads.append(_Read(attr, sql, tuple(params), tuple(qs.query.values_select)))

    def snapshot(self, patient_ids: list[int] | None, regimen_components: list[dict[str, Any]]) -> RegistrySnapshot:
        """The RegistrySnapshot of these patients (every patient when not chunked); one query per table."""
        from django.db import connection

        from registry.core.reads import consistent_read
        from registry.pathology.rules import analysis_group

        if self.chunked == (patient_ids is None):
            raise ValueError("a chunked reader needs patient ids; an unchunked one reads every patient")
        snap = RegistrySnapshot(regimen_components=regimen_components)
        # An array literal: Django's client-side binding would quote a list element by element in Python.
        literal = "{" + ",".join(map(str, map(int, patient_ids))) + "}" if patient_ids is not None else None
        with consistent_read(), connection.cursor() as cursor:
            for read in self.reads:
                cursor.execute(read.sql, [literal if isinstance(p, _Ids) else p for p in read.params])
                names = read.names
                # the names come from the same compiled query, so every row has as many values
                rows = list(map(dict, map(zip, repeat(names), cursor.fetchall())))
                if read.attr == "classifications":
                    # patient id → {final_diagnosis, final_ki67, ki67_is_central, group}
                    snap.classifications = {r["patient_id"]: {
                        "final_diagnosis": r["final_diagnosis"], "final_ki67": r["final_ki67"],
                        "ki67_is_central": r["ki67_source"] == "central",
                        "group": analysis_group(r["final_diagnosis"])} for r in rows}
                else:
                    setattr(snap, read.attr, rows)
        return snap


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
