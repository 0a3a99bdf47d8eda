"""Proportions with Wilson 95% confidence intervals (response rates: ORR, DCR, immediate progression).

Wilson rather than the Wald interval because response-rate denominators in subgroups are small and
rates near 0 or 1 are common; Wald intervals then leave [0, 1] or collapse to zero width.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from ._common import (
    ALPHA,
    CONF_LEVEL,
    as_numeric_codes,
    group_label,
    json_float,
    ordered_groups,
    require_columns,
)


def proportion_ci(count: int, n: int) -> dict[str, Any]:
    """count / n with its Wilson 95% CI."""
    if isinstance(count, bool) or isinstance(n, bool) or int(count) != count or int(n) != n:
        raise ValueError(f"count and n must be whole numbers, got {count!r} and {n!r}")
    count, n = int(count), int(n)
    if n <= 0:
        raise ValueError("the denominator is zero: a proportion needs at least one patient")
    if not 0 <= count <= n:
        raise ValueError(f"count {count} is outside 0..{n}")
    lower, upper = proportion_confint(count, n, alpha=ALPHA, method="wilson")
    return {
        "count": count,
        "n": n,
        "proportion": count / n,
        "lower": json_float(lower),
        "upper": json_float(upper),
        "method": "Wilson",
        "conf_level": CONF_LEVEL,
    }


def response_rates(
    df: pd.DataFrame,
    *,
    flag_col: str,
    group_col: str | None = None,
    group_order: Sequence[Hashable] | None = None,
) -> dict[str, Any]:
    """Share of patients with ``flag_col`` = 1, overall and per group; missing flags leave the
    denominator and are counted, so the denominator in use is always visible."""
    require_columns(df, [flag_col] if group_col is None else [flag_col, group_col])
    flags = as_numeric_codes(df[flag_col])
    bad = flags.notna() & ~flags.isin([0, 1])
    if bad.any() or (flags.isna() & df[flag_col].notna()).any():
        raise ValueError(f"{flag_col!r} must be coded 0/1 (or missing)")

    def summary(mask: np.ndarray, label: str) -> dict[str, Any]:
        values = flags[mask].dropna()
        if len(values) == 0:
            raise ValueError(f"group {label!r} has no patients with a known {flag_col!r}")
        return {
            "group": label,
            "n_missing": int(flags[mask].isna().sum()),
            **proportion_ci(int(values.sum()), len(values)),
        }

    everyone = np.ones(len(df), dtype=bool)
    groups = []
    if group_col is not None:
        values = df[group_col]
        for level in ordered_groups(values, group_order):
            groups.append(summary((values == level).to_numpy(), group_label(level)))
    return {
        "flag": flag_col,
        "method": "Wilson",
        "conf_level": CONF_LEVEL,
        "overall": summary(everyone, "All"),
        "groups": groups,
    }
