"""A synthetic NORDIC NEC 2-like cohort as per-patient plans: the forms to enter, in order, with their data
(DOMAIN.md field names and codes) and the workflow status each should end in. Pure (numpy, no Django):
the same seed always gives the same plans. Pseudonymous: no names, no national ids, no full birth dates.

    plans = generate_plans(639, seed=DEFAULT_SEED)

Each patient gets its own random stream (`default_rng([seed, index])`), so plan i does not change when the
cohort size does (except for the category and site it is dealt, which depend on the size).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from registry.crfs.demo import model as m
from registry.crfs.demo.timeline import Course, endpoints, treated_course, untreated_course
from registry.patients.study_ids import format_study_id


@dataclass
class FormPlan:
    """One service call: create a form (op "create") or update one created earlier (op "update", ref)."""

    family: str
    data: dict
    status: str = "submitted"  # draft | submitted | verified | locked
    key: str = ""  # name other plans refer to (a line's evaluations, its later update)
    parent: str = ""  # key of the treatment line a response evaluation belongs to
    op: str = "create"


@dataclass
class PatientPlan:
    index: int
    site: str
    country: str
    #: NEC | NET_G3 (treated, in the outcome groups) | minen | not_hg_nen | not_reviewable | untreated
    category: str
    #: The group the patient belongs to after central review (None for MiNEN / not HG-NEN / not reviewable).
    group: str | None
    #: What central review should conclude (DOMAIN.md F9 final_diagnosis codes), for the pathology loader.
    final_diagnosis: str
    treated: bool
    origin: date  # start of line 1 (treated) or date of diagnosis (untreated)
    covariates: dict
    course: Course
    forms: list[FormPlan] = field(default_factory=list)

    @property
    def endpoints(self) -> dict:
        return endpoints(self.course)


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _day(origin: date, offset: int) -> date:
    return origin + timedelta(days=int(offset))


def _dec(x: float, places: int = 1) -> Decimal:
    return Decimal(f"{x:.{places}f}")


def category_counts(n: int) -> dict[str, int]:
    """How many patients of each category a cohort of n gets (the paper's proportions; 639 → 427/117/95)."""
    nec = round(n * m.PAPER_NEC / m.PAPER_TOTAL)
    net = round(n * m.PAPER_NET / m.PAPER_TOTAL)
    rest = n - nec - net
    total_other = sum(m.OTHER_SHARES.values())
    counts = {k: math.floor(rest * v / total_other) for k, v in m.OTHER_SHARES.items()}
    counts["untreated"] += rest - sum(counts.values())
    return {"NEC": nec, "NET_G3": net, **counts}


# ---------------------------------------------------------------------------------------------------------
# Covariates


def covariates(rng: np.random.Generator, group: str) -> dict:
    gm = m.GROUPS[group]
    ps = int(rng.choice(5, p=np.array(gm.ps_probs)))
    age = float(np.clip(rng.normal(gm.age_mean, gm.age_sd), 30, 90))
    ki67_high = bool(rng.random() < gm.ki67_high)
    site = _choice(rng, gm.primary_sites)
    return {
        "ps": ps, "age": age, "male": bool(rng.random() < gm.male), "ki67_high": ki67_high,
        "alp_high": bool(rng.random() < gm.alp_high), "ldh_high": bool(rng.random() < gm.ldh_high),
        "primary_site": site, "colorectal": site in m.COLORECTAL_SITES,
    }


def line1_regimen(rng: np.random.Generator, group: str, x: dict) -> str:
    """NEC: platinum-etoposide ~93 % when Ki-67 ≥ 55, ~75 % below; NET G3 per the group's weights."""
    weights = dict(m.GROUPS[group].line1_regimens)
    if group == "NEC":
        pe_share = 0.93 if x["ki67_high"] else 0.75
        pe = {k: v for k, v in weights.items() if k in m.PLATINUM_ETOPOSIDE}
        other = {k: v for k, v in weights.items() if k not in m.PLATINUM_ETOPOSIDE}
        if rng.random() < pe_share:
            return _choice(rng, pe)
        return _choice(rng, other)
    return _choice(rng, weights)


def second_line_chooser(rng: np.random.Generator, group: str):
    def choose(*, line1_regimen: str, pfs_days: int) -> str:
        weights = {k: v for k, v in m.SECOND_LINE[group].items() if k != line1_regimen}
        if line1_regimen in m.PLATINUM_ETOPOSIDE:
            weights = {k: v for k, v in weights.items() if k not in m.PLATINUM_ETOPOSIDE}
            if pfs_days > 180 and group == "NEC":  # late progression → platinum re-challenge (DOMAIN.md F6)
                weights["carbo_etop"] = 0.8
        return _choice(rng, weights)
    return choose


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
        data["ki67_percent"] = _dec(_ki67(rng, local, high))
        method = _choice(rng, {"manual_count": 0.5, "eyeball": 0.3, "digital_image_analysis": 0.2})
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
        data["minen_nonNE_percent"] = _dec(rng.uniform(30, 70))
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
                                       "value": _dec(value, places), "unit": unit, "lln": _dec(lln, places),
                                       "uln": _dec(uln, places)}))
    unit, lln, uln = limits["platelets"]
    platelets = float(np.clip(rng.normal(290, 95), 40, 900))
    forms.append(FormPlan("labs", {"timepoint": timepoint, "analyte": "platelets", "sample_date": sampled,
                                   "value": _dec(platelets, 0), "unit": unit, "lln": _dec(lln, 0),
                                   "uln": _dec(uln, 0)}))
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
        row["target_sum_mm"] = _dec(current)
        nadir = min(nadir, float(row["target_sum_mm"]))
        previous = row["overall_response"]
        rows.append(row)
    return rows


