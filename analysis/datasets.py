"""The analysis dataset: one row per patient, durations in integer days, events 0/1 (DOMAIN.md F10 and §6).

`build_dataset()` reads the registry through `analysis.selectors.registry_snapshot` (a fixed number of
queries) and `build_rows()` derives every variable in memory with pure functions, so the rules below are
testable without a database and the same code runs in the bench on synthetic rows.

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
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any

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


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _bool01(value: Any) -> int | None:
    return None if value is None else int(bool(value))


class _Dates:
    """Collects the names of the dates that were imputed for one patient."""

    def __init__(self) -> None:
        self.imputed: list[str] = []

    def get(self, name: str, day: date | None, precision: str | None) -> date | None:
        value, was = impute(day, precision)
        if was and name not in self.imputed:
            self.imputed.append(name)
        return value


def _by_patient(rows: Iterable[Mapping[str, Any]]) -> dict[int, list[Mapping[str, Any]]]:
    out: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row["patient_id"]].append(row)
    return out


def _first(rows: Sequence[Mapping[str, Any]] | None) -> Mapping[str, Any] | None:
    return rows[0] if rows else None


def build_rows(snapshot: Any, config: Mapping[str, Any], *, cutoff: date) -> list[dict[str, Any]]:
    """One dict per registered patient (columns = COLUMNS) from a RegistrySnapshot; pure, no queries."""
    cfg = {**DEFAULT_CONFIG, **config}
    enrolments = {r["patient_id"]: r for r in snapshot.enrolments}
    baselines = {r["patient_id"]: r for r in snapshot.baselines}
    tumours = {r["patient_id"]: r for r in snapshot.tumours}
    status = {r["patient_id"]: r for r in snapshot.treatment_status}
    specimens = _by_patient(snapshot.specimens)
    labs = _by_patient(snapshot.labs)
    lines = _by_patient(snapshot.lines)
    followups = _by_patient(snapshot.followups)
    evaluations: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for ev in snapshot.evaluations:
        evaluations[ev["line_id"]].append(ev)
    drugs: dict[int, set[str]] = defaultdict(set)
    cytotoxic: dict[int, bool] = defaultdict(bool)
    for comp in snapshot.regimen_components:
        drugs[comp["regimen_id"]].add(comp["drug__code"])
        cytotoxic[comp["regimen_id"]] |= bool(comp["drug__is_cytotoxic"])
    classifications = snapshot.classifications
    ki67_is_high(0.0, cutoff=float(cfg["ki67_cutoff"]), operator=cfg["ki67_operator"])  # a bad operator fails here
    cfg["ki67_cutoff"] = float(cfg["ki67_cutoff"])
    regimens = _RegimenClasses(drugs, cytotoxic)
    empty: list = []
    return [
        _patient_row(p, enrolments.get(pid), baselines.get(pid), tumours.get(pid),
                     status.get(pid), specimens.get(pid, empty), labs.get(pid, empty),
                     lines.get(pid, empty), followups.get(pid, empty), evaluations, regimens,
                     classifications.get(pid), cfg, cutoff)
        for p in snapshot.patients
        for pid in (p["id"],)
    ]


class _RegimenClasses(dict):
    """(regimen, backbone, platinum-etoposide, temozolomide) → (regimen class, has a cytotoxic drug), derived
    once per distinct combination instead of once per patient."""

    def __init__(self, drugs: Mapping[int, set[str]], cytotoxic: Mapping[int, bool]) -> None:
        super().__init__()
        self.drugs, self.cytotoxic = drugs, cytotoxic

    def __missing__(self, key: tuple) -> tuple[str | None, bool]:
        regimen, backbone, platinum_etoposide, temozolomide = key
        names = set(self.drugs.get(regimen, ())) | set(self.drugs.get(backbone, ()))
        chemo = bool(self.cytotoxic.get(regimen) or self.cytotoxic.get(backbone))
        value = (regimen_class(names, platinum_etoposide, temozolomide) if regimen else None, chemo)
        self[key] = value
        return value


def _patient_row(patient, enrolment, baseline, tumour, treatment_status, specimens, labs, lines, followups,
                 evaluations, regimens, classification, cfg, cutoff) -> dict[str, Any]:
    dates = _Dates()
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(patient_id=patient["id"], study_id=patient["study_id"], site_id=patient["site_id"],
               country=patient["site__country"], withdrawn=bool(patient["withdrawn"]))

    # --- population building blocks
    eligible = bool(enrolment and enrolment["eligible"])
    advanced = bool(tumour and (tumour["disease_extent_at_diagnosis"] in ADVANCED_EXTENTS
                                or tumour["advanced_disease_date"] is not None))
    diagnosis = dates.get("date_of_diagnosis", enrolment and enrolment["date_of_diagnosis"],
                          enrolment and enrolment["date_of_diagnosis_precision"])
    group = classification["group"] if classification else None
    row.update(eligible=eligible, advanced=advanced, group=group,
               final_diagnosis=classification["final_diagnosis"] if classification else None,
               classification=_classification_category(classification))
    if classification and classification["final_diagnosis"] in NEC_CELL_TYPES:
        row["cell_type"] = NEC_CELL_TYPES[classification["final_diagnosis"]]

    # --- line 1 = the first palliative line
    line1 = None
    for ln in lines:
        if ln["intent"] == "palliative" and ln["line_number"] is not None:
            line1 = ln
            break
    origin = None
    if line1 is not None:
        origin = dates.get("line1_start", line1["start_date"], line1["start_date_precision"])
        klass, chemo = regimens[line1["regimen_id"], line1["backbone_regimen_id"], line1["is_platinum_etoposide"],
                                line1["is_temozolomide_based"]]
        row.update(
            line1_number=line1["line_number"], line1_start=origin.isoformat() if origin else None,
            line1_regimen=line1["regimen__code"], line1_regimen_class=klass,
            line1_platinum_etoposide=_bool01(line1["is_platinum_etoposide"]),
            line1_is_chemotherapy=int(chemo), line1_n_cycles=line1["n_cycles"],
        )
    if treatment_status:
        row["received_palliative_systemic"] = treatment_status["received_palliative_systemic"] or None
    treated = bool(origin is not None and origin <= cutoff and row["line1_is_chemotherapy"])

    # --- covariates
    if baseline:
        born = dates.get("date_of_birth", baseline["date_of_birth"], baseline["date_of_birth_precision"])
        reference = origin if origin is not None else diagnosis
        if born is not None and reference is not None:
            row["age_years"] = round((reference - born).days / DAYS_PER_YEAR, 2)
        row["sex"] = baseline["sex"] or None
        row["male"] = None if not baseline["sex"] else int(baseline["sex"] == "male")
        ps = line1["ecog_ps_at_start"] if line1 and line1["ecog_ps_at_start"] is not None else baseline["ecog_ps"]
        row.update(ps=ps, ps_group=ps_group(ps))
    row["age_group"] = age_group(row["age_years"])
    ki67, source = _ki67(classification, specimens)
    row.update(ki67=ki67, ki67_source=source,
               ki67_high=ki67_is_high(ki67, cutoff=cfg["ki67_cutoff"], operator=cfg["ki67_operator"]))
    if not row["cell_type"]:
        diagnostic = next((s for s in specimens if s["is_diagnostic"] and s["cell_type"]), None)
        if diagnostic and group == "NEC" and diagnostic["cell_type"] != "not_applicable":
            row["cell_type"] = diagnostic["cell_type"]
    line1_labs = [lab for lab in labs if lab.get("line_id") == line1["id"]
                  or (lab.get("line_id") is None and line1["line_number"] == 1)] if line1 else []
    for lab in line1_labs:
        row[f"{lab['analyte']}_above_uln"] = _bool01(lab["above_uln"])
        if lab["analyte"] == "alp":
            row["alp_x_uln"] = _float(lab["value_x_uln"])
    if tumour:
        site_group = tumour["primary_site_group"] or None
        row.update(primary_site=tumour["primary_site"] or None, primary_site_group=site_group,
                   colorectal_primary=None if site_group is None else int(site_group == "colorectal"),
                   liver_metastases=int("liver" in (tumour["metastatic_sites"] or [])),
                   resection_of_primary=tumour["resection_of_primary"] or None)

    # --- vital status as of the cut-off
    death, last_alive = _vital_status(followups, lines, line1 and evaluations.get(line1["id"], []), dates, cutoff)

    # --- line-1 response evaluations seen by the cut-off, after the origin
    evals = []
    if line1 is not None and origin is not None:
        evals = [ev for ev in evaluations.get(line1["id"], ())
                 if ev["eval_date"] is not None and origin < ev["eval_date"] <= cutoff]
        evals.sort(key=_EVAL_DATE)
    evaluable = [ev for ev in evals if ev["overall_response"] in RESPONSE_RANK]
    clinical = None
    if line1 is not None and line1["clinical_progression"]:
        clinical = dates.get("clinical_progression_date", line1["clinical_progression_date"],
                             line1["clinical_progression_date_precision"])
        if clinical is not None and clinical > cutoff:
            clinical = None

    if treated:
        row.update(_os(origin, death, last_alive))
        row.update(_pfs(origin, evaluable, clinical, death, cfg))
        row.update(_response(evaluable, clinical, death))
    if advanced and diagnosis is not None and diagnosis <= cutoff:
        os_dx = _os(diagnosis, death, last_alive)
        row.update(os_dx_days=os_dx["os_days"], os_dx_event=os_dx["os_event"])

    # --- populations
    row["p0"] = eligible and not row["withdrawn"]
    row["p1"] = row["p0"] and advanced
    row["p2"] = row["p1"] and group in GROUPS
    row["p3"] = row["p2"] and treated and row["os_days"] is not None
    row["p4"] = row["p3"] and bool(evaluable)
    if not row["p4"]:
        row.update(orr=None, dcr=None, immediate_progression_evaluable=None)
    row["imputed_dates"] = ",".join(dates.imputed)
    row["date_imputed"] = not ENDPOINT_DATES.isdisjoint(dates.imputed)
    return row


_EVAL_DATE = itemgetter("eval_date")


def _classification_category(classification: Mapping[str, Any] | None) -> str:
    """The flow-diagram category of a patient's central classification."""
    if not classification:
        return "not_classified"
    if classification["group"] in GROUPS:
        return classification["group"]
    return {"MiNEN": "MiNEN", "not_reviewable": "not_reviewable"}.get(classification["final_diagnosis"],
                                                                        "not_HG_NEN")


