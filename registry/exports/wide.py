"""The wide shape: one row per patient, analysis-ready, with the derived variables of the analysis dataset.

The derivations are `analysis.datasets.build_columns` (pure, no Django: the one definition of OS, PFS,
response, populations, …), fed chunk by chunk of patients from a snapshot streamed here, so memory is bounded
by the chunk size, not the cohort. The reads are the analysis dataset's own (`analysis.selectors.SnapshotReader`
scoped to the export's patients: each table read once, in patient id order, from a server-side cursor), and
the rows come in the analysis dataset's order. tests/exports/test_wide.py pins that the streamed chunks hold
exactly the rows of one read of every patient and that the export holds the analysis dataset's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import QuerySet

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


def snapshot_chunks(patients: QuerySet, *, minimum_status: str, chunk_size: int) -> Iterator[Any]:
    """RegistrySnapshots of consecutive chunks of the patients in scope (patient id order), streamed from one
    read of each table in one REPEATABLE READ snapshot, so a patient saved while the export runs is in it
    entirely or not at all.

    Outside a transaction the read has a connection of its own, with its fetches pipelined: PostgreSQL
    produces the next rows while Python derives and writes the last ones, on one thread (a reader thread
    did the same, but lost about a second of 100,000 patients' export handing the GIL to and fro). Inside a
    caller's transaction (a test, a request in `atomic`) it reads on that transaction, which alone can see
    its own writes.
    """
    from analysis.selectors import SnapshotReader, regimen_component_rows
    from registry.core.reads import consistent_read, private_consistent_read

    reader = SnapshotReader(minimum_status=minimum_status, patients=patients)
    if connection.in_atomic_block:
        with consistent_read():
            yield from reader.chunks(chunk_size, regimen_component_rows())
        return
    components = regimen_component_rows()  # reference data (drugs of each regimen), not registry rows
    with private_consistent_read() as conn:
        yield from reader.chunks(chunk_size, components, conn=conn)


def wide_chunks(patients: QuerySet, *, config: dict[str, Any], cutoff: date, minimum_status: str,
                chunk_size: int) -> Iterator[tuple[dict[str, list[Any]], list]]:
    """(dataset columns, dates of diagnosis) of consecutive chunks of the patients in scope, in the analysis
    dataset's order (patient id, i.e. registration order, as REDCap orders records)."""
    from analysis.datasets import build_columns

    for snap in snapshot_chunks(patients, minimum_status=minimum_status, chunk_size=chunk_size):
        columns = build_columns(snap, config, cutoff=cutoff)
        yield columns, _diagnosis_dates(snap, columns["patient_id"])


def _diagnosis_dates(snap: Any, patient_ids: list[int]) -> list[date | None]:
    """Per patient, the date of diagnosis else of registration (the origin of exported durations)."""
    names = snap.enrolments.names
    pid, dx, registered = (names.index(n) for n in ("patient_id", "date_of_diagnosis", "registration_date"))
    by_patient = {row[pid]: row[dx] or row[registered] for row in snap.enrolments.rows}
    return [by_patient.get(p) for p in patient_ids]
