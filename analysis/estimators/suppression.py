"""Small-cell suppression, so published results never show counts that could identify patients.

Primary suppression blanks counts from 1 to ``min_count - 1`` (zero discloses nothing about an
individual and is kept unless asked). Secondary suppression: when the cells of a partition add up
to a total that is shown (a group's levels plus its missing count add up to the group n), a single
blanked cell could be recovered by subtraction, so the next smallest non-zero cell is blanked too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

CONTINUOUS_STATS = ("median", "q1", "q3", "min", "max")


def suppress_count(value: int | None, *, min_count: int, suppress_zero: bool = False) -> int | None:
    """The count, or None when it is a small cell."""
    _check_min(min_count)
    if value is None:
        return None
    lowest = 0 if suppress_zero else 1
    return None if lowest <= value < min_count else value


def suppress_counts(
    counts: Mapping[str, int | None],
    *,
    min_count: int,
    secondary: bool = True,
    suppress_zero: bool = False,
) -> tuple[dict[str, int | None], bool]:
    """Blank the small cells of one partition (cells adding up to a shown total); returns the
    blanked mapping and whether anything was blanked."""
    _check_min(min_count)
    result = {k: suppress_count(v, min_count=min_count, suppress_zero=suppress_zero) for k, v in counts.items()}
    blanked = [k for k, v in counts.items() if v is not None and result[k] is None]
    if secondary and len(blanked) == 1:
        candidates = [(v, k) for k, v in result.items() if v is not None and (v > 0 or suppress_zero)]
        if candidates:
            _, key = min(candidates)
            result[key] = None
            blanked.append(key)
    return result, bool(blanked)


def suppress_table_one(table: Mapping[str, Any], *, min_count: int) -> dict[str, Any]:
    """A copy of a ``table_one`` result with small cells blanked and ``suppressed`` flags set on each
    row and on the table. Percentages and statistics of blanked cells are blanked with them."""
    _check_min(min_count)
    result = copy.deepcopy(dict(table))
    any_blanked = False
    for group in result["groups"]:
        small = suppress_count(group["n"], min_count=min_count) is None
        if small:
            group["n"] = None
        group["suppressed"] = small
        any_blanked |= small
    for row in result["rows"]:
        row_blanked = False
        for cell in [*row["by_group"], row["overall"]]:
            if row["kind"] == "categorical":
                row_blanked |= _suppress_categorical(cell, min_count)
            else:
                row_blanked |= _suppress_continuous(cell, min_count)
        row["suppressed"] = row_blanked
        any_blanked |= row_blanked
    result["suppressed"] = any_blanked
    result["min_cell_count"] = min_count
    return result


def _suppress_categorical(cell: dict[str, Any], min_count: int) -> bool:
    partition = {**{f"level:{k}": v for k, v in cell["counts"].items()}, "missing": cell["n_missing"]}
    blanked, changed = suppress_counts(partition, min_count=min_count)
    for level in cell["counts"]:
        if blanked[f"level:{level}"] is None:
            cell["counts"][level] = None
            cell["percent"][level] = None
    cell["n_missing"] = blanked["missing"]
    if any(v is None for v in cell["counts"].values()) or cell["n_missing"] is None:
        # the non-missing total would give a blanked cell back by subtraction
        cell["n"] = None
    return changed


def _suppress_continuous(cell: dict[str, Any], min_count: int) -> bool:
    if suppress_count(cell["n"], min_count=min_count) is None:
        # summaries of a handful of values (min and max above all) describe individual patients
        for stat in CONTINUOUS_STATS:
            cell[stat] = None
    blanked, changed = suppress_counts({"n": cell["n"], "missing": cell["n_missing"]}, min_count=min_count)
    cell["n"], cell["n_missing"] = blanked["n"], blanked["missing"]
    return changed


def _check_min(min_count: int) -> None:
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer, got {min_count!r}")
