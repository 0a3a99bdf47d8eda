"""Tests of the pure statistical core (analysis.estimators); no database needed.

Golden numbers come from R 4.2.2 / survival 3.5.3:
- reference/veteran_R_survival.txt (every number in that file is asserted below), on the veteran data
  embedded here (R survival::veteran, identical to reference/veteran.csv) so the suite is hermetic;
- research/analysis.md Part A (lung, veteran with diagtime), on lifelines' copy of R's lung data,
  which analysis.md A2.0 checked to be identical to R's.

Tolerance rule (``assert_r``): R prints rounded numbers, so a value agrees when it is within half a
unit of the last printed digit; for the 6-significant-digit values this is tighter than 1e-4
relative, and 1e-4 relative is asserted as well whenever the printed value carries >= 5 significant
digits.
"""

from __future__ import annotations

import io
import json
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_lung
from lifelines.statistics import logrank_test
from lifelines.utils import concordance_index, median_survival_times
from scipy import stats

from analysis.estimators import (
    DEFAULT_LANDMARK_DAYS,
    FIT_OPTIONS,
    CovariateSpec,
    TableVariable,
    concordance,
    cox_model,
    cox_univariable,
    kaplan_meier,
    logrank,
    median_follow_up,
    proportion_ci,
    r_quantile_time,
    response_rates,
    suppress_count,
    suppress_counts,
    suppress_table_one,
    table_one,
)

# R survival::veteran (VA lung cancer trial): trt, celltype, time (days), status (1 = dead), karno,
# diagtime, age, prior
VETERAN_CSV = """trt,celltype,time,status,karno,diagtime,age,prior
1,squamous,72,1,60,7,69,0
1,squamous,411,1,70,5,64,10
1,squamous,228,1,60,3,38,0
1,squamous,126,1,60,9,63,10
1,squamous,118,1,70,11,65,10
1,squamous,10,1,20,5,49,0
1,squamous,82,1,40,10,69,10
1,squamous,110,1,80,29,68,0
1,squamous,314,1,50,18,43,0
1,squamous,100,0,70,6,70,0
1,squamous,42,1,60,4,81,0
1,squamous,8,1,40,58,63,10
1,squamous,144,1,30,4,63,0
1,squamous,25,0,80,9,52,10
1,squamous,11,1,70,11,48,10
1,smallcell,30,1,60,3,61,0
1,smallcell,384,1,60,9,42,0
1,smallcell,4,1,40,2,35,0
1,smallcell,54,1,80,4,63,10
1,smallcell,13,1,60,4,56,0
1,smallcell,123,0,40,3,55,0
1,smallcell,97,0,60,5,67,0
1,smallcell,153,1,60,14,63,10
1,smallcell,59,1,30,2,65,0
1,smallcell,117,1,80,3,46,0
1,smallcell,16,1,30,4,53,10
1,smallcell,151,1,50,12,69,0
1,smallcell,22,1,60,4,68,0
1,smallcell,56,1,80,12,43,10
1,smallcell,21,1,40,2,55,10
1,smallcell,18,1,20,15,42,0
1,smallcell,139,1,80,2,64,0
1,smallcell,20,1,30,5,65,0
1,smallcell,31,1,75,3,65,0
1,smallcell,52,1,70,2,55,0
1,smallcell,287,1,60,25,66,10
1,smallcell,18,1,30,4,60,0
1,smallcell,51,1,60,1,67,0
1,smallcell,122,1,80,28,53,0
1,smallcell,27,1,60,8,62,0
1,smallcell,54,1,70,1,67,0
1,smallcell,7,1,50,7,72,0
1,smallcell,63,1,50,11,48,0
1,smallcell,392,1,40,4,68,0
1,smallcell,10,1,40,23,67,10
1,adeno,8,1,20,19,61,10
1,adeno,92,1,70,10,60,0
1,adeno,35,1,40,6,62,0
1,adeno,117,1,80,2,38,0
1,adeno,132,1,80,5,50,0
1,adeno,12,1,50,4,63,10
1,adeno,162,1,80,5,64,0
1,adeno,3,1,30,3,43,0
1,adeno,95,1,80,4,34,0
1,large,177,1,50,16,66,10
1,large,162,1,80,5,62,0
1,large,216,1,50,15,52,0
1,large,553,1,70,2,47,0
1,large,278,1,60,12,63,0
1,large,12,1,40,12,68,10
1,large,260,1,80,5,45,0
1,large,200,1,80,12,41,10
1,large,156,1,70,2,66,0
1,large,182,0,90,2,62,0
1,large,143,1,90,8,60,0
1,large,105,1,80,11,66,0
1,large,103,1,80,5,38,0
1,large,250,1,70,8,53,10
1,large,100,1,60,13,37,10
2,squamous,999,1,90,12,54,10
2,squamous,112,1,80,6,60,0
2,squamous,87,0,80,3,48,0
2,squamous,231,0,50,8,52,10
2,squamous,242,1,50,1,70,0
2,squamous,991,1,70,7,50,10
2,squamous,111,1,70,3,62,0
2,squamous,1,1,20,21,65,10
2,squamous,587,1,60,3,58,0
2,squamous,389,1,90,2,62,0
2,squamous,33,1,30,6,64,0
2,squamous,25,1,20,36,63,0
2,squamous,357,1,70,13,58,0
2,squamous,467,1,90,2,64,0
2,squamous,201,1,80,28,52,10
2,squamous,1,1,50,7,35,0
2,squamous,30,1,70,11,63,0
2,squamous,44,1,60,13,70,10
2,squamous,283,1,90,2,51,0
2,squamous,15,1,50,13,40,10
2,smallcell,25,1,30,2,69,0
2,smallcell,103,0,70,22,36,10
2,smallcell,21,1,20,4,71,0
2,smallcell,13,1,30,2,62,0
2,smallcell,87,1,60,2,60,0
2,smallcell,2,1,40,36,44,10
2,smallcell,20,1,30,9,54,10
2,smallcell,7,1,20,11,66,0
2,smallcell,24,1,60,8,49,0
2,smallcell,99,1,70,3,72,0
2,smallcell,8,1,80,2,68,0
2,smallcell,99,1,85,4,62,0
2,smallcell,61,1,70,2,71,0
2,smallcell,25,1,70,2,70,0
2,smallcell,95,1,70,1,61,0
2,smallcell,80,1,50,17,71,0
2,smallcell,51,1,30,87,59,10
2,smallcell,29,1,40,8,67,0
2,adeno,24,1,40,2,60,0
2,adeno,18,1,40,5,69,10
2,adeno,83,0,99,3,57,0
2,adeno,31,1,80,3,39,0
2,adeno,51,1,60,5,62,0
2,adeno,90,1,60,22,50,10
2,adeno,52,1,60,3,43,0
2,adeno,73,1,60,3,70,0
2,adeno,8,1,50,5,66,0
2,adeno,36,1,70,8,61,0
2,adeno,48,1,10,4,81,0
2,adeno,7,1,40,4,58,0
2,adeno,140,1,70,3,63,0
2,adeno,186,1,90,3,60,0
2,adeno,84,1,80,4,62,10
2,adeno,19,1,50,10,42,0
2,adeno,45,1,40,3,69,0
2,adeno,80,1,40,4,63,0
2,large,52,1,60,4,45,0
2,large,164,1,70,15,68,10
2,large,19,1,30,4,39,10
2,large,53,1,60,12,66,0
2,large,15,1,30,5,63,0
2,large,43,1,60,11,49,10
2,large,340,1,80,10,64,10
2,large,133,1,75,1,65,0
2,large,111,1,60,5,64,0
2,large,231,1,70,18,67,10
2,large,378,1,80,4,65,0
2,large,49,1,30,3,37,0
"""

