"""Table 1: baseline characteristics by group, with the test used named on every row.

Continuous: median, IQR (numpy's default linear quantiles = R type 7), range and missing count;
Mann-Whitney U for two groups, Kruskal-Wallis for more. Categorical: counts and percentages of the
non-missing values and missing count; Fisher's exact test for a 2x2 table with an expected count
below 5, otherwise chi-square (Yates-corrected for 2x2, as R's chisq.test). These are the tests
the NEN literature reports (DOMAIN.md 6.5).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._common import group_label, json_float, level_labels, ordered_groups, require_columns

VariableKind = Literal["continuous", "categorical"]


@dataclass(frozen=True)
class TableVariable:
    """One Table 1 row: a column, its kind, a display label and (categorical) the level order."""

    name: str
    kind: VariableKind
    label: str | None = None
    levels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("continuous", "categorical"):
            raise ValueError(f"Table 1 variable {self.name!r}: kind must be continuous or categorical")
        if self.levels is not None:
            object.__setattr__(self, "levels", tuple(str(v) for v in self.levels))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableVariable:
        values = dict(data)
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown Table 1 setting(s): {', '.join(sorted(unknown))}")
        if values.get("levels") is not None:
            values["levels"] = tuple(values["levels"])
        return cls(**values)


VariableInput = TableVariable | Mapping[str, Any]


def table_one(
    df: pd.DataFrame,
    *,
    group_col: str,
    variables: Sequence[VariableInput],
    group_order: Sequence[Hashable] | None = None,
) -> dict[str, Any]:
    """Baseline table by group: one row per variable with per-group and overall summaries and a test."""
    specs = [v if isinstance(v, TableVariable) else TableVariable.from_dict(v) for v in variables]
    require_columns(df, [group_col, *[s.name for s in specs]])
    values = df[group_col]
    levels = ordered_groups(values, group_order)
    if len(levels) < 2:
        raise ValueError(f"Table 1 needs at least two groups in {group_col!r}; found {len(levels)}")
    frames = [(group_label(level), df[(values == level).to_numpy()]) for level in levels]
    in_groups = df[values.notna().to_numpy()]
    rows = [
        _continuous_row(spec, frames, in_groups)
        if spec.kind == "continuous"
        else _categorical_row(spec, frames, in_groups)
        for spec in specs
    ]
    return {
        "group_col": group_col,
        "groups": [{"group": label, "n": len(frame)} for label, frame in frames],
        "n": len(in_groups),
        "n_missing_group": int(values.isna().sum()),
        "rows": rows,
    }


def _continuous_summary(series: pd.Series) -> dict[str, Any]:
    numeric = pd.to_numeric(series, errors="coerce")
    bad = int((numeric.isna() & series.notna()).sum())
    if bad:
        raise ValueError(f"continuous variable {series.name!r} has {bad} non-numeric value(s)")
    present = numeric.dropna().to_numpy(dtype=float)
    summary: dict[str, Any] = {"n": len(present), "n_missing": int(numeric.isna().sum())}
    if len(present):
        q1, median, q3 = np.percentile(present, [25, 50, 75])
        summary.update(
            median=json_float(median),
            q1=json_float(q1),
            q3=json_float(q3),
            min=json_float(present.min()),
            max=json_float(present.max()),
        )
    else:
        summary.update(median=None, q1=None, q3=None, min=None, max=None)
    return summary


def _continuous_row(
    spec: TableVariable, frames: list[tuple[str, pd.DataFrame]], overall: pd.DataFrame
) -> dict[str, Any]:
    by_group = [{"group": label, **_continuous_summary(frame[spec.name])} for label, frame in frames]
    samples = [pd.to_numeric(frame[spec.name], errors="coerce").dropna().to_numpy(float) for _, frame in frames]
    test, statistic_name, statistic, p, note = None, None, None, None, None
    if any(len(s) == 0 for s in samples):
        note = "not tested: a group has no non-missing values"
    elif len(np.unique(np.concatenate(samples))) < 2:
        note = "not tested: all values are identical"
    elif len(samples) == 2:
        test, statistic_name = "Mann-Whitney U", "U"
        result = stats.mannwhitneyu(samples[0], samples[1], alternative="two-sided")
        statistic, p = result.statistic, result.pvalue
    else:
        test, statistic_name = "Kruskal-Wallis", "H"
        result = stats.kruskal(*samples)
        statistic, p = result.statistic, result.pvalue
    return {
        "variable": spec.name,
        "label": spec.label or spec.name,
        "kind": "continuous",
        "by_group": by_group,
        "overall": _continuous_summary(overall[spec.name]),
        "test": test,
        "statistic_name": statistic_name,
        "statistic": json_float(statistic),
        "p": json_float(p),
        "note": note,
    }


def _categorical_summary(labels: pd.Series, levels: Sequence[str]) -> dict[str, Any]:
    present = labels.dropna()
    observed = present.value_counts()  # one pass, not one comparison per level
    counts = {level: int(observed.get(level, 0)) for level in levels}
    total = len(present)
    return {
        "n": total,
        "n_missing": int(labels.isna().sum()),
        "counts": counts,
        "percent": {level: (100.0 * c / total if total else None) for level, c in counts.items()},
    }


def _categorical_row(
    spec: TableVariable, frames: list[tuple[str, pd.DataFrame]], overall: pd.DataFrame
) -> dict[str, Any]:
    observed = sorted(set(level_labels(overall[spec.name]).dropna()))
    if spec.levels is not None:
        unknown = sorted(set(observed) - set(spec.levels))
        if unknown:
            raise ValueError(f"variable {spec.name!r} has value(s) not in its levels: {', '.join(unknown)}")
        levels = list(spec.levels)
    else:
        levels = observed
    by_group = [
        {"group": label, **_categorical_summary(level_labels(frame[spec.name]), levels)} for label, frame in frames
    ]
    table = np.array([[g["counts"][level] for level in levels] for g in by_group], dtype=float)
    test, statistic_name, statistic, p, note = _categorical_test(table)
    return {
        "variable": spec.name,
        "label": spec.label or spec.name,
        "kind": "categorical",
        "levels": levels,
        "by_group": by_group,
        "overall": _categorical_summary(level_labels(overall[spec.name]), levels),
        "test": test,
        "statistic_name": statistic_name,
        "statistic": json_float(statistic),
        "p": json_float(p),
        "note": note,
    }


def _categorical_test(
    table: np.ndarray,
) -> tuple[str | None, str | None, float | None, float | None, str | None]:
    """Fisher's exact for a sparse 2x2 table, chi-square otherwise; empty rows/columns are dropped."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0] if table.size else table
    if table.ndim != 2 or table.shape[0] < 2 or table.shape[1] < 2:
        return None, None, None, None, "not tested: fewer than two groups or two levels with data"
    expected = stats.contingency.expected_freq(table)
    sparse = int((expected < 5).sum())
    if table.shape == (2, 2) and sparse:
        result = stats.fisher_exact(table)
        return "Fisher's exact", "odds ratio", result.statistic, result.pvalue, None
    result = stats.chi2_contingency(table)
    name = "chi-square (Yates)" if table.shape == (2, 2) else "chi-square"
    note = f"{sparse} cell(s) with expected count < 5; chi-square may be inaccurate" if sparse else None
    return name, "chi2", result.statistic, result.pvalue, note
