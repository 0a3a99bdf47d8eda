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

import numpy as np

from registry.crfs.demo import model as m
from registry.crfs.demo.forms import (
    FormPlan,
    choose,
    dec,
    followup_forms,
    lab_forms,
    line_forms,
    metastatic_sites,
    pathology_form,
)
from registry.crfs.demo.timeline import Course, endpoints, treated_course, untreated_course
from registry.patients.study_ids import format_study_id


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
    site = choose(rng, gm.primary_sites)
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
            return choose(rng, pe)
        return choose(rng, other)
    return choose(rng, weights)


def second_line_chooser(rng: np.random.Generator, group: str):
    """The second-line choice rule (DOMAIN.md F6 practice survey), bound to the patient's random stream."""
    def second_line(*, line1_regimen: str, pfs_days: int) -> str:
        weights = {k: v for k, v in m.SECOND_LINE[group].items() if k != line1_regimen}
        if line1_regimen in m.PLATINUM_ETOPOSIDE:
            weights = {k: v for k, v in weights.items() if k not in m.PLATINUM_ETOPOSIDE}
            if pfs_days > 180 and group == "NEC":  # late progression → platinum re-challenge (DOMAIN.md F6)
                weights["carbo_etop"] = 0.8
        return choose(rng, weights)
    return second_line


# ---------------------------------------------------------------------------------------------------------
# One patient


def _nec_subtype(rng: np.random.Generator) -> str:
    return choose(rng, {"NEC_large_cell": 0.50, "NEC_small_cell": 0.35, "NEC_nos": 0.15})


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
        "weight_kg": dec(np.clip(rng.normal(80 if male else 67, 13), 38, 150)),
        "height_cm": dec(np.clip(rng.normal(178 if male else 165, 7), 145, 205)),
        "functional_syndrome": "none", "hereditary_syndrome": "none",
    }))
    tumour = {"primary_site": x["primary_site"], "advanced_disease_date": advanced,
              "resection_of_primary": "curative" if metachronous else "none"}
    if metachronous:
        tumour["disease_extent_at_diagnosis"] = "locoregional"
        tumour["metastatic_sites"] = metastatic_sites(rng, group)
    elif locally_advanced:
        tumour["disease_extent_at_diagnosis"] = "locally_advanced_unresectable"
    else:
        tumour["disease_extent_at_diagnosis"] = "metastatic"
        tumour["metastatic_sites"] = metastatic_sites(rng, group)
    if "liver" in tumour.get("metastatic_sites", []):
        tumour["liver_tumour_burden"] = choose(rng, {"<25%": 0.45, "25-50%": 0.3, ">50%": 0.2, "unknown": 0.05})
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
            "reason_no_treatment": choose(rng, {"poor_ps": 0.55, "rapid_death": 0.2, "patient_choice": 0.15,
                                                 "comorbidity": 0.10})}))
        sampled = diagnosed + timedelta(days=int(rng.integers(0, min(6, course.last_contact))))
        forms += lab_forms(rng, x, country, sampled, "diagnosis")
    else:
        forms.append(FormPlan("treatment_status", {"received_palliative_systemic": "yes"}))
        forms += lab_forms(rng, x, country, origin - timedelta(days=int(rng.integers(1, 15))), "baseline_line1")
        ps = x["ps"]
        for line in course.lines:
            forms += line_forms(rng, group, line, origin, ps)
            ps = min(4, ps + int(rng.integers(0, 2)))
    forms += followup_forms(rng, course, origin)
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
