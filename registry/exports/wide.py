"""The wide shape: one row per patient, analysis-ready, with the derived variables of the analysis dataset.

The derivations are `analysis.datasets.build_rows` (pure, no Django: the one definition of OS, PFS, response,
populations, …), fed chunk by chunk of patients (in the export's site/sequence order) from a snapshot read here,
so memory is bounded by the chunk size, not the cohort. The reads are the querysets of
`analysis.selectors.registry_snapshot` restricted to a chunk, compiled to SQL once per export and run with the
chunk's ids as one array parameter (`patient_id IN (SELECT unnest(%s))`), rows taken as tuples straight from
psycopg: the ORM's per-row work and a 2,000-parameter IN list per query were most of the export's time.
tests/exports/test_wide.py pins that both reads give the same snapshot and the export the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from registry.exports.writers.columns import Column

B01 = {1: "Yes", 0: "No"}
TF = {True: "Yes", False: "No"}

#: Label, kind, unit and value labels of the dataset's columns (DOMAIN.md F10 and §6).
WIDE_SPEC: dict[str, tuple[str, str, str, dict | None]] = {
    "patient_id": ("Internal patient number", "integer", "", None),
    "study_id": ("Study id (pseudonym)", "string", "", None),
    "site_id": ("Internal site number", "integer", "", None),
    "country": ("Country of the site", "string", "", None),
    "withdrawn": ("Withdrawn from the study", "boolean", "", TF),
    "eligible": ("Eligible (all four inclusion criteria)", "boolean", "", TF),
    "advanced": ("Advanced disease (metastatic/locally advanced unresectable)", "boolean", "", TF),
    "p0": ("Population P0: eligible, not withdrawn", "boolean", "", TF),
    "p1": ("Population P1: P0 with advanced disease", "boolean", "", TF),
    "p2": ("Population P2: P1 centrally NEC or NET G3", "boolean", "", TF),
    "p3": ("Population P3: P2 with palliative chemotherapy in line 1", "boolean", "", TF),
    "p4": ("Population P4: P3 with an evaluable response evaluation", "boolean", "", TF),
    "final_diagnosis": ("Final (central) diagnosis", "string", "", None),
    "classification": ("Flow-diagram category of the central classification", "string", "", None),
    "group": ("Analysis group", "string", "", {"NEC": "NEC", "NET_G3": "NET G3"}),
    "age_years": ("Age at line-1 start (else at diagnosis)", "float", "years", None),
    "age_group": ("Age group", "string", "", {"<65": "< 65", "65-74": "65–74", ">=75": "≥ 75"}),
    "sex": ("Sex", "string", "", {"male": "Male", "female": "Female"}),
    "male": ("Male sex", "integer", "", B01),
    "ps": ("ECOG performance status at line-1 start (else baseline)", "integer", "", None),
    "ps_group": ("ECOG PS group", "string", "", {"0": "0", "1": "1", "2": "2", "3-4": "3–4"}),
    "ki67": ("Ki-67 (central when reviewed, else local)", "float", "%", None),
    "ki67_source": ("Source of Ki-67", "string", "", {"central": "Central review", "local": "Local pathology"}),
    "ki67_high": ("Ki-67 at or above the configured cut-off", "integer", "", B01),
    "cell_type": ("Cell type of NEC", "string", "", None),
    "alp_above_uln": ("ALP above ULN at line-1 baseline", "integer", "", B01),
    "alp_x_uln": ("ALP at line-1 baseline", "float", "× ULN", None),
    "ldh_above_uln": ("LDH above ULN at line-1 baseline", "integer", "", B01),
    "platelets_above_uln": ("Platelets above ULN at line-1 baseline", "integer", "", B01),
    "crp_above_uln": ("CRP above ULN at line-1 baseline", "integer", "", B01),
    "cga_above_uln": ("Chromogranin A above ULN at line-1 baseline", "integer", "", B01),
    "nse_above_uln": ("NSE above ULN at line-1 baseline", "integer", "", B01),
    "primary_site": ("Primary tumour site", "string", "", None),
    "primary_site_group": ("Primary site group", "string", "", None),
    "colorectal_primary": ("Colorectal primary", "integer", "", B01),
    "liver_metastases": ("Liver metastases at diagnosis", "integer", "", B01),
    "resection_of_primary": ("Resection of the primary", "string", "", None),
    "received_palliative_systemic": ("Received palliative systemic treatment", "string", "",
                                     {"yes": "Yes", "no": "No"}),
    "line1_number": ("Line number of line 1 (first palliative line)", "integer", "", None),
    "line1_start": ("Start of line 1 (imputed when partial)", "date", "", None),
    "line1_regimen": ("Regimen of line 1", "string", "", None),
    "line1_regimen_class": ("Regimen class of line 1", "string", "", None),
    "line1_platinum_etoposide": ("Line 1 is platinum-etoposide", "integer", "", B01),
    "line1_is_chemotherapy": ("Line 1 contains a cytotoxic drug", "integer", "", B01),
    "line1_n_cycles": ("Cycles of line 1", "integer", "cycles", None),
    "os_days": ("Overall survival from line-1 start", "integer", "days", None),
    "os_event": ("Death (OS event)", "integer", "", {1: "Dead", 0: "Censored"}),
    "pfs_days": ("Progression-free survival from line-1 start", "integer", "days", None),
    "pfs_event": ("Progression or death (PFS event)", "integer", "", {1: "Event", 0: "Censored"}),
    "pfs_late_death": ("Death more than two assessment intervals after the last evaluation", "boolean", "", TF),
    "os_dx_days": ("Overall survival from diagnosis", "integer", "days", None),
    "os_dx_event": ("Death (OS from diagnosis event)", "integer", "", {1: "Dead", 0: "Censored"}),
    "n_evaluations": ("Evaluable line-1 response evaluations", "integer", "", None),
    "first_response": ("First line-1 response", "string", "", None),
    "best_response": ("Best overall response of line 1", "string", "", None),
    "orr": ("Objective response (CR/PR)", "integer", "", B01),
    "dcr": ("Disease control (CR/PR/SD)", "integer", "", B01),
    "immediate_progression_evaluable": ("Immediate progression (evaluable denominator)", "integer", "", B01),
    "immediate_progression_treated": ("Immediate progression (treated denominator)", "integer", "", B01),
    "imputed_dates": ("Dates imputed from partial dates (comma-separated)", "string", "", None),
    "date_imputed": ("An endpoint date was imputed", "boolean", "", TF),
}


def wide_columns(names: Iterable[str], *, date_mode: str) -> list[Column]:
    """Columns of the wide table under the date handling chosen (unknown new columns are plain strings)."""
    out = []
    for name in names:
        label, kind, unit, labels = WIDE_SPEC.get(name, (name, "string", "", None))
        if kind == "date" and date_mode == "remove":
            continue
        if kind == "date" and date_mode == "durations":
            out.append(Column(f"{name}_days", f"{label} (days from diagnosis)", "integer", unit="days"))
            continue
        out.append(Column(name, label, kind, labels, unit))
    return out


class _Ids:
    """Placeholder for the chunk's patient ids in a compiled query's parameters."""


def _in_chunk(model, column: str, ids: _Ids) -> RawSQL:
    """`<table>.<column> = ANY(<ids>)`: one array parameter, a plan that stays linear whatever the statistics
    (`IN (SELECT unnest(…))` got a nested loop on a freshly loaded, unanalysed table)."""
    sql = f'"{model._meta.db_table}"."{column}" = ANY(%s::bigint[])'  # table and column are model metadata, not input
    return RawSQL(sql, (ids,), output_field=BooleanField())  # noqa: S611


@dataclass
class _Read:
    attr: str
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]


class SnapshotReader:
    """The snapshot queries of `analysis.selectors.registry_snapshot`, compiled once, run per chunk of ids
    (`chunked=False`: the same queries over every patient, which bench/export_bench.py COPYs as its floor)."""

    def __init__(self, *, minimum_status: str, chunked: bool = True) -> None:
        from analysis.selectors import BASELINE_ANALYTES
        from registry.crfs.models import (
            Baseline,
            Enrolment,
            FollowUp,
            LabResult,
            LocalPathology,
            ResponseEvaluation,
            SystemicTreatmentStatus,
            TreatmentLine,
            TumourStaging,
        )
        from registry.exports.tables import statuses_from
        from registry.pathology.models import FinalClassification
        from registry.patients.models import Patient

        ids = _Ids()
        ok = Q(status__in=statuses_from(minimum_status))

        def chunk(model, column="patient_id"):
            return _in_chunk(model, column, ids) if chunked else Q()

        querysets = {
            "patients": Patient.objects.filter(chunk(Patient, "id")).order_by("pk").values(
                "id", "study_id", "site_id", "site__country", "withdrawn"),
            "enrolments": Enrolment.objects.filter(chunk(Enrolment), ok).values(
                "patient_id", "eligible", "date_of_diagnosis", "date_of_diagnosis_precision", "registration_date"),
            "baselines": Baseline.objects.filter(chunk(Baseline), ok).values(
                "patient_id", "sex", "date_of_birth", "date_of_birth_precision", "ecog_ps"),
            "tumours": TumourStaging.objects.filter(chunk(TumourStaging), ok).values(
                "patient_id", "primary_site", "primary_site_group", "disease_extent_at_diagnosis",
                "advanced_disease_date", "metastatic_sites", "resection_of_primary"),
            "specimens": LocalPathology.objects.filter(chunk(LocalPathology), ok).order_by(
                "patient_id", "specimen_date", "pk").values(
                "patient_id", "is_diagnostic", "specimen_date", "ki67_percent", "cell_type", "local_diagnosis"),
            "labs": LabResult.objects.filter(
                chunk(LabResult), ok, is_baseline=True, analyte__in=BASELINE_ANALYTES).values(
                "patient_id", "line_id", "analyte", "above_uln", "value_x_uln"),
            "lines": TreatmentLine.objects.filter(chunk(TreatmentLine), ok).order_by(
                "patient_id", "line_number", "pk").values(
                "id", "patient_id", "line_number", "intent", "regimen_id", "regimen__code", "backbone_regimen_id",
                "start_date", "start_date_precision", "n_cycles", "clinical_progression",
                "clinical_progression_date", "clinical_progression_date_precision", "is_platinum_etoposide",
                "contains_platinum_any", "is_temozolomide_based", "ecog_ps_at_start"),
            "evaluations": ResponseEvaluation.objects.filter(
                chunk(ResponseEvaluation), ok, line__intent="palliative").order_by(
                "patient_id", "eval_date", "pk").values("patient_id", "line_id", "eval_date", "overall_response"),
            "followups": FollowUp.objects.filter(chunk(FollowUp), ok).order_by(
                "patient_id", "visit_date", "pk").values(
                "patient_id", "visit_date", "vital_status", "date_last_known_alive",
                "date_last_known_alive_precision", "date_of_death", "date_of_death_precision"),
            "treatment_status": SystemicTreatmentStatus.objects.filter(
                chunk(SystemicTreatmentStatus), ok).values(
                "patient_id", "received_palliative_systemic"),
            "classifications": FinalClassification.objects.filter(chunk(FinalClassification)).order_by().values(
                "patient_id", "final_diagnosis", "final_ki67", "ki67_source"),
        }
        self.reads = []
        for attr, qs in querysets.items():
            sql, params = qs.query.sql_with_params()
            self.reads.append(_Read(attr, sql, tuple(params), tuple(qs.query.values_select)))

    def snapshot(self, patient_ids: list[int], regimen_components: list[dict[str, Any]]):
        """The RegistrySnapshot of these patients (one query per table)."""
        from analysis.selectors import RegistrySnapshot
        from registry.pathology.rules import analysis_group

        snap = RegistrySnapshot(regimen_components=regimen_components)
        # An array literal: Django's client-side binding would quote a list element by element in Python.
        literal = "{" + ",".join(map(str, map(int, patient_ids))) + "}"
        with connection.cursor() as cursor:
            for read in self.reads:
                cursor.execute(read.sql, [literal if isinstance(p, _Ids) else p for p in read.params])
                names = read.names
                rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
                if read.attr == "classifications":
                    # the shape of analysis.selectors.final_classifications
                    snap.classifications = {r["patient_id"]: {
                        "final_diagnosis": r["final_diagnosis"], "final_ki67": r["final_ki67"],
                        "ki67_is_central": r["ki67_source"] == "central",
                        "group": analysis_group(r["final_diagnosis"])} for r in rows}
                else:
                    setattr(snap, read.attr, rows)
        return snap


def wide_dicts(patient_ids: Iterable[int], *, config: dict[str, Any], cutoff: date, minimum_status: str,
               chunk_size: int = 2000) -> Iterator[tuple[dict[str, Any], date | None]]:
    """(dataset row, date of diagnosis) per patient in the order of `patient_ids` (consumed lazily)."""
    from analysis.datasets import build_rows
    from analysis.selectors import regimen_component_rows

    components = regimen_component_rows()
    reader = SnapshotReader(minimum_status=minimum_status)
    chunk: list[int] = []

    def flush() -> Iterator[tuple[dict[str, Any], date | None]]:
        snap = reader.snapshot(chunk, components)
        diagnosis = {e["patient_id"]: e["date_of_diagnosis"] or e["registration_date"] for e in snap.enrolments}
        by_id = {row["patient_id"]: row for row in build_rows(snap, config, cutoff=cutoff)}
        for pid in chunk:
            row = by_id.get(pid)
            if row is not None:
                yield row, diagnosis.get(pid)

    for pid in patient_ids:
        chunk.append(pid)
        if len(chunk) >= chunk_size:
            yield from flush()
            chunk.clear()
    if chunk:
        yield from flush()
