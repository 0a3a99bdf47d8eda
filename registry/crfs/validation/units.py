"""Laboratory analytes of DOMAIN.md F5: unit whitelist, hard/soft ranges, expected ULN and exact conversions.

Only conversions that are exact are offered (DOMAIN.md §8): ALP/LDH µkat/L ↔ U/L (× 60), haemoglobin
g/L ↔ g/dL (× 0.1) and mmol/L → g/dL (× 1.611, one way only). Chromogranin A is assay specific and is never
converted: its value is always kept in the unit the lab reported, with that lab's ULN. Arithmetic is in
Decimal so a converted value is exactly the stated factor times the entered value.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal

MICRO = "\u00b5"  # µ MICRO SIGN, the spelling stored; GREEK SMALL LETTER MU and a plain "u" are accepted


class UnitConversionError(ValueError):
    """The conversion is not one of the exact conversions the registry allows."""


@dataclass(frozen=True)
class Unit:
    symbol: str
    to_canonical: Decimal | None  # factor to the analyte's canonical unit; None = never converted
    convertible_to: bool = True  # False when converting *into* this unit would not be exact


@dataclass(frozen=True)
class Analyte:
    code: str
    name: str
    canonical_unit: str | None  # None = assay specific (CgA)
    units: tuple[Unit, ...]
    hard: tuple[Decimal, Decimal]  # E outside (canonical unit, or the entered unit when never converted)
    soft: tuple[Decimal, Decimal] | None = None  # W outside
    expected_uln: tuple[Decimal, Decimal] | None = None  # W when the lab's ULN falls outside (EC16)

    def unit(self, symbol: str | None) -> Unit | None:
        """The allowed unit this spelling stands for, or None."""
        wanted = normalise_unit(symbol)
        return next((u for u in self.units if u.symbol == wanted), None)


def _d(x: str | int) -> Decimal:
    return Decimal(x)


def _range(lo: str | int, hi: str | int) -> tuple[Decimal, Decimal]:
    return _d(lo), _d(hi)


_ONE = _d(1)
_PER_L_E9 = "×10⁹/L"

# Ranges from DOMAIN.md F5 (hard/soft). Expected ULN intervals are [INF] brackets around the Nordic and
# textbook reference limits quoted there (ALP's 80–150 U/L is DOMAIN.md §5 item 16's own example).
ANALYTES: dict[str, Analyte] = {
    a.code: a
    for a in (
        Analyte(
            "alp",
            "Alkaline phosphatase",
            "U/L",
            (Unit("U/L", _ONE), Unit(f"{MICRO}kat/L", _d(60))),
            _range(5, 10_000),
            _range(20, 3_000),
            _range(80, 150),
        ),
        Analyte(
            "ldh",
            "Lactate dehydrogenase",
            "U/L",
            (Unit("U/L", _ONE), Unit(f"{MICRO}kat/L", _d(60))),
            _range(20, 20_000),
            _range(80, 5_000),
            _range(150, 350),
        ),
        Analyte(
            "crp", "C-reactive protein", "mg/L", (Unit("mg/L", _ONE),), _range(0, 600), None, _range(3, 10)
        ),
        Analyte(
            "platelets",
            "Platelet count",
            _PER_L_E9,
            (Unit(_PER_L_E9, _ONE),),
            _range(1, 3_000),
            _range(20, 1_500),
            _range(300, 500),
        ),
        Analyte(
            "haemoglobin",
            "Haemoglobin",
            "g/dL",
            (Unit("g/dL", _ONE), Unit("g/L", _d("0.1")), Unit("mmol/L", _d("1.611"), convertible_to=False)),
            _range(3, 25),
            None,
            _range(14, 19),
        ),
        Analyte(
            "wbc", "Leucocytes", _PER_L_E9, (Unit(_PER_L_E9, _ONE),), _range(0, 200), None, _range(9, 13)
        ),
        Analyte(
            "neutrophils",
            "Neutrophils",
            _PER_L_E9,
            (Unit(_PER_L_E9, _ONE),),
            _range(0, 200),
            None,
            _range(6, 9),
        ),
        Analyte(
            "lymphocytes",
            "Lymphocytes",
            _PER_L_E9,
            (Unit(_PER_L_E9, _ONE),),
            _range(0, 200),
            None,
            _range(3, 5),
        ),
        Analyte("albumin", "Albumin", "g/L", (Unit("g/L", _ONE),), _range(5, 70), None, _range(45, 55)),
        Analyte(
            "bilirubin",
            "Total bilirubin",
            f"{MICRO}mol/L",
            (Unit(f"{MICRO}mol/L", _ONE),),
            _range(1, 1_000),
            None,
            _range(15, 35),
        ),
        Analyte(
            "creatinine",
            "Creatinine",
            f"{MICRO}mol/L",
            (Unit(f"{MICRO}mol/L", _ONE),),
            _range(10, 2_000),
            None,
            _range(80, 130),
        ),
        # Assay specific: both units are allowed, neither is converted, no ULN expectation is possible.
        Analyte(
            "cga",
            "Chromogranin A",
            None,
            (Unit(f"{MICRO}g/L", None), Unit("nmol/L", None)),
            _range(0, 1_000_000),
        ),
        # ng/mL is the same quantity as µg/L (factor 1), so it is accepted and stored as µg/L-equivalent.
        Analyte(
            "nse",
            "Neuron-specific enolase",
            f"{MICRO}g/L",
            (Unit(f"{MICRO}g/L", _ONE), Unit("ng/mL", _ONE)),
            _range(0, 10_000),
            None,
            _range(10, 25),
        ),
    )
}

# Spellings seen on lab reports → the stored symbol (keys compared case-insensitively).
_ALIASES = {
    "u/l": "U/L",
    "iu/l": "U/L",
    "ukat/l": f"{MICRO}kat/L",
    "mg/l": "mg/L",
    "g/dl": "g/dL",
    "g/l": "g/L",
    "mmol/l": "mmol/L",
    "nmol/l": "nmol/L",
    "umol/l": f"{MICRO}mol/L",
    "ug/l": f"{MICRO}g/L",
    "ng/ml": "ng/mL",
    "x10^9/l": _PER_L_E9,
    "x10e9/l": _PER_L_E9,
    "10^9/l": _PER_L_E9,
    "x109/l": _PER_L_E9,
    "×10⁹/l": _PER_L_E9,
    "x10⁹/l": _PER_L_E9,
    "10⁹/l": _PER_L_E9,
}


def normalise_unit(symbol: str | None) -> str | None:
    """The stored spelling of a unit ("ukat/l", "μkat/L" → "µkat/L"); unknown spellings come back trimmed."""
    if not isinstance(symbol, str):
        return None
    text = unicodedata.normalize("NFC", symbol.strip()).replace("\u03bc", MICRO).replace(" ", "")
    key = text.lower().replace(MICRO, "u")
    return _ALIASES.get(key, _ALIASES.get(text.lower(), text))


def allowed_units(analyte: str) -> tuple[str, ...]:
    """The units a value of this analyte may be entered in (empty for an unknown analyte)."""
    known = ANALYTES.get(analyte)
    return () if known is None else tuple(u.symbol for u in known.units)


def is_allowed_unit(analyte: str, unit: str | None) -> bool:
    """The unit is on the analyte's whitelist."""
    known = ANALYTES.get(analyte)
    return known is not None and known.unit(unit) is not None


