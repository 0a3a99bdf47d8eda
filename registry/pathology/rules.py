"""Pure rules of central review (no Django): diagnostic categories, discordance, and what a read leads to.

Discordance (DESIGN.md §4, DOMAIN.md §5 rule 25): a change of category (NET vs NEC vs MiNEN vs other), NET G3
vs NEC, or Ki-67 on different sides of 20 % (WHO G3 is "> 20 %") or of 55 % (the NORDIC NEC cut-off, "≥ 55 %
is high", as `crfs.validation.base.ki67_is_high`). The same rule compares local with read 1 and read 1 with
read 2. EC25's extra "≥ 20 points apart" warning is an edit check, not a routing rule; pass
`max_ki67_difference` to route on it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

NET_CODES = frozenset({"NET_G1", "NET_G2", "NET_G3"})
NEC_CODES = frozenset({"NEC_small_cell", "NEC_large_cell", "NEC_nos"})
KI67_G3_CUTOFF = Decimal(20)
KI67_HIGH_CUTOFF = Decimal(55)


class Category(StrEnum):
    NET = "NET"
    NEC = "NEC"
    MINEN = "MiNEN"
    OTHER = "other"


class Step(StrEnum):
    FINAL = "final"
    SECOND_REVIEW = "second_review"
    ADJUDICATION = "adjudication"


@dataclass(frozen=True)
class Read:
    """A diagnosis (F4/F9 codes) and Ki-67 %, local or central; adequate=False means not readable."""

    diagnosis: str
    ki67: Decimal | None
    adequate: bool = True


def category(diagnosis: str | None) -> Category:
    """NET / NEC / MiNEN / other for a local or central diagnosis code."""
    if diagnosis in NET_CODES:
        return Category.NET
    if diagnosis in NEC_CODES:
        return Category.NEC
    if diagnosis == "MiNEN":
        return Category.MINEN
    return Category.OTHER


def _side_g3(ki67: Decimal) -> bool:
    return ki67 > KI67_G3_CUTOFF


def _side_high(ki67: Decimal) -> bool:
    return ki67 >= KI67_HIGH_CUTOFF


def discordance(reference: Read, other: Read, *, max_ki67_difference: Decimal | None = None) -> list[str]:
    """Why two reads disagree (empty list = concordant)."""
    reasons = []
    if reference.adequate != other.adequate:
        reasons.append("material judged reviewable by one read only")
        return reasons
    if not reference.adequate:
        return reasons
    a, b = category(reference.diagnosis), category(other.diagnosis)
    if {reference.diagnosis, other.diagnosis} & {"NET_G3"} and {a, b} == {Category.NET, Category.NEC}:
        reasons.append("NET G3 vs NEC")
    elif a != b:
        reasons.append(f"category change ({a} vs {b})")
    if reference.ki67 is not None and other.ki67 is not None:
        x, y = Decimal(reference.ki67), Decimal(other.ki67)
        if _side_g3(x) != _side_g3(y):
            reasons.append("Ki-67 crosses 20 %")
        if _side_high(x) != _side_high(y):
            reasons.append("Ki-67 crosses 55 %")
        if max_ki67_difference is not None and abs(x - y) >= max_ki67_difference:
            reasons.append(f"Ki-67 differs by ≥ {max_ki67_difference} points")
    return reasons


def step_after_first_read(local: Read, first: Read) -> Step:
    """Concordant with local (or not reviewable) → final; otherwise a second independent read."""
    if not first.adequate:
        return Step.FINAL
    return Step.SECOND_REVIEW if discordance(local, first) else Step.FINAL


def step_after_second_read(first: Read, second: Read) -> Step:
    """Second read agrees with the first → final; otherwise adjudication."""
    return Step.ADJUDICATION if discordance(first, second) else Step.FINAL


_FINAL_BY_CODE = {
    "NET_G1": "NET_G1G2",
    "NET_G2": "NET_G1G2",
    "NET_G3": "NET_G3",
    "NEC_small_cell": "NEC_small",
    "NEC_large_cell": "NEC_large",
    "NEC_nos": "NEC_nos",
    "MiNEN": "MiNEN",
    "not_NEN": "not_HG_NEN",
}


def final_diagnosis_for(read: Read) -> str:
    """The FinalClassification code a read stands for (F9): NEC_large, NET_G3, not_reviewable, ..."""
    if not read.adequate:
        return "not_reviewable"
    return _FINAL_BY_CODE.get(read.diagnosis, "not_HG_NEN")


def final_ki67(central: list[Decimal | None], local: Decimal | None) -> tuple[Decimal | None, str]:
    """Central Ki-67 if any read gave one (the mean of agreeing reads, to 0.1), else local; and its source."""
    values = [Decimal(v) for v in central if v is not None]
    if values:
        mean = sum(values) / len(values)
        return mean.quantize(Decimal("0.1")), "central"
    if local is not None:
        return Decimal(local), "local"
    return None, "none"


_READ_CODE_BY_FINAL = {"NET_G3": "NET_G3", "NEC_small": "NEC_small_cell", "NEC_large": "NEC_large_cell",
                       "NEC_nos": "NEC_nos", "MiNEN": "MiNEN", "NET_G1G2": "NET_G2", "not_HG_NEN": "not_NEN"}


def read_of_final(final_diagnosis: str, ki67: Decimal | None) -> Read:
    """A final classification as a Read, to compare it with the local diagnosis."""
    if final_diagnosis == "not_reviewable":
        return Read("", ki67, adequate=False)
    return Read(_READ_CODE_BY_FINAL[final_diagnosis], ki67)


def discordant_with_local(local: Read, final_diagnosis: str, ki67: Decimal | None) -> bool:
    """Whether the final classification differs from the local read by the discordance rule."""
    if final_diagnosis == "not_reviewable":
        return False
    return bool(discordance(local, read_of_final(final_diagnosis, ki67)))


def analysis_group(final_diagnosis: str | None) -> str | None:
    """F10 `group`: "NEC" for NEC small/large/NOS, "NET_G3" for NET G3, None for everything else."""
    if final_diagnosis in {"NEC_small", "NEC_large", "NEC_nos"}:
        return "NEC"
    if final_diagnosis == "NET_G3":
        return "NET_G3"
    return None


def agreement_category(diagnosis: str | None) -> str:
    """The category used in the agreement tables: NET G1/G2, NET G3, NEC, MiNEN, other."""
    if diagnosis in {"NET_G1", "NET_G2"}:
        return "NET_G1G2"
    if diagnosis == "NET_G3":
        return "NET_G3"
    return str(category(diagnosis))
