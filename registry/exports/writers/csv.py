"""CSV: raw codes or labels, one row at a time (REDCap's "CSV / Microsoft Excel (raw data|labels)")."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any, TextIO

from registry.exports.writers.columns import Column, ColumnBatches, label_of, text

#: Types the csv module already writes exactly as `text` does (None → '', str(int), repr(float) = str(float),
#: str(Decimal), str(date) = ISO date); anything else (booleans → 1/0, datetimes → ISO 'T', str subclasses)
#: goes through `text`. One set lookup per value instead of a function call.
VERBATIM = frozenset({type(None), str, int, float, Decimal, date})
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def write_csv(out: TextIO, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, labels: bool = False,
              label_headers: bool = False, delimiter: str = ",") -> int:
    """Write a header and the rows to `out` (a text file opened with newline=''); returns the row count."""
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([(c.label or c.name) if label_headers else c.name for c in columns])
    count = 0
    if labels:
        for row in rows:
            writer.writerow([text(label_of(c, v)) for c, v in zip(columns, row, strict=True)])
            count += 1
        return count
    width = len(columns)
    if isinstance(rows, ColumnBatches):
        for batch in rows.batches():
            if len(batch) != width or len(set(map(len, batch))) > 1:
                raise ValueError(f"a batch after row {count} has {len(batch)} columns of lengths "
                                 f"{sorted(set(map(len, batch)))} for {width} columns")
            writer.writerows(zip(*map(_as_text, batch), strict=True))
            count += len(batch[0]) if batch else 0
        return count
    rows = iter(rows)
    for batch in iter(lambda: list(islice(rows, BATCH)), []):
        if set(map(len, batch)) != {width}:
            i, row = next((i, row) for i, row in enumerate(batch) if len(row) != width)
            raise ValueError(f"row {count + i + 1} has {len(row)} values for {width} columns")
        writer.writerows(zip(*map(_as_text, zip(*batch, strict=True)), strict=True))
        count += len(batch)
    return count


#: Rows converted per batch: column by column, the type check is one set of the column's types instead of a
#: test per value (most columns hold only types the csv module writes as `text` would).
BATCH = 1000


def _as_text(column: tuple) -> Sequence[Any]:
    types = set(map(type, column))
    if VERBATIM.issuperset(types):
        return column
    if _FLAGS.issuperset(types):
        return list(map(_FLAG_TEXT.__getitem__, column))
    return [v if v.__class__ in VERBATIM else text(v) for v in column]


_FLAGS = frozenset({bool, type(None)})
_FLAG_TEXT = {True: "1", False: "0", None: None}


def write_dicts_csv(out: TextIO, header: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write rows given as dicts keyed by `header` (missing keys are blank); returns the row count."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([text(row.get(h)) for h in header])
        count += 1
    return count
