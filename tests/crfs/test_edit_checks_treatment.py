"""EC05–EC07, EC09, EC17, EC29, EC30, EC35, EC36 (treatment lines) and the regimen code list."""

from datetime import date

import pytest

from registry.crfs.validation import Severity
from registry.crfs.validation.regimens import (
    DRUGS,
    REGIMENS,
    contains_platinum_any,
    is_chemotherapy,
    is_platinum_etoposide,
    is_temozolomide_based,
    line_is_platinum_etoposide,
    match_regimen,
    regimen,
)
from tests.crfs.casebooks import assert_fires, assert_silent, by_id, clean_casebook, evaluation


def line(cb, line_id):
    return by_id(cb.lines, line_id)


# EC05 ------------------------------------------------------------------------------------------------------


def test_ec05_line_starting_before_diagnosis_is_an_error():
    cb = clean_casebook()
    line(cb, "T1")["start_date"] = date(2023, 1, 5)
    assert_fires(cb, "EC05", Severity.ERROR, form="treatment", field="start_date", row="T1")


def test_ec05_palliative_line_before_metachronous_advanced_disease_is_a_warning():
    cb = clean_casebook()
    cb.tumour.update(disease_extent_at_diagnosis="localised", advanced_disease_date=date(2023, 3, 1))
    assert_fires(cb, "EC05", Severity.WARNING, form="treatment", field="start_date", row="T1")


def test_ec05_adjuvant_line_before_advanced_disease_is_accepted():
    cb = clean_casebook()
    cb.tumour["advanced_disease_date"] = date(2023, 3, 1)
    line(cb, "T1")["intent"] = "adjuvant"
    assert_silent(cb, "EC05")


def test_ec05_line_starting_on_the_diagnosis_day_is_accepted():
    cb = clean_casebook()
    line(cb, "T1")["start_date"] = date(2023, 1, 10)
    assert_silent(cb, "EC05")


# EC06 ------------------------------------------------------------------------------------------------------


def test_ec06_line_2_starting_before_line_1_is_an_error():
    cb = clean_casebook()
    line(cb, "T2")["start_date"] = date(2023, 1, 31)
    assert_fires(cb, "EC06", Severity.ERROR, form="treatment", field="start_date", row="T2")


def test_ec06_line_2_starting_before_line_1_ends_is_an_overlap_warning():
    cb = clean_casebook()
    line(cb, "T2")["start_date"] = date(2023, 4, 20)
    assert_fires(cb, "EC06", Severity.WARNING, form="treatment", field="start_date", row="T2")


def test_ec06_line_2_starting_on_the_day_line_1_ends_is_accepted():
    cb = clean_casebook()
    line(cb, "T2")["start_date"] = date(2023, 4, 26)
    assert_silent(cb, "EC06")


def test_ec06_lines_are_compared_in_line_number_order_not_entry_order():
    cb = clean_casebook()
    cb.lines.reverse()
    assert_silent(cb, "EC06")


# EC07 ------------------------------------------------------------------------------------------------------


def test_ec07_line_ending_before_it_starts_is_an_error():
    cb = clean_casebook()
    line(cb, "T1")["end_date"] = date(2023, 1, 31)
    assert_fires(cb, "EC07", Severity.ERROR, form="treatment", field="end_date", row="T1")


def test_ec07_one_day_line_is_accepted():
    cb = clean_casebook()
    line(cb, "T1")["end_date"] = date(2023, 2, 1)
    assert_silent(cb, "EC07")


def test_ec07_end_month_containing_the_start_is_accepted():
    cb = clean_casebook()
    line(cb, "T1").update(end_date=date(2023, 2, 1), end_date_precision="month")
    assert_silent(cb, "EC07")


# EC09 ------------------------------------------------------------------------------------------------------


def test_ec09_progression_before_line_start_is_an_error():
    cb = clean_casebook()
    line(cb, "T1")["date_progression"] = date(2023, 1, 20)
    assert_fires(cb, "EC09", Severity.ERROR, form="treatment", field="date_progression", row="T1")


