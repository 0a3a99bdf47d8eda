"""Form payloads of a synthetic patient (DOMAIN.md F4–F8 field names and codes), built from its covariates
and clinical course. Pure (numpy, no Django); used by generator.py."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from registry.crfs.demo import model as m
from registry.crfs.demo.timeline import Course


@dataclass
class FormPlan:
    """One service call: create a form (op "create") or update one created earlier (op "update", ref)."""

    family: str
    data: dict
    status: str = "submitted"  # draft | submitted | verified | locked
    key: str = ""  # name other plans refer to (a line's evaluations, its later update)
    parent: str = ""  # key of the treatment line a response evaluation belongs to
    op: str = "create"



def choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _day(origin: date, offset: int) -> date:
    return origin + timedelta(days=int(offset))


def dec(x: float, places: int = 1) -> Decimal:
    return Decimal(f"{x:.{places}f}")



# ---------------------------------------------------------------------------------------------------------
# Forms


def _ki67(rng: np.random.Generator, local: str, high: bool) -> float:
    if local == "NET_G3":
        return float(rng.uniform(56, 70)) if high else float(np.clip(rng.gamma(6.0, 5.0) + 10, 21, 55))
    if local == "MiNEN":
        return float(rng.uniform(40, 90))
    return float(rng.uniform(55, 95)) if high else float(rng.uniform(21, 54.9))


def pathology_form(rng: np.random.Generator, *, local: str, high: bool, diagnosed: date, primary: str,
                   resection: bool, cytology: bool = False) -> FormPlan:
    """The diagnostic local pathology: NEC poorly and NET G3 well differentiated, CgA/synaptophysin IHC."""
    if resection:
        site, kind = "primary", "resection"
    elif cytology:
        site, kind = "liver_metastasis", "fine_needle_cytology"
    elif primary in ("oesophagus", "stomach", "duodenum", "colon_right", "colon_left", "rectum", "anal_canal"):
        site, kind = "primary", "endoscopic_biopsy"
    else:
        site, kind = ("liver_metastasis", "core_biopsy") if rng.random() < 0.7 else ("lymph_node", "core_biopsy")
    nec = local.startswith("NEC")
    data = {
        "specimen_date": diagnosed, "is_diagnostic": True, "specimen_site": site, "specimen_type": kind,
        "classification_edition": "WHO2019", "local_diagnosis": local,
        "differentiation": "poor" if nec or local == "MiNEN" else "well",
        "chromogranin_a_ihc": "positive" if rng.random() < (0.75 if nec else 0.92) else "negative",
        "synaptophysin_ihc": "positive" if rng.random() < 0.97 else "negative",
    }
    if "positive" not in (data["chromogranin_a_ihc"], data["synaptophysin_ihc"]):
        data["synaptophysin_ihc"] = "positive"
    if local == "NEC_small_cell":
        data["cell_type"] = "small_cell"
    elif local == "NEC_large_cell":
        data["cell_type"] = "large_cell"
    if cytology:
        data["ki67_percent_missing_reason"] = "not_done"
    else:
        data["ki67_percent"] = dec(_ki67(rng, local, high))
        method = choose(rng, {"manual_count": 0.5, "eyeball": 0.3, "digital_image_analysis": 0.2})
        data["ki67_method"] = method
        if method != "eyeball":
            data["ki67_cells_counted"] = int(rng.integers(500, 2001))
    if nec:
        data["p53_ihc"] = "aberrant" if rng.random() < 0.6 else "wild_type"
        data["rb1_ihc"] = "lost" if rng.random() < 0.5 else "retained"
    if local == "NET_G3":
        data["sstr2_ihc"] = "positive" if rng.random() < 0.7 else "negative"
    if local == "MiNEN":
        data["minen_nonNE_component"] = "adenocarcinoma"
        data["minen_nonNE_percent"] = dec(rng.uniform(30, 70))
    if local in ("NEC_small_cell", "NEC_large_cell", "NEC_nos", "NET_G3", "MiNEN") and not cytology:
        label = {"NEC_small_cell": "small cell neuroendocrine carcinoma",
                 "NEC_large_cell": "large cell neuroendocrine carcinoma",
                 "NEC_nos": "neuroendocrine carcinoma", "NET_G3": "neuroendocrine tumour G3",
                 "MiNEN": "mixed neuroendocrine-non-neuroendocrine neoplasm"}[local]
        data["report_text"] = f"{label.capitalize()}, Ki-67 {data['ki67_percent']} %."
    return FormPlan("pathology", data)


def lab_forms(rng: np.random.Generator, x: dict, country: str, sampled: date, timepoint: str) -> list[FormPlan]:
    """ALP, LDH and platelets with the local lab's LLN/ULN (Sweden reports ALP/LDH in µkat/L)."""
    limits = m.LAB_LIMITS[country]
    forms = []
    for analyte, high, hi_range, lo_range in (("alp", x["alp_high"], (1.05, 9.0), (0.35, 0.98)),
                                              ("ldh", x["ldh_high"], (1.05, 6.0), (0.6, 0.98))):
        unit, lln, uln = limits["ldh70" if analyte == "ldh" and x["age"] >= 70 else analyte]
        factor = float(np.clip(math.exp(rng.normal(0.8, 0.55)), *hi_range)) if high else rng.uniform(*lo_range)
        places = 2 if unit != "U/L" else 0
        value = max(float(uln) * factor, float(uln) * 1.03) if high else float(uln) * factor
        forms.append(FormPlan("labs", {"timepoint": timepoint, "analyte": analyte, "sample_date": sampled,
                                       "value": dec(value, places), "unit": unit, "lln": dec(lln, places),
                                       "uln": dec(uln, places)}))
    unit, lln, uln = limits["platelets"]
    platelets = float(np.clip(rng.normal(290, 95), 40, 900))
    forms.append(FormPlan("labs", {"timepoint": timepoint, "analyte": "platelets", "sample_date": sampled,
                                   "value": dec(platelets, 0), "unit": unit, "lln": dec(lln, 0),
                                   "uln": dec(uln, 0)}))
    return forms


