"""Column arrays of registry rows, and per-patient reductions over them (numpy; pure, no Django).

The analysis dataset is derived column by column (`analysis.datasets`): every source table becomes a few numpy
arrays plus `pos`, each row's patient's position in the patient list, and "the first palliative line",
"the latest death", "the first PD evaluation" are reductions grouped by `pos`. Dates are `datetime64[D]`
(NaT = missing, and NaT compares False with everything, as a missing date should); codes stay Python objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from operator import itemgetter
from typing import Any

import numpy as np

NAT = np.datetime64("NaT", "D")
_EPOCH = date(1970, 1, 1).toordinal()
_MISSING_DAY = np.iinfo(np.int64).min  # viewed as datetime64[D], this bit pattern is NaT
_BIG = np.iinfo(np.int64).max


class TableRows:
    """The rows of one source table as read: column names and value tuples (what psycopg returns)."""

    __slots__ = ("names", "rows")

    def __init__(self, names: Sequence[str], rows: list[tuple]) -> None:
        self.names, self.rows = tuple(names), rows

    @classmethod
    def from_dicts(cls, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> TableRows:
        return cls(names, [tuple(r.get(n) for n in names) for r in rows])

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.names, row, strict=True)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


def _cached(method):
    """Memoise a Columns conversion on the instance (several rules read the same column)."""

    def wrapper(self: Columns, name: str) -> np.ndarray:
        key = (method.__name__, name)
        if key not in self._cache:
            self._cache[key] = method(self, name)
        return self._cache[key]

    return wrapper


class PatientIndex:
    """Patient id → position in the patient list, for whole columns at once."""

    def __init__(self, patient_ids: Sequence[int]) -> None:
        self.ids = np.fromiter(patient_ids, dtype=np.int64, count=len(patient_ids))
        self.order = np.argsort(self.ids, kind="stable")
        self.sorted = self.ids[self.order]

    def positions(self, patient_ids: Sequence[int]) -> np.ndarray:
        """Each id's position; -1 for ids not in the list."""
        ids = np.fromiter(patient_ids, dtype=np.int64, count=len(patient_ids))
        if not len(self.ids):
            return np.full(len(ids), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.sorted, ids), len(self.ids) - 1)
        return np.where(self.sorted[at] == ids, self.order[at], -1)


class Columns:
    """One table as columns: `obj(name)` (Python objects), `day(name)` (datetime64[D]), `num(name)` (float,
    NaN = missing), `flag(name)` (truthiness), and `pos` (row → patient position; rows of unknown patients are
    dropped)."""

    def __init__(self, table: TableRows, patients: PatientIndex) -> None:
        # column by column (zip(*rows) would build a tuple per column out of one argument per row)
        self._values = {name: list(map(itemgetter(i), table.rows)) for i, name in enumerate(table.names)}
        if "patient_id" in self._values:
            pos = patients.positions(self._values["patient_id"])
        else:
            pos = np.arange(len(table.rows))
        self.keep = pos >= 0
        self.all_kept = bool(self.keep.all())
        self.pos = pos if self.all_kept else pos[self.keep]
        self.n = len(self.pos)
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def _sel(self, array: np.ndarray) -> np.ndarray:
        return array if self.all_kept else array[self.keep]

    @_cached
    def obj(self, name: str) -> np.ndarray:
        array = np.empty(len(self._values[name]), dtype=object)
        array[:] = self._values[name]
        return self._sel(array)

    @_cached
    def day(self, name: str) -> np.ndarray:
        ordinal, epoch, missing = date.toordinal, _EPOCH, _MISSING_DAY
        ordinals = np.array([missing if d is None else ordinal(d) - epoch for d in self._values[name]],
                            dtype=np.int64)
        return self._sel(ordinals.view("datetime64[D]"))

    @_cached
    def num(self, name: str) -> np.ndarray:
        nan = np.nan
        return self._sel(np.array([nan if v is None else float(v) for v in self._values[name]], dtype=np.float64))

    @_cached
    def flag(self, name: str) -> np.ndarray:
        column = self._values[name]
        return self._sel(np.fromiter(map(bool, column), dtype=bool, count=len(column)))

    def isin(self, name: str, codes: Sequence[Any] | frozenset) -> np.ndarray:
        column = self._values[name]
        codes = frozenset(codes)
        return self._sel(np.fromiter((v in codes for v in column), dtype=bool, count=len(column)))


