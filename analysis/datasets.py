"""The analysis dataset: one row per patient, durations in integer days, events 0/1 (DOMAIN.md F10 and §6).

`build_dataset()` reads the registry through `analysis.selectors.registry_snapshot` (a fixed number of
queries) and `build_columns()` derives every variable in memory, a column at a time over all patients
(`analysis.derivation`, numpy: "the first palliative line" is a reduction grouped by patient), with no
queries, so the rules below are testable without a database and the same code runs in the bench on synthetic
rows and in the wide export a chunk of patients at a time. (A patient at a time in Python, deriving 100,000
patients took 3.9 s; a column at a time it takes 1.6 s, same rows under four settings.)

Rules (each is asserted by a hand-worked test in tests/analysis/test_datasets.py):

- Partial dates: month precision → the 15th, year precision → 1 July; every imputed date is named in
  `imputed_dates`; `date_imputed` flags an imputed origin or endpoint date (diagnosis, line-1 start, death,
  last known alive, clinical progression) — a year-only birth date (the privacy default) is listed, not flagged.
- "Line 1" is the first *palliative* treatment line (adjuvant/neoadjuvant lines are not the first line of
  treatment for advanced disease). `line1_is_chemotherapy`: its regimen (or backbone) has a cytotoxic drug.
- Time origin of OS and PFS = start of line 1 (DOMAIN.md 6.2). OS from diagnosis uses the diagnosis date.
- Data cut-off: nothing dated after the cut-off is seen. A death after the cut-off is censored at the
  cut-off (the patient was alive then); alive patients are censored at their last known alive date (follow-up
  `date_last_known_alive`, alive visits, response evaluations, line starts), capped at the cut-off.
- PFS event = first progression on line 1 (first PD evaluation or clinical progression) or death. Censoring
  at the last progression-free (CR/PR/SD/non-CR-non-PD) evaluation; no evaluation → censored at the origin
  (day 0). Deaths without progression count as events whatever the gap since the last evaluation (the
  registry convention, DOMAIN.md 6.2); a death more than two assessment intervals after the last evaluation
  is flagged `pfs_late_death`, and with `pfs_late_death_rule="censor"` (the trial convention) it is censored at
  the last evaluation instead. Evaluations of later lines do not count (PFS of line 1 ends with line 1).
- Best overall response (BOR) of line 1: CR > PR > SD (= non-CR/non-PD) > PD over line-1 evaluations; NE only
  → NE. ORR = CR/PR, DCR = CR/PR/SD, both over response-evaluable patients (P4).
- Immediate progression (DOMAIN.md 6.3), both denominators: `immediate_progression_evaluable` — the first
  evaluable evaluation is PD (defined in P4); `immediate_progression_treated` — the same, or death or
  clinical progression before any evaluation (defined in P3).
- Ki-67: central (final classification) when reviewed, else the local value (diagnostic specimen, else the
  highest local count), with `ki67_source`. `ki67_high` applies the configured cut-off and side (≥ 55 default).
- Populations: P0 eligible and not withdrawn; P1 P0 with advanced disease (metastatic or locally advanced
  unresectable at diagnosis, or a date of advanced disease); P2 P1 centrally classified NEC or NET G3
  (MiNEN, not HG-NEN and not reviewable are excluded and counted in the flow); P3 P2 with palliative
  chemotherapy in line 1 started by the cut-off; P4 P3 with ≥ 1 evaluable response evaluation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from analysis import arrays

DAYS_PER_YEAR = 365.25
RESPONSE_RANK = {"CR": 4, "PR": 3, "SD": 2, "non_CR_non_PD": 2, "PD": 1}
ORR_CODES = frozenset({"CR", "PR"})
DCR_CODES = frozenset({"CR", "PR", "SD", "non_CR_non_PD"})
ADVANCED_EXTENTS = frozenset({"metastatic", "locally_advanced_unresectable"})
GROUPS = ("NEC", "NET_G3")
GROUP_LABELS = {"NEC": "NEC", "NET_G3": "NET G3"}
PS_GROUPS = ("0", "1", "2", "3-4")
AGE_GROUPS = ("<65", "65-74", ">=75")
#: Imputing one of these moves an origin or an event, so `date_imputed` flags it.
ENDPOINT_DATES = frozenset({"date_of_diagnosis", "line1_start", "date_of_death", "date_last_known_alive",
                            "clinical_progression_date"})
#: Central NEC diagnoses → cell type (DOMAIN.md F9).
NEC_CELL_TYPES = {"NEC_small": "small_cell", "NEC_large": "large_cell", "NEC_nos": "nos"}
#: Baseline laboratory analytes the dataset carries (above-ULN flags).
BASELINE_ANALYTES = ("alp", "ldh", "platelets", "crp", "cga", "nse")

#: Defaults of the operator-configurable settings (AnalysisSettings stores the values a run used).
DEFAULT_CONFIG: dict[str, Any] = {
    "ki67_cutoff": 55.0,
    "ki67_operator": "ge",
    "pfs_assessment_interval_days": 63,
    "pfs_late_death_rule": "event",
    "minimum_form_status": "draft",
}

#: Every column of the dataset, in order (the frozen dataset and the fingerprint use this order).
COLUMNS: tuple[str, ...] = (
    "patient_id", "study_id", "site_id", "country", "withdrawn", "eligible", "advanced",
    "p0", "p1", "p2", "p3", "p4", "final_diagnosis", "classification", "group",
    "age_years", "age_group", "sex", "male", "ps", "ps_group",
    "ki67", "ki67_source", "ki67_high", "cell_type",
    "alp_above_uln", "alp_x_uln", "ldh_above_uln", "platelets_above_uln", "crp_above_uln", "cga_above_uln",
    "nse_above_uln",
    "primary_site", "primary_site_group", "colorectal_primary", "liver_metastases", "resection_of_primary",
    "received_palliative_systemic", "line1_number", "line1_start", "line1_regimen", "line1_regimen_class",
    "line1_platinum_etoposide", "line1_is_chemotherapy", "line1_n_cycles",
    "os_days", "os_event", "pfs_days", "pfs_event", "pfs_late_death", "os_dx_days", "os_dx_event",
    "n_evaluations", "first_response", "best_response", "orr", "dcr",
    "immediate_progression_evaluable", "immediate_progression_treated",
    "imputed_dates", "date_imputed",
)


def _empty() -> arrays.TableRows:
    return arrays.TableRows((), [])


@dataclass
class RegistrySnapshot:
    """The rows (tuples, as read) of every registry table the dataset is built from; each table's rows are in
    patient order, then in the table's own order (dates, then ids)."""

    patients: arrays.TableRows = field(default_factory=_empty)
    enrolments: arrays.TableRows = field(default_factory=_empty)
    baselines: arrays.TableRows = field(default_factory=_empty)
    tumours: arrays.TableRows = field(default_factory=_empty)
    specimens: arrays.TableRows = field(default_factory=_empty)
    labs: arrays.TableRows = field(default_factory=_empty)
    lines: arrays.TableRows = field(default_factory=_empty)
    evaluations: arrays.TableRows = field(default_factory=_empty)
    followups: arrays.TableRows = field(default_factory=_empty)
    treatment_status: arrays.TableRows = field(default_factory=_empty)
    classifications: arrays.TableRows = field(default_factory=_empty)
    regimen_components: list[dict[str, Any]] = field(default_factory=list)


