"""Kaplan-Meier estimates, medians with R's confidence-interval rule, and reverse-KM follow-up.

The curve and its pointwise CI come from lifelines, whose only interval is the log-log
("exponential Greenwood") one; it equals R's ``survfit(..., conf.type="log-log")`` (checked against
reference/veteran_R_survival.txt). Every output is labelled ``ci_type="log-log"`` because R's
default is "log" and the two give different median CIs (research/analysis.md A4.1).

Medians and their CIs are read off the curves with R's ``quantile.survfit`` rule rather than
lifelines' ``median_survival_times``: where the curve sits exactly at 0.5 over an interval R takes
the midpoint of that interval (lifelines takes its start), and R treats the CI as undefined where
S(t) = 0 (lifelines reports a band of [0, 0] there, which would turn an unreached upper limit into
the last follow-up time).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from ._common import (
    ALPHA,
    CONF_LEVEL,
    days_to_months,
    group_label,
    json_float,
    json_floats,
    months_to_days,
    ordered_groups,
    require_columns,
    survival_arrays,
)

CI_TYPE = "log-log"
DEFAULT_LANDMARK_MONTHS = (6, 12, 24)
DEFAULT_LANDMARK_DAYS = tuple(months_to_days(m) for m in DEFAULT_LANDMARK_MONTHS)
AT_RISK_STEP_DAYS = months_to_days(6)
_TOL = float(np.sqrt(np.finfo(float).eps))  # R's default tolerance in quantile.survfit
ALL_LABEL = "All"


def kaplan_meier(
    df: pd.DataFrame,
    *,
    duration_col: str = "duration_days",
    event_col: str = "event",
    group_col: str | None = None,
    group_order: Sequence[Hashable] | None = None,
    times_days: Sequence[float] = DEFAULT_LANDMARK_DAYS,
    at_risk_times_days: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Kaplan-Meier per group (or overall): n, events, median (95% CI), survival at landmark times,
    the step curve for plotting and numbers at risk.

    ``times_days`` defaults to 6/12/24 months; ``at_risk_times_days`` defaults to every 6 months up
    to the longest follow-up, shared by all groups so the at-risk table lines up under the plot.
    """
    t, e = survival_arrays(df, duration_col, event_col)
    if at_risk_times_days is None:
        at_risk_times_days = list(np.arange(0.0, float(t.max()) + 1e-9, AT_RISK_STEP_DAYS))
    groups = []
    for label, mask in _group_masks(df, group_col, group_order):
        groups.append(_km_group(t[mask], e[mask], label, times_days, at_risk_times_days))
    return {
        "estimator": "Kaplan-Meier",
        "ci_type": CI_TYPE,
        "conf_level": CONF_LEVEL,
        "median_ci_method": "Brookmeyer-Crowley (R quantile.survfit rule on the log-log band)",
        "time_unit": "days",
        "group_col": group_col,
        "n_missing_group": _n_missing_group(df, group_col),
        "groups": groups,
    }


def median_follow_up(
    df: pd.DataFrame,
    *,
    duration_col: str = "duration_days",
    event_col: str = "event",
    group_col: str | None = None,
    group_order: Sequence[Hashable] | None = None,
) -> dict[str, Any]:
    """Median follow-up by reverse Kaplan-Meier (censoring is the event), overall and per group.

    Reverse KM is preferred to the median observed time because deaths would otherwise shorten the
    apparent follow-up (DOMAIN.md 6.2).
    """
    t, e = survival_arrays(df, duration_col, event_col)
    reverse = 1 - e
    overall = _reverse_summary(t, reverse, ALL_LABEL)
    groups = []
    if group_col is not None:
        for label, mask in _group_masks(df, group_col, group_order):
            groups.append(_reverse_summary(t[mask], reverse[mask], label))
    return {
        "method": "reverse Kaplan-Meier (censoring as the event)",
        "ci_type": CI_TYPE,
        "conf_level": CONF_LEVEL,
        "time_unit": "days",
        "overall": overall,
        "groups": groups,
    }


def r_quantile_time(times: np.ndarray, curve: np.ndarray, p: float = 0.5, first_time: float = 0.0) -> float | None:
    """Time at which a survival curve (or one of its CI limits) first drops to ``1 - p``, R's way.

    Port of ``findq`` in R survival's quantile.survfit: NaN points (undefined CI) are skipped, and a
    curve that is flat exactly at the quantile gives the midpoint of the flat stretch. Returns None
    when the curve never gets there ("not reached").
    """
    x = np.concatenate([[first_time], np.asarray(times, dtype=float)])
    y = np.concatenate([[0.0], 1.0 - np.asarray(curve, dtype=float)])
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return None
    x_max = x[-1]
    keep = _first_occurrences(y)
    x, y = x[keep], y[keep]
    valid = np.flatnonzero(~np.isnan(y))
    i1 = _approx_constant_right(y[valid] + _TOL, valid, p)
    i2 = _approx_constant_right(y[valid] - _TOL, valid, p)
    quantile = None if i1 is None or i2 is None else (x[i1] + x[i2]) / 2
    if not np.isnan(y[-1]) and abs(p - y[-1]) < _TOL and i1 is not None:
        # the curve ends exactly at the quantile: midpoint of the last jump and the last time seen
        quantile = (x[i1] + x_max) / 2
    return json_float(quantile)


