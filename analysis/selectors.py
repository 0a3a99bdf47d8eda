"""Read-only access from the analysis app to the registry (DESIGN.md §2: `analysis → registry` via selectors).

`registry_snapshot()` reads every table the analysis dataset needs with one `.values()` query per table, so
building the dataset costs the same number of queries for 10 patients or 100,000 (pinned in the tests).
Nothing here writes to the registry. The second half holds the reads of the analysis app's own tables
(definitions, runs, results) for pages, API and reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

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

    `patient_ids` restricts it to a chunk of patients (exports stream the wide table chunk by chunk);
    `regimen_components`, when given, is reused instead of read again for every chunk.
    """
    ok = Q(status__in=_statuses(minimum_status))
    patients = Patient.objects.all()
    if patient_ids is not None:
        ok &= Q(patient_id__in=patient_ids)
        patients = patients.filter(pk__in=patient_ids)
    snap = RegistrySnapshot()
    snap.patients = list(patients.order_by("pk").values(
        "id", "study_id", "site_id", "site__country", "withdrawn"))
    snap.enrolments = list(Enrolment.objects.filter(ok).values(
        "patient_id", "eligible", "date_of_diagnosis", "date_of_diagnosis_precision", "registration_date"))
    snap.baselines = list(Baseline.objects.filter(ok).values(
        "patient_id", "sex", "date_of_birth", "date_of_birth_precision", "ecog_ps"))
    snap.tumours = list(TumourStaging.objects.filter(ok).values(
        "patient_id", "primary_site", "primary_site_group", "disease_extent_at_diagnosis", "advanced_disease_date",
        "metastatic_sites", "resection_of_primary"))
    snap.specimens = list(LocalPathology.objects.filter(ok).order_by("patient_id", "specimen_date", "pk").values(
        "patient_id", "is_diagnostic", "specimen_date", "ki67_percent", "cell_type", "local_diagnosis"))
    # Baseline samples: `is_baseline` is derived against the linked line (no link = line 1).
    snap.labs = list(LabResult.objects.filter(ok, is_baseline=True, analyte__in=BASELINE_ANALYTES).values(
        "patient_id", "line_id", "analyte", "above_uln", "value_x_uln"))
    snap.lines = list(TreatmentLine.objects.filter(ok).order_by("patient_id", "line_number", "pk").values(
        "id", "patient_id", "line_number", "intent", "regimen_id", "regimen__code", "backbone_regimen_id",
        "start_date", "start_date_precision", "n_cycles", "clinical_progression", "clinical_progression_date",
        "clinical_progression_date_precision", "is_platinum_etoposide", "contains_platinum_any",
        "is_temozolomide_based", "ecog_ps_at_start"))
    snap.evaluations = list(ResponseEvaluation.objects.filter(ok, line__intent="palliative").order_by(
        "patient_id", "eval_date", "pk").values("patient_id", "line_id", "eval_date", "overall_response"))
    snap.followups = list(FollowUp.objects.filter(ok).order_by("patient_id", "visit_date", "pk").values(
        "patient_id", "visit_date", "vital_status", "date_last_known_alive", "date_last_known_alive_precision",
        "date_of_death", "date_of_death_precision"))
    snap.treatment_status = list(SystemicTreatmentStatus.objects.filter(ok).values(
        "patient_id", "received_palliative_systemic"))
    snap.regimen_components = regimen_components if regimen_components is not None else regimen_component_rows()
    snap.classifications = final_classifications([p["id"] for p in snap.patients])
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


def final_classifications(patient_ids: list[int]) -> dict[int, dict[str, Any]]:
    """patient id → {final_diagnosis, final_ki67, ki67_is_central, group} from central review (one query)."""
    from registry.pathology.selectors import analysis_group, final_classification_for_patients

    return {
        patient_id: {
            "final_diagnosis": final.final_diagnosis,
            "final_ki67": final.final_ki67,
            "ki67_is_central": final.ki67_source == "central",
            "group": analysis_group(final),
        }
        for patient_id, final in final_classification_for_patients(patient_ids).items()
    }


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