def test_ec09_progression_date_differing_from_the_first_pd_scan_is_an_error():
    cb = clean_casebook()
    line(cb, "T1")["date_progression"] = date(2023, 4, 30)
    assert_fires(cb, "EC09", Severity.ERROR, form="treatment", field="date_progression", row="T1")


def test_ec09_progression_date_without_pd_or_clinical_progression_is_an_error():
    cb = clean_casebook()
    line(cb, "T2")["date_progression"] = date(2023, 8, 1)
    assert_fires(cb, "EC09", Severity.ERROR, form="treatment", field="date_progression", row="T2")


def test_ec09_clinical_progression_before_the_first_pd_scan_is_accepted():
    cb = clean_casebook()
    line(cb, "T1").update(date_progression=date(2023, 4, 15), clinical_progression=True)
    assert_silent(cb, "EC09")


def test_ec09_clinical_progression_dated_after_the_first_pd_scan_is_an_error():
    cb = clean_casebook()
    line(cb, "T1").update(date_progression=date(2023, 5, 2), clinical_progression=True)
    assert_fires(cb, "EC09", Severity.ERROR, form="treatment", field="date_progression", row="T1")


def test_ec09_clinical_progression_without_a_scan_is_accepted():
    cb = clean_casebook()
    line(cb, "T2").update(date_progression=date(2023, 8, 1), clinical_progression=True)
    assert_silent(cb, "EC09")


def test_ec09_progression_equal_to_the_first_pd_scan_is_accepted():
    assert_silent(clean_casebook(), "EC09")


# EC17 ------------------------------------------------------------------------------------------------------


def test_ec17_zero_cycles_on_a_started_line_is_an_error():
    cb = clean_casebook()
    line(cb, "T1")["n_cycles"] = 0
    assert_fires(cb, "EC17", Severity.ERROR, form="treatment", field="n_cycles", row="T1")


def test_ec17_fourteen_cycles_of_carboplatin_etoposide_is_a_warning():
    cb = clean_casebook()
    line(cb, "T1")["n_cycles"] = 14
    assert_fires(cb, "EC17", Severity.WARNING, form="treatment", field="n_cycles", row="T1")


def test_ec17_platinum_etoposide_is_derived_from_the_regimen_when_the_flag_is_absent():
    cb = clean_casebook()
    t1 = line(cb, "T1")
    del t1["is_platinum_etoposide"]
    t1.update(regimen="cis_etop", n_cycles=13)
    assert_fires(cb, "EC17", Severity.WARNING, form="treatment", field="n_cycles", row="T1")


def test_ec17_twelve_cycles_of_platinum_etoposide_is_accepted():
    cb = clean_casebook()
    line(cb, "T1")["n_cycles"] = 12
    assert_silent(cb, "EC17")


def test_ec17_many_cycles_of_a_non_platinum_regimen_are_accepted():
    cb = clean_casebook()
    line(cb, "T2")["n_cycles"] = 24
    assert_silent(cb, "EC17")


def test_ec17_cycle_count_left_blank_is_not_checked():
    cb = clean_casebook()
    line(cb, "T1")["n_cycles"] = None
    assert_silent(cb, "EC17")


# EC29 ------------------------------------------------------------------------------------------------------


def test_ec29_stopped_for_progression_without_pd_is_an_error():
    cb = clean_casebook()
    t1 = line(cb, "T1")
    t1.update(date_progression=None, evaluations=[evaluation("V1", date(2023, 3, 22), "PR", 60)])
    assert_fires(cb, "EC29", Severity.ERROR, form="treatment", field="reason_stopped", row="T1")


def test_ec29_stopped_for_clinical_progression_without_a_scan_is_accepted():
    cb = clean_casebook()
    t1 = line(cb, "T1")
    t1.update(clinical_progression=True, evaluations=[evaluation("V1", date(2023, 3, 22), "PR", 60)])
    assert_silent(cb, "EC29")