def _as_decimal(value: Decimal | int | float | str) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a laboratory value")
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def convert(analyte: str, value: Decimal | int | float | str, from_unit: str, to_unit: str) -> Decimal:
    """The value in to_unit, using only the exact factors; raises UnitConversionError otherwise."""
    known = ANALYTES.get(analyte)
    if known is None:
        raise UnitConversionError(f"unknown analyte {analyte!r}")
    source, target = known.unit(from_unit), known.unit(to_unit)
    if source is None or target is None:
        raise UnitConversionError(f"{analyte}: {from_unit!r} → {to_unit!r} is not an allowed unit pair")
    amount = _as_decimal(value)
    if source == target:
        return amount
    if source.to_canonical is None or target.to_canonical is None:
        raise UnitConversionError(f"{analyte} is assay specific and is never converted")
    if not target.convertible_to:
        raise UnitConversionError(f"{analyte}: converting into {target.symbol} is not exact")
    if target.to_canonical == 1:
        return amount * source.to_canonical
    return amount * source.to_canonical / target.to_canonical


def to_canonical(analyte: str, value: Decimal | int | float | str, unit: str) -> Decimal | None:
    """The value in the analyte's canonical unit; None when the analyte is never converted (CgA)."""
    known = ANALYTES.get(analyte)
    if known is None:
        raise UnitConversionError(f"unknown analyte {analyte!r}")
    if known.canonical_unit is None:
        return None
    return convert(analyte, value, unit, known.canonical_unit)
