"""EC03, EC14 and EC18–EC24: local pathology (and the same consistency rules on central reads)."""

from datetime import date
from decimal import Decimal

import pytest

from registry.crfs.validation import Severity
from tests.crfs.casebooks import assert_fires, assert_silent, clean_casebook, findings


def net_g3_casebook(ki67="35", mitoses=None, differentiation="well"):
    cb = clean_casebook()
    cb.specimens[0].update(
        local_diagnosis="NET_G3",
        differentiation=differentiation,
        ki67_percent=None if ki67 is None else Decimal(ki67),
        mitoses_per_2mm2=None if mitoses is None else Decimal(mitoses),
        cell_type="not_applicable",
    )
    return cb


# EC03 ------------------------------------------------------------------------------------------------------


def test_ec03_diagnostic_specimen_45_days_before_diagnosis_is_a_warning():
    cb = clean_casebook()
    cb.specimens[0]["specimen_date"] = date(2022, 11, 26)
    assert_fires(cb, "EC03", Severity.WARNING, form="pathology", field="specimen_date", row="S1")


def test_ec03_diagnostic_specimen_exactly_30_days_after_diagnosis_is_accepted():
    cb = clean_casebook()
    cb.specimens[0]["specimen_date"] = date(2023, 2, 9)
    assert_silent(cb, "EC03")


def test_ec03_a_later_non_diagnostic_resection_is_not_checked():
    cb = clean_casebook()
    cb.specimens.append({"id": "S2", "specimen_date": date(2024, 3, 1), "is_diagnostic": False})
    assert_silent(cb, "EC03")


# EC14 ------------------------------------------------------------------------------------------------------


def test_ec14_local_ki67_over_100_is_an_error():
    cb = clean_casebook()
    cb.specimens[0]["ki67_percent"] = Decimal("100.1")
    assert_fires(cb, "EC14", Severity.ERROR, form="pathology", field="ki67_percent", row="S1")


def test_ec14_central_ki67_below_0_is_an_error():
    cb = clean_casebook()
    cb.central_reviews[0]["ki67_central_percent"] = -1
    assert_fires(cb, "EC14", Severity.ERROR, form="central_review", field="ki67_central_percent", row="R1")


def test_ec14_final_ki67_over_100_is_an_error():
    cb = clean_casebook()
    cb.final_classification["final_ki67"] = 150
    assert_fires(cb, "EC14", Severity.ERROR, form="final_classification", field="final_ki67")


def test_ec14_negative_mitoses_is_an_error():
    cb = clean_casebook()
    cb.specimens[0]["mitoses_per_2mm2"] = Decimal(-1)
    assert_fires(cb, "EC14", Severity.ERROR, form="pathology", field="mitoses_per_2mm2", row="S1")


def test_ec14_baseline_ps_5_is_an_error():
    cb = clean_casebook()
    cb.baseline["ecog_ps"] = 5
    assert_fires(cb, "EC14", Severity.ERROR, form="baseline", field="ecog_ps")


def test_ec14_non_numeric_ki67_is_an_error():
    cb = clean_casebook()
    cb.specimens[0]["ki67_percent"] = "high"
    assert_fires(cb, "EC14", Severity.ERROR, form="pathology", field="ki67_percent", row="S1")


def test_ec14_boundary_values_are_valid():
    cb = clean_casebook()
    cb.specimens[0].update(ki67_percent=Decimal(100), mitoses_per_2mm2=0)
    cb.central_reviews[0]["ki67_central_percent"] = 0
    cb.baseline["ecog_ps"] = 4
    assert_silent(cb, "EC14")


# EC18 ------------------------------------------------------------------------------------------------------


def test_ec18_net_g3_with_ki67_and_mitoses_at_most_20_is_an_error():
    cb = net_g3_casebook(ki67="15", mitoses="10")
    assert_fires(cb, "EC18", Severity.ERROR, form="pathology", field="ki67_percent", row="S1")


def test_ec18_nec_with_ki67_exactly_20_and_no_mitotic_count_is_an_error():
    cb = clean_casebook()
    cb.specimens[0].update(ki67_percent=Decimal(20), mitoses_per_2mm2=None)
    assert_fires(cb, "EC18", Severity.ERROR, form="pathology", field="ki67_percent", row="S1")


def test_ec18_low_ki67_is_accepted_when_mitoses_exceed_20():
    assert_silent(net_g3_casebook(ki67="15", mitoses="25"), "EC18")


def test_ec18_ki67_just_above_20_is_accepted():
    assert_silent(net_g3_casebook(ki67="20.1"), "EC18")


def test_ec18_is_silent_until_ki67_or_mitoses_is_entered():
    assert_silent(net_g3_casebook(ki67=None, mitoses=None), "EC18")


def test_ec18_low_grade_net_is_not_checked():
    cb = net_g3_casebook(ki67="2")
    cb.specimens[0]["local_diagnosis"] = "NET_G1"
    assert_silent(cb, "EC18")


# EC19 ------------------------------------------------------------------------------------------------------


def test_ec19_net_g3_called_poorly_differentiated_is_a_warning():
    cb = net_g3_casebook(differentiation="poor")
    assert_fires(cb, "EC19", Severity.WARNING, form="pathology", field="differentiation", row="S1")


def test_ec19_central_nec_called_well_differentiated_is_a_warning():
    cb = clean_casebook()
    cb.central_reviews[0]["differentiation"] = "well"
    assert_fires(cb, "EC19", Severity.WARNING, form="central_review", field="differentiation", row="R1")


def test_ec19_net_g3_well_differentiated_and_nec_poorly_differentiated_are_consistent():
    assert_silent(net_g3_casebook(differentiation="well"), "EC19")
    assert_silent(clean_casebook(), "EC19")