def test_ec29_stopped_for_toxicity_needs_no_pd():
    cb = clean_casebook()
    line(cb, "T2").update(reason_stopped="toxicity", end_date=date(2023, 8, 1))
    assert_silent(cb, "EC29")


# EC30 ------------------------------------------------------------------------------------------------------


def test_ec30_line_2_without_progression_or_stop_reason_on_line_1_is_a_warning():
    cb = clean_casebook()
    t1 = line(cb, "T1")
    t1.update(
        reason_stopped=None,
        date_progression=None,
        evaluations=[evaluation("V1", date(2023, 3, 22), "PR", 60)],
    )
    assert_fires(cb, "EC30", Severity.WARNING, form="treatment", field="reason_stopped", row="T1")


def test_ec30_line_3_without_a_recorded_line_2_is_a_warning():
    cb = clean_casebook()
    line(cb, "T2")["line_number"] = 3
    assert_fires(cb, "EC30", Severity.WARNING, form="treatment", field="line_number", row="T2")


def test_ec30_line_2_after_line_1_stopped_for_toxicity_is_accepted():
    cb = clean_casebook()
    line(cb, "T1").update(reason_stopped="toxicity", date_progression=None, evaluations=[])
    assert_silent(cb, "EC30")


# EC35 ------------------------------------------------------------------------------------------------------


def test_ec35_other_regimen_without_free_text_is_an_error():
    cb = clean_casebook()
    line(cb, "T2").update(regimen="other", regimen_other_text="  ")
    assert_fires(cb, "EC35", Severity.ERROR, form="treatment", field="regimen_other_text", row="T2")


@pytest.mark.parametrize(
    "text,code",
    [
        ("FOLFOX", "folfox"),
        ("mFOLFOX", "folfox"),
        ("Cisplatin + etoposide", "cis_etop"),
        ("etoposide/carboplatin", "carbo_etop"),
        ("carboplatin etoposide oral", "carbo_etop"),
        ("Capecitabine + Temozolomide", "captem"),
        ("temozolomid", "temozolomide"),
        ("Lu-177 DOTATATE", "prrt_lu177"),
        ("177Lu-DOTATATE 7.4 GBq", "prrt_lu177"),
        ("carboplatin AUC 5 + etoposide 100 mg/m2", "carbo_etop"),
        ("5-FU + leucovorin + irinotecan", "folfiri"),
        ("FOLFIRI + bevacizumab", "bevacizumab_combo"),
        ("Sunitinib 37.5 mg", "sunitinib"),
        ("octreotide LAR", "ssa"),
    ],
)
def test_ec35_free_text_naming_a_coded_regimen_is_a_warning(text, code):
    cb = clean_casebook()
    line(cb, "T2").update(regimen="other", regimen_other_text=text)
    f = assert_fires(cb, "EC35", Severity.WARNING, form="treatment", field="regimen_other_text", row="T2")
    assert f"'{code}'" in f.message


@pytest.mark.parametrize(
    "text",
    ["Lurbinectedin", "Cabozantinib", "Gemcitabine + nab-paclitaxel", "nedaplatin etoposide", "cisplatin"],
)
def test_ec35_free_text_for_an_uncoded_regimen_is_accepted(text):
    cb = clean_casebook()
    line(cb, "T2").update(regimen="other", regimen_other_text=text)
    assert_silent(cb, "EC35")


def test_ec35_free_text_on_a_coded_regimen_is_not_checked():
    cb = clean_casebook()
    line(cb, "T2")["regimen_other_text"] = "FOLFIRI"
    assert_silent(cb, "EC35")
    assert match_regimen("") is None and match_regimen(None) is None


# EC36 ------------------------------------------------------------------------------------------------------