def impute(days: np.ndarray, precision: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Analysis dates of partial dates (month → the 15th, year → 1 July) and which were imputed."""
    month = (precision == "month") & ~np.isnat(days)
    year = (precision == "year") & ~np.isnat(days)
    out = days.copy()
    out[month] = days[month].astype("datetime64[M]").astype("datetime64[D]") + np.timedelta64(14, "D")
    out[year] = (days[year].astype("datetime64[Y]").astype("datetime64[M]")
                 + np.timedelta64(6, "M")).astype("datetime64[D]")
    return out, month | year


def first_row(pos: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Per patient, the index of its first row (table order) where `mask` holds; -1 when none."""
    rows = np.flatnonzero(mask)
    out = np.full(n, -1, dtype=np.int64)
    patients, first = np.unique(pos[rows], return_index=True)
    out[patients] = rows[first]
    return out


def last_row(pos: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Per patient, the index of its last row (table order) where `mask` holds; -1 when none."""
    rows = np.flatnonzero(mask)[::-1]
    out = np.full(n, -1, dtype=np.int64)
    patients, first = np.unique(pos[rows], return_index=True)
    out[patients] = rows[first]
    return out


def count_rows(pos: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(pos[mask], minlength=n)


def min_day(pos: np.ndarray, days: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Per patient, the earliest of `days` where `mask` holds and the day is known; NaT when none."""
    keep = mask & ~np.isnat(days)
    out = np.full(n, _BIG, dtype=np.int64)
    np.minimum.at(out, pos[keep], days[keep].view(np.int64))
    out[out == _BIG] = _MISSING_DAY
    return out.view("datetime64[D]")


def max_day(pos: np.ndarray, days: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Per patient, the latest of `days` where `mask` holds and the day is known; NaT when none."""
    keep = mask & ~np.isnat(days)
    out = np.full(n, _MISSING_DAY, dtype=np.int64)
    np.maximum.at(out, pos[keep], days[keep].view(np.int64))
    return out.view("datetime64[D]")


def take(values: np.ndarray, rows: np.ndarray, missing: Any = None) -> np.ndarray:
    """values[rows] per patient, `missing` where rows is -1 (NaT for dates, NaN for floats, else None)."""
    if values.dtype.kind == "M":
        fill: Any = NAT
    elif values.dtype.kind == "f":
        fill = np.nan
    else:
        fill = missing
    if len(values) == 0:
        out = np.empty(len(rows), dtype=values.dtype)
        out[:] = fill
        return out
    out = values[np.where(rows >= 0, rows, 0)]
    if values.dtype.kind == "b" and missing is None:
        out = out & (rows >= 0)
    else:
        out = out.copy() if out.base is not None else out
        out[rows < 0] = fill
    return out


def days_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """later − earlier in days as int64 (meaningless where either is NaT: mask those)."""
    return (later - earlier).astype("timedelta64[D]").view(np.int64)


def iso(days: np.ndarray) -> list[str | None]:
    """ISO date strings (None for NaT)."""
    text = np.datetime_as_string(days, unit="D")
    return [None if t == "NaT" else t for t in text.tolist()]


def ints(values: np.ndarray, known: np.ndarray) -> list[int | None]:
    """Python ints where `known`, None elsewhere."""
    out = values.astype(np.int64).astype(object)
    out[~known] = None
    return out.tolist()


def floats(values: np.ndarray) -> list[float | None]:
    """Python floats, None for NaN."""
    return [None if v != v else v for v in values.tolist()]  # noqa: PLR0124 - NaN is the one value != itself


def objects(values: np.ndarray, known: np.ndarray | None = None) -> list[Any]:
    out = values.tolist()
    if known is None:
        return out
    return [v if k else None for v, k in zip(out, known.tolist(), strict=True)]