CELLTYPES = ["squamous", "smallcell", "adeno", "large"]
VETERAN_COX = [
    {"name": "trt", "kind": "continuous"},
    {"name": "karno", "kind": "continuous"},
    {"name": "age", "kind": "continuous"},
    {"name": "prior", "kind": "continuous"},
    {"name": "celltype", "kind": "categorical", "reference": "squamous", "levels": CELLTYPES},
]


@pytest.fixture(scope="module")
def veteran() -> pd.DataFrame:
    df = pd.read_csv(io.StringIO(VETERAN_CSV))
    return df.rename(columns={"time": "duration_days", "status": "event"})


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return load_lung().rename(columns={"time": "duration_days", "status": "event"})


@pytest.fixture(scope="module")
def veteran_cox(veteran) -> dict:
    return cox_model(veteran, covariates=VETERAN_COX)


def assert_r(actual: float | None, printed: str, *, rel: float | None = None) -> None:
    """``actual`` rounds to R's printed value (see module docstring)."""
    assert actual is not None, f"expected {printed}, got None"
    expected = Decimal(printed)
    half_unit = Decimal(5).scaleb(expected.as_tuple().exponent - 1)
    assert abs(Decimal(repr(float(actual))) - expected) <= half_unit + Decimal("1e-12") * abs(expected), (
        f"{actual!r} does not round to R's {printed}"
    )
    digits = len(expected.as_tuple().digits)
    if rel is None and digits >= 5 and expected != 0:
        rel = 1e-4
    if rel is not None:
        assert actual == pytest.approx(float(expected), rel=rel)


def by_group(result: dict) -> dict[str, dict]:
    return {g["group"]: g for g in result["groups"]}


def test_assert_r_rejects_values_off_by_more_than_rounding():
    assert_r(0.2947844, "0.294784")
    with pytest.raises(AssertionError):
        assert_r(0.294787, "0.294784")  # what lifelines gives with step_size=1.0 alone
    with pytest.raises(AssertionError):
        assert_r(47.76, "47.7")
    with pytest.raises(AssertionError):
        assert_r(None, "1")


# --- reference/veteran_R_survival.txt -----------------------------------------------------------


@pytest.mark.parametrize(
    ("celltype", "n", "events", "median", "lcl", "ucl"),
    [
        ("squamous", 35, 31, "118", "44", "242"),
        ("smallcell", 48, 45, "51", "24", "61"),
        ("adeno", 27, 26, "51", "24", "90"),
        ("large", 27, 26, "156", "100", "216"),
    ],
)
def test_km_by_celltype_matches_r(veteran, celltype, n, events, median, lcl, ucl):
    result = kaplan_meier(veteran, group_col="celltype", group_order=CELLTYPES)
    assert result["ci_type"] == "log-log"
    assert [g["group"] for g in result["groups"]] == CELLTYPES
    group = by_group(result)[celltype]
    assert (group["n"], group["events"]) == (n, events)
    assert group["median"]["reached"] is True
    assert group["median"]["estimate_days"] == float(median)
    assert group["median"]["lower_days"] == float(lcl)
    assert group["median"]["upper_days"] == float(ucl)


@pytest.mark.parametrize(
    ("time", "n_risk", "surv", "lower", "upper"),
    [
        (30, 97, "0.700435", "0.616084", "0.769720"),
        (90, 62, "0.464038", "0.378485", "0.545123"),
        (180, 27, "0.222411", "0.154689", "0.297971"),
        (365, 10, "0.090045", "0.046957", "0.150324"),
    ],
)
def test_km_overall_survival_at_times_matches_r(veteran, time, n_risk, surv, lower, upper):
    (group,) = kaplan_meier(veteran, times_days=[30, 90, 180, 365])["groups"]
    row = next(r for r in group["survival_at"] if r["time_days"] == time)
    assert row["n_at_risk"] == n_risk
    assert_r(row["survival"], surv)
    assert_r(row["lower"], lower)
    assert_r(row["upper"], upper)


def test_logrank_celltype_matches_r(veteran):
    result = logrank(veteran, group_col="celltype", group_order=CELLTYPES)
    expected = {
        "squamous": (35, 31, "47.7", "5.82", "10.53"),
        "smallcell": (48, 45, "30.1", "7.37", "10.20"),
        "adeno": (27, 26, "15.7", "6.77", "8.19"),
        "large": (27, 26, "34.5", "2.12", "3.02"),
    }
    for name, (n, observed, exp, oe_e, oe_v) in expected.items():
        group = by_group(result)[name]
        assert (group["n"], group["observed"]) == (n, observed)
        assert_r(group["expected"], exp)
        assert_r(group["oe2_over_e"], oe_e)
        assert_r(group["oe2_over_v"], oe_v)
    assert_r(result["chi2"], "25.4")
    assert result["df"] == 3
    assert_r(result["p"], "1e-05")


def test_logrank_trt_matches_r(veteran):
    result = logrank(veteran, group_col="trt")
    expected = {"1": (69, 64, "64.5", "0.00388", "0.00823"), "2": (68, 64, "63.5", "0.00394", "0.00823")}
    for name, (n, observed, exp, oe_e, oe_v) in expected.items():
        group = by_group(result)[name]
        assert (group["n"], group["observed"]) == (n, observed)
        assert_r(group["expected"], exp)
        assert_r(group["oe2_over_e"], oe_e)
        assert_r(group["oe2_over_v"], oe_v)
    assert_r(result["chi2"], "0")
    assert result["df"] == 1
    assert_r(result["p"], "0.9")
    # analysis.md A2.3 prints this chi-square to 6 decimals
    assert_r(result["chi2"], "0.008227")