def _line_forms(rng: np.random.Generator, group: str, line, origin: date, ps: int) -> list[FormPlan]:
    key = f"line{line.number}"
    data = {"line_number": line.number, "intent": "palliative", "regimen": line.regimen,
            "start_date": _day(origin, line.start), "n_cycles": line.n_cycles,
            "dose_reduced": bool(rng.random() < 0.2), "ecog_ps_at_start": ps}
    if "etop" in line.regimen:
        data["etoposide_route"] = "oral" if rng.random() < 0.1 else "iv"
    baseline_sum = float(rng.uniform(40, 180))
    if line.evaluations:
        data["baseline_target_sum_mm"] = _dec(baseline_sum)
    forms = [FormPlan("treatment", data, key=key)]
    for (day, _), row in zip(line.evaluations, _responses(rng, group, line.evaluations, baseline_sum), strict=True):
        forms.append(FormPlan("response", {"eval_date": _day(origin, day), **row}, parent=key))
    if line.end is not None:
        forms.append(FormPlan("treatment", {"end_date": _day(origin, line.end),
                                            "reason_stopped": line.reason_stopped}, op="update", key=key))
    return forms


def _followup_forms(rng: np.random.Generator, course: Course, origin: date) -> list[FormPlan]:
    forms = [FormPlan("followup", {"visit_date": _day(origin, d), "vital_status": "alive",
                                   "date_last_known_alive": _day(origin, d), "source_of_vital_status": "chart"})
             for d in course.alive_visits]
    if course.death is not None:
        died = _day(origin, course.death)
        cause = _choice(rng, {"disease": 0.90, "other": 0.04, "unknown": 0.03, "treatment_toxicity": 0.03})
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
                                           "source_of_vital_status": _choice(rng, {"chart": 0.7, "contact": 0.3})}))
    return forms


def _metastatic_sites(rng: np.random.Generator, group: str) -> list[str]:
    chances = {"liver": 0.72 if group == "NEC" else 0.78, "lymph_nodes_distant": 0.40, "lung": 0.10,
               "bone": 0.12 if group == "NEC" else 0.08, "peritoneum": 0.12, "lymph_nodes_regional": 0.30}
    sites = [s for s, p in chances.items() if rng.random() < p]
    return sites if any(s != "lymph_nodes_regional" for s in sites) else ["liver", *sites]


