"""EC12, EC15, EC16 and EC34: laboratory values, units, reference limits and the baseline ALP."""

from datetime import date
from decimal import Decimal

import pytest

from registry.crfs.validation import Severity
from tests.crfs.casebooks import assert_fires, assert_silent, by_id, clean_casebook, findings, lab

SAMPLED = date(2023, 1, 28)


def with_lab(**kwargs):
    """The clean case book plus one extra laboratory row "X" (defaults: ALP 100 U/L, 35–105)."""
    row = lab("X", "alp", Decimal(100), "U/L", 35, 105, SAMPLED)
    row.update(kwargs)
    cb = clean_casebook()
    cb.labs.append(row)
    return cb


# EC12 ------------------------------------------------------------------------------------------------------


def test_ec12_baseline_sample_40_days_before_line_start_is_a_warning():
    cb = clean_casebook()
    by_id(cb.labs, "L1")["sample_date"] = date(2022, 12, 23)  # line 1 starts 2023-02-01
    assert_fires(cb, "EC12", Severity.WARNING, form="labs", field="sample_date", row="L1")


def test_ec12_baseline_sample_4_days_after_line_start_is_a_warning():
    cb = clean_casebook()
    by_id(cb.labs, "L2")["sample_date"] = date(2023, 2, 5)
    assert_fires(cb, "EC12", Severity.WARNING, form="labs", field="sample_date", row="L2")


@pytest.mark.parametrize("sampled", [date(2023, 1, 2), date(2023, 2, 4)])
def test_ec12_baseline_sample_at_minus_30_or_plus_3_days_is_accepted(sampled):
    cb = clean_casebook()
    by_id(cb.labs, "L1")["sample_date"] = sampled
    assert_silent(cb, "EC12")


def test_ec12_sample_not_counted_as_baseline_is_not_checked():
    cb = with_lab(sample_date=date(2024, 1, 1), is_baseline=False)
    assert_silent(cb, "EC12")


def test_ec12_sample_linked_to_line_2_is_checked_against_line_2():
    cb = with_lab(sample_date=date(2023, 5, 1), is_baseline=True, timepoint="baseline_line_n", line_id="T2")
    assert_silent(cb, "EC12")
    by_id(cb.labs, "X")["sample_date"] = date(2023, 1, 28)  # line 1's window, not line 2's
    assert_fires(cb, "EC12", Severity.WARNING, form="labs", field="sample_date", row="X")


# EC15 ------------------------------------------------------------------------------------------------------


def test_ec15_creatinine_in_mg_per_dl_is_a_unit_error():
    cb = with_lab(analyte="creatinine", value=Decimal("1.1"), unit="mg/dL", lln=None, uln=None)
    assert_fires(cb, "EC15", Severity.ERROR, form="labs", field="unit", row="X")


def test_ec15_cga_in_u_per_l_is_a_unit_error():
    cb = with_lab(analyte="cga", value=80, unit="U/L", lln=None, uln=None)
    assert_fires(cb, "EC15", Severity.ERROR, form="labs", field="unit", row="X")


def test_ec15_value_without_a_unit_is_a_unit_error():
    cb = with_lab(unit=None)
    assert_fires(cb, "EC15", Severity.ERROR, form="labs", field="unit", row="X")


def test_ec15_alp_above_the_hard_range_is_an_error():
    cb = with_lab(value=Decimal(10_001), uln=None)
    assert_fires(cb, "EC15", Severity.ERROR, form="labs", field="value", row="X")


def test_ec15_alp_in_ukat_is_range_checked_after_exact_conversion():
    cb = with_lab(value=Decimal(170), unit="µkat/L", lln=None, uln=None)  # = 10,200 U/L
    f = assert_fires(cb, "EC15", Severity.ERROR, form="labs", field="value", row="X")
    assert "10200 U/L" in f.message


def test_ec15_haemoglobin_in_g_per_l_typed_as_g_per_dl_is_a_hard_error():
    cb = with_lab(analyte="haemoglobin", value=130, unit="g/dL", lln=Decimal("13.5"), uln=Decimal("17.5"))
    assert_fires(cb, "EC15", Severity.ERROR, form="labs", field="value", row="X")


def test_ec15_alp_above_the_soft_range_is_a_warning():
    cb = with_lab(value=Decimal(4_000), uln=None)
    assert_fires(cb, "EC15", Severity.WARNING, form="labs", field="value", row="X")


def test_ec15_platelets_below_the_soft_range_is_a_warning():
    cb = with_lab(analyte="platelets", value=15, unit="×10⁹/L", lln=150, uln=400)
    assert_fires(cb, "EC15", Severity.WARNING, form="labs", field="value", row="X")


def test_ec15_value_over_ten_times_uln_is_a_warning():
    cb = with_lab(value=Decimal(1_200), uln=105)
    f = assert_fires(cb, "EC15", Severity.WARNING, form="labs", field="value", row="X")
    assert "10 × uln" in f.message


def test_ec15_u_per_l_value_entered_as_ukat_raises_both_range_and_uln_warnings():
    cb = with_lab(value=Decimal(120), unit="µkat/L", lln=Decimal("0.6"), uln=Decimal("1.8"))
    found = findings(cb, "EC15")
    assert [(f.severity, f.field) for f in found] == [
        (Severity.WARNING, "value"),
        (Severity.WARNING, "value"),
    ]