@pytest.mark.parametrize(
    ("term", "coef", "se", "hr", "lower", "upper", "p"),
    [
        ("trt", "0.294784", "0.206542", "1.342837", "0.895806", "2.012947", "1.53512e-01"),
        ("karno", "-0.032823", "0.005438", "0.967710", "0.957451", "0.978078", "1.57770e-09"),
        ("age", "-0.008716", "0.009239", "0.991322", "0.973533", "1.009436", "3.45468e-01"),
        ("prior", "0.007253", "0.020732", "1.007279", "0.967171", "1.049051", "7.26463e-01"),
        ("celltype[smallcell]", "0.861956", "0.271676", "2.367788", "1.390248", "4.032677", "1.51007e-03"),
        ("celltype[adeno]", "1.196000", "0.300834", "3.306864", "1.833775", "5.963299", "7.01967e-05"),
        ("celltype[large]", "0.401366", "0.282563", "1.493865", "0.858604", "2.599140", "1.55478e-01"),
    ],
)
def test_cox_terms_match_r(veteran_cox, term, coef, se, hr, lower, upper, p):
    row = next(r for r in veteran_cox["terms"] if r["term"] == term)
    assert_r(row["coef"], coef)
    assert_r(row["se"], se)
    assert_r(row["hr"], hr)
    assert_r(row["hr_lower"], lower)
    assert_r(row["hr_upper"], upper)
    assert_r(row["p"], p)


def test_cox_model_statistics_match_r(veteran_cox):
    assert [r["term"] for r in veteran_cox["terms"]] == [
        "trt",
        "karno",
        "age",
        "prior",
        "celltype[smallcell]",
        "celltype[adeno]",
        "celltype[large]",
    ]
    assert veteran_cox["ties"] == "efron"
    assert_r(veteran_cox["lr_test"]["statistic"], "6.210381e+01")
    assert veteran_cox["lr_test"]["df"] == 7
    assert_r(veteran_cox["lr_test"]["p"], "5.730440e-11")
    assert_r(veteran_cox["concordance"]["c"], "0.73591549")
    assert_r(veteran_cox["concordance"]["se"], "0.02116084")
    # analysis.md A2.3: log-likelihoods of the same data (the null one does not depend on covariates)
    assert_r(veteran_cox["log_likelihood_null"], "-505.449055")
    assert (veteran_cox["n_used"], veteran_cox["n_dropped"], veteran_cox["n_events"]) == (137, 0, 128)


@pytest.mark.parametrize(
    ("covariate", "chi2", "df", "p"),
    [
        ("trt", "0.262", 1, "0.60896"),
        ("karno", "12.913", 1, "0.00033"),
        ("age", "1.826", 1, "0.17655"),
        ("prior", "2.131", 1, "0.14437"),
        ("celltype", "15.118", 3, "0.00172"),
        ("GLOBAL", "31.716", 7, "4.6e-05"),
    ],
)
def test_ph_test_matches_r_cox_zph_km(veteran_cox, covariate, chi2, df, p):
    ph = veteran_cox["ph_test"]
    assert ph["transform"] == "km"
    assert "cox.zph" in ph["method"]
    row = ph["global"] if covariate == "GLOBAL" else next(r for r in ph["terms"] if r["covariate"] == covariate)
    assert row["df"] == df
    assert_r(row["chi2"], chi2)
    assert_r(row["p"], p)


def test_reverse_km_follow_up_matches_r(veteran):
    result = median_follow_up(veteran)
    overall = result["overall"]
    assert (overall["n"], overall["n_censored"]) == (137, 9)
    median = overall["median"]
    assert median["reached"] is False
    assert median["display"] == "not reached"
    assert (median["estimate_days"], median["lower_days"], median["upper_days"]) == (None, None, None)


def test_lifelines_median_ci_agrees_with_r_on_veteran(veteran):
    """lifelines' own median CI equals R's log-log one here (no flat stretch at 0.5, no S(t) = 0 limit)."""
    for name, group in veteran.groupby("celltype"):
        kmf = KaplanMeierFitter().fit(group["duration_days"], group["event"])
        lower, upper = median_survival_times(kmf.confidence_interval_).to_numpy()[0]
        ours = by_group(kaplan_meier(veteran, group_col="celltype"))[name]["median"]
        assert (kmf.median_survival_time_, lower, upper) == (
            ours["estimate_days"],
            ours["lower_days"],
            ours["upper_days"],
        )


# --- research/analysis.md Part A (R 4.2.2, survival 3.5.3) --------------------------------------

LUNG_COX = [{"name": c, "kind": "continuous"} for c in ("age", "sex", "ph.ecog")]


def test_lung_cox_matches_r(lung):
    model = cox_model(lung, covariates=LUNG_COX)
    assert (model["n_total"], model["n_used"], model["n_dropped"], model["n_events"]) == (228, 227, 1, 164)
    assert model["missing_by_covariate"] == {"age": 0, "sex": 0, "ph.ecog": 1}
    expected = {
        # analysis.md also quotes age as 0.0110676646, a digit transposition of its own lifelines
        # value 0.011066765; the 6-decimal R value is the one asserted
        "age": ("0.011067", "0.009267", "1.194159", "0.232416"),
        "sex": ("-0.5526123957", "0.167739", "-3.294477", "0.000986"),
        "ph.ecog": ("0.4637284754", "0.113577", "4.082934", "4.447e-05"),
    }
    for row in model["terms"]:
        coef, se, z, p = expected[row["term"]]
        assert_r(row["coef"], coef)
        assert_r(row["se"], se)
        assert_r(row["z"], z)
        assert_r(row["p"], p)
    assert_r(model["log_likelihood"], "-729.230121")
    assert_r(model["log_likelihood_null"], "-744.480456")
    assert_r(model["lr_test"]["statistic"], "30.500669")
    assert_r(model["lr_test"]["p"], "1.083e-06")
    assert_r(model["concordance"]["c"], "0.637135")


@pytest.mark.parametrize(
    ("transform", "age", "sex", "ecog", "global_chi2", "rel"),
    [
        ("km", "0.187988", "2.305437", "2.054249", "4.463658", None),
        ("rank", "0.117292", "2.044695", "2.544878", "4.710680", None),
        # identity: we agree with R to ~2e-6 relative, not to the 6th decimal printed in analysis.md
        # (2.491913 vs 2.491910); an independent per-time loop gives our value. Checked to 1e-4 only.
        ("identity", None, None, None, None, 1e-4),
    ],
)
def test_lung_ph_test_matches_r_for_each_transform(lung, transform, age, sex, ecog, global_chi2, rel):
    ph = cox_model(lung, covariates=LUNG_COX, ph_transform=transform)["ph_test"]
    chi2 = {r["covariate"]: r["chi2"] for r in ph["terms"]}
    if transform == "identity":
        assert chi2["age"] == pytest.approx(0.152350, rel=rel)
        assert chi2["sex"] == pytest.approx(2.491910, rel=rel)
        assert chi2["ph.ecog"] == pytest.approx(1.578240, rel=rel)
        assert ph["global"]["chi2"] == pytest.approx(4.119380, rel=rel)
    else:
        assert_r(chi2["age"], age)
        assert_r(chi2["sex"], sex)
        assert_r(chi2["ph.ecog"], ecog)
        assert_r(ph["global"]["chi2"], global_chi2)
    assert ph["global"]["df"] == 3
    if transform == "km":
        assert_r(ph["global"]["p"], "0.2156")