# ---------------------------------------------------------------------------------------------------------
# One patient


def _nec_subtype(rng: np.random.Generator) -> str:
    return _choice(rng, {"NEC_large_cell": 0.50, "NEC_small_cell": 0.35, "NEC_nos": 0.15})


def patient_plan(index: int, category: str, site: str, seed: int) -> PatientPlan:
    """The plan of patient `index` of a cohort, dealt `category` and `site`."""
    rng = np.random.default_rng([seed, index])
    country = m.SITE_COUNTRY[site]
    untreated = category == "untreated"
    if category == "untreated":
        group = "NEC" if rng.random() < 0.8 else "NET_G3"
    elif category in ("NEC", "NET_G3"):
        group = category
    else:  # MiNEN and not-reviewable cases behave like NEC; re-classified cases like NET G3
        group = "NET_G3" if category == "not_hg_nen" else "NEC"
    x = covariates(rng, group)
    if untreated:  # best supportive care: older, frailer
        x["ps"] = int(rng.choice(5, p=[0.02, 0.10, 0.28, 0.40, 0.20]))
        x["age"] = float(np.clip(rng.normal(75, 9), 35, 95))
    span = (m.ENTRY_LAST - m.ENTRY_FIRST).days
    origin = m.ENTRY_FIRST + timedelta(days=int(rng.integers(0, span + 1)))
    horizon = (m.DATA_CUTOFF - origin).days
    gm = m.GROUPS[group]

    # Pathology as the site reported it, and what central review will say.
    if category in ("NEC", "not_reviewable") or (untreated and group == "NEC"):
        local = _nec_subtype(rng)
        final = {"NEC_large_cell": "NEC_large", "NEC_small_cell": "NEC_small", "NEC_nos": "NEC_nos"}[local]
    elif category == "NET_G3" or (untreated and group == "NET_G3"):
        local, final = "NET_G3", "NET_G3"
    elif category == "minen":
        local, final = "MiNEN", "MiNEN"
    else:
        local, final = ("NET_G3" if rng.random() < 0.6 else "NEC_large_cell"), "not_HG_NEN"
    if category == "not_reviewable":
        final = "not_reviewable"
    # Local/central discordance: ~5 % of NET G3 (by central review) were reported locally as large-cell NEC,
    # ~3 % of NEC as NET G3. Central review (the pathology demo) corrects them to `final_diagnosis`.
    if category == "NET_G3" and rng.random() < 0.05:
        local = "NEC_large_cell"
    elif category == "NEC" and rng.random() < 0.03:
        local = "NET_G3"
    x["net_platinum"] = False

    if untreated:
        course = untreated_course(rng, x, horizon)
        regimen = None
    else:
        regimen = "carbo_etop" if category in ("minen", "not_reviewable") and rng.random() < 0.85 \
            else line1_regimen(rng, group, x)
        x["net_platinum"] = group == "NET_G3" and regimen in m.PLATINUM_ETOPOSIDE
        course = treated_course(rng, gm, group, x, regimen, horizon,
                                second_line_regimen=second_line_chooser(rng, group))

    # Calendar around the origin: diagnosis, advanced disease, registration.
    metachronous = not untreated and rng.random() < 0.12
    locally_advanced = not metachronous and rng.random() < 0.08
    if untreated:
        diagnosed = origin
        advanced = origin
    else:
        advanced = origin - timedelta(days=int(rng.integers(14, 43)))
        diagnosed = advanced - timedelta(days=int(rng.integers(150, 721))) if metachronous else advanced
    retrospective = rng.random() < 0.1
    registered = diagnosed + timedelta(days=int(rng.integers(60, 301) if retrospective else rng.integers(0, 22)))
    registered = min(registered, m.DATA_CUTOFF)
    consent = "waived_by_ethics" if rng.random() < 0.1 else "yes"

    forms: list[FormPlan] = []
    enrolment = {"registration_date": registered, "consent_obtained": consent,
                 "age_at_registration_ge_18": True, "histological_confirmation": True,
                 "ki67_gt_20_or_mitoses_gt_20": True, "digestive_primary_or_gi_cup": True,
                 "date_of_diagnosis": diagnosed,
                 "registration_timing": "retrospective_catch_up" if retrospective else "prospective_at_diagnosis"}
    if consent == "yes":
        enrolment["consent_date"] = registered
    forms.append(FormPlan("enrolment", enrolment))

    born_year = (origin - timedelta(days=int(x["age"] * 365.25))).year
    ps_date = origin - timedelta(days=int(rng.integers(0, 11))) if not untreated else \
        diagnosed + timedelta(days=int(rng.integers(0, min(8, course.last_contact))))
    male = x["male"]
    forms.append(FormPlan("baseline", {
        "sex": "male" if male else "female", "date_of_birth": date(born_year, 1, 1), "ecog_ps": x["ps"],
        "ps_assessment_date": ps_date, "ps_source": "ecog_who",
        "weight_kg": _dec(np.clip(rng.normal(80 if male else 67, 13), 38, 150)),
        "height_cm": _dec(np.clip(rng.normal(178 if male else 165, 7), 145, 205)),
        "functional_syndrome": "none", "hereditary_syndrome": "none",
    }))
    tumour = {"primary_site": x["primary_site"], "advanced_disease_date": advanced,
              "resection_of_primary": "curative" if metachronous else "none"}
    if metachronous:
        tumour["disease_extent_at_diagnosis"] = "locoregional"
        tumour["metastatic_sites"] = _metastatic_sites(rng, group)
    elif locally_advanced:
        tumour["disease_extent_at_diagnosis"] = "locally_advanced_unresectable"
    else:
        tumour["disease_extent_at_diagnosis"] = "metastatic"
        tumour["metastatic_sites"] = _metastatic_sites(rng, group)
    if "liver" in tumour.get("metastatic_sites", []):
        tumour["liver_tumour_burden"] = _choice(rng, {"<25%": 0.45, "25-50%": 0.3, ">50%": 0.2, "unknown": 0.05})
    if group == "NET_G3":
        tumour["imaging_ssrt_pet_result"] = "positive" if rng.random() < 0.6 else "negative"
    forms.append(FormPlan("tumour", tumour))
    forms.append(pathology_form(rng, local=local, high=x["ki67_high"], diagnosed=diagnosed,
                                primary=x["primary_site"], resection=metachronous,
                                cytology=category == "not_reviewable"))
    if metachronous:
        forms.append(FormPlan("other_treatment", {
            "type": "surgery_primary", "date": diagnosed + timedelta(days=int(rng.integers(14, 45))),
            "intent": "curative", "details": "Resection of the primary tumour."}))

    if untreated:
        forms.append(FormPlan("treatment_status", {
            "received_palliative_systemic": "no",
            "reason_no_treatment": _choice(rng, {"poor_ps": 0.55, "rapid_death": 0.2, "patient_choice": 0.15,
                                                 "comorbidity": 0.10})}))
        sampled = diagnosed + timedelta(days=int(rng.integers(0, min(6, course.last_contact))))
        forms += lab_forms(rng, x, country, sampled, "diagnosis")
    else:
        forms.append(FormPlan("treatment_status", {"received_palliative_systemic": "yes"}))
        forms += lab_forms(rng, x, country, origin - timedelta(days=int(rng.integers(1, 15))), "baseline_line1")
        ps = x["ps"]
        for line in course.lines:
            forms += _line_forms(rng, group, line, origin, ps)
            ps = min(4, ps + int(rng.integers(0, 2)))
    forms += _followup_forms(rng, course, origin)
    _assign_statuses(rng, forms, site, origin)
    return PatientPlan(index=index, site=site, country=country, category=category,
                       group=None if category in ("minen", "not_hg_nen", "not_reviewable") else group,
                       final_diagnosis=final, treated=not untreated, origin=origin, covariates=x, course=course,
                       forms=forms)


