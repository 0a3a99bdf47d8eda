"""Input validation and JSON helpers shared by the estimators.

Everything here is pure (no Django): the estimators must be re-runnable on a frozen dataset
outside the web process, and their outputs must be storable in a JSONField as they are.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

DAYS_PER_MONTH = 30.4375  # 365.25 / 12; the study reports durations in months = days / 30.4375
CONF_LEVEL = 0.95
ALPHA = 1 - CONF_LEVEL


def days_to_months(days: float | None) -> float | None:
    """Convert days to display months (the study's unit), keeping None."""
    return None if days is None else float(days) / DAYS_PER_MONTH


def months_to_days(months: float) -> float:
    """Convert months to days with the study's constant (used for default landmark times)."""
    return float(months) * DAYS_PER_MONTH


def json_float(value: Any) -> float | None:
    """A float for JSON, or None for NaN/inf/None: JSON has no NaN and stored results must load anywhere."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_floats(values: Any) -> list[float | None]:
    """Vector version of json_float."""
    return [json_float(v) for v in np.asarray(values, dtype=float)]


def group_label(value: Hashable) -> str:
    """Groups are labelled by their string form so results are JSON keys and stable across runs."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def require_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """Fail early with the missing column names rather than with a KeyError deep inside lifelines."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"missing column(s): {', '.join(missing)}")


def survival_arrays(df: pd.DataFrame, duration_col: str, event_col: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated (durations, events) arrays.

    lifelines accepts any event vector silently (a duration column passed as events still yields a
    p-value, lifelines#1641), so the 0/1 coding is checked here. Durations must be present and >= 0.
    """
    require_columns(df, [duration_col, event_col])
    if len(df) == 0:
        raise ValueError("no rows: the analysis population is empty")
    durations = pd.to_numeric(df[duration_col], errors="coerce")
    if durations.isna().any():
        n_bad = int(durations.isna().sum())
        raise ValueError(f"{duration_col!r} has {n_bad} missing or non-numeric value(s)")
    t = durations.to_numpy(dtype=float)
    if (t < 0).any():
        raise ValueError(f"{duration_col!r} has {int((t < 0).sum())} negative duration(s)")
    events = df[event_col]
    if events.isna().any():
        raise ValueError(f"{event_col!r} has {int(events.isna().sum())} missing value(s)")
    e = as_numeric_codes(events)
    if e.isna().any() or not e.isin([0, 1]).all():
        bad = sorted({str(v) for v in events[~e.isin([0, 1])].unique()})[:5]
        raise ValueError(f"{event_col!r} must be coded 0/1 (censored/event); found {', '.join(bad)}")
    return t, e.to_numpy(dtype=int)


def as_numeric_codes(values: pd.Series) -> pd.Series:
    """Numbers for 0/1-style columns (bools become 0/1); anything non-numeric becomes NaN."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    mapping = {v: (int(v) if isinstance(v, bool | np.bool_) else v) for v in values.dropna().unique()}
    return pd.to_numeric(values.map(mapping), errors="coerce")


def level_labels(values: pd.Series) -> pd.Series:
    """String labels for category levels (1.0 -> "1"); missing stays missing. Maps unique values only."""
    mapping = {v: group_label(v) for v in values.dropna().unique()}
    return values.map(mapping)


def ordered_groups(values: pd.Series, group_order: Sequence[Hashable] | None, *, what: str = "group") -> list[Hashable]:
    """Group levels in the requested order; every requested group must have patients.

    An empty group is a configuration or data problem that would otherwise surface as a
    silent missing curve, so it is an error.
    """
    present = pd.unique(values.dropna())
    if group_order is None:
        try:
            return sorted(present)
        except TypeError:
            return sorted(present, key=str)
    by_label = {group_label(v): v for v in present}
    unlisted = sorted(set(by_label) - {group_label(w) for w in group_order})
    if unlisted:
        raise ValueError(f"{what}(s) {', '.join(map(repr, unlisted))} present in the data but not in the order given")
    result: list[Hashable] = []
    for wanted in group_order:
        label = group_label(wanted)
        if label not in by_label:
            raise ValueError(f"{what} {label!r} has no patients")
        result.append(by_label[label])
    return result