def test_lung_km_matches_r(lung):
    (group,) = kaplan_meier(lung, times_days=[180, 365, 730])["groups"]
    median = group["median"]
    assert (median["estimate_days"], median["lower_days"], median["upper_days"]) == (310, 284, 361)
    expected = {
        180: (160, "0.721671", "0.658305", "0.775315"),
        365: (65, "0.409242", "0.338714", "0.478381"),
        730: (13, "0.115693", "0.067632", "0.177825"),
    }
    for row in group["survival_at"]:
        n_risk, surv, lower, upper = expected[row["time_days"]]
        assert row["n_at_risk"] == n_risk
        assert_r(row["survival"], surv)
        assert_r(row["lower"], lower)
        assert_r(row["upper"], upper)


def test_lung_by_sex_matches_r(lung):
    result = kaplan_meier(lung, group_col="sex", at_risk_times_days=[0, 200, 400, 600, 800, 1000])
    groups = by_group(result)
    for sex, median, at_risk in [
        ("1", (270, 210, 306), [138, 78, 31, 13, 6, 2]),
        ("2", (426, 345, 524), [90, 66, 26, 11, 2, 0]),
    ]:
        m = groups[sex]["median"]
        assert (m["estimate_days"], m["lower_days"], m["upper_days"]) == median
        assert [a["n"] for a in groups[sex]["at_risk"]] == at_risk
    test = logrank(lung, group_col="sex")
    assert_r(test["chi2"], "10.326742")
    assert_r(test["p"], "0.00131116")


def test_lung_reverse_km_matches_r(lung):
    median = median_follow_up(lung)["overall"]["median"]
    assert (median["estimate_days"], median["lower_days"], median["upper_days"]) == (588, 511, 821)


def test_veteran_model_with_diagtime_matches_r(veteran):
    covariates = [{"name": c, "kind": "continuous"} for c in ("trt", "karno", "age", "diagtime", "prior")]
    covariates.append(VETERAN_COX[-1])
    model = cox_model(veteran, covariates=covariates)
    coefs = ["0.294603", "-0.032815", "-0.008706", "0.000081", "0.007159", "0.861560", "1.196066", "0.401292"]
    ses = ["0.207550", "0.005508", "0.009300", "0.009136", "0.023231", "0.275284", "0.300917", "0.282689"]
    for row, coef, se in zip(model["terms"], coefs, ses, strict=True):
        assert_r(row["coef"], coef)
        assert_r(row["se"], se)
    assert_r(model["log_likelihood"], "-474.397112")
    ph = {r["covariate"]: r for r in model["ph_test"]["terms"]}
    for name, chi2 in [
        ("karno", "12.935198"),
        ("age", "1.828827"),
        ("prior", "2.165566"),
        ("diagtime", "0.012889"),
    ]:
        assert_r(ph[name]["chi2"], chi2)
    assert_r(ph["celltype"]["chi2"], "15.227364")
    assert ph["celltype"]["df"] == 3
    assert_r(model["ph_test"]["global"]["chi2"], "34.552491")
    assert model["ph_test"]["global"]["df"] == 8
    assert_r(model["ph_test"]["global"]["p"], "3.2e-05")


def test_veteran_overall_median_matches_r(veteran):
    median = kaplan_meier(veteran)["groups"][0]["median"]
    assert (median["estimate_days"], median["lower_days"], median["upper_days"]) == (80, 52, 100)


# --- Kaplan-Meier details --------------------------------------------------------------------------


def test_median_on_a_flat_stretch_uses_r_midpoint_rule():
    """Uncensored 1..10: S = 0.5 on [5, 6); R gives 5.5 (log-log CI 1-8), lifelines 5.0."""
    df = pd.DataFrame({"duration_days": range(1, 11), "event": 1})
    median = kaplan_meier(df)["groups"][0]["median"]
    assert (median["estimate_days"], median["lower_days"], median["upper_days"]) == (5.5, 1.0, 8.0)
    assert KaplanMeierFitter().fit(df["duration_days"], df["event"]).median_survival_time_ == 5.0


def test_quantile_of_a_curve_ending_exactly_at_half_is_midpoint_to_last_time():
    # S drops to 0.5 at day 2 and stays there until the last (censored) time, day 3
    assert r_quantile_time(np.array([0, 1, 2, 3]), np.array([1, 0.75, 0.5, 0.5])) == 2.5
    assert r_quantile_time(np.array([0, 1, 2]), np.array([1, 0.8, 0.6])) is None
    assert r_quantile_time(np.array([0, 1, 2]), np.array([1, np.nan, np.nan])) is None


def test_km_not_reached_and_times_beyond_follow_up():
    df = pd.DataFrame({"duration_days": [10, 20, 30, 40, 50, 60], "event": [1, 0, 0, 0, 0, 0]})
    (group,) = kaplan_meier(df, times_days=[5, 10, 60, 61])["groups"]
    assert group["median"]["reached"] is False
    assert group["median"]["estimate_days"] is None
    rows = {r["time_days"]: r for r in group["survival_at"]}
    assert rows[5]["survival"] == 1.0
    assert rows[10]["survival"] == pytest.approx(5 / 6)
    assert rows[10]["n_at_risk"] == 6
    assert rows[60]["survival"] == pytest.approx(5 / 6)
    assert rows[61] == {**rows[61], "survival": None, "lower": None, "upper": None, "n_at_risk": 0}


def test_km_curve_reaching_zero_has_no_ci_there_and_stays_zero():
    df = pd.DataFrame({"duration_days": [1, 2, 3], "event": [1, 1, 1]})
    (group,) = kaplan_meier(df, times_days=[3, 100])["groups"]
    curve = group["curve"]
    assert curve["time_days"] == [0.0, 1.0, 2.0, 3.0]
    assert curve["survival"][-1] == 0.0
    assert (curve["lower"][-1], curve["upper"][-1]) == (None, None)
    assert [r["survival"] for r in group["survival_at"]] == [0.0, 0.0]
    assert curve["n_at_risk"] == [3, 3, 2, 1]
    json.dumps(group, allow_nan=False)


