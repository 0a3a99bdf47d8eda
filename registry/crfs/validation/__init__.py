"""Pure edit checks EC01–EC36 of DOMAIN.md §5, shared by forms, the API, the admin and the nightly re-check.

    findings = run_checks(casebook)                     # every rule
    findings = run_checks(casebook, forms=["labs"])     # only rules that read the labs family

No Django, no database: callers build a `CaseBook` of plain mappings (DOMAIN.md §4 field names).
"""

from __future__ import annotations

from collections.abc import Iterable

from registry.crfs.validation import (
    baseline,
    central_review,
    enrolment,
    final_classification,
    followup,
    labs,
    pathology,
    response,
    treatment,
    tumour,
)
from registry.crfs.validation.base import FORMS, CaseBook, Finding, Rule, Severity

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            *enrolment.RULES,
            *baseline.RULES,
            *tumour.RULES,
            *pathology.RULES,
            *labs.RULES,
            *treatment.RULES,
            *response.RULES,
            *followup.RULES,
            *central_review.RULES,
            *final_classification.RULES,
        ),
        key=lambda r: int(r.id[2:]),
    )
)
_BY_ID = {r.id: r for r in RULES}


def rule(id: str) -> Rule:  # the contract names the parameter `id`
    """The rule with this id ("EC01".."EC36"); KeyError if unknown."""
    return _BY_ID[id]


def rules_for(forms: Iterable[str] | None = None) -> tuple[Rule, ...]:
    """All rules, or those reading any of the given form families (ValueError on an unknown family)."""
    if forms is None:
        return RULES
    wanted = {forms} if isinstance(forms, str) else set(forms)
    unknown = wanted - set(FORMS)
    if unknown:
        raise ValueError(f"unknown form families: {', '.join(sorted(unknown))}")
    return tuple(r for r in RULES if wanted.intersection(r.forms))


def run_checks(casebook: CaseBook, forms: Iterable[str] | None = None) -> list[Finding]:
    """Run all rules (or those touching the given families) over one patient's case book."""
    return [f for r in rules_for(forms) for f in r.check(casebook)]


__all__ = ["FORMS", "RULES", "CaseBook", "Finding", "Rule", "Severity", "rule", "rules_for", "run_checks"]
