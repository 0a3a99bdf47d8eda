"""Log-rank test for two or more groups, with R survdiff's observed/expected table."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from lifelines.statistics import multivariate_logrank_test

from ._common import group_label, json_float, ordered_groups, require_columns, survival_arrays


def logrank(
    df: pd.DataFrame,
    *,
    duration_col: str = "duration_days",
    event_col: str = "event",
    group_col: str,
    group_order: Sequence[Hashable] | None = None,
) -> dict[str, Any]:
    """Log-rank chi-square, df and p (lifelines), plus per-group N, observed, expected,
    (O-E)^2/E and (O-E)^2/V as printed by R's survdiff so the two can be compared line by line."""
    t, e = survival_arrays(df, duration_col, event_col)
    require_columns(df, [group_col])
    values = df[group_col]
    levels = ordered_groups(values, group_order)
    if len(levels) < 2:
        raise ValueError(f"log-rank needs at least two groups in {group_col!r}; found {len(levels)}")
    keep = values.notna().to_numpy()
    t, e = t[keep], e[keep]
    codes = np.full(len(values), -1)
    for k, level in enumerate(levels):
        codes[(values == level).to_numpy()] = k
    codes = codes[keep]
    if e.sum() == 0:
        raise ValueError("log-rank is undefined: no events in any group")

    result = multivariate_logrank_test(t, codes, e)
    observed, expected, variance = _observed_expected(t, e, codes, len(levels))
    groups = []
    for k, level in enumerate(levels):
        diff2 = (observed[k] - expected[k]) ** 2
        groups.append(
            {
                "group": group_label(level),
                "n": int((codes == k).sum()),
                "observed": int(observed[k]),
                "expected": json_float(expected[k]),
                "oe2_over_e": json_float(diff2 / expected[k]) if expected[k] > 0 else None,
                "oe2_over_v": json_float(diff2 / variance[k, k]) if variance[k, k] > 0 else None,
            }
        )
    return {
        "test": "log-rank",
        "chi2": json_float(result.test_statistic),
        "df": int(result.degrees_of_freedom),
        "p": json_float(result.p_value),
        "group_col": group_col,
        "n_missing_group": int((~keep).sum()),
        "groups": groups,
    }


def _observed_expected(
    t: np.ndarray, e: np.ndarray, codes: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed and expected events per group and the hypergeometric covariance of O - E."""
    event_times = np.unique(t[e == 1])
    sorted_t = np.sort(t)
    n_all = len(t) - np.searchsorted(sorted_t, event_times, side="left")
    n_g = np.empty((len(event_times), k))
    d_g = np.empty((len(event_times), k))
    for g in range(k):
        tg = np.sort(t[codes == g])
        n_g[:, g] = len(tg) - np.searchsorted(tg, event_times, side="left")
        dead = np.sort(t[(codes == g) & (e == 1)])
        d_g[:, g] = np.searchsorted(dead, event_times, side="right") - np.searchsorted(dead, event_times, side="left")
    d_all = d_g.sum(axis=1)
    share = n_g / n_all[:, None]
    expected = (d_all[:, None] * share).sum(axis=0)
    observed = d_g.sum(axis=0)
    # survdiff's variance: sum over times of d (n-d)/(n-1) [diag(share) - share share']
    factor = np.where(n_all > 1, d_all * (n_all - d_all) / np.maximum(n_all - 1, 1), 0.0)
    variance = np.einsum("t,tg->g", factor, share)[:, None] * np.eye(k) - np.einsum("t,tg,th->gh", factor, share, share)
    return observed, expected, variance
