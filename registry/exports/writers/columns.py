"""Column and table specs shared by every writer (pure Python)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Column kinds: "string" (codes, short strings), "text" (free text), "integer", "float", "date", "boolean".
KINDS = frozenset({"string", "text", "integer", "float", "date", "boolean"})


@dataclass(frozen=True)
class Column:
    name: str
    label: str = ""
    kind: str = "string"
    #: Raw code → label (choices, booleans, checkbox indicators). Order is the declared order.
    value_labels: Mapping[Any, str] | None = None
    unit: str = ""
    description: str = ""
    minimum: Any = None
    maximum: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r} for {self.name}")


@dataclass
class Table:
    """A named table: its columns and a lazily consumed iterable of rows (one value per column)."""

    name: str
    label: str
    columns: list[Column]
    rows: Iterable[Sequence[Any]]
    meta: dict[str, Any] = field(default_factory=dict)


class ColumnBatches:
    """Rows that are made a batch at a time, column by column (the wide table is derived that way). Iterating
    gives rows like any table; writers that write columns (CSV) take `batches()` and skip turning columns into
    rows and back. `factory()` returns an iterator of batches, each a list of equally long columns."""

    def __init__(self, factory: Callable[[], Iterator[list[Sequence[Any]]]]) -> None:
        self.factory = factory

    def batches(self) -> Iterator[list[Sequence[Any]]]:
        return self.factory()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for columns in self.factory():
            yield from zip(*columns, strict=True)


def label_of(column: Column, value: Any) -> Any:
    """The value's label when the column has value labels (the raw value otherwise)."""
    if value is None or not column.value_labels:
        return value
    if isinstance(value, bool) and value in column.value_labels:
        return column.value_labels[value]
    return column.value_labels.get(value, value)


def text(value: Any) -> str:
    """A value as text for text formats: '' for missing, ISO dates, 1/0 booleans, plain decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def stream(rows: Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
    """Iterate rows one by one (an explicit marker that writers never call list() on their input)."""
    yield from rows


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def labels_header(columns: Sequence[Column]) -> list[str]:
    return [c.label or c.name for c in columns]
