"""The pure cohort generator reproduces NORDIC NEC 2's headline numbers (DOMAIN.md §7.1) and stores no
identifiers."""

from collections import Counter
from datetime import date

import pytest
from lifelines import KaplanMeierFitter

from registry.crfs.demo import model as m
from registry.crfs.demo.generator import category_counts, generate_plans

MONTH = m.DAYS_PER_MONTH


@pytest.fixture(scope="module")
def cohort():
    return generate_plans(639, seed=m.DEFAULT_SEED)


def km_median_months(rows, days, event):
    kmf = KaplanMeierFitter().fit([r[days] for r in rows], [r[event] for r in rows])
    return kmf.median_survival_time_ / MONTH


def by_group(plans):
    groups = {"NEC": [], "NET_G3": []}
    for p in plans:
        if p.treated and p.category in groups:
            groups[p.category].append(p.endpoints)
    return groups


def test_counts_match_the_paper(cohort):
    counts = Counter(p.category for p in cohort)
    assert len(cohort) == 639
    assert counts["NEC"] == 427 and counts["NET_G3"] == 117
    assert sum(v for k, v in counts.items() if k not in ("NEC", "NET_G3")) == 95
    assert all(p.treated for p in cohort if p.category in ("NEC", "NET_G3"))
    assert category_counts(100) == {"NEC": 67, "NET_G3": 18, "minen": 3, "not_hg_nen": 2, "not_reviewable": 0,
                                    "untreated": 10}


@pytest.mark.parametrize(("group", "endpoint"), [
    ("NEC", "os"), ("NET_G3", "os"), ("NEC", "pfs"), ("NET_G3", "pfs"),
])
def test_km_medians_within_15_percent_of_the_paper(cohort, group, endpoint):
    rows = by_group(cohort)[group]
    median = km_median_months(rows, f"{endpoint}_days", f"{endpoint}_event")
    target = m.TARGETS[group][f"{endpoint}_months"]
    assert abs(median - target) <= 0.15 * target, (group, endpoint, median, target)


@pytest.mark.parametrize("group", ["NEC", "NET_G3"])
def test_immediate_progression_within_6_points(cohort, group):
    """Calibrated on DOMAIN.md §6.3 denominator (b): all treated, death before the first scan counts."""
    rows = by_group(cohort)[group]
    rate = sum(r["immediate_pd_treated"] for r in rows) / len(rows)
    assert abs(rate - m.TARGETS[group]["immediate_pd"]) <= 0.06, (group, rate)


def test_same_seed_same_cohort_other_seed_other_cohort():
    a, b = generate_plans(40, seed=5), generate_plans(40, seed=5)
    assert [(p.index, p.forms[0].data, p.endpoints) for p in a] == [(p.index, p.forms[0].data, p.endpoints) for p in b]
    c = generate_plans(40, seed=6)
    assert [p.endpoints for p in a] != [p.endpoints for p in c]


def test_covariates_follow_the_brief(cohort):
    nec = [p for p in cohort if p.category == "NEC"]
    net = [p for p in cohort if p.category == "NET_G3"]
    share = lambda plans, pred: sum(1 for p in plans if pred(p)) / len(plans)  # noqa: E731
    line1 = lambda p: next(f for f in p.forms if f.family == "treatment" and f.key == "line1")  # noqa: E731
    assert 0.55 <= share(nec, lambda p: p.covariates["ki67_high"]) <= 0.75
    assert 0.82 <= share(nec, lambda p: line1(p).data["regimen"] in m.PLATINUM_ETOPOSIDE) <= 0.93
    assert 0.25 <= share(net, lambda p: line1(p).data["regimen"] in m.PLATINUM_ETOPOSIDE) <= 0.45
    assert 0.45 <= share(net, lambda p: p.covariates["primary_site"] == "pancreas") <= 0.65
    untreated = [p for p in cohort if p.category == "untreated"]
    for p in untreated:
        status = next(f for f in p.forms if f.family == "treatment_status").data
        assert status["received_palliative_systemic"] == "no" and status["reason_no_treatment"]
        assert not any(f.family == "treatment" for f in p.forms)
    # Local pathology consistent with the group.
    for p in nec:
        spec = next(f for f in p.forms if f.family == "pathology").data
        if spec["local_diagnosis"].startswith("NEC"):
            assert spec["differentiation"] == "poor"
    for p in net:
        spec = next(f for f in p.forms if f.family == "pathology").data
        if spec["local_diagnosis"] == "NET_G3":
            assert spec["differentiation"] == "well" and 21 <= spec["ki67_percent"] <= 70


def test_sites_countries_and_swedish_units(cohort):
    assert {p.site for p in cohort} == set(m.SITE_WEIGHTS)
    for p in cohort:
        alp = next(f.data for f in p.forms if f.family == "labs" and f.data["analyte"] == "alp")
        assert alp["unit"] == ("\u00b5kat/L" if p.country == "SE" else "U/L")


def test_no_identifiers_and_dates_within_the_cutoff(cohort):
    forbidden = {"name", "first_name", "last_name", "national_id", "personal_number", "ssn"}
    for p in cohort:
        for f in p.forms:
            assert not forbidden & set(f.data)
            for value in f.data.values():
                if isinstance(value, date):
                    assert value <= m.DATA_CUTOFF
        baseline = next(f.data for f in p.forms if f.family == "baseline")
        assert baseline["date_of_birth"].month == 1 and baseline["date_of_birth"].day == 1  # year only


def test_status_mix(cohort):
    statuses = Counter(f.status for p in cohort for f in p.forms if f.op == "create")
    total = sum(statuses.values())
    assert statuses["submitted"] / total > 0.5
    assert statuses["verified"] > 0 and statuses["locked"] > 0 and statuses["draft"] > 0


def test_planned_final_diagnoses_for_the_pathology_demo():
    from registry.crfs.demo.generator import planned_final_diagnoses
    from registry.patients.study_ids import is_well_formed

    planned = planned_final_diagnoses(80, seed=3)
    assert len(planned) == 80 and all(is_well_formed(sid) for sid in planned)
    groups = Counter(v["group"] for v in planned.values() if v["category"] in ("NEC", "NET_G3"))
    assert groups == Counter({"NEC": 53, "NET_G3": 15})
    assert {v["final_diagnosis"] for v in planned.values() if v["group"] == "NET_G3"} == {"NET_G3"}