@pytest.mark.parametrize(
    "analyte,value,unit,lln,uln",
    [
        ("alp", Decimal("2.5"), "µkat/L", Decimal("0.6"), Decimal("1.8")),
        ("alp", Decimal("2.5"), "ukat/L", Decimal("0.6"), Decimal("1.8")),
        ("alp", Decimal("2.5"), "μkat/L", Decimal("0.6"), Decimal("1.8")),  # Greek mu
        ("haemoglobin", Decimal("8.0"), "mmol/L", Decimal("8.3"), Decimal("10.5")),
        ("haemoglobin", 121, "g/L", 117, 153),
        ("alp", Decimal(3_000), "U/L", 35, Decimal(300)),
        ("nse", Decimal("14.2"), "ng/mL", None, Decimal("16.3")),
        ("cga", Decimal(5_000), "µg/L", None, 100),
        ("cga", Decimal("8.5"), "nmol/L", None, 3),
        ("crp", 0, "mg/L", None, 5),
    ],
)
def test_ec15_plausible_values_in_allowed_units_are_accepted(analyte, value, unit, lln, uln):
    cb = with_lab(analyte=analyte, value=value, unit=unit, lln=lln, uln=uln)
    assert_silent(cb, "EC15")


def test_ec15_unknown_analyte_or_missing_value_is_not_checked():
    cb = with_lab(analyte="ferritin", unit="µg/L")
    cb.labs.append(lab("Y", "alp", None, "furlongs", None, None, SAMPLED))
    assert_silent(cb, "EC15")


# EC16 ------------------------------------------------------------------------------------------------------


def test_ec16_uln_not_above_lln_is_an_error():
    cb = with_lab(lln=105, uln=35)
    assert_fires(cb, "EC16", Severity.ERROR, form="labs", field="uln", row="X")


def test_ec16_negative_lln_is_an_error():
    cb = with_lab(lln=-1, uln=105)
    assert_fires(cb, "EC16", Severity.ERROR, form="labs", field="lln", row="X")


def test_ec16_zero_uln_without_lln_is_an_error():
    cb = with_lab(analyte="crp", value=3, unit="mg/L", lln=None, uln=0)
    assert_fires(cb, "EC16", Severity.ERROR, form="labs", field="uln", row="X")


def test_ec16_alp_uln_of_40_u_per_l_is_a_warning():
    cb = with_lab(lln=10, uln=40)
    assert_fires(cb, "EC16", Severity.WARNING, form="labs", field="uln", row="X")


def test_ec16_alp_uln_typed_in_u_per_l_with_ukat_unit_is_a_warning():
    cb = with_lab(value=Decimal("2.0"), unit="µkat/L", lln=35, uln=105)  # ULN = 6,300 U/L
    assert_fires(cb, "EC16", Severity.WARNING, form="labs", field="uln", row="X")


@pytest.mark.parametrize(
    "analyte,unit,lln,uln",
    [
        ("alp", "U/L", 0, 80),
        ("alp", "U/L", 40, 150),
        ("alp", "µkat/L", Decimal("0.6"), Decimal("1.8")),  # 108 U/L
        ("haemoglobin", "mmol/L", Decimal("8.3"), Decimal("10.5")),  # 16.9 g/dL
        ("cga", "nmol/L", None, 3),  # assay specific: no expectation
        ("crp", "mg/L", None, 5),
    ],
)
def test_ec16_reference_limits_in_the_expected_range_are_accepted(analyte, unit, lln, uln):
    cb = with_lab(analyte=analyte, unit=unit, value=1, lln=lln, uln=uln)
    assert_silent(cb, "EC16")


# EC34 ------------------------------------------------------------------------------------------------------


def test_ec34_no_baseline_alp_before_line_1_is_a_warning():
    cb = clean_casebook()
    cb.labs[:] = [r for r in cb.labs if r["analyte"] != "alp"]
    assert_fires(cb, "EC34", Severity.WARNING, form="labs", field="alp")


def test_ec34_alp_row_without_a_value_is_still_missing():
    cb = clean_casebook()
    by_id(cb.labs, "L1").update(value=None, value_missing_reason="not_done")
    assert_fires(cb, "EC34", Severity.WARNING, form="labs", field="alp")


def test_ec34_alp_only_before_a_later_line_does_not_count_for_line_1():
    cb = clean_casebook()
    by_id(cb.labs, "L1").update(sample_date=date(2023, 5, 5), timepoint="baseline_line_n", is_baseline=True)
    assert_fires(cb, "EC34", Severity.WARNING, form="labs", field="alp")


def test_ec34_undeclared_alp_sampled_within_the_baseline_window_counts():
    cb = clean_casebook()
    by_id(cb.labs, "L1").update(timepoint="other", is_baseline=False)
    assert_silent(cb, "EC34")


def test_ec34_patient_without_line_1_is_not_queried():
    cb = clean_casebook(lines=[], labs=[])
    assert_silent(cb, "EC34")
