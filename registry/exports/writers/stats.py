"""SPSS (.sav) and Stata (.dta) with variable and value labels, through pyreadstat.

Coded variables are written as integers with value labels, as SPSS and Stata users expect (Stata cannot
label strings): a choice's number is its position in the declared code list (1, 2, …), or the code itself
for integer code lists; booleans are 1/0 labelled Yes/No. The numbering is returned (and printed in the
codebook), so the raw code of every number is documented.

pyreadstat writes only from a whole DataFrame (it cannot append), so one table is held in memory while it is
written: packed every 10,000 rows into typed arrays (8 bytes a cell; repeated strings share one object), about
50 MB for the 100,000-patient wide table; bench/export_bench.py measures the peak. Use CSV or Parquet (row
groups) for very large long tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat

from registry.exports.writers.columns import Column, ColumnBatches

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


def safe_names(columns: Sequence[Column], limit: int, reserve: Sequence[int] | None = None) -> list[str]:
    """Variable names valid in SPSS/Stata: letters, digits, underscore, ≤ limit characters (less the column's
    `reserve`), unique."""
    used: set[str] = set()
    names = []
    for i, c in enumerate(columns):
        limit_i = limit - (reserve[i] if reserve else 0)
        base = re.sub(r"[^A-Za-z0-9_]", "_", c.name)
        if not re.match(r"[A-Za-z]", base):
            base = f"v_{base}"
        name, n = base[:limit_i], 1
        while name.lower() in used:
            n += 1
            suffix = f"_{n}"
            name = base[: limit_i - len(suffix)] + suffix
        used.add(name.lower())
        names.append(name)
    return names


def _label_set_reserve(columns: Sequence[Column]) -> list[int]:
    """pyreadstat names a variable's value-label set `<variable name><k>` (k = 0, 1, … over the labelled
    variables) and Stata allows 32 characters there too, so a labelled name leaves room for its k."""
    reserve, k = [], 0
    for c in columns:
        if numeric_codes(c) is None:
            reserve.append(0)
        else:
            reserve.append(len(str(k)))
            k += 1
    return reserve


#: Rows gathered as Python objects before they are packed into typed arrays.
PACK_ROWS = 10_000


def _packer(column: Column, mapping: dict[Any, int] | None):
    """Values of one column (a list) → a numpy array as pyreadstat takes it: coded and numeric columns as
    float64 (NaN missing), dates as objects, strings as objects with repeated values sharing one str."""
    if mapping is not None:
        return lambda values: np.array([np.nan if v is None else float(mapping.get(v, v)) for v in values],
                                       dtype="float64")
    if column.kind in ("integer", "float"):
        return lambda values: np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    if column.kind == "date":
        # Python date objects: pyreadstat writes them as dates (not datetimes).
        return lambda values: np.array(values, dtype="object")
    seen: dict[str, str] = {}

    def strings(values: list[Any]) -> np.ndarray:
        out = np.empty(len(values), dtype="object")
        out[:] = [seen.setdefault(text, text) for text in ("" if v is None else str(v) for v in values)]
        return out

    return strings


def _frame(columns: Sequence[Column], rows: Iterable[Sequence[Any]], names: list[str],
           on_row: Callable[[], None] | None) -> tuple[pd.DataFrame, dict[str, dict[int, str]]]:
    """The table as a DataFrame of typed columns. pyreadstat writes only whole DataFrames, so the table is held
    once, as packed arrays (8 bytes a cell, repeated strings shared), never as a list of row objects."""
    mappings = [numeric_codes(c) for c in columns]
    packers = [_packer(c, m) for c, m in zip(columns, mappings, strict=True)]
    parts: list[list[np.ndarray]] = [[] for _ in columns]
    pending: list[list[Any]] = [[] for _ in columns]

    def pack() -> None:
        for part, values, packer in zip(parts, pending, packers, strict=True):
            part.append(packer(values))
            values.clear()

    count = 0
    if isinstance(rows, ColumnBatches):  # columns already: packed a batch at a time
        for batch in rows.batches():
            for values, column in zip(pending, batch, strict=True):
                values.extend(column)
            count += len(batch[0]) if batch else 0
            if len(pending[0]) >= PACK_ROWS:
                pack()
        rows = ()
    for row in rows:
        for values, value in zip(pending, row, strict=True):
            values.append(value)
        count += 1
        if count % PACK_ROWS == 0:
            pack()
        if on_row is not None:
            on_row()
    if (pending and pending[0]) or not count:  # the rows not yet packed (or an empty table)
        pack()
    frame = {}
    value_labels: dict[str, dict[int, str]] = {}
    for c, name, part, mapping in zip(columns, names, parts, mappings, strict=True):
        frame[name] = np.concatenate(part) if len(part) > 1 else part[0]
        part.clear()
        if mapping is not None:
            labels = {0: "No", 1: "Yes"} if c.kind == "boolean" and not c.value_labels else {}
            for code, number in mapping.items():
                if c.value_labels and code in c.value_labels:
                    labels[number] = str(c.value_labels[code])
            value_labels[name] = labels
    return pd.DataFrame(frame, copy=False), value_labels


def _write(writer, path: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], limit: int,
           on_row: Callable[[], None] | None, **kwargs) -> dict[str, Any]:
    names = safe_names(columns, limit, _label_set_reserve(columns) if limit == STATA_NAME_MAX else None)
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