def test_km_default_landmarks_are_6_12_24_months(veteran):
    (group,) = kaplan_meier(veteran)["groups"]
    assert [round(r["time_months"], 9) for r in group["survival_at"]] == [6, 12, 24]
    assert DEFAULT_LANDMARK_DAYS == (182.625, 365.25, 730.5)
    assert group["at_risk"][0] == {"time_days": 0.0, "time_months": 0.0, "n": 137}


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"duration_days": [], "event": []}), {}, "empty"),
        (pd.DataFrame({"duration_days": [1, 2], "event": [0, 2]}), {}, "coded 0/1"),
        (pd.DataFrame({"duration_days": [1, -2], "event": [0, 1]}), {}, "negative"),
        (pd.DataFrame({"duration_days": [1, None], "event": [0, 1]}), {}, "missing"),
        (pd.DataFrame({"duration_days": [1, 2], "event": [0, 1]}), {"event_col": "os_event"}, "os_event"),
        (
            pd.DataFrame({"duration_days": [1, 2], "event": [0, 1], "g": ["a", "a"]}),
            {"group_col": "g", "group_order": ["a", "b"]},
            "'b' has no patients",
        ),
        (
            pd.DataFrame({"duration_days": [1, 2], "event": [0, 1], "g": ["a", "b"]}),
            {"group_col": "g", "group_order": ["a"]},
            "not in the order",
        ),
    ],
)
def test_km_rejects_degenerate_input(frame, kwargs, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(frame, **kwargs)


def test_km_accepts_boolean_events_and_reports_missing_groups():
    df = pd.DataFrame({"duration_days": [1, 2, 3, 4], "event": [True, False, True, True], "g": ["a", "a", None, "b"]})
    result = kaplan_meier(df, group_col="g")
    assert result["n_missing_group"] == 1
    assert [(g["group"], g["n"], g["events"]) for g in result["groups"]] == [("a", 2, 1), ("b", 1, 1)]


def test_reverse_km_hand_worked():
    # reversed events 0,1,0,1,1: at day 2, 1 of 4 "fails" -> 0.75; at day 4, 1 of 2 -> 0.375
    df = pd.DataFrame({"duration_days": [1, 2, 3, 4, 5], "event": [1, 0, 1, 0, 0], "g": list("aabbb")})
    result = median_follow_up(df, group_col="g")
    assert result["method"].startswith("reverse Kaplan-Meier")
    assert result["overall"]["median"]["estimate_days"] == 4.0
    assert result["overall"]["n_censored"] == 3
    groups = by_group(result)
    assert groups["a"]["median"]["estimate_days"] == 2.0  # a: 1 (event), 2 (censored) -> S_rev(2) = 0
    assert groups["b"]["median"]["estimate_days"] == 4.5  # b: 3 event, 4 and 5 censored -> flat 0.5 on [4, 5)


# --- log-rank ----------------------------------------------------------------------------------------


def test_logrank_two_groups_equals_lifelines_and_o_minus_e_balances(veteran):
    result = logrank(veteran, group_col="trt", group_order=[2, 1])
    assert [g["group"] for g in result["groups"]] == ["2", "1"]
    a, b = veteran[veteran.trt == 1], veteran[veteran.trt == 2]
    direct = logrank_test(a.duration_days, b.duration_days, a.event, b.event)
    assert result["chi2"] == pytest.approx(direct.test_statistic, rel=1e-12)
    assert sum(g["observed"] for g in result["groups"]) == pytest.approx(sum(g["expected"] for g in result["groups"]))


def test_logrank_rejects_one_group_and_no_events():
    df = pd.DataFrame({"duration_days": [1, 2, 3], "event": [1, 0, 1], "g": ["a", "a", "a"]})
    with pytest.raises(ValueError, match="at least two groups"):
        logrank(df, group_col="g")
    df = pd.DataFrame({"duration_days": [1, 2, 3], "event": [0, 0, 0], "g": ["a", "b", "a"]})
    with pytest.raises(ValueError, match="no events"):
        logrank(df, group_col="g")


# --- Cox: coding, complete cases, degenerate input ---------------------------------------------------


@pytest.fixture(scope="module")
def small_cohort() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 120
    df = pd.DataFrame(
        {
            "age": rng.normal(65, 9, n).round(),
            "ps": rng.choice(["0", "1", "2"], n),
            "sex": rng.choice(["male", "female"], n),
            "ki67_ge55": rng.integers(0, 2, n),
        }
    )
    hazard = np.exp(0.03 * (df.age - 65) + 0.5 * (df.ps == "1") + 0.9 * (df.ps == "2") + 0.4 * df.ki67_ge55)
    event_time = np.ceil(rng.exponential(200 / hazard))
    censor_time = np.ceil(rng.uniform(50, 600, n))
    df["duration_days"] = np.minimum(event_time, censor_time)
    df["event"] = (event_time <= censor_time).astype(int)
    return df


def test_complete_case_counts_and_fit_equal_lifelines_on_the_kept_rows(small_cohort):
    df = small_cohort.copy()
    df.loc[[0, 1], "age"] = np.nan
    df.loc[[1, 2, 3], "ki67_ge55"] = np.nan
    covariates = [{"name": "age", "kind": "continuous"}, {"name": "ki67_ge55", "kind": "binary"}]
    model = cox_model(df, covariates=covariates)
    assert (model["n_total"], model["n_used"], model["n_dropped"]) == (120, 116, 4)
    assert model["missing_by_covariate"] == {"age": 2, "ki67_ge55": 3}
    kept = df.drop(index=[0, 1, 2, 3])[["duration_days", "event", "age", "ki67_ge55"]]
    direct = CoxPHFitter().fit(kept, "duration_days", "event", fit_options=FIT_OPTIONS)
    assert model["n_events"] == int(kept.event.sum())
    for row in model["terms"]:
        assert row["coef"] == pytest.approx(direct.params_[row["term"]], rel=1e-10)
        assert row["se"] == pytest.approx(direct.standard_errors_[row["term"]], rel=1e-10)
    assert model["concordance"]["c"] == pytest.approx(direct.concordance_index_, rel=1e-12)
    json.dumps(model, allow_nan=False)


def test_categorical_reference_level_reparametrises_the_model(small_cohort):
    def coefs(reference: str) -> dict[str, float]:
        spec = {"name": "ps", "kind": "categorical", "reference": reference, "levels": ["0", "1", "2"]}
        model = cox_model(small_cohort, covariates=[spec, {"name": "age", "kind": "continuous"}])
        assert model["reference_levels"] == {"ps": reference}
        return {r["term"]: r["coef"] for r in model["terms"]}

    ref0, ref1 = coefs("0"), coefs("1")
    assert list(ref0) == ["ps[1]", "ps[2]", "age"]
    assert list(ref1) == ["ps[0]", "ps[2]", "age"]
    assert ref1["ps[0]"] == pytest.approx(-ref0["ps[1]"], abs=1e-9)
    assert ref1["ps[2]"] == pytest.approx(ref0["ps[2]"] - ref0["ps[1]"], abs=1e-9)
    assert ref1["age"] == pytest.approx(ref0["age"], abs=1e-9)


def test_categorical_levels_follow_the_given_order_and_rows_name_level_and_reference(small_cohort):
    spec = CovariateSpec(name="ps", kind="categorical", reference="1", levels=("2", "1", "0"), label="ECOG PS")
    (row_2, row_0) = cox_model(small_cohort, covariates=[spec])["terms"]
    assert (row_2["term"], row_2["level"], row_2["reference"], row_2["label"]) == (
        "ps[2]",
        "2",
        "1",
        "ECOG PS",
    )
    assert row_0["term"] == "ps[0]"


def test_categorical_integer_codes_match_string_levels(small_cohort):
    df = small_cohort.assign(ps_code=small_cohort.ps.astype(int))
    as_text = cox_model(df, covariates=[{"name": "ps", "kind": "categorical", "reference": "0"}])
    as_int = cox_model(df, covariates=[{"name": "ps_code", "kind": "categorical", "reference": 0}])
    assert [r["coef"] for r in as_text["terms"]] == pytest.approx([r["coef"] for r in as_int["terms"]])


def test_unobserved_level_is_left_out_with_a_note(small_cohort):
    spec = {"name": "ps", "kind": "categorical", "reference": "0", "levels": ["0", "1", "2", "3-4"]}
    model = cox_model(small_cohort, covariates=[spec])
    assert [r["term"] for r in model["terms"]] == ["ps[1]", "ps[2]"]
    assert model["notes"] == ["ps: level(s) 3-4 have no complete cases and were left out"]


def test_binary_positive_value_and_continuous_scale(small_cohort):
    per_year = cox_model(small_cohort, covariates=[{"name": "age", "kind": "continuous"}])["terms"][0]
    per_decade = cox_model(small_cohort, covariates=[{"name": "age", "kind": "continuous", "scale": 10}])["terms"][0]
    assert per_decade["coef"] == pytest.approx(10 * per_year["coef"], rel=1e-8)
    assert per_decade["scale"] == 10
    female = cox_model(small_cohort, covariates=[{"name": "sex", "kind": "binary", "positive": "female"}])
    male = cox_model(small_cohort, covariates=[{"name": "sex", "kind": "binary", "positive": "male"}])
    assert female["terms"][0]["coef"] == pytest.approx(-male["terms"][0]["coef"], abs=1e-9)


@pytest.mark.parametrize(
    ("covariates", "message"),
    [
        ([{"name": "ps", "kind": "categorical"}], "needs a named reference"),
        ([{"name": "ps", "kind": "categorical", "reference": "9"}], "reference level '9'"),
        (
            [{"name": "ps", "kind": "categorical", "reference": "0", "levels": ["0", "1"]}],
            "not in its levels",
        ),
        ([{"name": "ps", "kind": "ordinal"}], "kind must be one of"),
        ([{"name": "sex", "kind": "binary"}], "must be 0/1"),
        ([{"name": "age", "kind": "continuous", "scale": 0}], "scale"),
        ([{"name": "age", "kind": "continuous", "reference": "1"}], "apply to categorical"),
        ([{"name": "age", "kind": "continuous", "units": "y"}], "unknown covariate setting"),
        ([{"name": "age", "kind": "continuous"}, {"name": "age", "kind": "continuous"}], "listed twice"),
        ([{"name": "weight", "kind": "continuous"}], "missing column"),
        ([], "at least one covariate"),
    ],
)
def test_cox_rejects_bad_covariate_specs(small_cohort, covariates, message):
    with pytest.raises(ValueError, match=message):
        cox_model(small_cohort, covariates=covariates)


def test_cox_rejects_degenerate_data(small_cohort):
    spec = [{"name": "age", "kind": "continuous"}]
    with pytest.raises(ValueError, match="no events among the 120 complete cases"):
        cox_model(small_cohort.assign(event=0), covariates=spec)
    with pytest.raises(ValueError, match="constant"):
        cox_model(small_cohort.assign(age=60), covariates=spec)
    with pytest.raises(ValueError, match="no complete cases"):
        cox_model(small_cohort.assign(age=np.nan), covariates=spec)
    with pytest.raises(ValueError, match="too few"):
        two = pd.DataFrame({"duration_days": [5, 9], "event": [1, 0], "age": [50, 60], "ki": [0, 1]})
        cox_model(two, covariates=[*spec, {"name": "ki", "kind": "binary"}])
    with pytest.raises(ValueError, match="unknown PH-test time transform"):
        cox_model(small_cohort, covariates=spec, ph_transform="log")


def test_univariable_models_use_their_own_complete_cases(small_cohort):
    df = small_cohort.copy()
    df.loc[:9, "age"] = np.nan
    models = cox_univariable(
        df,
        covariates=[
            {"name": "age", "kind": "continuous", "scale": 10},
            {"name": "ps", "kind": "categorical", "reference": "0"},
        ],
    )
    assert [(m["covariates"][0]["name"], m["n_used"], m["n_dropped"]) for m in models] == [
        ("age", 110, 10),
        ("ps", 120, 0),
    ]
    assert [r["term"] for r in models[1]["terms"]] == ["ps[1]", "ps[2]"]
    assert models[1]["ph_test"]["terms"][0]["df"] == 2


# --- concordance -------------------------------------------------------------------------------------


def brute_force_concordance(t, e, risk):
    """Pair-by-pair Harrell's C and R's IJ standard error (the O(n^2) definition)."""
    n = len(t)
    conc, disc, tied = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        if e[i] != 1:
            continue
        later = (t > t[i]) | ((t == t[i]) & (e == 0))
        for kind, mask in (
            (conc, later & (risk < risk[i])),
            (disc, later & (risk > risk[i])),
            (tied, later & (risk == risk[i])),
        ):
            kind[i] += mask.sum()
            kind[mask] += 1
    c, d, x = conc.sum() / 2, disc.sum() / 2, tied.sum() / 2
    somers = (c - d) / (c + d + x)
    dfbeta = ((conc - disc) - (conc + disc + tied) * somers) / (2 * (c + d + x))
    return (somers + 1) / 2, math.sqrt((dfbeta**2).sum())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 12), st.integers(0, 1), st.integers(0, 3)), min_size=2, max_size=40).filter(
        lambda rows: any(e for _, e, _ in rows) and len({t for t, _, _ in rows}) > 1
    )
)
def test_concordance_matches_pairwise_definition_with_ties(rows):
    t, e, risk = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    e = e.astype(int)
    try:
        ours = concordance(t, e, risk)
    except ValueError:
        return  # no comparable pair (every event at the last time): covered below
    c, se = brute_force_concordance(t, e, risk)
    assert ours["c"] == pytest.approx(c, abs=1e-12)
    assert ours["se"] == pytest.approx(se, abs=1e-12)
    assert ours["c"] == pytest.approx(concordance_index(t, -risk, e), abs=1e-12)


