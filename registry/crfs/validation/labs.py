"""Edit checks on F5 laboratory values (DOMAIN.md §5 items 12, 15, 16 and 34)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

from registry.crfs.validation.base import (
    CaseBook,
    DateSpan,
    Finding,
    Rule,
    Severity,
    date_span,
    finding,
    first_line,
    number,
    offset_days,
    rows,
)
from registry.crfs.validation.units import ANALYTES, Analyte, to_canonical

#: A baseline sample lies within −30 to +3 days of the line start (DOMAIN.md F5).
BASELINE_WINDOW = (-30, 3)
#: Above this multiple of the lab's own ULN a unit mix-up is suspected (µkat/L typed as U/L, Hb mmol/L).
ULN_MULTIPLE_QUERY = Decimal(10)
#: Tumour markers are not queried for > 10 × ULN: such values are common in NEN, and CgA is never converted,
#: so a unit mix-up cannot be recognised from the ratio.
ULN_MULTIPLE_EXEMPT = frozenset({"cga", "nse"})


def _in_window(sample: DateSpan, start: DateSpan) -> bool:
    """The sample could lie within −30/+3 days of the line start."""
    low, high = offset_days(start, sample)
    return high >= BASELINE_WINDOW[0] and low <= BASELINE_WINDOW[1]


def _candidate_lines(cb: CaseBook, lab: Mapping) -> list[Mapping]:
    """Lines a baseline sample may belong to: its linked line, line 1 for baseline_line1, else any line."""
    lines = rows(cb.lines)
    if lab.get("line_id") is not None:
        return [line for line in lines if line.get("id") == lab.get("line_id")]
    if lab.get("timepoint") == "baseline_line1":
        line1 = first_line(cb)
        return [] if line1 is None else [line1]
    return lines


def ec12_baseline_sample_window(cb: CaseBook) -> Iterator[Finding]:
    """EC12 W: a lab sample_date counted as "baseline" must lie within −30/+3 d of the line start."""
    for lab in rows(cb.labs):
        sample = date_span(lab, "sample_date")
        if lab.get("is_baseline") is not True or sample is None:
            continue
        starts = [s for line in _candidate_lines(cb, lab) if (s := date_span(line, "start_date")) is not None]
        if starts and not any(_in_window(sample, start) for start in starts):
            yield finding(
                "EC12",
                Severity.WARNING,
                "labs",
                "sample_date",
                f"sample_date ({sample}) of baseline {lab.get('analyte')} is outside −30/+3 days of the "
                f"line start ({', '.join(str(s) for s in starts)})",
                lab.get("id"),
            )


def _known(lab: Mapping) -> Analyte | None:
    code = lab.get("analyte")
    return ANALYTES.get(code) if isinstance(code, str) else None


def ec15_lab_value_plausible(cb: CaseBook) -> Iterator[Finding]:
    """EC15 E/W: value within hard (E) / soft (W) ranges; E if the unit is not allowed; W if > 10 × ULN."""
    for lab in rows(cb.labs):
        analyte, amount = _known(lab), number(lab.get("value"))
        if analyte is None or amount is None:
            continue
        unit, row = lab.get("unit"), lab.get("id")
        allowed = analyte.unit(unit) is not None
        if not allowed:
            yield finding(
                "EC15",
                Severity.ERROR,
                "labs",
                "unit",
                f"unit '{unit}' is not allowed for {analyte.code} "
                f"(allowed: {', '.join(u.symbol for u in analyte.units)})",
                row,
            )
        else:
            canonical = to_canonical(analyte.code, amount, unit)
            checked, shown_unit = (amount, unit) if canonical is None else (canonical, analyte.canonical_unit)
            hard_lo, hard_hi = analyte.hard
            if not hard_lo <= checked <= hard_hi:
                yield finding(
                    "EC15",
                    Severity.ERROR,
                    "labs",
                    "value",
                    f"value {checked} {shown_unit} of {analyte.code} is outside the possible range "
                    f"{hard_lo}–{hard_hi} {shown_unit}",
                    row,
                )
            elif analyte.soft is not None and not analyte.soft[0] <= checked <= analyte.soft[1]:
                yield finding(
                    "EC15",
                    Severity.WARNING,
                    "labs",
                    "value",
                    f"value {checked} {shown_unit} of {analyte.code} is outside the plausible range "
                    f"{analyte.soft[0]}–{analyte.soft[1]} {shown_unit}",
                    row,
                )
        uln = number(lab.get("uln"))
        if (
            analyte.code not in ULN_MULTIPLE_EXEMPT
            and uln is not None
            and uln > 0
            and amount > ULN_MULTIPLE_QUERY * uln
        ):
            yield finding(
                "EC15",
                Severity.WARNING,
                "labs",
                "value",
                f"value {amount} of {analyte.code} is more than 10 × uln ({uln}); check for a unit mix-up",
                row,
            )


def ec16_reference_limits(cb: CaseBook) -> Iterator[Finding]:
    """EC16 E: ULN > LLN ≥ 0; W if the ULN is outside the expected range for the analyte."""
    for lab in rows(cb.labs):
        lln, uln, row = number(lab.get("lln")), number(lab.get("uln")), lab.get("id")
        if lln is not None and lln < 0:
            yield finding("EC16", Severity.ERROR, "labs", "lln", f"lln ({lln}) must be ≥ 0", row)
        if uln is not None and ((lln is not None and uln <= lln) or uln <= 0):
            floor = "0" if lln is None or lln < 0 else f"lln ({lln})"
            yield finding(
                "EC16", Severity.ERROR, "labs", "uln", f"uln ({uln}) must be greater than {floor}", row
            )
            continue
        analyte = _known(lab)
        if (
            uln is None
            or analyte is None
            or analyte.expected_uln is None
            or analyte.unit(lab.get("unit")) is None
        ):
            continue
        canonical = to_canonical(analyte.code, uln, lab.get("unit"))
        low, high = analyte.expected_uln
        if canonical is not None and not low <= canonical <= high:
            yield finding(
                "EC16",
                Severity.WARNING,
                "labs",
                "uln",
                f"uln {canonical} {analyte.canonical_unit} for {analyte.code} is outside the expected "
                f"{low}–{high} {analyte.canonical_unit}; check the unit and the reference interval",
                row,
            )


def _is_line1_baseline_alp(lab: Mapping, line1_start: DateSpan | None) -> bool:
    if lab.get("analyte") != "alp" or lab.get("value") is None:
        return False
    if lab.get("timepoint") == "baseline_line1":
        return True
    if lab.get("is_baseline") is True and lab.get("timepoint") != "baseline_line_n":
        return True
    sample = date_span(lab, "sample_date")
    return line1_start is not None and sample is not None and _in_window(sample, line1_start)


def ec34_baseline_alp_present(cb: CaseBook) -> Iterator[Finding]:
    """EC34 W: baseline ALP missing for line 1 (a model covariate)."""
    line1 = first_line(cb)
    if line1 is None:
        return
    start = date_span(line1, "start_date")
    if not any(_is_line1_baseline_alp(lab, start) for lab in rows(cb.labs)):
        yield finding(
            "EC34",
            Severity.WARNING,
            "labs",
            "alp",
            "baseline alp value before line 1 is missing (needed as a model covariate)",
        )


RULES = (
    Rule(
        "EC12",
        "W",
        ("labs", "treatment"),
        "Baseline sample within −30/+3 d of line start",
        ec12_baseline_sample_window,
    ),
    Rule("EC15", "E/W", ("labs",), "Lab value in range and in an allowed unit", ec15_lab_value_plausible),
    Rule("EC16", "E/W", ("labs",), "Reference limits ordered and as expected", ec16_reference_limits),
    Rule(
        "EC34",
        "W",
        ("labs", "treatment"),
        "Baseline ALP present when line 1 exists",
        ec34_baseline_alp_present,
    ),
)
