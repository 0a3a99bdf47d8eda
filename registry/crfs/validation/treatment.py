"""Edit checks on F6 treatment lines (DOMAIN.md §5 items 5–7, 9, 17, 29, 30, 35 and 36)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from registry.crfs.validation.base import (
    CaseBook,
    Finding,
    Rule,
    Severity,
    date_span,
    definitely_before,
    finding,
    first_line,
    first_pd,
    has_documented_progression,
    is_blank,
    line_number,
    may_coincide,
    number,
    rows,
    value,
)
from registry.crfs.validation.regimens import line_is_platinum_etoposide, match_regimen

#: Platinum-etoposide is usually given for 4–6 cycles [PK]; more than this is queried.
MAX_PLATINUM_ETOPOSIDE_CYCLES = 12


def _numbered_lines(cb: CaseBook) -> list[tuple[int, Mapping]]:
    """Lines with a usable line_number, in line order."""
    numbered = [(n, line) for line in rows(cb.lines) if (n := line_number(line)) is not None]
    return sorted(numbered, key=lambda pair: pair[0])


def ec05_line_after_diagnosis(cb: CaseBook) -> Iterator[Finding]:
    """EC05 E: line.start_date ≥ date_of_diagnosis; W if palliative and before advanced_disease_date."""
    diagnosed = date_span(cb.enrolment, "date_of_diagnosis")
    advanced = date_span(cb.tumour, "advanced_disease_date")
    for line in rows(cb.lines):
        start = date_span(line, "start_date")
        if start is None:
            continue
        if diagnosed is not None and definitely_before(start, diagnosed):
            yield finding(
                "EC05",
                Severity.ERROR,
                "treatment",
                "start_date",
                f"start_date ({start}) of line {line.get('line_number')} must be on or after "
                "date_of_diagnosis "
                f"({diagnosed})",
                line.get("id"),
            )
        elif (
            line.get("intent") == "palliative" and advanced is not None and definitely_before(start, advanced)
        ):
            yield finding(
                "EC05",
                Severity.WARNING,
                "treatment",
                "start_date",
                f"palliative line {line.get('line_number')} start_date ({start}) is before "
                f"advanced_disease_date ({advanced})",
                line.get("id"),
            )


def ec06_lines_in_order(cb: CaseBook) -> Iterator[Finding]:
    """EC06 E: line(n+1).start_date ≥ line(n).start_date; W if line(n+1).start_date < line(n).end_date."""
    numbered = _numbered_lines(cb)
    for (n, previous), (m, current) in zip(numbered, numbered[1:], strict=False):
        start, previous_start = date_span(current, "start_date"), date_span(previous, "start_date")
        previous_end = date_span(previous, "end_date")
        if start is None:
            continue
        if previous_start is not None and definitely_before(start, previous_start):
            yield finding(
                "EC06",
                Severity.ERROR,
                "treatment",
                "start_date",
                f"start_date ({start}) of line {m} must be on or after the start_date "
                f"({previous_start}) of line {n}",
                current.get("id"),
            )
        elif previous_end is not None and definitely_before(start, previous_end):
            yield finding(
                "EC06",
                Severity.WARNING,
                "treatment",
                "start_date",
                f"start_date ({start}) of line {m} is before the end_date ({previous_end}) of line {n} "
                "(overlapping lines)",
                current.get("id"),
            )


def ec07_line_ends_after_start(cb: CaseBook) -> Iterator[Finding]:
    """EC07 E: line.end_date ≥ line.start_date."""
    for line in rows(cb.lines):
        start, end = date_span(line, "start_date"), date_span(line, "end_date")
        if start is not None and end is not None and definitely_before(end, start):
            yield finding(
                "EC07",
                Severity.ERROR,
                "treatment",
                "end_date",
                f"end_date ({end}) of line {line.get('line_number')} must be on or after "
                f"start_date ({start})",
                line.get("id"),
            )


def ec09_progression_date(cb: CaseBook) -> Iterator[Finding]:
    """EC09 E: date_of_progression ≥ line.start_date, and = the first PD evaluation (or clinical-PD) date."""
    for line in rows(cb.lines):
        progressed = date_span(line, "date_progression")
        if progressed is None:
            continue
        row, number_ = line.get("id"), line.get("line_number")
        start = date_span(line, "start_date")
        if start is not None and definitely_before(progressed, start):
            yield finding(
                "EC09",
                Severity.ERROR,
                "treatment",
                "date_progression",
                f"date_progression ({progressed}) of line {number_} must be on or after start_date ({start})",
                row,
            )
            continue
        clinical = line.get("clinical_progression") is True
        first = first_pd(line)
        if first is None:
            if not has_documented_progression(line):
                yield finding(
                    "EC09",
                    Severity.ERROR,
                    "treatment",
                    "date_progression",
                    f"date_progression ({progressed}) of line {number_} has no PD evaluation or clinical "
                    "progression behind it",
                    row,
                )
            continue
        first_date = first[0]
        if clinical and definitely_before(first_date, progressed):
            yield finding(
                "EC09",
                Severity.ERROR,
                "treatment",
                "date_progression",
                f"date_progression ({progressed}) of line {number_} is after its first PD evaluation "
                f"({first_date})",
                row,
            )
        elif not clinical and not may_coincide(progressed, first_date):
            yield finding(
                "EC09",
                Severity.ERROR,
                "treatment",
                "date_progression",
                f"date_progression ({progressed}) of line {number_} must equal the date of its first PD "
                f"evaluation ({first_date})",
                row,
            )


def ec17_cycles(cb: CaseBook) -> Iterator[Finding]:
    """EC17 E: n_cycles ≥ 1 if start_date is set; W if > 12 cycles of platinum-etoposide."""
    for line in rows(cb.lines):
        raw = line.get("n_cycles")
        cycles = number(raw)
        if raw is None:
            continue
        if line.get("start_date") is not None and (cycles is None or cycles < 1):
            yield finding(
                "EC17",
                Severity.ERROR,
                "treatment",
                "n_cycles",
                f"n_cycles ({raw}) of line {line.get('line_number')} must be at least 1 once "
                "start_date is set",
                line.get("id"),
            )
        elif (
            cycles is not None and cycles > MAX_PLATINUM_ETOPOSIDE_CYCLES and line_is_platinum_etoposide(line)
        ):
            yield finding(
                "EC17",
                Severity.WARNING,
                "treatment",
                "n_cycles",
                f"n_cycles ({raw}) of platinum-etoposide on line {line.get('line_number')} is more than "
                f"{MAX_PLATINUM_ETOPOSIDE_CYCLES} (usually 4–6)",
                line.get("id"),
            )


def ec29_stopped_for_progression(cb: CaseBook) -> Iterator[Finding]:
    """EC29 E: reason_stopped = progression requires a PD evaluation or clinical-progression entry."""
    for line in rows(cb.lines):
        if line.get("reason_stopped") == "progression" and not has_documented_progression(line):
            yield finding(
                "EC29",
                Severity.ERROR,
                "treatment",
                "reason_stopped",
                f"reason_stopped = progression on line {line.get('line_number')} requires a PD evaluation or "
                "clinical_progression on that line",
                line.get("id"),
            )


def _stop_documented(line: Mapping) -> bool:
    return (
        has_documented_progression(line)
        or line.get("date_progression") is not None
        or line.get("reason_stopped") not in (None, "ongoing")
    )


def ec30_next_line_has_a_reason(cb: CaseBook) -> Iterator[Finding]:
    """EC30 W: line_number ≥ 2 started without a documented PD or stop reason on the previous line."""
    by_number = dict(_numbered_lines(cb))
    for n, line in by_number.items():
        if n < 2:
            continue
        previous = by_number.get(n - 1)
        if previous is None:
            yield finding(
                "EC30",
                Severity.WARNING,
                "treatment",
                "line_number",
                f"line {n} was started but line_number {n - 1} is not recorded",
                line.get("id"),
            )
        elif not _stop_documented(previous):
            yield finding(
                "EC30",
                Severity.WARNING,
                "treatment",
                "reason_stopped",
                f"line {n} was started without a documented progression or reason_stopped on line {n - 1}",
                previous.get("id"),
            )


def ec35_other_regimen_text(cb: CaseBook) -> Iterator[Finding]:
    """EC35 E: regimen = other requires free text; W if the free text matches a coded regimen name."""
    for line in rows(cb.lines):
        if line.get("regimen") != "other":
            continue
        text = line.get("regimen_other_text")
        if is_blank(text):
            yield finding(
                "EC35",
                Severity.ERROR,
                "treatment",
                "regimen_other_text",
                f"regimen_other_text is required when regimen = other (line {line.get('line_number')})",
                line.get("id"),
            )
        elif (code := match_regimen(str(text))) is not None:
            yield finding(
                "EC35",
                Severity.WARNING,
                "treatment",
                "regimen_other_text",
                f"regimen_other_text '{text}' looks like the coded regimen '{code}'; "
                "choose it instead of other",
                line.get("id"),
            )


def _is_net_g3(cb: CaseBook) -> bool:
    """NET G3 by the final classification, or by the diagnostic local pathology while review is pending."""
    final = value(cb.final_classification, "final_diagnosis")
    if final is not None:
        return final == "NET_G3"
    specimens = rows(cb.specimens)
    diagnostic = [s for s in specimens if s.get("is_diagnostic") is True] or specimens
    return any(s.get("local_diagnosis") == "NET_G3" for s in diagnostic)


def ec36_platinum_etoposide_for_net_g3(cb: CaseBook) -> Iterator[Finding]:
    """EC36 I: a platinum-etoposide first line in NET G3 is flagged for information only (allowed)."""
    line1 = first_line(cb)
    if line1 is not None and line_is_platinum_etoposide(line1) and _is_net_g3(cb):
        yield finding(
            "EC36",
            Severity.INFO,
            "treatment",
            "regimen",
            f"first-line regimen {line1.get('regimen')} is platinum-etoposide in NET G3 (allowed; "
            "sub-effective per NORDIC NEC 2)",
            line1.get("id"),
        )


RULES = (
    Rule(
        "EC05",
        "E/W",
        ("treatment", "enrolment", "tumour"),
        "Line starts after diagnosis",
        ec05_line_after_diagnosis,
    ),
    Rule("EC06", "E/W", ("treatment",), "Lines in order and not overlapping", ec06_lines_in_order),
    Rule("EC07", "E", ("treatment",), "Line ends on or after its start", ec07_line_ends_after_start),
    Rule(
        "EC09",
        "E",
        ("treatment", "response"),
        "Progression date consistent with evaluations",
        ec09_progression_date,
    ),
    Rule("EC17", "E/W", ("treatment",), "Cycle count plausible", ec17_cycles),
    Rule(
        "EC29",
        "E",
        ("treatment", "response"),
        "Stopped for progression needs documented PD",
        ec29_stopped_for_progression,
    ),
    Rule(
        "EC30",
        "W",
        ("treatment", "response"),
        "Later line started for a documented reason",
        ec30_next_line_has_a_reason,
    ),
    Rule(
        "EC35", "E/W", ("treatment",), "Other regimen described and not a coded one", ec35_other_regimen_text
    ),
    Rule(
        "EC36",
        "I",
        ("treatment", "pathology", "final_classification"),
        "Platinum-etoposide first line in NET G3",
        ec36_platinum_etoposide_for_net_g3,
    ),
)
