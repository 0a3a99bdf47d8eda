"""The analysis dataset's derivation and censoring rules on hand-worked patients entered through the CRF
services (DOMAIN.md F10, §6.1–6.3). Day counts are worked out by hand in each test's comments."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.datasets import COLUMNS, build_dataset, impute, ki67_is_high
from tests.factories.analysis import analysis_patient, classify

pytestmark = pytest.mark.django_db

CUTOFF = date(2023, 6, 30)


def row_of(forms, config=None, cutoff=CUTOFF):
    rows = build_dataset(config or {}, cutoff=cutoff)
    return next(r for r in rows if r["patient_id"] == forms["patient"].pk)


# --- OS -------------------------------------------------------------------------------------------------


def test_alive_patient_is_censored_at_last_known_alive(site_a):
    forms = analysis_patient(site_a, alive_on=date(2022, 12, 1))
    row = row_of(forms)
    # 2022-02-01 → 2022-12-01 = 28+31+30+31+30+31+31+30+31+30 = 303 days
    assert (row["os_days"], row["os_event"]) == (303, 0)
    assert set(row) == set(COLUMNS)


def test_last_known_alive_is_capped_at_the_data_cutoff(site_a):
    forms = analysis_patient(site_a, alive_on=date(2022, 12, 1))
    row = row_of(forms, cutoff=date(2022, 10, 1))
    # 2022-02-01 → 2022-10-01 = 242 days
    assert (row["os_days"], row["os_event"]) == (242, 0)


def test_death_is_an_os_event(site_a):
    forms = analysis_patient(site_a, died_on=date(2022, 9, 1))
    row = row_of(forms)
    assert (row["os_days"], row["os_event"]) == (212, 1)
    # OS from diagnosis: 2022-01-10 → 2022-09-01 = 234 days
    assert (row["os_dx_days"], row["os_dx_event"]) == (234, 1)


def test_death_after_the_cutoff_is_censored_at_the_cutoff(site_a):
    forms = analysis_patient(site_a, evaluations=[(date(2022, 3, 20), "SD")], died_on=date(2022, 9, 1))
    row = row_of(forms, cutoff=date(2022, 8, 1))
    # alive on the cut-off as far as this analysis knows: 2022-02-01 → 2022-08-01 = 181 days
    assert (row["os_days"], row["os_event"]) == (181, 0)
    # PFS censored at the last progression-free evaluation (47 days), not at the death
    assert (row["pfs_days"], row["pfs_event"]) == (47, 0)


def test_events_after_the_cutoff_are_not_seen(site_a):
    forms = analysis_patient(site_a, evaluations=[(date(2022, 3, 20), "PR"), (date(2022, 5, 20), "PD")],
                             alive_on=date(2022, 12, 1))
    row = row_of(forms, cutoff=date(2022, 4, 30))
    assert (row["pfs_days"], row["pfs_event"]) == (47, 0)  # the PD on 05-20 is after the cut-off
    assert (row["os_days"], row["os_event"]) == (88, 0)  # capped: 2022-02-01 → 2022-04-30
    assert row["best_response"] == "PR"


# --- PFS ------------------------------------------------------------------------------------------------


def test_pfs_is_censored_at_the_last_progression_free_evaluation(site_a):
    forms = analysis_patient(site_a, evaluations=[(date(2022, 3, 20), "PR"), (date(2022, 5, 20), "SD")],
                             alive_on=date(2022, 12, 1))
    row = row_of(forms)
    # 2022-02-01 → 2022-05-20 = 108 days; OS runs on to the last known alive date
    assert (row["pfs_days"], row["pfs_event"]) == (108, 0)
    assert (row["os_days"], row["os_event"]) == (303, 0)


def test_first_documented_progression_is_the_pfs_event(site_a):
    forms = analysis_patient(site_a, evaluations=[(date(2022, 3, 20), "PR"), (date(2022, 5, 20), "PD"),
                                                  (date(2022, 7, 20), "PD")], died_on=date(2022, 9, 1))
    row = row_of(forms)
    assert (row["pfs_days"], row["pfs_event"]) == (108, 1)


def test_no_evaluation_and_alive_is_censored_at_day_zero(site_a):
    forms = analysis_patient(site_a, evaluations=[], alive_on=date(2022, 12, 1))
    row = row_of(forms)
    assert (row["pfs_days"], row["pfs_event"]) == (0, 0)
    assert row["p3"] and not row["p4"]
    assert row["immediate_progression_treated"] == 0
    assert row["immediate_progression_evaluable"] is None
    assert (row["best_response"], row["orr"], row["dcr"]) == (None, None, None)


def test_death_without_evaluation_is_a_pfs_event_and_immediate_progression_among_treated(site_a):
    forms = analysis_patient(site_a, evaluations=[], died_on=date(2022, 3, 1))
    row = row_of(forms)
    assert (row["pfs_days"], row["pfs_event"], row["pfs_late_death"]) == (28, 1, False)
    assert row["immediate_progression_treated"] == 1
    assert row["immediate_progression_evaluable"] is None  # not response-evaluable (P4 denominator)


def test_late_death_counts_as_event_by_default_and_is_censored_under_the_trial_rule(site_a):
    # last evaluation 2022-03-20; death 2022-09-01 is 165 days later > 2 × 63-day intervals
    forms = analysis_patient(site_a, evaluations=[(date(2022, 3, 20), "SD")], died_on=date(2022, 9, 1))
    row = row_of(forms)
    assert (row["pfs_days"], row["pfs_event"], row["pfs_late_death"]) == (212, 1, True)
    censored = row_of(forms, {"pfs_late_death_rule": "censor"})
    assert (censored["pfs_days"], censored["pfs_event"], censored["pfs_late_death"]) == (47, 0, True)
    # a death within two intervals is an event under both rules
    wider = row_of(forms, {"pfs_late_death_rule": "censor", "pfs_assessment_interval_days": 90})
    assert (wider["pfs_days"], wider["pfs_event"], wider["pfs_late_death"]) == (212, 1, False)


def test_clinical_progression_before_the_first_scan(site_a):
    forms = analysis_patient(site_a, evaluations=[(date(2022, 4, 1), "SD")],
                             clinical_progression=date(2022, 3, 10), alive_on=date(2022, 12, 1))
    row = row_of(forms)
    assert (row["pfs_days"], row["pfs_event"]) == (37, 1)
    assert row["immediate_progression_treated"] == 1  # progressed before the first evaluation
    assert row["immediate_progression_evaluable"] == 0  # the first evaluation itself was not PD


# --- response ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("responses", "bor", "orr", "dcr", "immediate"),
    [
        (["PD"], "PD", 0, 0, 1),
        (["SD", "PD"], "SD", 0, 1, 0),
        (["PR", "PD"], "PR", 1, 1, 0),
        (["NE", "CR"], "CR", 1, 1, 0),
        (["non_CR_non_PD"], "SD", 0, 1, 0),
    ],
)
def test_best_response_orr_dcr_and_immediate_progression(site_a, responses, bor, orr, dcr, immediate):
    dates = [date(2022, 3, 20), date(2022, 5, 20)]
    forms = analysis_patient(site_a, evaluations=list(zip(dates, responses, strict=False)),
                             alive_on=date(2022, 12, 1))
    row = row_of(forms)
    assert (row["best_response"], row["orr"], row["dcr"]) == (bor, orr, dcr)
    assert row["immediate_progression_evaluable"] == immediate
    assert row["immediate_progression_treated"] == immediate
    assert row["p4"] is True


# --- covariates -------------------------------------------------------------------------------------------


def test_ki67_central_preferred_else_local_and_flagged(site_a):
    central = analysis_patient(site_a, local_ki67=Decimal("40"), central_ki67=Decimal("60"))
    local = analysis_patient(site_a, local_ki67=Decimal("40"), final=None)
    rows = {r["patient_id"]: r for r in build_dataset({}, cutoff=CUTOFF)}
    assert (rows[central["patient"].pk]["ki67"], rows[central["patient"].pk]["ki67_source"]) == (60.0, "central")
    assert rows[central["patient"].pk]["ki67_high"] == 1
    assert (rows[local["patient"].pk]["ki67"], rows[local["patient"].pk]["ki67_source"]) == (40.0, "local")
    assert rows[local["patient"].pk]["ki67_high"] == 0
    # no central classification: not in the centrally reviewed population
    assert rows[local["patient"].pk]["p1"] and not rows[local["patient"].pk]["p2"]
    assert rows[local["patient"].pk]["classification"] == "not_classified"


def test_ki67_cutoff_operator_and_value_are_configurable(site_a):
    forms = analysis_patient(site_a, central_ki67=Decimal("55"))
    assert row_of(forms)["ki67_high"] == 1  # default: >= 55 is high
    assert row_of(forms, {"ki67_operator": "gt"})["ki67_high"] == 0
    assert row_of(forms, {"ki67_cutoff": 50, "ki67_operator": "gt"})["ki67_high"] == 1
    assert ki67_is_high(None, cutoff=55, operator="ge") is None
    with pytest.raises(ValueError, match="operator"):
        ki67_is_high(1, cutoff=55, operator="lt")


def test_covariates_from_the_forms(site_a):
    forms = analysis_patient(site_a, sex="female", birth_year=1950, ps=3, primary_site="rectum",
                             alp=("90", "105"), regimen="captem", final="NET_G3", central_ki67=Decimal("30"))
    row = row_of(forms)
    assert (row["group"], row["sex"], row["male"], row["ps"], row["ps_group"]) == ("NET_G3", "female", 0, 3, "3-4")
    # age at line-1 start, birth year imputed to 1 July: 1950-07-01 → 2022-02-01
    assert row["age_years"] == round((date(2022, 2, 1) - date(1950, 7, 1)).days / 365.25, 2)
    assert row["age_group"] == "65-74"
    assert (row["primary_site_group"], row["colorectal_primary"]) == ("colorectal", 1)
    assert (row["alp_above_uln"], row["alp_x_uln"]) == (0, pytest.approx(90 / 105, abs=1e-4))
    assert (row["line1_regimen"], row["line1_regimen_class"]) == ("captem", "temozolomide_based")
    assert (row["line1_platinum_etoposide"], row["line1_is_chemotherapy"]) == (0, 1)
    assert row["imputed_dates"] == "date_of_birth"
    assert row["date_imputed"] is False  # a year-only birth date moves no origin or endpoint


def test_non_chemotherapy_first_line_is_not_in_the_chemotherapy_population(site_a):
    forms = analysis_patient(site_a, regimen="ssa")
    row = row_of(forms)
    assert row["line1_is_chemotherapy"] == 0
    assert row["p2"] and not row["p3"]
    assert row["os_days"] is None


# --- partial dates ----------------------------------------------------------------------------------------


def test_partial_dates_are_imputed_and_flagged(site_a):
    forms = analysis_patient(site_a, line1_start=date(2022, 2, 1), line1_start_precision="month",
                             died_on=date(2022, 9, 1), death_precision="month",
                             diagnosis=date(2022, 1, 1), diagnosis_precision="year")
    row = row_of(forms)
    # start → 2022-02-15, death → 2022-09-15: 212 days; diagnosis (year) → 2022-07-01 is after the start,
    # but OS from diagnosis still uses it: 2022-07-01 → 2022-09-15 = 76 days
    assert (row["os_days"], row["os_event"]) == (212, 1)
    assert row["line1_start"] == "2022-02-15"
    assert (row["os_dx_days"], row["os_dx_event"]) == (76, 1)
    assert set(row["imputed_dates"].split(",")) == {"date_of_diagnosis", "date_of_birth", "line1_start",
                                                    "date_of_death"}
    assert row["date_imputed"] is True


def test_impute_rule():
    assert impute(date(2022, 3, 1), "month") == (date(2022, 3, 15), True)
    assert impute(date(2022, 1, 1), "year") == (date(2022, 7, 1), True)
    assert impute(date(2022, 3, 9), "day") == (date(2022, 3, 9), False)
    assert impute(None, "month") == (None, False)


# --- populations ------------------------------------------------------------------------------------------


def test_population_flags(site_a):
    full = analysis_patient(site_a, evaluations=[(date(2022, 3, 20), "SD")])
    ineligible = analysis_patient(site_a, eligible=False)
    local_disease = analysis_patient(site_a, extent="locoregional")
    minen = analysis_patient(site_a, final="MiNEN")
    not_treated = analysis_patient(site_a, line1_start=None)
    adjuvant = analysis_patient(site_a, intent="adjuvant")
    rows = {r["patient_id"]: r for r in build_dataset({}, cutoff=CUTOFF)}

    def flags(forms):
        r = rows[forms["patient"].pk]
        return tuple(r[p] for p in ("p0", "p1", "p2", "p3", "p4"))

    assert flags(full) == (True, True, True, True, True)
    assert flags(ineligible) == (False, False, False, False, False)
    assert flags(local_disease) == (True, False, False, False, False)
    assert flags(minen) == (True, True, False, False, False)
    assert rows[minen["patient"].pk]["classification"] == "MiNEN"
    assert flags(not_treated) == (True, True, True, False, False)
    assert flags(adjuvant) == (True, True, True, False, False)


def test_line_starting_after_the_cutoff_is_not_treated_yet(site_a):
    forms = analysis_patient(site_a)
    row = row_of(forms, cutoff=date(2022, 1, 31))
    assert row["p2"] and not row["p3"]


def test_classification_categories(site_a):
    for diagnosis in ("not_reviewable", "not_HG_NEN"):
        forms = analysis_patient(site_a, final=diagnosis)
        assert row_of(forms)["classification"] == diagnosis
    forms = analysis_patient(site_a, final=None)
    classify(forms["patient"], "NEC_small", ki67=None)
    row = row_of(forms)
    assert (row["group"], row["cell_type"], row["ki67_source"]) == ("NEC", "small_cell", "local")


# --- fixed number of queries ------------------------------------------------------------------------------


def _queries_to_build() -> int:
    with CaptureQueriesContext(connection) as ctx:
        build_dataset({}, cutoff=CUTOFF)
    return len(ctx.captured_queries)


BUILD_QUERIES = 12


def test_dataset_build_runs_a_fixed_number_of_queries(site_a, site_b, django_assert_num_queries):
    analysis_patient(site_a, evaluations=[(date(2022, 3, 20), "SD")])
    with django_assert_num_queries(BUILD_QUERIES):
        assert len(build_dataset({}, cutoff=CUTOFF)) == 1
    for _ in range(4):
        analysis_patient(site_b, evaluations=[(date(2022, 3, 20), "PR"), (date(2022, 5, 20), "PD")],
                         died_on=date(2022, 9, 1))
    with django_assert_num_queries(BUILD_QUERIES):
        assert len(build_dataset({}, cutoff=CUTOFF)) == 5
