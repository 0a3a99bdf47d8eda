"""Excel workbook in openpyxl's write-only mode: rows are streamed to disk, one sheet per table."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from registry.exports.writers.columns import Column, Table, label_of

MAX_ROWS = 1_048_575  # Excel's limit, minus the header


def _cell_value(column: Column, value: Any, labels: bool) -> Any:
    if labels:
        value = label_of(column, value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool):
        return int(value) if not labels else value
    return value


def sheet_title(name: str, used: set[str]) -> str:
    """Excel sheet names: ≤ 31 characters, no []:*?/\\, unique."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    title, n = clean, 1
    while title.lower() in used:
        n += 1
        title = f"{clean[:28]}_{n}"
    used.add(title.lower())
    return title


def write_xlsx(path: str, tables: Iterable[Table], *, labels: bool = False,
               on_row: Callable[[], None] | None = None) -> dict[str, int]:
    """One sheet per table (header row bold); returns {table name: rows written}."""
    wb = Workbook(write_only=True)
    used: set[str] = set()
    counts: dict[str, int] = {}
    bold = Font(bold=True)
    for table in tables:
        ws = wb.create_sheet(sheet_title(table.name, used))
        header = []
        for c in table.columns:
            cell = WriteOnlyCell(ws, value=c.name)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        n = 0
        for row in table.rows:
            if n >= MAX_ROWS:
                raise ValueError(f"table {table.name} has more rows than an Excel sheet holds; use CSV or Parquet")
            ws.append([_cell_value(c, v, labels) for c, v in zip(table.columns, row, strict=True)])
            n += 1
            if on_row is not None:
                on_row()
        counts[table.name] = n
    wb.save(path)
    return counts

