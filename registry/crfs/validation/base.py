"""The vocabulary every edit check shares: severities, findings, rules, the case book and pure helpers.

Nothing here imports Django or touches a database: forms, the API, the admin and the nightly re-check all
build a `CaseBook` of plain mappings (DOMAIN.md §4 field names) and run the same rules over it
(DESIGN.md §3 point 7).

Partial dates (DOMAIN.md §4 conventions): a date field may carry `<field>_precision` in {day, month, year}.
A partial date is treated as the whole interval it could be, so a rule only fires when the order is wrong
for every possible day; EC13 separately asks for partial endpoint dates to be completed.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "E"
    WARNING = "W"
    INFO = "I"


#: The form families of crfs/catalogue.py, in case-report order.
FORMS: tuple[str, ...] = (
    "enrolment",
    "baseline",
    "tumour",
    "pathology",
    "labs",
    "treatment",
    "response",
    "followup",
    "central_review",
    "final_classification",
)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    form: str
    field: str
    message: str
    row: object | None = None


@dataclass
class CaseBook:
    """One patient's data as plain mappings keyed by DOMAIN.md §4 field names; None/[] if not entered."""

    enrolment: Mapping | None
    baseline: Mapping | None
    tumour: Mapping | None
    specimens: list[Mapping]
    labs: list[Mapping]
    lines: list[Mapping]
    other_treatments: list[Mapping]
    followups: list[Mapping]
    central_reviews: list[Mapping]
    final_classification: Mapping | None
    today: date
    data_cutoff_date: date | None = None
    in_outcome_population: bool = False
    # EC32: days without contact after which a living patient's follow-up is overdue (≈ 6 months).
    followup_interval_days: int = 183


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    forms: tuple[str, ...]
    title: str
    check: Callable[[CaseBook], Iterable[Finding]]


def finding(
    rule_id: str, severity: Severity, form: str, field: str, message: str, row: object | None = None
) -> Finding:
    """Build a Finding whose message ends with the rule id, as every query text must."""
    return Finding(
        rule=rule_id, severity=severity, form=form, field=field, message=f"{message} ({rule_id})", row=row
    )


# ---------------------------------------------------------------------------------------------------------
# Diagnosis codes (DOMAIN.md F4 local_diagnosis / F9 central_diagnosis)

NEC_DIAGNOSES = frozenset({"NEC_small_cell", "NEC_large_cell", "NEC_nos"})
NET_DIAGNOSES = frozenset({"NET_G1", "NET_G2", "NET_G3"})
HIGH_GRADE_DIAGNOSES = NEC_DIAGNOSES | {"NET_G3"}
#: Ki-67 cut-off of DOMAIN.md §2.3; "≥ 55 = high" is the Elvebakken convention the brief defaults to.
KI67_HIGH_CUTOFF = Decimal(55)


def ki67_is_high(value: Decimal) -> bool:
    """Ki-67 on the high side of the 55 % cut-off (inclusive, DOMAIN.md §2.3)."""
    return value >= KI67_HIGH_CUTOFF


# ---------------------------------------------------------------------------------------------------------
# Plain-mapping access that never fails on missing data


def value(record: Mapping | None, field: str) -> object | None:
    """The field's value, or None when the record or the field is absent."""
    if record is None:
        return None
    return record.get(field)


def rows(records: Sequence[Mapping] | None) -> list[Mapping]:
    """The repeating rows that exist (None entries and a None list are skipped)."""
    return [r for r in (records or ()) if r is not None]


def evaluations(line: Mapping) -> list[Mapping]:
    """A treatment line's F7 response evaluations."""
    return rows(line.get("evaluations"))


def is_blank(raw: object) -> bool:
    """None or a string with nothing but whitespace."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def number(raw: object) -> Decimal | None:
    """A numeric field as an exact Decimal; None when missing or not a number (booleans are not numbers)."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, Decimal):
        return raw if raw.is_finite() else None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(str(raw)) if math.isfinite(raw) else None
    if isinstance(raw, str):
        try:
            parsed = Decimal(raw.strip())
        except InvalidOperation:
            return None
        return parsed if parsed.is_finite() else None
    return None


# ---------------------------------------------------------------------------------------------------------
# Dates, including partial dates

PRECISIONS = ("day", "month", "year")


@dataclass(frozen=True)
class DateSpan:
    """The interval a (possibly partial) date can stand for."""

    earliest: date
    latest: date
    precision: str

    @property
    def is_partial(self) -> bool:
        return self.precision != "day"

    def __str__(self) -> str:
        if self.precision == "year":
            return f"{self.earliest:%Y}"
        if self.precision == "month":
            return f"{self.earliest:%Y-%m}"
        return self.earliest.isoformat()


def _as_date(raw: object) -> tuple[date, str | None] | None:
    """A date plus the precision implied by an ISO string ("2024", "2024-05"), or None."""
    if isinstance(raw, datetime):
        return raw.date(), None
    if isinstance(raw, date):
        return raw, None
    if isinstance(raw, str):
        text = raw.strip()
        try:
            if len(text) == 4:
                return date(int(text), 1, 1), "year"
            if len(text) == 7:
                return date(int(text[:4]), int(text[5:7]), 1), "month"
            return date.fromisoformat(text), None
        except ValueError:
            return None
    return None


