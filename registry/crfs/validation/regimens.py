"""The regimen code list of DOMAIN.md F6 with drug components, and the flags derived from them.

The ORM layer seeds its Regimen/Drug tables from REGIMENS and DRUGS; the flags are always derived from the
components in code, never typed by hand (DOMAIN.md §8). "Platinum-based" in the NET G3 model means cis- or
carboplatin + etoposide (`is_platinum_etoposide`); oxaliplatin regimens (FOLFOX, CAPOX) only set
`contains_platinum_any` (DOMAIN.md F6 ⚠ note).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


class DrugLike(Protocol):
    """What the flag functions read: a `Drug` below or the ORM's seeded Drug row."""

    code: str
    is_platinum: bool
    platinum_agent: str | None
    is_cytotoxic: bool


@dataclass(frozen=True)
class Drug:
    code: str
    name: str
    atc_code: str
    is_platinum: bool = False
    platinum_agent: str | None = None  # "cisplatin" | "carboplatin" | "oxaliplatin"
    is_cytotoxic: bool = False


DRUGS: dict[str, Drug] = {
    d.code: d
    for d in (
        Drug("cisplatin", "Cisplatin", "L01XA01", True, "cisplatin", True),
        Drug("carboplatin", "Carboplatin", "L01XA02", True, "carboplatin", True),
        Drug("oxaliplatin", "Oxaliplatin", "L01XA03", True, "oxaliplatin", True),
        Drug("etoposide", "Etoposide", "L01CB01", is_cytotoxic=True),
        Drug("irinotecan", "Irinotecan", "L01CE02", is_cytotoxic=True),
        Drug("topotecan", "Topotecan", "L01CE01", is_cytotoxic=True),
        Drug("fluorouracil", "5-fluorouracil", "L01BC02", is_cytotoxic=True),
        Drug("capecitabine", "Capecitabine", "L01BC06", is_cytotoxic=True),
        Drug("folinic_acid", "Leucovorin (folinic acid)", "V03AF03"),
        Drug("temozolomide", "Temozolomide", "L01AX03", is_cytotoxic=True),
        Drug("streptozocin", "Streptozocin", "L01AD04", is_cytotoxic=True),
        Drug("vincristine", "Vincristine", "L01CA02", is_cytotoxic=True),
        Drug("paclitaxel", "Paclitaxel", "L01CD01", is_cytotoxic=True),
        Drug("docetaxel", "Docetaxel", "L01CD02", is_cytotoxic=True),
        Drug("everolimus", "Everolimus", "L01EG02"),
        Drug("sunitinib", "Sunitinib", "L01EX01"),
        Drug("bevacizumab", "Bevacizumab", "L01FG01"),
        Drug("somatostatin_analogue", "Somatostatin analogue (octreotide LAR / lanreotide)", "H01CB"),
        Drug("lutetium_177_dotatate", "177Lu-DOTATATE", "V10XX04"),
        Drug("pd1_pdl1_inhibitor", "Anti-PD-1/PD-L1 antibody", "L01FF"),
    )
}


@dataclass(frozen=True)
class Regimen:
    code: str
    label: str
    drugs: tuple[str, ...]  # DRUGS codes
    synonyms: tuple[str, ...] = ()  # other names seen in charts, used only to match free text (EC35)

    @property
    def components(self) -> tuple[Drug, ...]:
        return tuple(DRUGS[d] for d in self.drugs)


REGIMENS: tuple[Regimen, ...] = (
    Regimen("cis_etop", "Cisplatin + etoposide", ("cisplatin", "etoposide")),
    Regimen("carbo_etop", "Carboplatin + etoposide", ("carboplatin", "etoposide")),
    Regimen(
        "carbo_etop_vincristine",
        "Carboplatin + etoposide + vincristine",
        ("carboplatin", "etoposide", "vincristine"),
    ),
    Regimen("cis_irinotecan", "Cisplatin + irinotecan", ("cisplatin", "irinotecan")),
    Regimen("carbo_irinotecan", "Carboplatin + irinotecan", ("carboplatin", "irinotecan")),
    Regimen(
        "carbo_paclitaxel_etop",
        "Carboplatin + paclitaxel + etoposide",
        ("carboplatin", "paclitaxel", "etoposide"),
    ),
    Regimen(
        "folfiri", "FOLFIRI (5-FU + leucovorin + irinotecan)", ("fluorouracil", "folinic_acid", "irinotecan")
    ),
    Regimen(
        "folfox", "FOLFOX (5-FU + leucovorin + oxaliplatin)", ("fluorouracil", "folinic_acid", "oxaliplatin")
    ),
    Regimen("capox", "CAPOX (capecitabine + oxaliplatin)", ("capecitabine", "oxaliplatin"), ("XELOX",)),
    Regimen(
        "folfirinox",
        "FOLFIRINOX (5-FU + leucovorin + irinotecan + oxaliplatin)",
        ("fluorouracil", "folinic_acid", "irinotecan", "oxaliplatin"),
    ),
    Regimen(
        "captem",
        "CAPTEM (capecitabine + temozolomide)",
        ("capecitabine", "temozolomide"),
        ("TEMCAP", "CAPTEM"),
    ),
    Regimen("temozolomide", "Temozolomide", ("temozolomide",)),
    Regimen("stz_5fu", "Streptozocin + 5-FU", ("streptozocin", "fluorouracil")),
    Regimen("everolimus", "Everolimus", ("everolimus",)),
    Regimen("sunitinib", "Sunitinib", ("sunitinib",)),
    Regimen(
        "ssa",
        "Somatostatin analogue (octreotide LAR / lanreotide)",
        ("somatostatin_analogue",),
        ("octreotide", "octreotide LAR", "lanreotide", "Sandostatin LAR", "Somatuline"),
    ),
    Regimen(
        "prrt_lu177",
        "PRRT 177Lu-DOTATATE",
        ("lutetium_177_dotatate",),
        ("Lu-177 DOTATATE", "lutetium DOTATATE", "Lutathera", "PRRT"),
    ),
    Regimen("topotecan", "Topotecan", ("topotecan",)),
    Regimen("docetaxel", "Docetaxel", ("docetaxel",)),
    Regimen("paclitaxel", "Paclitaxel", ("paclitaxel",)),
    Regimen(
        "immunotherapy",
        "Immunotherapy (anti-PD-1 ± anti-CTLA-4)",
        ("pd1_pdl1_inhibitor",),
        ("nivolumab", "pembrolizumab", "ipilimumab nivolumab", "spartalizumab"),
    ),
    # The chemotherapy backbone (and so the platinum flag) varies; only bevacizumab is fixed.
    Regimen(
        "bevacizumab_combo",
        "Chemotherapy + bevacizumab",
        ("bevacizumab",),
        ("FOLFIRI bevacizumab", "FOLFOX bevacizumab", "FOLFIRINOX bevacizumab", "CAPOX bevacizumab"),
    ),
    Regimen("other", "Other (free text)", ()),
)