#: Forms a monitor verifies against the source documents (the ones the analyses rest on).
_VERIFIED_FAMILIES = frozenset({"enrolment", "baseline", "tumour", "pathology", "treatment_status"})


def _assign_statuses(rng: np.random.Generator, forms: list[FormPlan], site: str, origin: date) -> None:
    """A realistic mix: mostly submitted; SDV at monitored sites; a few early patients locked; some drafts."""
    monitored = site in m.MONITORED_SITES and rng.random() < 0.7
    locked = monitored and origin < date(2021, 1, 1) and rng.random() < 0.35
    created = [f for f in forms if f.op == "create"]
    for f in created:
        is_line1 = f.family == "treatment" and f.key == "line1"
        if monitored and (f.family in _VERIFIED_FAMILIES or is_line1):
            f.status = "locked" if locked else "verified"
    # Data entry still in progress: the latest follow-up visit, or the last evaluation, left as a draft.
    if rng.random() < 0.06:
        created[-1].status = "draft"
    elif rng.random() < 0.04:
        last_eval = next((f for f in reversed(created) if f.family == "response"), None)
        if last_eval is not None:
            last_eval.status = "draft"


def deal(n: int, seed: int) -> list[tuple[str, str]]:
    """(category, site) for each of the n patients, shuffled with the seed."""
    rng = np.random.default_rng([seed, 10**9])
    categories = [c for c, k in category_counts(n).items() for _ in range(k)]
    rng.shuffle(categories)
    sites = list(m.SITE_WEIGHTS)
    weights = np.array([m.SITE_WEIGHTS[s] for s in sites])
    drawn = rng.choice(len(sites), size=n, p=weights / weights.sum())
    return [(c, sites[int(s)]) for c, s in zip(categories, drawn, strict=True)]