# EC20 ------------------------------------------------------------------------------------------------------


def test_ec20_nec_with_ki67_of_18_is_a_warning():
    cb = clean_casebook()
    cb.specimens[0].update(ki67_percent=Decimal(18), mitoses_per_2mm2=Decimal(30))
    assert_fires(cb, "EC20", Severity.WARNING, form="pathology", field="ki67_percent", row="S1")


def test_ec20_central_nec_with_ki67_of_20_is_a_warning():
    cb = clean_casebook()
    cb.central_reviews[0]["ki67_central_percent"] = 20
    assert_fires(cb, "EC20", Severity.WARNING, form="central_review", field="ki67_central_percent", row="R1")


def test_ec20_nec_with_ki67_of_21_is_not_queried():
    cb = clean_casebook()
    cb.specimens[0]["ki67_percent"] = 21
    assert_silent(cb, "EC20")


# EC21 ------------------------------------------------------------------------------------------------------


def test_ec21_net_g3_with_ki67_of_60_is_a_warning():
    assert_fires(
        net_g3_casebook(ki67="60"), "EC21", Severity.WARNING, form="pathology", field="ki67_percent", row="S1"
    )


def test_ec21_net_g3_with_ki67_of_exactly_55_is_not_queried():
    assert_silent(net_g3_casebook(ki67="55"), "EC21")


def test_ec21_nec_with_high_ki67_is_not_queried():
    assert_silent(clean_casebook(), "EC21")


# EC22 ------------------------------------------------------------------------------------------------------


def test_ec22_small_cell_nec_without_cell_type_is_an_error():
    cb = clean_casebook()
    cb.specimens[0].update(local_diagnosis="NEC_small_cell", cell_type=None)
    assert_fires(cb, "EC22", Severity.ERROR, form="pathology", field="cell_type", row="S1")


def test_ec22_small_cell_nec_with_large_cell_type_is_an_error():
    cb = clean_casebook()
    cb.specimens[0]["local_diagnosis"] = "NEC_small_cell"
    assert_fires(cb, "EC22", Severity.ERROR, form="pathology", field="cell_type", row="S1")


def test_ec22_cell_type_on_a_net_g3_is_an_error():
    cb = net_g3_casebook()
    cb.specimens[0]["cell_type"] = "small_cell"
    assert_fires(cb, "EC22", Severity.ERROR, form="pathology", field="cell_type", row="S1")


def test_ec22_central_large_cell_nec_without_cell_type_is_an_error():
    cb = clean_casebook()
    cb.central_reviews[0]["cell_type"] = None
    assert_fires(cb, "EC22", Severity.ERROR, form="central_review", field="cell_type", row="R1")


@pytest.mark.parametrize(
    "diagnosis,cell_type",
    [
        ("NEC_large_cell", "large_cell"),
        ("NEC_nos", "small_cell"),
        ("NEC_nos", None),
        ("NET_G3", "not_applicable"),
    ],
)
def test_ec22_cell_type_consistent_with_diagnosis_is_accepted(diagnosis, cell_type):
    cb = clean_casebook()
    cb.specimens[0].update(local_diagnosis=diagnosis, cell_type=cell_type)
    cb.central_reviews.clear()
    assert_silent(cb, "EC22")


# EC23 ------------------------------------------------------------------------------------------------------


def minen_casebook(component="adenocarcinoma", percent="40"):
    cb = clean_casebook()
    cb.specimens[0].update(
        local_diagnosis="MiNEN",
        cell_type=None,
        minen_nonNE_component=component,
        minen_nonNE_percent=None if percent is None else Decimal(percent),
    )
    return cb


def test_ec23_minen_without_non_neuroendocrine_component_is_an_error():
    cb = minen_casebook(component=None)
    assert_fires(cb, "EC23", Severity.ERROR, form="pathology", field="minen_nonNE_component", row="S1")


def test_ec23_minen_with_a_20_percent_component_is_an_error():
    cb = minen_casebook(percent="20")
    assert_fires(cb, "EC23", Severity.ERROR, form="pathology", field="minen_nonNE_percent", row="S1")


def test_ec23_minen_with_a_75_percent_component_leaves_the_ne_part_under_30_and_is_an_error():
    cb = minen_casebook(percent="75")
    assert_fires(cb, "EC23", Severity.ERROR, form="pathology", field="minen_nonNE_percent", row="S1")


def test_ec23_minen_without_any_component_data_reports_both_fields():
    cb = minen_casebook(component=None, percent=None)
    assert {f.field for f in findings(cb, "EC23")} == {"minen_nonNE_component", "minen_nonNE_percent"}


@pytest.mark.parametrize("percent", ["30", "70"])
def test_ec23_minen_with_components_of_at_least_30_percent_is_accepted(percent):
    assert_silent(minen_casebook(percent=percent), "EC23")


# EC24 ------------------------------------------------------------------------------------------------------


def test_ec24_nen_with_neither_marker_positive_is_an_error():
    cb = clean_casebook()
    cb.specimens[0].update(chromogranin_a_ihc="negative", synaptophysin_ihc="not_done")
    assert_fires(cb, "EC24", Severity.ERROR, form="pathology", field="chromogranin_a_ihc", row="S1")


def test_ec24_synaptophysin_alone_positive_is_enough():
    cb = clean_casebook()
    cb.specimens[0].update(chromogranin_a_ihc="negative", synaptophysin_ihc="positive")
    assert_silent(cb, "EC24")


def test_ec24_not_nen_needs_no_neuroendocrine_marker():
    cb = clean_casebook()
    cb.specimens[0].update(
        local_diagnosis="not_NEN", chromogranin_a_ihc="negative", synaptophysin_ihc="negative"
    )
    assert_silent(cb, "EC24")