def test_ec36_platinum_etoposide_first_line_in_final_net_g3_is_information():
    cb = clean_casebook()
    cb.final_classification["final_diagnosis"] = "NET_G3"
    assert_fires(cb, "EC36", Severity.INFO, form="treatment", field="regimen", row="T1")


def test_ec36_uses_local_net_g3_while_central_review_is_pending():
    cb = clean_casebook(final_classification=None)
    cb.specimens[0].update(local_diagnosis="NET_G3", differentiation="well", cell_type=None, ki67_percent=40)
    assert_fires(cb, "EC36", Severity.INFO, form="treatment", field="regimen", row="T1")


def test_ec36_capecitabine_temozolomide_first_line_in_net_g3_is_not_flagged():
    cb = clean_casebook()
    cb.final_classification["final_diagnosis"] = "NET_G3"
    line(cb, "T1").update(regimen="captem", is_platinum_etoposide=False, contains_platinum_any=False)
    assert_silent(cb, "EC36")


def test_ec36_platinum_etoposide_in_nec_is_not_flagged():
    assert_silent(clean_casebook(), "EC36")


# Regimen code list -----------------------------------------------------------------------------------------

DOMAIN_F6_CODES = {
    "cis_etop", "carbo_etop", "carbo_etop_vincristine", "cis_irinotecan", "carbo_irinotecan",
    "carbo_paclitaxel_etop", "folfiri", "folfox", "capox", "folfirinox", "captem", "temozolomide", "stz_5fu",
    "everolimus", "sunitinib", "ssa", "prrt_lu177", "topotecan", "docetaxel", "paclitaxel", "immunotherapy",
    "bevacizumab_combo", "other",
}  # fmt: skip


def test_regimen_list_holds_exactly_the_domain_f6_codes_with_known_drugs():
    assert {r.code for r in REGIMENS} == DOMAIN_F6_CODES
    assert all(d in DRUGS for r in REGIMENS for d in r.drugs)
    assert all(r.label for r in REGIMENS)


@pytest.mark.parametrize(
    "code,platinum_any,platinum_etoposide,temozolomide",
    [
        ("cis_etop", True, True, False),
        ("carbo_etop", True, True, False),
        ("carbo_etop_vincristine", True, True, False),
        ("carbo_paclitaxel_etop", True, True, False),
        ("cis_irinotecan", True, False, False),
        ("folfox", True, False, False),
        ("capox", True, False, False),
        ("folfirinox", True, False, False),
        ("folfiri", False, False, False),
        ("captem", False, False, True),
        ("temozolomide", False, False, True),
        ("ssa", False, False, False),
        ("other", False, False, False),
    ],
)
def test_regimen_flags_are_derived_from_drug_components(code, platinum_any, platinum_etoposide, temozolomide):
    components = regimen(code).components
    assert contains_platinum_any(components) is platinum_any
    assert is_platinum_etoposide(components) is platinum_etoposide
    assert is_temozolomide_based(components) is temozolomide


def test_platinum_agents_are_recorded_on_the_drugs():
    assert {d.platinum_agent for d in DRUGS.values() if d.is_platinum} == {
        "cisplatin",
        "carboplatin",
        "oxaliplatin",
    }
    assert all(d.platinum_agent is None for d in DRUGS.values() if not d.is_platinum)


def test_ssa_everolimus_and_prrt_alone_are_not_chemotherapy():
    assert not any(is_chemotherapy(regimen(c).components) for c in ("ssa", "everolimus", "prrt_lu177"))
    assert is_chemotherapy(regimen("captem").components)


def test_line_flag_prefers_the_stored_value_then_the_regimen_code():
    assert line_is_platinum_etoposide({"regimen": "folfox", "is_platinum_etoposide": True}) is True
    assert line_is_platinum_etoposide({"regimen": "carbo_etop"}) is True
    assert line_is_platinum_etoposide({"regimen": "unknown_code"}) is None


def test_unknown_regimen_code_is_a_key_error():
    with pytest.raises(KeyError):
        regimen("cis_gem")