def generate_plans(n: int = m.DEFAULT_PATIENTS, *, seed: int = m.DEFAULT_SEED) -> list[PatientPlan]:
    """The cohort's plans, ordered by date of registration (the order a registry would have entered them)."""
    plans = [patient_plan(i, category, site, seed) for i, (category, site) in enumerate(deal(n, seed))]
    return sorted(plans, key=lambda p: (p.forms[0].data["registration_date"], p.index))


def expected_study_ids(plans: Iterable[PatientPlan], *, first_numbers: dict[str, int] | None = None) -> dict[int, str]:
    """The study id each plan gets when the plans are entered in order into sites numbering from 1 (or from
    `first_numbers`): plan index → study id."""
    next_number = dict(first_numbers or {})
    ids = {}
    for plan in plans:
        number = next_number.get(plan.site, 1)
        next_number[plan.site] = number + 1
        ids[plan.index] = format_study_id(plan.country, plan.site, number)
    return ids


def planned_final_diagnoses(n: int = m.DEFAULT_PATIENTS, *, seed: int = m.DEFAULT_SEED) -> dict[str, dict]:
    """For the central-pathology demo: study id → what central review of that demo patient should conclude
    (`final_diagnosis` as DOMAIN.md F9 codes, the outcome `group`, and whether the local report disagrees),
    so the NEC / NET G3 groups the analyses see are the ones the survival model was calibrated on."""
    plans = generate_plans(n, seed=seed)
    ids = expected_study_ids(plans)
    result = {}
    for plan in plans:
        local = next(f.data["local_diagnosis"] for f in plan.forms if f.family == "pathology")
        result[ids[plan.index]] = {"final_diagnosis": plan.final_diagnosis, "group": plan.group,
                                   "category": plan.category, "local_diagnosis": local}
    return result
