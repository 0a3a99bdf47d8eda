"""A small synthetic cohort entered through the CRF services: no hard edit-check error anywhere, every
planned form stored with its planned status, the stored dates give back the planned endpoints, and the demo
loader is idempotent."""

import io
from collections import Counter, defaultdict

import pytest
from django.core.management import CommandError, call_command

from analysis.datasets import build_dataset
from registry.crfs.catalogue import FAMILIES
from registry.crfs.demo import model as m
from registry.crfs.demo.generator import expected_study_ids, generate_plans
from registry.crfs.demo.loader import load_plans, plans_still_to_load
from registry.crfs.models import EditCheckFinding
from registry.patients.models import Patient
from registry.sites.demo import seed_sites_and_users

N = 30
SEED = 11


def stored_forms(patient):
    """(family, status) of every stored form of the patient."""
    rows = []
    for fam in FAMILIES:
        rows += [(fam.code, s) for s in fam.model.objects.filter(patient=patient).values_list("status", flat=True)]
    return rows


def check_no_hard_errors_and_planned_statuses(plans, report):
    assert report.patients == N == Patient.objects.count()
    assert not EditCheckFinding.objects.filter(severity="E").exists()
    # Warnings are few: none of the date-order, unit or RECIST rules fire on demo data.
    warned = Counter(EditCheckFinding.objects.filter(severity="W").values_list("rule", flat=True))
    assert set(warned) <= {"EC21", "EC32"}, warned
    assert report.study_ids == expected_study_ids(plans)
    patients = {p.study_id: p for p in Patient.objects.all()}
    for plan in plans:
        patient = patients[report.study_ids[plan.index]]
        planned = Counter((f.family, f.status) for f in plan.forms if f.op == "create")
        assert Counter(stored_forms(patient)) == planned, plan.index
    statuses = Counter(s for p in patients.values() for _, s in stored_forms(p))
    assert statuses["submitted"] and statuses["verified"]


def check_stored_dates_reproduce_the_planned_endpoints(plans, report):
    rows = {r["study_id"]: r for r in build_dataset({}, cutoff=m.DATA_CUTOFF)}
    checked = defaultdict(int)
    for plan in plans:
        row = rows[report.study_ids[plan.index]]
        expected = plan.endpoints
        if not plan.treated:
            assert row["os_days"] is None and row["os_dx_days"] == expected["os_days"], plan.index
            continue
        assert (row["os_days"], row["os_event"]) == (expected["os_days"], expected["os_event"]), plan.index
        assert (row["pfs_days"], row["pfs_event"]) == (expected["pfs_days"], expected["pfs_event"]), plan.index
        first_is_pd = None if row["first_response"] is None else int(row["first_response"] == "PD")
        assert first_is_pd == expected["immediate_pd"], plan.index
        assert row["immediate_progression_treated"] == expected["immediate_pd_treated"], plan.index
        checked[plan.category] += 1
    assert checked["NEC"] and checked["NET_G3"]


def check_a_complete_load_leaves_nothing_to_load(plans):
    before = Patient.objects.count()
    assert plans_still_to_load(plans) == []
    load_plans(plans_still_to_load(plans))
    assert Patient.objects.count() == before


def test_small_cohort_through_the_services(db):
    """One load (entering patients through the services is slow), several properties of it."""
    seed_sites_and_users()
    plans = generate_plans(N, seed=SEED)
    cut = N * 2 // 3
    report = load_plans(plans[:cut])  # an interrupted load ...
    remaining = plans_still_to_load(plans)
    assert [p.index for p in remaining] == [p.index for p in plans[cut:]]
    rest = load_plans(remaining)  # ... resumes where it stopped
    report.patients += rest.patients
    report.forms += rest.forms
    report.statuses += rest.statuses
    report.study_ids.update(rest.study_ids)
    check_no_hard_errors_and_planned_statuses(plans, report)
    check_stored_dates_reproduce_the_planned_endpoints(plans, report)
    check_a_complete_load_leaves_nothing_to_load(plans)


def test_generate_cohort_command(db):
    out = io.StringIO()
    call_command("generate_cohort", patients=3, seed=2, stdout=out)
    assert Patient.objects.count() == 3 and "3 patients" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("generate_cohort", patients=3, seed=2, stdout=io.StringIO())


def test_demo_loader_is_first_in_the_demo_steps():
    from registry.core.demo import DEMO_LOADERS

    assert DEMO_LOADERS[0] == "registry.crfs.demo.loader.load_demo_cohort"
