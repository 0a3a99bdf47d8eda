"""Analyte unit whitelist, ranges and the exact conversions of DOMAIN.md §8 (never CgA)."""

from decimal import Decimal

import pytest

from registry.crfs.validation.units import (
    ANALYTES,
    MICRO,
    UnitConversionError,
    allowed_units,
    convert,
    is_allowed_unit,
    normalise_unit,
    to_canonical,
)

UKAT = f"{MICRO}kat/L"


def test_every_domain_f5_analyte_is_known():
    expected = {"alp", "ldh", "crp", "platelets", "haemoglobin", "wbc", "neutrophils", "lymphocytes",
                "albumin", "bilirubin", "creatinine", "cga", "nse"}  # fmt: skip
    assert set(ANALYTES) == expected


@pytest.mark.parametrize(
    "analyte,hard,soft",
    [
        ("alp", (5, 10_000), (20, 3_000)),
        ("ldh", (20, 20_000), (80, 5_000)),
        ("platelets", (1, 3_000), (20, 1_500)),
        ("haemoglobin", (3, 25), None),
        ("crp", (0, 600), None),
        ("cga", (0, 1_000_000), None),
    ],
)
def test_ranges_are_those_of_domain_f5(analyte, hard, soft):
    a = ANALYTES[analyte]
    assert a.hard == tuple(Decimal(x) for x in hard)
    assert a.soft == (None if soft is None else tuple(Decimal(x) for x in soft))


def test_alp_expected_uln_is_the_domain_example_80_to_150():
    assert ANALYTES["alp"].expected_uln == (Decimal(80), Decimal(150))


@pytest.mark.parametrize(
    "analyte,units",
    [
        ("alp", ("U/L", UKAT)),
        ("ldh", ("U/L", UKAT)),
        ("haemoglobin", ("g/dL", "g/L", "mmol/L")),
        ("cga", (f"{MICRO}g/L", "nmol/L")),
        ("nse", (f"{MICRO}g/L", "ng/mL")),
        ("creatinine", (f"{MICRO}mol/L",)),
        ("unknown", ()),
    ],
)
def test_unit_whitelist_per_analyte(analyte, units):
    assert allowed_units(analyte) == units


@pytest.mark.parametrize(
    "spelling,stored",
    [
        ("ukat/l", UKAT),
        ("\u03bckat/L", UKAT),  # GREEK SMALL LETTER MU
        (" U/L ", "U/L"),
        ("IU/L", "U/L"),
        ("x10^9/L", "×10⁹/L"),
        ("10^9/l", "×10⁹/L"),
        ("umol/L", f"{MICRO}mol/L"),
        ("ng/ml", "ng/mL"),
        ("mg/dL", "mg/dL"),
        (None, None),
    ],
)
def test_unit_spellings_are_normalised(spelling, stored):
    assert normalise_unit(spelling) == stored


def test_is_allowed_unit_accepts_aliases_and_rejects_foreign_units():
    assert is_allowed_unit("alp", "ukat/L")
    assert is_allowed_unit("platelets", "x10^9/L")
    assert not is_allowed_unit("creatinine", "mg/dL")
    assert not is_allowed_unit("cga", "U/L")
    assert not is_allowed_unit("ferritin", "µg/L")


@pytest.mark.parametrize(
    "analyte,value,source,target,expected",
    [
        ("alp", "1.5", UKAT, "U/L", "90.0"),
        ("ldh", "3.4", UKAT, "U/L", "204.0"),
        ("alp", "90", "U/L", UKAT, "1.5"),
        ("haemoglobin", "125", "g/L", "g/dL", "12.5"),
        ("haemoglobin", "12.5", "g/dL", "g/L", "125"),
        ("haemoglobin", "8.0", "mmol/L", "g/dL", "12.8880"),
        ("haemoglobin", "8", "mmol/L", "g/L", "128.88"),
        ("nse", "14.2", "ng/mL", f"{MICRO}g/L", "14.2"),
        ("alp", "120", "U/L", "U/L", "120"),
    ],
)
def test_conversions_are_exact(analyte, value, source, target, expected):
    assert convert(analyte, Decimal(value), source, target) == Decimal(expected)


def test_conversion_of_a_float_uses_its_decimal_spelling():
    assert convert("haemoglobin", 0.1, "g/dL", "g/L") == Decimal("1")
    assert convert("alp", 1.1, UKAT, "U/L") == Decimal("66.0")


def test_haemoglobin_is_never_converted_into_mmol_per_l():
    with pytest.raises(UnitConversionError, match="not exact"):
        convert("haemoglobin", Decimal(12), "g/dL", "mmol/L")


def test_chromogranin_a_is_never_converted():
    with pytest.raises(UnitConversionError, match="never converted"):
        convert("cga", Decimal(100), f"{MICRO}g/L", "nmol/L")
    assert to_canonical("cga", Decimal(100), "nmol/L") is None
    assert ANALYTES["cga"].canonical_unit is None


def test_conversion_outside_the_whitelist_is_refused():
    with pytest.raises(UnitConversionError):
        convert("creatinine", Decimal(1), "mg/dL", f"{MICRO}mol/L")
    with pytest.raises(UnitConversionError):
        convert("ferritin", Decimal(1), "µg/L", "µg/L")
    with pytest.raises(UnitConversionError):
        to_canonical("ferritin", Decimal(1), "µg/L")


def test_booleans_are_not_laboratory_values():
    with pytest.raises(TypeError):
        convert("alp", True, "U/L", UKAT)


@pytest.mark.parametrize(
    "analyte,value,unit,canonical", [("alp", "2", UKAT, "120"), ("haemoglobin", "130", "g/L", "13.0")]
)
def test_to_canonical_expresses_values_in_the_canonical_unit(analyte, value, unit, canonical):
    assert to_canonical(analyte, Decimal(value), unit) == Decimal(canonical)