def _ki67(classification: Mapping[str, Any] | None, specimens: Sequence[Mapping[str, Any]]) -> tuple:
    if classification and classification.get("final_ki67") is not None and classification.get("ki67_is_central"):
        return float(classification["final_ki67"]), "central"
    local = [s for s in specimens if s["ki67_percent"] is not None]
    if not local:
        if classification and classification.get("final_ki67") is not None:
            return float(classification["final_ki67"]), "local"
        return None, None
    diagnostic = [s for s in local if s["is_diagnostic"]]
    chosen = diagnostic[-1] if diagnostic else max(local, key=lambda s: s["ki67_percent"])
    return float(Decimal(chosen["ki67_percent"])), "local"


def _vital_status(followups, lines, line1_evals, dates: _Dates, cutoff: date) -> tuple[date | None, date | None]:
    """(date of death if on or before the cut-off, last date known alive capped at the cut-off)."""
    deaths = []
    alive: list[date] = []
    for fu in followups:
        if fu["date_of_death"] is not None:
            deaths.append(dates.get("date_of_death", fu["date_of_death"], fu["date_of_death_precision"]))
        if fu["date_last_known_alive"] is not None:
            alive.append(dates.get("date_last_known_alive", fu["date_last_known_alive"],
                                   fu["date_last_known_alive_precision"]))
        if fu["vital_status"] == "alive" and fu["visit_date"] is not None:
            alive.append(fu["visit_date"])
    alive += [ev["eval_date"] for ev in (line1_evals or []) if ev["eval_date"] is not None]
    alive += [impute(ln["start_date"], ln["start_date_precision"])[0] for ln in lines if ln["start_date"]]
    death = min(deaths) if deaths else None
    if death is not None and death > cutoff:
        # died after the cut-off: alive on the cut-off date as far as this analysis knows
        return None, cutoff
    if death is not None:
        return death, None
    if not alive:
        return None, None
    last = max(alive)
    return None, min(last, cutoff)