def _first_occurrences(y: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each value (NaNs count as equal, as R's duplicated())."""
    return np.flatnonzero(~pd.Series(y).duplicated().to_numpy())


def _approx_constant_right(xs: np.ndarray, ys: np.ndarray, v: float) -> int | None:
    """R ``approx(xs, ys, v, method="constant", f=1)``: the y of the first x >= v, NA outside the range.

    approx() sorts by x first; a CI limit is not guaranteed to be monotone, so neither do we assume it.
    """
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    i = int(np.searchsorted(xs, v, side="left"))
    if i == len(xs) or (i == 0 and v < xs[0]):
        return None
    return int(ys[i])


def _group_masks(
    df: pd.DataFrame, group_col: str | None, group_order: Sequence[Hashable] | None
) -> list[tuple[str, np.ndarray]]:
    if group_col is None:
        return [(ALL_LABEL, np.ones(len(df), dtype=bool))]
    require_columns(df, [group_col])
    values = df[group_col]
    return [(group_label(level), (values == level).to_numpy()) for level in ordered_groups(values, group_order)]


def _n_missing_group(df: pd.DataFrame, group_col: str | None) -> int:
    return 0 if group_col is None else int(df[group_col].isna().sum())


def _fit(t: np.ndarray, e: np.ndarray) -> dict[str, np.ndarray]:
    """Curve arrays from lifelines, with the band set undefined where S(t) = 0 as in R."""
    kmf = KaplanMeierFitter(alpha=ALPHA).fit(t, e)
    times = kmf.survival_function_.index.to_numpy(dtype=float)
    surv = kmf.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    ci = kmf.confidence_interval_
    lower = ci.filter(like="lower").iloc[:, 0].to_numpy(dtype=float).copy()
    upper = ci.filter(like="upper").iloc[:, 0].to_numpy(dtype=float).copy()
    zero = surv <= 0
    lower[zero] = np.nan
    upper[zero] = np.nan
    table = kmf.event_table.reindex(kmf.survival_function_.index)
    return {
        "time": times,
        "surv": surv,
        "lower": lower,
        "upper": upper,
        "at_risk": table["at_risk"].to_numpy(dtype=int),
        "events": table["observed"].to_numpy(dtype=int),
        "censored": table["censored"].to_numpy(dtype=int),
    }


def _median(fit: dict[str, np.ndarray]) -> dict[str, Any]:
    estimate = r_quantile_time(fit["time"], fit["surv"])
    lower = r_quantile_time(fit["time"], fit["lower"])
    upper = r_quantile_time(fit["time"], fit["upper"])
    return {
        "estimate_days": estimate,
        "lower_days": lower,
        "upper_days": upper,
        "estimate_months": days_to_months(estimate),
        "lower_months": days_to_months(lower),
        "upper_months": days_to_months(upper),
        "reached": estimate is not None,
        "display": "not reached" if estimate is None else None,
    }


def _n_at_risk(sorted_t: np.ndarray, when: float) -> int:
    return int(len(sorted_t) - np.searchsorted(sorted_t, when, side="left"))


def _survival_at(fit: dict[str, np.ndarray], sorted_t: np.ndarray, when: float) -> dict[str, Any]:
    """S(t) with its CI, right-continuous as R's summary(fit, times=); None past the last follow-up
    unless the curve has already reached 0 (then the value is known)."""
    row: dict[str, Any] = {
        "time_days": float(when),
        "time_months": days_to_months(when),
        "n_at_risk": _n_at_risk(sorted_t, when),
        "survival": None,
        "lower": None,
        "upper": None,
    }
    i = int(np.searchsorted(fit["time"], when, side="right")) - 1
    if i < 0:
        row.update(survival=1.0, lower=1.0, upper=1.0)
    elif when <= fit["time"][-1] or fit["surv"][-1] <= 0:
        row.update(
            survival=json_float(fit["surv"][i]),
            lower=json_float(fit["lower"][i]),
            upper=json_float(fit["upper"][i]),
        )
    return row


def _km_group(
    t: np.ndarray,
    e: np.ndarray,
    label: str,
    times_days: Sequence[float],
    at_risk_times_days: Sequence[float],
) -> dict[str, Any]:
    if len(t) == 0:
        raise ValueError(f"group {label!r} has no patients")
    fit = _fit(t, e)
    sorted_t = np.sort(t)
    return {
        "group": label,
        "n": len(t),
        "events": int(e.sum()),
        "censored": int(len(e) - e.sum()),
        "max_follow_up_days": float(t.max()),
        "median": _median(fit),
        "survival_at": [_survival_at(fit, sorted_t, when) for when in times_days],
        "at_risk": [
            {"time_days": float(w), "time_months": days_to_months(w), "n": _n_at_risk(sorted_t, w)}
            for w in at_risk_times_days
        ],
        "curve": {
            "time_days": json_floats(fit["time"]),
            "survival": json_floats(fit["surv"]),
            "lower": json_floats(fit["lower"]),
            "upper": json_floats(fit["upper"]),
            "n_at_risk": fit["at_risk"].tolist(),
            "n_events": fit["events"].tolist(),
            "n_censored": fit["censored"].tolist(),
        },
    }


def _reverse_summary(t: np.ndarray, reverse_event: np.ndarray, label: str) -> dict[str, Any]:
    if len(t) == 0:
        raise ValueError(f"group {label!r} has no patients")
    return {
        "group": label,
        "n": len(t),
        "n_censored": int(reverse_event.sum()),
        "median": _median(_fit(t, reverse_event)),
    }
