"""Edit checks on F7 response evaluations (DOMAIN.md §5 items 8, 27 and 28; RECIST 1.1)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

from registry.crfs.validation.base import (
    CaseBook,
    Finding,
    Rule,
    Severity,
    date_span,
    evaluations,
    finding,
    number,
    offset_days,
    rows,
    sorted_evaluations,
)

#: Typical first CT after 2–3 cycles (6–9 weeks); outside 21–120 days is queried.
FIRST_EVALUATION_DAYS = (21, 120)
PR_CHANGE_PERCENT = Decimal(-30)  # ≤ −30 % vs baseline
PD_CHANGE_PERCENT = Decimal(20)  # ≥ +20 % vs nadir …
PD_CHANGE_MM = Decimal(5)  # … and ≥ 5 mm absolute increase
#: Criteria whose thresholds EC28 knows; WHO, Choi and clinical assessments are not recomputed.
RECIST_CRITERIA = (None, "recist_1_1", "recist_1_0")


def ec08_evaluation_after_start(cb: CaseBook) -> Iterator[Finding]:
    """EC08 E: eval_date > line.start_date; W if the first evaluation is < 21 d or > 120 d after start."""
    for line in rows(cb.lines):
        start = date_span(line, "start_date")
        if start is None:
            continue
        for index, (when, ev) in enumerate(sorted_evaluations(line)):
            low, high = offset_days(start, when)
            if high <= 0:
                yield finding(
                    "EC08",
                    Severity.ERROR,
                    "response",
                    "eval_date",
                    f"eval_date ({when}) must be after the start_date ({start}) of line "
                    f"{line.get('line_number')}",
                    ev.get("id"),
                )
            elif index == 0 and (high < FIRST_EVALUATION_DAYS[0] or low > FIRST_EVALUATION_DAYS[1]):
                yield finding(
                    "EC08",
                    Severity.WARNING,
                    "response",
                    "eval_date",
                    f"first eval_date ({when}) is {low if low == high else f'{low}–{high}'} days after "
                    "the start "
                    f"of line {line.get('line_number')}; expected {FIRST_EVALUATION_DAYS[0]}–"
                    f"{FIRST_EVALUATION_DAYS[1]} days",
                    ev.get("id"),
                )


def ec27_cr_without_new_lesions(cb: CaseBook) -> Iterator[Finding]:
    """EC27 E: overall_response = CR is incompatible with new_lesions = true."""
    for line in rows(cb.lines):
        for ev in evaluations(line):
            if ev.get("overall_response") == "CR" and ev.get("new_lesions") is True:
                yield finding(
                    "EC27",
                    Severity.ERROR,
                    "response",
                    "overall_response",
                    "overall_response CR is incompatible with new_lesions = true",
                    ev.get("id"),
                )


def recist_target_category(
    baseline: Decimal, nadir: Decimal, current: Decimal, *, min_increase_mm: Decimal = PD_CHANGE_MM
) -> str:
    """RECIST target-lesion category from sums in mm: "PD", "PR" (≤ −30 %, CR included) or "SD".

    RECIST 1.1 also needs a ≥ 5 mm absolute increase for PD; RECIST 1.0 (min_increase_mm=0) does not.
    """
    increase = current - nadir
    if (
        increase > 0
        and increase >= min_increase_mm
        and (nadir == 0 or increase * 100 / nadir >= PD_CHANGE_PERCENT)
    ):
        return "PD"
    if baseline > 0 and (current - baseline) * 100 / baseline <= PR_CHANGE_PERCENT:
        return "PR"
    return "SD"


def _mismatch(entered: object, computed: str) -> bool:
    """Entered response the target sums rule out (PD may still come from new or non-target lesions)."""
    if computed == "PD":
        return entered in ("CR", "PR", "SD", "non_CR_non_PD")
    if computed == "SD":
        return entered in ("CR", "PR")
    return entered == "SD"


def _line_mismatches(line: Mapping) -> Iterator[Finding]:
    baseline = number(line.get("baseline_target_sum_mm"))
    if baseline is None:
        return
    nadir = baseline
    for _, ev in sorted_evaluations(line):
        current = number(ev.get("target_sum_mm"))
        if current is None:
            continue
        entered = ev.get("overall_response")
        criteria = ev.get("criteria")
        min_mm = Decimal(0) if criteria == "recist_1_0" else PD_CHANGE_MM
        computed = recist_target_category(baseline, nadir, current, min_increase_mm=min_mm)
        if criteria in RECIST_CRITERIA and _mismatch(entered, computed):
            change = "n/a" if baseline == 0 else f"{(current - baseline) * 100 / baseline:+.0f} %"
            yield finding(
                "EC28",
                Severity.WARNING,
                "response",
                "overall_response",
                f"overall_response {entered} disagrees with target_sum_mm {current} mm "
                f"({change} vs baseline {baseline} mm, {current - nadir:+} mm vs nadir {nadir} mm: "
                f"RECIST {computed})",
                ev.get("id"),
            )
        nadir = min(nadir, current)


def ec28_recist_consistency(cb: CaseBook) -> Iterator[Finding]:
    """EC28 W: computed RECIST mismatch (PR ≤ −30 % vs baseline; PD ≥ +20 % and ≥ 5 mm vs nadir)."""
    for line in rows(cb.lines):
        yield from _line_mismatches(line)


RULES = (
    Rule(
        "EC08",
        "E/W",
        ("response", "treatment"),
        "Evaluation after line start; first one timely",
        ec08_evaluation_after_start,
    ),
    Rule("EC27", "E", ("response",), "CR excludes new lesions", ec27_cr_without_new_lesions),
    Rule(
        "EC28",
        "W",
        ("response", "treatment"),
        "Response agrees with RECIST target sums",
        ec28_recist_consistency,
    ),
)
