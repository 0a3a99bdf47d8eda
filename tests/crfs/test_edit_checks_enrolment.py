"""EC01 (birth, diagnosis, registration in order; nothing in the future), EC02/EC33 (baseline), EC04."""

from datetime import date

from registry.crfs.validation import Severity
from tests.crfs.casebooks import TODAY, assert_fires, assert_silent, by_id, clean_casebook, empty_casebook

# EC01 ------------------------------------------------------------------------------------------------------


def test_ec01_diagnosis_before_birth_is_an_error():
    cb = clean_casebook()
    cb.baseline["date_of_birth"] = date(2023, 2, 1)
    assert_fires(cb, "EC01", Severity.ERROR, form="enrolment", field="date_of_diagnosis")


def test_ec01_diagnosis_on_the_day_of_birth_is_an_error():
    cb = clean_casebook()
    cb.baseline["date_of_birth"] = cb.enrolment["date_of_diagnosis"]
    assert_fires(cb, "EC01", Severity.ERROR, form="enrolment", field="date_of_diagnosis")


def test_ec01_birth_year_only_in_the_diagnosis_year_is_not_an_error():
    cb = clean_casebook()
    cb.baseline.update(date_of_birth=None, birth_year=2023)
    assert_silent(cb, "EC01")


def test_ec01_birth_year_only_after_the_diagnosis_year_is_an_error():
    cb = clean_casebook()
    cb.baseline.update(date_of_birth=None, birth_year=2024)
    assert_fires(cb, "EC01", Severity.ERROR, form="enrolment", field="date_of_diagnosis")


def test_ec01_diagnosis_more_than_a_year_after_registration_is_an_error():
    cb = clean_casebook()
    cb.enrolment["date_of_diagnosis"] = date(2024, 1, 21)  # registration 2023-01-20 + 366 d
    assert_fires(cb, "EC01", Severity.ERROR, form="enrolment", field="date_of_diagnosis")


def test_ec01_diagnosis_exactly_a_year_after_registration_is_allowed():
    cb = clean_casebook()
    cb.enrolment["date_of_diagnosis"] = date(2024, 1, 20)  # 2023-01-20 + 365 d
    assert_silent(cb, "EC01")


def test_ec01_a_future_evaluation_date_is_an_error_on_that_row():
    cb = clean_casebook()
    by_id(cb.lines[1]["evaluations"], "V3")["eval_date"] = date(2025, 7, 1)
    assert_fires(cb, "EC01", Severity.ERROR, form="response", field="eval_date", row="V3")


def test_ec01_a_date_of_today_is_not_in_the_future():
    cb = clean_casebook()
    cb.followups[0]["visit_date"] = TODAY
    assert_silent(cb, "EC01")


def test_ec01_a_future_birth_year_is_an_error():
    cb = empty_casebook(baseline={"date_of_birth": None, "birth_year": 2030})
    assert_fires(cb, "EC01", Severity.ERROR, form="baseline", field="birth_year")


def test_ec01_a_partial_date_in_the_current_month_is_not_in_the_future():
    cb = clean_casebook()
    cb.followups[0].update(visit_date=date(2025, 6, 1), visit_date_precision="month")
    assert_silent(cb, "EC01")


def test_ec01_is_silent_without_dates():
    assert_silent(empty_casebook(enrolment={"date_of_diagnosis": None}, baseline={"sex": "female"}), "EC01")


# EC02 ------------------------------------------------------------------------------------------------------


def test_ec02_patient_aged_17_at_diagnosis_is_an_error():
    cb = clean_casebook()
    cb.baseline["date_of_birth"] = date(2005, 6, 1)
    assert_fires(cb, "EC02", Severity.ERROR, form="baseline", field="age_at_diagnosis")


def test_ec02_patient_diagnosed_on_18th_birthday_is_an_adult():
    cb = clean_casebook()
    cb.baseline["date_of_birth"] = date(2005, 1, 10)
    assert_silent(cb, "EC02")


def test_ec02_birth_year_that_allows_age_18_is_given_the_benefit_of_the_doubt():
    cb = clean_casebook()
    cb.baseline.update(date_of_birth=None, birth_year=2005)  # 17 or 18 on 2023-01-10
    assert_silent(cb, "EC02")


def test_ec02_entered_age_is_used_when_dates_are_missing():
    cb = empty_casebook(baseline={"age_at_diagnosis": 16})
    assert_fires(cb, "EC02", Severity.ERROR, form="baseline", field="age_at_diagnosis")


def test_ec02_patient_over_100_is_a_warning():
    cb = clean_casebook()
    cb.baseline["date_of_birth"] = date(1921, 1, 9)  # 101 on 2023-01-10
    assert_fires(cb, "EC02", Severity.WARNING, form="baseline", field="age_at_diagnosis")


def test_ec02_patient_aged_exactly_100_is_not_queried():
    cb = clean_casebook()
    cb.baseline["date_of_birth"] = date(1922, 6, 1)
    assert_silent(cb, "EC02")


# EC04 ------------------------------------------------------------------------------------------------------


def test_ec04_advanced_disease_before_diagnosis_is_an_error():
    cb = clean_casebook()
    cb.tumour["advanced_disease_date"] = date(2023, 1, 9)
    assert_fires(cb, "EC04", Severity.ERROR, form="tumour", field="advanced_disease_date")


def test_ec04_synchronous_advanced_disease_on_the_diagnosis_date_is_allowed():
    assert_silent(clean_casebook(), "EC04")


def test_ec04_advanced_disease_month_overlapping_diagnosis_is_allowed():
    cb = clean_casebook()
    cb.tumour.update(advanced_disease_date=date(2023, 1, 1), advanced_disease_date_precision="month")
    assert_silent(cb, "EC04")


# EC33 ------------------------------------------------------------------------------------------------------


def test_ec33_missing_baseline_ps_with_a_first_line_is_a_warning():
    cb = clean_casebook()
    cb.baseline.update(ecog_ps=None, ecog_ps_missing_reason="not_done")
    assert_fires(cb, "EC33", Severity.WARNING, form="baseline", field="ecog_ps")


def test_ec33_no_baseline_form_with_a_first_line_is_a_warning():
    cb = clean_casebook(baseline=None)
    assert_fires(cb, "EC33", Severity.WARNING, form="baseline", field="ecog_ps")


def test_ec33_missing_ps_without_any_treatment_line_is_not_queried():
    cb = clean_casebook(lines=[])
    cb.baseline["ecog_ps"] = None
    assert_silent(cb, "EC33")


def test_ec33_ps_zero_counts_as_present():
    cb = clean_casebook()
    cb.baseline["ecog_ps"] = 0
    assert_silent(cb, "EC33")
