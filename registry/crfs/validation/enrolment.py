"""Edit checks on F1 enrolment dates (DOMAIN.md §5.1 item 1)."""

from __future__ import annotations

from collections.abc import Iterator

from registry.crfs.validation.base import (
    CaseBook,
    Finding,
    Rule,
    Severity,
    birth_span,
    date_span,
    definitely_not_before,
    finding,
    iter_dates,
)

#: Diagnosis may precede registration by at most a year (catch-up registration of recent cases).
REGISTRATION_LAG_DAYS = 365


def ec01_date_order(cb: CaseBook) -> Iterator[Finding]:
    """EC01 E: date_of_birth < date_of_diagnosis ≤ registration_date + 365 d, and no date is in the future."""
    born = birth_span(cb.baseline)
    diagnosed = date_span(cb.enrolment, "date_of_diagnosis")
    registered = date_span(cb.enrolment, "registration_date")
    if born is not None and diagnosed is not None and definitely_not_before(born, diagnosed):
        yield finding(
            "EC01",
            Severity.ERROR,
            "enrolment",
            "date_of_diagnosis",
            f"date_of_diagnosis ({diagnosed}) must be after date_of_birth ({born})",
        )
    if (
        diagnosed is not None
        and registered is not None
        and (diagnosed.earliest - registered.latest).days > REGISTRATION_LAG_DAYS
    ):
        yield finding(
            "EC01",
            Severity.ERROR,
            "enrolment",
            "date_of_diagnosis",
            f"date_of_diagnosis ({diagnosed}) must be no later than registration_date ({registered}) "
            f"+ {REGISTRATION_LAG_DAYS} days",
        )
    only_year = cb.baseline is not None and cb.baseline.get("date_of_birth") is None
    if only_year and born is not None and born.earliest > cb.today:
        yield finding(
            "EC01",
            Severity.ERROR,
            "baseline",
            "birth_year",
            f"birth_year ({born}) must not be in the future",
        )
    for dated in iter_dates(cb):
        if dated.span.earliest > cb.today:
            yield finding(
                "EC01",
                Severity.ERROR,
                dated.form,
                dated.field,
                f"{dated.field} ({dated.span}) must not be in the future (today is {cb.today})",
                dated.row,
            )


RULES = (
    Rule(
        "EC01",
        "E",
        (
            "enrolment",
            "baseline",
            "tumour",
            "pathology",
            "labs",
            "treatment",
            "response",
            "followup",
            "central_review",
        ),
        "Birth, diagnosis and registration in order; no date in the future",
        ec01_date_order,
    ),
)
