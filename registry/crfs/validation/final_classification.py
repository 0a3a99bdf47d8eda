"""Edit checks on the FinalClassification (DOMAIN.md §5 item 26)."""

from __future__ import annotations

from collections.abc import Iterator

from registry.crfs.validation.base import CaseBook, Finding, Rule, Severity, finding, value

#: Final diagnoses that exclude a patient from the outcome analyses.
NOT_ANALYSABLE = frozenset({"not_HG_NEN", "not_reviewable"})


def ec26_outcome_population_classified(cb: CaseBook) -> Iterator[Finding]:
    """EC26 E: outcome population requires a FinalClassification not in {not_HG_NEN, not_reviewable}."""
    if not cb.in_outcome_population:
        return
    final = value(cb.final_classification, "final_diagnosis")
    if final is None:
        # Review still pending: shown as a status, not an error.
        yield finding(
            "EC26",
            Severity.INFO,
            "final_classification",
            "final_diagnosis",
            "final_diagnosis: awaiting central review",
        )
    elif final in NOT_ANALYSABLE:
        yield finding(
            "EC26",
            Severity.ERROR,
            "final_classification",
            "final_diagnosis",
            f"final_diagnosis {final} excludes the patient from the outcome population",
        )


RULES = (
    Rule(
        "EC26",
        "E",
        ("final_classification",),
        "Outcome population centrally classified as HG-NEN",
        ec26_outcome_population_classified,
    ),
)
