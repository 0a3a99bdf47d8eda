"""Edit checks on F3 tumour and staging (DOMAIN.md §5 item 4)."""

from __future__ import annotations

from collections.abc import Iterator

from registry.crfs.validation.base import (
    CaseBook,
    Finding,
    Rule,
    Severity,
    date_span,
    definitely_before,
    finding,
)


def ec04_advanced_after_diagnosis(cb: CaseBook) -> Iterator[Finding]:
    """EC04 E: advanced_disease_date ≥ date_of_diagnosis."""
    advanced = date_span(cb.tumour, "advanced_disease_date")
    diagnosed = date_span(cb.enrolment, "date_of_diagnosis")
    if advanced is not None and diagnosed is not None and definitely_before(advanced, diagnosed):
        yield finding(
            "EC04",
            Severity.ERROR,
            "tumour",
            "advanced_disease_date",
            f"advanced_disease_date ({advanced}) must be on or after date_of_diagnosis ({diagnosed})",
        )


RULES = (
    Rule(
        "EC04",
        "E",
        ("tumour", "enrolment"),
        "Advanced disease on or after diagnosis",
        ec04_advanced_after_diagnosis,
    ),
)