def impute(day: date | None, precision: str | None) -> tuple[date | None, bool]:
    """The analysis date of a partial date and whether it was imputed (15th of the month / 1 July)."""
    if day is None:
        return None, False
    if precision == "month":
        return day.replace(day=15), True
    if precision == "year":
        return day.replace(month=7, day=1), True
    return day, False


def ki67_is_high(value: float | None, *, cutoff: float, operator: str) -> int | None:
    """1/0 by the configured cut-off and side ("ge": ≥ cut-off is high; "gt": > cut-off)."""
    if value is None:
        return None
    if operator not in ("ge", "gt"):
        raise ValueError(f"unknown Ki-67 operator {operator!r}")
    return int(value >= cutoff if operator == "ge" else value > cutoff)


def ps_group(ps: int | None) -> str | None:
    if ps is None:
        return None
    return "3-4" if ps >= 3 else str(ps)


def age_group(age: float | None) -> str | None:
    if age is None:
        return None
    return "<65" if age < 65 else ("65-74" if age < 75 else ">=75")


def regimen_class(drugs: set[str], platinum_etoposide: bool | None, temozolomide: bool | None) -> str:
    """platinum_etoposide / temozolomide_based / folfox_type (oxaliplatin) / other (DOMAIN.md F10)."""
    if platinum_etoposide:
        return "platinum_etoposide"
    if temozolomide:
        return "temozolomide_based"
    if "oxaliplatin" in drugs:
        return "folfox_type"
    return "other"


def build_rows(snapshot: Any, config: Mapping[str, Any], *, cutoff: date) -> list[dict[str, Any]]:
    """One dict per registered patient (keys = COLUMNS, in the snapshot's patient order); pure, no queries."""
    columns = build_columns(snapshot, config, cutoff=cutoff)
    return [dict(zip(COLUMNS, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def build_columns(snapshot: Any, config: Mapping[str, Any], *, cutoff: date) -> dict[str, list[Any]]:
    """The dataset as {column: values} (COLUMNS order; values are Python objects, None = missing), derived a
    column at a time over every patient of the snapshot (`analysis.derivation`)."""
    cfg = {**DEFAULT_CONFIG, **config}
    ki67_is_high(0.0, cutoff=float(cfg["ki67_cutoff"]), operator=cfg["ki67_operator"])  # a bad operator fails here
    if cfg["pfs_late_death_rule"] not in ("event", "censor"):
        raise ValueError(f"unknown PFS late-death rule {cfg['pfs_late_death_rule']!r}")
    from analysis.derivation import Derivation

    return Derivation(snapshot, cfg, np.datetime64(cutoff, "D")).columns()


def to_columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Columnar form {column: values} (what is frozen in a run and hashed)."""
    return {c: [r[c] for r in rows] for c in COLUMNS}


def fingerprint(columns: Mapping[str, list[Any]], *, definitions: Any, config: Mapping[str, Any],
                code_version: str) -> str:
    """SHA-256 of the frozen dataset, the enabled definitions, the settings and the code version."""
    digest = hashlib.sha256()
    for part in (columns, definitions, config, code_version):
        digest.update(json.dumps(part, sort_keys=True, separators=(",", ":"), default=str).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def build_dataset_columns(config: Mapping[str, Any], *, cutoff: date) -> dict[str, list[Any]]:
    """The dataset from the live registry as {column: values} (a fixed number of queries)."""
    from analysis.selectors import registry_snapshot

    cfg = {**DEFAULT_CONFIG, **config}
    return build_columns(registry_snapshot(minimum_status=cfg["minimum_form_status"]), cfg, cutoff=cutoff)


def build_dataset(config: Mapping[str, Any], *, cutoff: date) -> list[dict[str, Any]]:
    """The dataset rows from the live registry (a fixed number of queries)."""
    columns = build_dataset_columns(config, cutoff=cutoff)
    return [dict(zip(COLUMNS, values, strict=True)) for values in zip(*columns.values(), strict=True)]