def _os(origin: date, death: date | None, last_alive: date | None) -> dict[str, Any]:
    if death is not None:
        days = (death - origin).days
        return {"os_days": days if days >= 0 else None, "os_event": 1 if days >= 0 else None}
    if last_alive is None:
        return {"os_days": 0, "os_event": 0}
    days = (last_alive - origin).days
    return {"os_days": max(days, 0), "os_event": 0}


def _pfs(origin: date, evaluable, clinical: date | None, death: date | None, cfg) -> dict[str, Any]:
    first_pd = next((ev["eval_date"] for ev in evaluable if ev["overall_response"] == "PD"), None)
    progression = min((d for d in (first_pd, clinical) if d is not None), default=None)
    before = [ev["eval_date"] for ev in evaluable if ev["overall_response"] != "PD"
              and (progression is None or ev["eval_date"] < progression)]
    last_pf = max(before, default=origin)
    if progression is not None:
        end = min(progression, death) if death is not None else progression
        return {"pfs_days": (end - origin).days, "pfs_event": 1, "pfs_late_death": False}
    if death is not None:
        window = 2 * int(cfg["pfs_assessment_interval_days"])
        late = (death - last_pf).days > window
        if late and cfg["pfs_late_death_rule"] == "censor":
            return {"pfs_days": (last_pf - origin).days, "pfs_event": 0, "pfs_late_death": True}
        if cfg["pfs_late_death_rule"] not in ("event", "censor"):
            raise ValueError(f"unknown PFS late-death rule {cfg['pfs_late_death_rule']!r}")
        return {"pfs_days": (death - origin).days, "pfs_event": 1, "pfs_late_death": late}
    return {"pfs_days": (last_pf - origin).days, "pfs_event": 0, "pfs_late_death": False}