def test_concordance_without_comparable_pairs_is_an_error():
    with pytest.raises(ValueError, match="no comparable pairs"):
        concordance(np.array([5.0, 5.0]), np.array([1, 1]), np.array([0.1, 0.2]))


# --- proportions ---------------------------------------------------------------------------------------


def wilson(count: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("count", "n"), [(8, 20), (0, 10), (10, 10), (41, 100), (1, 3)])
def test_wilson_interval_matches_the_formula(count, n):
    result = proportion_ci(count, n)
    lower, upper = wilson(count, n)
    assert result["proportion"] == count / n
    assert result["lower"] == pytest.approx(max(lower, 0.0), abs=1e-12)
    assert result["upper"] == pytest.approx(min(upper, 1.0), abs=1e-12)
    assert (result["method"], result["conf_level"]) == ("Wilson", 0.95)


def test_wilson_zero_of_ten_upper_limit_is_the_textbook_value():
    assert proportion_ci(0, 10)["upper"] == pytest.approx(0.2775, abs=5e-5)


@pytest.mark.parametrize(
    ("count", "n", "message"),
    [(1, 0, "denominator"), (5, 4, "outside"), (-1, 4, "outside"), (1.5, 4, "whole")],
)
def test_proportion_rejects_bad_counts(count, n, message):
    with pytest.raises(ValueError, match=message):
        proportion_ci(count, n)


