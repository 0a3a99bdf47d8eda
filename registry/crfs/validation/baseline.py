"""Edit checks on F2 demographics and baseline status (DOMAIN.md §5 items 2 and 33)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from registry.crfs.validation.base import (
    CaseBook,
    Finding,
    Rule,
    Severity,
    birth_span,
    date_span,
    finding,
    first_line,
    number,
    value,
)

ADULT_AGE = 18
OLDEST_PLAUSIBLE_AGE = 100


def _completed_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _age_bounds(cb: CaseBook) -> tuple[int, int] | None:
    """Youngest and oldest possible completed age at diagnosis (partial dates widen the bounds)."""
    born = birth_span(cb.baseline)
    diagnosed = date_span(cb.enrolment, "date_of_diagnosis")
    if born is not None and diagnosed is not None:
        return _completed_years(born.latest, diagnosed.earliest), _completed_years(
            born.earliest, diagnosed.latest
        )
    entered = number(value(cb.baseline, "age_at_diagnosis"))
    if entered is None:
        return None
    return int(entered), int(entered)


def ec02_adult_age(cb: CaseBook) -> Iterator[Finding]:
    """EC02 E: age_at_diagnosis ≥ 18 (adult registry); W if > 100."""
    bounds = _age_bounds(cb)
    if bounds is None:
        return
    youngest, oldest = bounds
    if oldest < ADULT_AGE:
        yield finding(
            "EC02",
            Severity.ERROR,
            "baseline",
            "age_at_diagnosis",
            f"age_at_diagnosis ({oldest}) must be at least {ADULT_AGE} (adult registry)",
        )
    elif youngest > OLDEST_PLAUSIBLE_AGE:
        yield finding(
            "EC02",
            Severity.WARNING,
            "baseline",
            "age_at_diagnosis",
            f"age_at_diagnosis ({youngest}) is over {OLDEST_PLAUSIBLE_AGE}; check date_of_birth",
        )


def ec33_baseline_ps_present(cb: CaseBook) -> Iterator[Finding]:
    """EC33 W: baseline PS missing for a patient with line 1 (PS is in three of the four reported models)."""
    if first_line(cb) is not None and value(cb.baseline, "ecog_ps") is None:
        yield finding(
            "EC33",
            Severity.WARNING,
            "baseline",
            "ecog_ps",
            "ecog_ps at baseline is missing for a patient with a first treatment line",
        )


RULES = (
    Rule("EC02", "E/W", ("enrolment", "baseline"), "Adult at diagnosis; query over 100", ec02_adult_age),
    Rule(
        "EC33",
        "W",
        ("baseline", "treatment"),
        "Baseline PS present when line 1 exists",
        ec33_baseline_ps_present,
    ),
)