def _response(evaluable, clinical: date | None, death: date | None) -> dict[str, Any]:
    first = evaluable[0] if evaluable else None
    best = max(evaluable, key=lambda ev: RESPONSE_RANK[ev["overall_response"]])["overall_response"] if evaluable \
        else None
    if first is not None:
        treated_ipd = first["overall_response"] == "PD" or (clinical is not None and clinical <= first["eval_date"])
    else:
        treated_ipd = clinical is not None or death is not None
    return {
        "n_evaluations": len(evaluable),
        "first_response": first["overall_response"] if first else None,
        "best_response": "SD" if best == "non_CR_non_PD" else best,
        "orr": None if best is None else int(best in ORR_CODES),
        "dcr": None if best is None else int(best in DCR_CODES),
        "immediate_progression_evaluable": None if first is None else int(first["overall_response"] == "PD"),
        "immediate_progression_treated": int(treated_ipd),
    }


# ---------------------------------------------------------------------------------------------------------
# Frozen form and fingerprint


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


def build_dataset(config: Mapping[str, Any], *, cutoff: date) -> list[dict[str, Any]]:
    """The dataset rows from the live registry (a fixed number of queries)."""
    from analysis.selectors import registry_snapshot

    cfg = {**DEFAULT_CONFIG, **config}
    return build_rows(registry_snapshot(minimum_status=cfg["minimum_form_status"]), cfg, cutoff=cutoff)
