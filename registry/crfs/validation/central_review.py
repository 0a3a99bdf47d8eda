"""Edit checks comparing F9 central pathology review with the local read (DOMAIN.md §5 item 25).

Only submitted reviews are compared: a reviewer must not see the local diagnosis or Ki-67 before submitting
(DESIGN.md §4, central classification), and a discordance message quotes both.
"""

from __future__ import annotations

from collections.abc import Iterator

from registry.crfs.validation.base import (
    NEC_DIAGNOSES,
    NET_DIAGNOSES,
    CaseBook,
    Finding,
    Rule,
    Severity,
    finding,
    ki67_is_high,
    number,
    rows,
)

#: Central and local Ki-67 this many percentage points apart (or more) are discordant.
KI67_DISCORDANCE_POINTS = 20


def _family(diagnosis: object) -> str | None:
    if diagnosis in NET_DIAGNOSES:
        return "NET"
    if diagnosis in NEC_DIAGNOSES:
        return "NEC"
    return None


def ec25_central_local_discordance(cb: CaseBook) -> Iterator[Finding]:
    """EC25 W: |central − local Ki-67| ≥ 20 points, or NET/NEC boundary or 55 % crossed → discordant."""
    specimens = {s.get("id"): s for s in rows(cb.specimens)}
    for review in rows(cb.central_reviews):
        local = specimens.get(review.get("specimen_id"))
        if not review.get("submitted") or local is None:
            continue
        row = review.get("id")
        local_dx, central_dx = local.get("local_diagnosis"), review.get("central_diagnosis")
        families = {_family(local_dx), _family(central_dx)}
        if families == {"NET", "NEC"}:
            yield finding(
                "EC25",
                Severity.WARNING,
                "central_review",
                "central_diagnosis",
                f"central_diagnosis {central_dx} crosses the NET/NEC boundary from local_diagnosis "
                f"{local_dx}; "
                "flagged discordant (analysis uses central)",
                row,
            )
        central_ki67, local_ki67 = (
            number(review.get("ki67_central_percent")),
            number(local.get("ki67_percent")),
        )
        if central_ki67 is None or local_ki67 is None:
            continue
        reasons = []
        if abs(central_ki67 - local_ki67) >= KI67_DISCORDANCE_POINTS:
            reasons.append(f"differs by ≥ {KI67_DISCORDANCE_POINTS} percentage points")
        if ki67_is_high(central_ki67) != ki67_is_high(local_ki67):
            reasons.append("crosses the 55 % cut-off")
        if reasons:
            yield finding(
                "EC25",
                Severity.WARNING,
                "central_review",
                "ki67_central_percent",
                f"ki67_central_percent {central_ki67} vs local ki67_percent {local_ki67} "
                f"{' and '.join(reasons)}; "
                "flagged discordant (analysis uses central)",
                row,
            )


RULES = (
    Rule(
        "EC25",
        "W",
        ("central_review", "pathology"),
        "Central vs local discordance",
        ec25_central_local_discordance,
    ),
)