def test_response_rates_exclude_missing_from_the_denominator():
    df = pd.DataFrame({"orr": [1, 0, 1, None, 0, 1, True], "g": ["NEC", "NEC", "NEC", "NEC", "NET", "NET", "NET"]})
    result = response_rates(df, flag_col="orr", group_col="g")
    assert (result["overall"]["count"], result["overall"]["n"], result["overall"]["n_missing"]) == (4, 6, 1)
    nec, net = result["groups"]
    assert (nec["group"], nec["count"], nec["n"], nec["n_missing"]) == ("NEC", 2, 3, 1)
    assert (net["group"], net["count"], net["n"]) == ("NET", 2, 3)
    assert nec["lower"] == pytest.approx(wilson(2, 3)[0])
    with pytest.raises(ValueError, match="0/1"):
        response_rates(df.assign(orr=[1, 2, 0, 0, 0, 0, 0]), flag_col="orr")
    with pytest.raises(ValueError, match="no patients with a known"):
        response_rates(df.assign(orr=None), flag_col="orr")


# --- Table 1 -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 90
    return pd.DataFrame(
        {
            "group": np.repeat(["NEC", "NET G3", "MiNEN"], 30),
            "age": np.where(rng.random(n) < 0.1, np.nan, rng.normal(64, 10, n).round()),
            "sex": rng.choice(["male", "female"], n),
            "ps": rng.choice([0, 1, 2], n, p=[0.4, 0.4, 0.2]),
            "rare": np.where(np.arange(n) % 15 == 0, "yes", "no"),
        }
    )


def test_table_one_continuous_row_matches_numpy_and_scipy(baseline):
    two = baseline[baseline.group != "MiNEN"]
    table = table_one(two, group_col="group", variables=[{"name": "age", "kind": "continuous", "label": "Age"}])
    (row,) = table["rows"]
    assert [g["group"] for g in table["groups"]] == ["NEC", "NET G3"]
    for cell in row["by_group"]:
        values = two.loc[two.group == cell["group"], "age"]
        present = values.dropna()
        assert cell["n_missing"] == values.isna().sum()
        assert cell["n"] == len(present)
        assert [cell["q1"], cell["median"], cell["q3"]] == list(np.percentile(present, [25, 50, 75]))
        assert (cell["min"], cell["max"]) == (present.min(), present.max())
    nec = two.loc[two.group == "NEC", "age"].dropna()
    net = two.loc[two.group == "NET G3", "age"].dropna()
    direct = stats.mannwhitneyu(nec, net, alternative="two-sided")
    assert (row["test"], row["statistic_name"], row["label"]) == ("Mann-Whitney U", "U", "Age")
    assert (row["statistic"], row["p"]) == (direct.statistic, direct.pvalue)
    assert row["overall"]["n_missing"] == two.age.isna().sum()


def test_table_one_uses_kruskal_wallis_for_three_groups(baseline):
    (row,) = table_one(baseline, group_col="group", variables=[{"name": "age", "kind": "continuous"}])["rows"]
    samples = [baseline.loc[baseline.group == g, "age"].dropna() for g in ("MiNEN", "NEC", "NET G3")]
    direct = stats.kruskal(*samples)
    assert row["test"] == "Kruskal-Wallis"
    assert (row["statistic"], row["p"]) == (direct.statistic, direct.pvalue)


def test_table_one_categorical_counts_percent_and_chi_square(baseline):
    table = table_one(
        baseline,
        group_col="group",
        group_order=["NEC", "NET G3", "MiNEN"],
        variables=[TableVariable(name="ps", kind="categorical", levels=("0", "1", "2"))],
    )
    (row,) = table["rows"]
    crosstab = pd.crosstab(baseline.group, baseline.ps).loc[["NEC", "NET G3", "MiNEN"], [0, 1, 2]]
    for cell, (_, counts) in zip(row["by_group"], crosstab.iterrows(), strict=True):
        assert list(cell["counts"].values()) == counts.tolist()
        assert cell["percent"]["0"] == pytest.approx(100 * counts[0] / counts.sum())
    chi2, p, _, _ = stats.chi2_contingency(crosstab.to_numpy())
    assert (row["test"], row["levels"]) == ("chi-square", ["0", "1", "2"])
    assert (row["statistic"], row["p"]) == pytest.approx((chi2, p))


def test_table_one_two_by_two_uses_yates_chi_square_or_fisher_when_sparse(baseline):
    two = baseline[baseline.group != "MiNEN"]
    sex, rare = table_one(
        two,
        group_col="group",
        variables=[{"name": "sex", "kind": "categorical"}, {"name": "rare", "kind": "categorical"}],
    )["rows"]
    sex_table = pd.crosstab(two.group, two.sex).to_numpy()
    chi2, p, _, _ = stats.chi2_contingency(sex_table, correction=True)
    assert sex["test"] == "chi-square (Yates)"
    assert (sex["statistic"], sex["p"]) == pytest.approx((chi2, p))
    rare_table = pd.crosstab(two.group, two.rare).to_numpy()
    assert stats.contingency.expected_freq(rare_table).min() < 5
    direct = stats.fisher_exact(rare_table)
    assert (rare["test"], rare["statistic_name"]) == ("Fisher's exact", "odds ratio")
    assert (rare["statistic"], rare["p"]) == pytest.approx((direct.statistic, direct.pvalue))