def span_of(raw: object, precision: object = None) -> DateSpan | None:
    """The interval a raw date value of the given precision can stand for."""
    parsed = _as_date(raw)
    if parsed is None:
        return None
    day, implied = parsed
    prec = precision if precision in PRECISIONS else (implied or "day")
    if prec == "year":
        return DateSpan(date(day.year, 1, 1), date(day.year, 12, 31), "year")
    if prec == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return DateSpan(day.replace(day=1), day.replace(day=last), "month")
    return DateSpan(day, day, "day")


def date_span(record: Mapping | None, field: str) -> DateSpan | None:
    """The field's date as an interval, honouring its `<field>_precision` companion."""
    if record is None:
        return None
    return span_of(record.get(field), record.get(f"{field}_precision"))


def birth_span(baseline: Mapping | None) -> DateSpan | None:
    """Date of birth, falling back to birth_year when only the year is stored."""
    born = date_span(baseline, "date_of_birth")
    if born is not None:
        return born
    year = number(value(baseline, "birth_year"))
    if year is None or year != year.to_integral_value() or not 1 <= year <= 9999:
        return None
    return span_of(date(int(year), 1, 1), "year")


def definitely_before(a: DateSpan, b: DateSpan) -> bool:
    """a < b whichever days partial dates turn out to be."""
    return a.latest < b.earliest


def definitely_not_before(a: DateSpan, b: DateSpan) -> bool:
    """a ≥ b whichever days partial dates turn out to be."""
    return a.earliest >= b.latest


def offset_days(origin: DateSpan, later: DateSpan) -> tuple[int, int]:
    """The smallest and largest possible (later − origin) in days."""
    return (later.earliest - origin.latest).days, (later.latest - origin.earliest).days


def may_coincide(a: DateSpan, b: DateSpan) -> bool:
    """The two dates could be the same day."""
    return a.earliest <= b.latest and b.earliest <= a.latest


@dataclass(frozen=True)
class DatedField:
    form: str
    field: str
    row: object | None
    span: DateSpan
    record: Mapping


#: Every date field of the case book, by family (DOMAIN.md §4).
DATE_FIELDS: dict[str, tuple[str, ...]] = {
    "enrolment": ("registration_date", "consent_date", "date_of_diagnosis"),
    "baseline": ("date_of_birth", "ps_assessment_date"),
    "tumour": ("advanced_disease_date",),
    "pathology": ("specimen_date",),
    "labs": ("sample_date",),
    "treatment": ("start_date", "end_date", "date_progression"),
    "other_treatment": ("date",),
    "response": ("eval_date",),
    "followup": ("visit_date", "date_last_known_alive", "date_of_death"),
    "central_review": ("review_date",),
}


def _records(cb: CaseBook) -> Iterator[tuple[str, str, Mapping, object | None]]:
    """(family, date-field key, record, row id) for every record of the case book."""
    for family, record in (("enrolment", cb.enrolment), ("baseline", cb.baseline), ("tumour", cb.tumour)):
        if record is not None:
            yield family, family, record, None
    for family, records in (("pathology", cb.specimens), ("labs", cb.labs)):
        for r in rows(records):
            yield family, family, r, r.get("id")
    for line in rows(cb.lines):
        yield "treatment", "treatment", line, line.get("id")
        for ev in evaluations(line):
            yield "response", "response", ev, ev.get("id")
    for r in rows(cb.other_treatments):
        yield "treatment", "other_treatment", r, r.get("id")
    for family, records in (("followup", cb.followups), ("central_review", cb.central_reviews)):
        for r in rows(records):
            yield family, family, r, r.get("id")


def iter_dates(cb: CaseBook) -> Iterator[DatedField]:
    """Every date entered anywhere in the case book, with where it lives."""
    for family, key, record, row in _records(cb):
        for field in DATE_FIELDS[key]:
            span = date_span(record, field)
            if span is not None:
                yield DatedField(family, field, row, span, record)


def line_number(line: Mapping) -> int | None:
    """The line's number as an int, or None when missing or not a whole number."""
    n = number(line.get("line_number"))
    if n is None or n != n.to_integral_value():
        return None
    return int(n)


def first_line(cb: CaseBook) -> Mapping | None:
    """The treatment line numbered 1, if entered."""
    return next((line for line in rows(cb.lines) if line_number(line) == 1), None)


def sorted_evaluations(line: Mapping) -> list[tuple[DateSpan, Mapping]]:
    """A line's dated evaluations in date order (undated ones cannot be ordered and are left out)."""
    dated = [(span, ev) for ev in evaluations(line) if (span := date_span(ev, "eval_date")) is not None]
    return sorted(dated, key=lambda pair: (pair[0].earliest, pair[0].latest))


def first_pd(line: Mapping) -> tuple[DateSpan, Mapping] | None:
    """The line's first evaluation with overall_response = PD, with its date."""
    return next(
        ((span, ev) for span, ev in sorted_evaluations(line) if ev.get("overall_response") == "PD"), None
    )


def has_documented_progression(line: Mapping) -> bool:
    """A PD evaluation (dated or not) or a clinical-progression entry on the line."""
    return line.get("clinical_progression") is True or any(
        ev.get("overall_response") == "PD" for ev in evaluations(line)
    )
