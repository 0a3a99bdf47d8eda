"""The codebook as a table: one row per exported variable with its label, type, unit, codes and range."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from registry.exports.writers.columns import Column, Table, text

HEADER: tuple[str, ...] = ("table", "variable", "label", "type", "unit", "codes", "numeric_codes", "minimum",
                           "maximum", "description")


def codes_text(column: Column) -> str:
    if not column.value_labels:
        return ""
    return " | ".join(f"{text(code)} = {label}" for code, label in column.value_labels.items())


def entries(tables: Iterable[tuple[str, Sequence[Column]]],
            numeric: Mapping[str, Mapping[str, Mapping[str, int]]] | None = None) -> list[list[Any]]:
    """Codebook rows for (table name, columns) pairs; `numeric` = table → variable → code → SPSS/Stata number."""
    rows = []
    for table, columns in tables:
        for c in columns:
            nums = (numeric or {}).get(table, {}).get(c.name) or {}
            rows.append([table, c.name, c.label, c.kind, c.unit, codes_text(c),
                         " | ".join(f"{code} = {n}" for code, n in nums.items()),
                         text(c.minimum), text(c.maximum), c.description])
    return rows


def codebook_table(rows: list[list[Any]]) -> Table:
    return Table("codebook", "Codebook", [Column(h) for h in HEADER], rows)