REGIMENS_BY_CODE: dict[str, Regimen] = {r.code: r for r in REGIMENS}


def regimen(code: str) -> Regimen:
    """The regimen with this code (KeyError if unknown)."""
    return REGIMENS_BY_CODE[code]


def contains_platinum_any(components: Iterable[DrugLike]) -> bool:
    """Any platinum agent: cisplatin, carboplatin or oxaliplatin."""
    return any(d.is_platinum for d in components)


def is_platinum_etoposide(components: Iterable[DrugLike]) -> bool:
    """Cisplatin or carboplatin together with etoposide (the NET G3 model's "platinum-based")."""
    drugs = tuple(components)
    has_cis_carbo = any(d.platinum_agent in ("cisplatin", "carboplatin") for d in drugs)
    return has_cis_carbo and any(d.code == "etoposide" for d in drugs)


def is_temozolomide_based(components: Iterable[DrugLike]) -> bool:
    """Contains temozolomide (alone or, as in CAPTEM, with capecitabine)."""
    return any(d.code == "temozolomide" for d in components)


def is_chemotherapy(components: Iterable[DrugLike]) -> bool:
    """Contains at least one cytotoxic drug (SSA, everolimus, PRRT alone are not chemotherapy)."""
    return any(d.is_cytotoxic for d in components)


def line_is_platinum_etoposide(line: Mapping) -> bool | None:
    """A line's stored flag, else the flag derived from its regimen code; None when neither is known."""
    stored = line.get("is_platinum_etoposide")
    if isinstance(stored, bool):
        return stored
    known = REGIMENS_BY_CODE.get(line.get("regimen"))
    return None if known is None else is_platinum_etoposide(known.components)


# ---------------------------------------------------------------------------------------------------------
# Fuzzy matching of free text against coded regimens (EC35)

_NOISE = frozenset(
    {"and", "plus", "with", "iv", "po", "oral", "mono", "monotherapy", "regimen", "q21d", "q14d"}
)
#: SequenceMatcher ratio at or above which free text is taken to name a coded regimen.
FUZZY_CUTOFF = 0.85


_DOSE = re.compile(r"\b(auc\s*)?\d+([.,]\d+)?\s*(mg|g|mcg|µg|ug|gbq|mbq)?(\s*/\s*(m2|m²|kg|d|day))?\b")


def _normalise(text: str) -> str:
    """Lower-case words without doses ("37.5 mg", "AUC 5") or filler words; keeps "5-fu" and "177"."""
    lowered = (
        text.lower().replace("5-fu", "fluorouracil").replace("lu-177", "lu177").replace("177lu", "lu177")
    )
    words = re.sub(r"[^0-9a-z]+", " ", _DOSE.sub(" ", lowered)).split()
    return " ".join(w for w in words if w not in _NOISE)


def _candidates() -> dict[str, str]:
    """Normalised names (code, label, drug list; word order ignored) → regimen code."""
    names: dict[str, str] = {}
    for r in REGIMENS:
        if r.code == "other":
            continue
        drug_names = " ".join(DRUGS[d].name for d in r.drugs)
        for name in (r.code, r.label, re.sub(r"\(.*\)", "", r.label), drug_names, *r.synonyms):
            norm = _normalise(name)
            if norm:
                names.setdefault(norm, r.code)
                names.setdefault(" ".join(sorted(norm.split())), r.code)
    return names


_CANDIDATES = _candidates()


def match_regimen(text: str | None) -> str | None:
    """The coded regimen whose name the free text (nearly) spells, else None."""
    if not text:
        return None
    norm = _normalise(text)
    if not norm:
        return None
    best: tuple[float, str] | None = None
    for probe in (norm, " ".join(sorted(norm.split()))):
        for match in difflib.get_close_matches(probe, _CANDIDATES, n=1, cutoff=FUZZY_CUTOFF):
            ratio = difflib.SequenceMatcher(None, probe, match).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, _CANDIDATES[match])
    return None if best is None else best[1]