def test_table_one_missing_categorical_values_are_counted_not_percentaged():
    df = pd.DataFrame({"g": ["a", "a", "a", "b", "b"], "x": ["y", None, "n", "y", "y"]})
    (row,) = table_one(df, group_col="g", variables=[{"name": "x", "kind": "categorical"}])["rows"]
    a = row["by_group"][0]
    assert (a["n"], a["n_missing"], a["counts"], a["percent"]) == (
        2,
        1,
        {"n": 1, "y": 1},
        {"n": 50.0, "y": 50.0},
    )
    assert row["overall"]["n_missing"] == 1


def test_table_one_degenerate_rows_are_reported_untested():
    df = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1, 1, 1, 1], "y": [1.0, 2.0, None, None], "z": ["k"] * 4})
    rows = table_one(
        df,
        group_col="g",
        variables=[
            {"name": "x", "kind": "continuous"},
            {"name": "y", "kind": "continuous"},
            {"name": "z", "kind": "categorical"},
        ],
    )["rows"]
    assert [(r["test"], r["p"]) for r in rows] == [(None, None)] * 3
    assert rows[0]["note"] == "not tested: all values are identical"
    assert rows[1]["note"] == "not tested: a group has no non-missing values"
    assert rows[1]["by_group"][1]["median"] is None


@pytest.mark.parametrize(
    ("frame", "variables", "message"),
    [
        (pd.DataFrame({"g": ["a", "a"], "x": [1, 2]}), [{"name": "x", "kind": "continuous"}], "two groups"),
        (
            pd.DataFrame({"g": ["a", "b"], "x": [1, "?"]}),
            [{"name": "x", "kind": "continuous"}],
            "non-numeric",
        ),
        (
            pd.DataFrame({"g": ["a", "b"], "x": ["u", "v"]}),
            [{"name": "x", "kind": "categorical", "levels": ["u"]}],
            "not in its levels",
        ),
        (
            pd.DataFrame({"g": ["a", "b"], "x": [1, 2]}),
            [{"name": "x", "kind": "date"}],
            "continuous or categorical",
        ),
    ],
)
def test_table_one_rejects_bad_input(frame, variables, message):
    with pytest.raises(ValueError, match=message):
        table_one(frame, group_col="g", variables=variables)


# --- small-cell suppression ------------------------------------------------------------------------


def test_suppress_counts_blanks_small_cells_and_one_more_so_none_can_be_recovered():
    blanked, flag = suppress_counts({"a": 3, "b": 40, "c": 12, "d": 0}, min_count=5)
    assert flag is True
    assert blanked == {"a": None, "b": 40, "c": None, "d": 0}  # c: next smallest non-zero
    blanked, flag = suppress_counts({"a": 3, "b": 2, "c": 12}, min_count=5)
    assert blanked == {"a": None, "b": None, "c": 12}
    assert suppress_counts({"a": 5, "b": 0}, min_count=5) == ({"a": 5, "b": 0}, False)
    assert suppress_counts({"a": 0, "b": 9}, min_count=5, suppress_zero=True) == (
        {"a": None, "b": None},
        True,
    )
    assert suppress_count(4, min_count=5) is None
    assert suppress_count(0, min_count=5) == 0
    with pytest.raises(ValueError, match="positive integer"):
        suppress_count(3, min_count=0)


def test_suppress_table_one_blanks_cells_percentages_and_small_group_statistics():
    df = pd.DataFrame(
        {
            "g": ["a"] * 20 + ["b"] * 3,
            "sex": ["m"] * 17 + ["f"] * 3 + ["m"] * 3,
            "age": list(range(40, 60)) + [70, 71, 72],
        }
    )
    table = table_one(
        df,
        group_col="g",
        variables=[{"name": "sex", "kind": "categorical"}, {"name": "age", "kind": "continuous"}],
    )
    original = json.dumps(table)
    safe = suppress_table_one(table, min_count=5)
    assert json.dumps(table) == original  # the input is not modified
    assert (safe["suppressed"], safe["min_cell_count"]) == (True, 5)
    assert [(g["n"], g["suppressed"]) for g in safe["groups"]] == [(20, False), (None, True)]
    sex, age = safe["rows"]
    a, b = sex["by_group"]
    # with only two non-zero cells, m = 20 - f would give f back, so m goes too
    assert a["counts"] == {"f": None, "m": None} and a["percent"] == {"f": None, "m": None}
    assert a["n_missing"] == 0 and a["n"] is None  # f could be recovered from n - m
    assert b["counts"] == {"f": 0, "m": None}
    assert sex["suppressed"] is True
    age_b = age["by_group"][1]
    assert [age_b[k] for k in ("n", "median", "min", "max")] == [None, None, None, None]
    assert age["by_group"][0]["median"] == 49.5
    json.dumps(safe, allow_nan=False)


# --- properties --------------------------------------------------------------------------------------

survival_rows = st.lists(
    st.tuples(st.integers(1, 60), st.integers(0, 1), st.sampled_from(["a", "b"])), min_size=2, max_size=50
)


@settings(max_examples=80, deadline=None)
@given(survival_rows, st.randoms(use_true_random=False))
def test_km_is_a_survival_curve_and_ignores_row_order(rows, random):
    df = pd.DataFrame(rows, columns=["duration_days", "event", "g"])
    (group,) = kaplan_meier(df)["groups"]
    surv = np.array(group["curve"]["survival"])
    assert surv[0] == 1.0
    assert np.all((surv >= 0) & (surv <= 1))
    assert np.all(np.diff(surv) <= 0)
    for s, lo, up in zip(surv, group["curve"]["lower"], group["curve"]["upper"], strict=True):
        if lo is not None:
            assert lo - 1e-12 <= s <= up + 1e-12
    median = group["median"]
    if median["reached"] and median["lower_days"] is not None:
        assert median["lower_days"] <= median["estimate_days"]

    order = list(range(len(df)))
    random.shuffle(order)
    shuffled = df.iloc[order].reset_index(drop=True)
    assert kaplan_meier(shuffled, group_col="g") == kaplan_meier(df, group_col="g")
    if df.g.nunique() == 2 and df.event.sum() > 0:
        before, after = logrank(df, group_col="g"), logrank(shuffled, group_col="g")
        assert after["chi2"] == pytest.approx(before["chi2"], rel=1e-9, abs=1e-12)
        assert [g["observed"] for g in after["groups"]] == [g["observed"] for g in before["groups"]]
