"""SPSS (.sav) and Stata (.dta) with variable and value labels, through pyreadstat.

Coded variables are written as integers with value labels, as SPSS and Stata users expect (Stata cannot
label strings): a choice's number is its position in the declared code list (1, 2, …), or the code itself
for integer code lists; booleans are 1/0 labelled Yes/No. The numbering is returned (and printed in the
codebook), so the raw code of every number is documented.

pyreadstat writes from a DataFrame, so one table is held in memory while it is written (column-wise, as
typed arrays); use CSV or Parquet for very large long tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat

from registry.exports.writers.columns import Column

STATA_NAME_MAX = 32
SPSS_NAME_MAX = 64
STATA_LABEL_MAX = 80


def numeric_codes(column: Column) -> dict[Any, int] | None:
    """Raw code → the number written to SPSS/Stata (None when the column is not coded)."""
    if column.kind == "boolean":
        return {True: 1, False: 0}
    if not column.value_labels:
        return None
    codes = list(column.value_labels)
    if all(isinstance(c, int) and not isinstance(c, bool) for c in codes):
        return {c: c for c in codes}
    return {c: i for i, c in enumerate(codes, start=1)}


def safe_names(columns: Sequence[Column], limit: int) -> list[str]:
    """Variable names valid in SPSS/Stata: letters, digits, underscore, ≤ limit characters, unique."""
    used: set[str] = set()
    names = []
    for c in columns:
        base = re.sub(r"[^A-Za-z0-9_]", "_", c.name)
        if not re.match(r"[A-Za-z]", base):
            base = f"v_{base}"
        name, n = base[:limit], 1
        while name.lower() in used:
            n += 1
            suffix = f"_{n}"
            name = base[: limit - len(suffix)] + suffix
        used.add(name.lower())
        names.append(name)
    return names


def _frame(columns: Sequence[Column], rows: Iterable[Sequence[Any]], names: list[str],
           on_row: Callable[[], None] | None) -> tuple[pd.DataFrame, dict[str, dict[int, str]]]:
    mappings = [numeric_codes(c) for c in columns]
    data: list[list[Any]] = [[] for _ in columns]
    for row in rows:
        for i, (value, mapping) in enumerate(zip(row, mappings, strict=True)):
            if value is not None and mapping is not None:
                value = mapping.get(value, value)
            data[i].append(value)
        if on_row is not None:
            on_row()
    frame = {}
    value_labels: dict[str, dict[int, str]] = {}
    for c, name, values, mapping in zip(columns, names, data, mappings, strict=True):
        if mapping is not None:
            frame[name] = pd.array(values, dtype="Float64").astype("float64")
            labels = {0: "No", 1: "Yes"} if c.kind == "boolean" and not c.value_labels else {}
            for code, number in mapping.items():
                if c.value_labels and code in c.value_labels:
                    labels[number] = str(c.value_labels[code])
            value_labels[name] = labels
        elif c.kind in ("integer", "float"):
            frame[name] = np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
        elif c.kind == "date":
            # Python date objects: pyreadstat writes them as dates (not datetimes).
            frame[name] = pd.Series(list(values), dtype="object")
        else:
            frame[name] = pd.Series(["" if v is None else str(v) for v in values], dtype="object")
        values.clear()
    return pd.DataFrame(frame), value_labels


def _write(writer, path: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], limit: int,
           on_row: Callable[[], None] | None, **kwargs) -> dict[str, Any]:
    names = safe_names(columns, limit)
    df, value_labels = _frame(columns, rows, names, on_row)
    labels = [(c.label or c.name)[:STATA_LABEL_MAX] if limit == STATA_NAME_MAX else (c.label or c.name)
              for c in columns]
    writer(df, path, column_labels=labels, variable_value_labels=value_labels, **kwargs)
    return {
        "rows": len(df),
        "names": {c.name: n for c, n in zip(columns, names, strict=True) if c.name != n},
        "numeric_codes": {c.name: {str(k): v for k, v in m.items()}
                          for c in columns if (m := numeric_codes(c)) is not None and c.kind != "boolean"},
    }


def write_sav(path: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, file_label: str = "",
              on_row: Callable[[], None] | None = None) -> dict[str, Any]:
    """SPSS .sav (zsav compression off for compatibility); returns rows, renamed variables, numeric codes."""
    return _write(pyreadstat.write_sav, path, columns, rows, SPSS_NAME_MAX, on_row, file_label=file_label)


def write_dta(path: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, file_label: str = "",
              on_row: Callable[[], None] | None = None) -> dict[str, Any]:
    """Stata .dta (version 15, long strings allowed); returns rows, renamed variables, numeric codes."""
    return _write(pyreadstat.write_dta, path, columns, rows, STATA_NAME_MAX, on_row, file_label=file_label[:80],
                  version=15)


def to_python(value: Any) -> Any:
    """A value read back by pyreadstat as a plain Python value (NaN → None, whole floats → int)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return value
