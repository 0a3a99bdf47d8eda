"""The fast paths of the Cox estimator give lifelines' and R's answers: lifelines started from the vectorised
Efron start ends where it ends from zero (heavy ties included), cox_model's output equals a plain lifelines fit with
the same options (the coefficients R prints), and the per-level concordance count equals the merge-sort count."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from analysis.estimators import cox_model
from analysis.estimators.cox import FIT_OPTIONS
from analysis.estimators.efron import efron_start

concordance_module = importlib.import_module("analysis.estimators.concordance")


def tied_cohort(n: int, seed: int, *, distinct_times: int) -> pd.DataFrame:
    """Survival in whole days drawn from few distinct values (many ties), with a categorical, a binary and a
    continuous covariate that all matter."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"ps": rng.choice(["0", "1", "2"], n), "alp": rng.integers(0, 2, n),
                       "age": rng.normal(65, 10, n).round()})
    lp = 0.5 * (df.ps == "1") + 1.0 * (df.ps == "2") + 0.4 * df.alp + 0.03 * (df.age - 65)
    event_time = np.ceil(rng.exponential(200 * np.exp(-lp)) / (400 / distinct_times)) * (400 / distinct_times)
    censor_time = rng.uniform(50, 600, n).round()
    df["days"] = np.minimum(event_time, censor_time)
    df["event"] = (event_time <= censor_time).astype(int)
    return df


COVARIATES = [{"name": "ps", "kind": "categorical", "reference": "0", "levels": ["0", "1", "2"]},
              {"name": "alp", "kind": "binary"}, {"name": "age", "kind": "continuous", "scale": 10}]


def plain_lifelines(df: pd.DataFrame, start: np.ndarray | None = None) -> CoxPHFitter:
    design = pd.DataFrame({"ps[1]": (df.ps == "1").astype(float), "ps[2]": (df.ps == "2").astype(float),
                           "alp": df.alp.astype(float), "age": df.age / 10})
    initial = None if start is None else start * design.std().to_numpy()
    return CoxPHFitter().fit(design.assign(T=df.days, E=df.event), duration_col="T", event_col="E",
                             fit_options=FIT_OPTIONS, initial_point=initial)


@pytest.mark.parametrize(("n", "distinct_times"), [(60, 400), (400, 40), (3000, 25)])
def test_lifelines_started_from_the_efron_start_ends_where_it_ends_from_zero(n, distinct_times):
    df = tied_cohort(n, seed=n, distinct_times=distinct_times)
    from_zero = plain_lifelines(df)
    x = np.column_stack([(df.ps == "1"), (df.ps == "2"), df.alp, df.age / 10]).astype(float)
    beta, ll_null = efron_start(x, df.days.to_numpy(float), df.event.to_numpy())
    assert not np.allclose(beta, 0)
    started = plain_lifelines(df, start=beta)
    np.testing.assert_allclose(started.params_.to_numpy(), from_zero.params_.to_numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(started.standard_errors_.to_numpy(), from_zero.standard_errors_.to_numpy(),
                               rtol=1e-10)
    lr = from_zero.log_likelihood_ratio_test()
    assert ll_null == pytest.approx(from_zero.log_likelihood_ - lr.test_statistic / 2, rel=1e-12)


def test_cox_model_equals_a_plain_lifelines_fit_with_the_same_options():
    df = tied_cohort(2000, seed=7, distinct_times=30)
    result = cox_model(df, duration_col="days", event_col="event", covariates=COVARIATES)
    reference = plain_lifelines(df)
    summary = reference.summary
    for term, column in zip(result["terms"], ["ps[1]", "ps[2]", "alp", "age"], strict=True):
        assert term["coef"] == pytest.approx(summary.loc[column, "coef"], rel=1e-12)
        assert term["se"] == pytest.approx(summary.loc[column, "se(coef)"], rel=1e-10)
        assert term["p"] == pytest.approx(summary.loc[column, "p"], rel=1e-6, abs=1e-300)
    lr = reference.log_likelihood_ratio_test()
    assert result["lr_test"]["statistic"] == pytest.approx(lr.test_statistic, rel=1e-9)
    assert result["lr_test"]["df"] == lr.degrees_freedom == 4
    assert result["log_likelihood"] == pytest.approx(reference.log_likelihood_, rel=1e-12)
    assert result["fit_options"] == {"step_size": 1.0, "precision": 1e-12}


def test_efron_start_gives_up_on_collinear_covariates_and_lifelines_reports_them():
    df = tied_cohort(200, seed=3, distinct_times=50)
    x = np.column_stack([df.alp, df.alp * 2.0]).astype(float)
    assert efron_start(x, df.days.to_numpy(float), df.event.to_numpy()) is None
    with pytest.raises(ValueError, match="did not converge|constant|collinear|singular"):
        cox_model(df.assign(alp2=df.alp * 2), duration_col="days", event_col="event",
                  covariates=[{"name": "alp", "kind": "continuous"}, {"name": "alp2", "kind": "continuous"}])


def test_efron_start_needs_an_event():
    x = np.ones((5, 1))
    assert efron_start(x, np.arange(5.0), np.zeros(5, dtype=int)) is None


@pytest.mark.parametrize("levels", [2, 4, 8])
def test_per_level_concordance_count_equals_the_merge_sort_count(monkeypatch, levels):
    rng = np.random.default_rng(levels)
    n = 2500
    t = rng.integers(1, 200, n).astype(float)
    e = rng.integers(0, 2, n)
    risk = rng.integers(0, levels, n).astype(float)
    fast = concordance_module.concordance(t, e, risk)
    monkeypatch.setattr(concordance_module, "FEW_LEVELS", 0)
    assert concordance_module.concordance(t, e, risk) == fast