def _responses(rng: np.random.Generator, group: str, evaluations: list[tuple[int, str]],
               baseline_sum: float) -> list[dict]:
    """RECIST 1.1 categories with target sums that agree with them (so EC28 stays quiet)."""
    rows, nadir, previous = [], baseline_sum, None
    pr_chance = 0.45 if group == "NEC" else 0.30
    for _, kind in evaluations:
        row = {"method": "ct" if rng.random() < 0.9 else "mri", "criteria": "recist_1_1"}
        if kind == "PD":
            current = nadir * rng.uniform(1.25, 1.6) + 5
            row.update(overall_response="PD", progression_type="radiological",
                       new_lesions=bool(rng.random() < 0.35))
        elif previous == "PR" or (previous is None and rng.random() < pr_chance):
            current = min(nadir, baseline_sum * rng.uniform(0.40, 0.68))
            row.update(overall_response="PR", new_lesions=False)
        else:
            low = max(baseline_sum * 0.73, nadir * 0.97)
            current = rng.uniform(low, max(low, nadir * 1.12))
            row.update(overall_response="SD", new_lesions=False)
        row["target_sum_mm"] = dec(current)
        nadir = min(nadir, float(row["target_sum_mm"]))
        previous = row["overall_response"]
        rows.append(row)
    return rows


def line_forms(rng: np.random.Generator, group: str, line, origin: date, ps: int) -> list[FormPlan]:
    key = f"line{line.number}"
    data = {"line_number": line.number, "intent": "palliative", "regimen": line.regimen,
            "start_date": _day(origin, line.start), "n_cycles": line.n_cycles,
            "dose_reduced": bool(rng.random() < 0.2), "ecog_ps_at_start": ps}
    if "etop" in line.regimen:
        data["etoposide_route"] = "oral" if rng.random() < 0.1 else "iv"
    baseline_sum = float(rng.uniform(40, 180))
    if line.evaluations:
        data["baseline_target_sum_mm"] = dec(baseline_sum)
    forms = [FormPlan("treatment", data, key=key)]
    for (day, _), row in zip(line.evaluations, _responses(rng, group, line.evaluations, baseline_sum), strict=True):
        forms.append(FormPlan("response", {"eval_date": _day(origin, day), **row}, parent=key))
    if line.end is not None:
        forms.append(FormPlan("treatment", {"end_date": _day(origin, line.end),
                                            "reason_stopped": line.reason_stopped}, op="update", key=key))
    return forms


def followup_forms(rng: np.random.Generator, course: Course, origin: date) -> list[FormPlan]:
    forms = [FormPlan("followup", {"visit_date": _day(origin, d), "vital_status": "alive",
                                   "date_last_known_alive": _day(origin, d), "source_of_vital_status": "chart"})
             for d in course.alive_visits]
    if course.death is not None:
        died = _day(origin, course.death)
        cause = choose(rng, {"disease": 0.90, "other": 0.04, "unknown": 0.03, "treatment_toxicity": 0.03})
        source = "population_registry" if rng.random() < 0.4 else "chart"
        visit = min(died + timedelta(days=int(rng.integers(0, 22))), m.DATA_CUTOFF)
        forms.append(FormPlan("followup", {"visit_date": visit, "vital_status": "dead", "date_of_death": died,
                                           "cause_of_death": cause, "source_of_vital_status": source}))
    elif course.lost:
        last = _day(origin, course.last_contact)
        visit = min(last + timedelta(days=int(rng.integers(90, 181))), m.DATA_CUTOFF)
        forms.append(FormPlan("followup", {"visit_date": visit, "vital_status": "lost_to_follow_up",
                                           "date_last_known_alive": last, "source_of_vital_status": "chart"}))
    else:
        last = _day(origin, course.last_contact)
        forms.append(FormPlan("followup", {"visit_date": last, "vital_status": "alive",
                                           "date_last_known_alive": last, "ps_at_visit": 1,
                                           "source_of_vital_status": choose(rng, {"chart": 0.7, "contact": 0.3})}))
    return forms


def metastatic_sites(rng: np.random.Generator, group: str) -> list[str]:
    chances = {"liver": 0.72 if group == "NEC" else 0.78, "lymph_nodes_distant": 0.40, "lung": 0.10,
               "bone": 0.12 if group == "NEC" else 0.08, "peritoneum": 0.12, "lymph_nodes_regional": 0.30}
    sites = [s for s, p in chances.items() if rng.random() < p]
    return sites if any(s != "lymph_nodes_regional" for s in sites) else ["liver", *sites]
