"""EC10, EC11, EC13, EC31, EC32: death, last contact, partial endpoint dates and overdue follow-up."""

from datetime import date, timedelta

from registry.crfs.validation import Severity
from tests.crfs.casebooks import (
    CUTOFF,
    TODAY,
    assert_fires,
    assert_silent,
    by_id,
    clean_casebook,
    dead_casebook,
    empty_casebook,
    findings,
    lab,
)

# EC10 ------------------------------------------------------------------------------------------------------


def died_early(died):
    """Dead on `died`, last seen alive a few days before."""
    cb = dead_casebook(died=died)
    cb.followups[0].update(
        visit_date=died - timedelta(days=5), date_last_known_alive=died - timedelta(days=5)
    )
    return cb


def test_ec10_evaluation_after_death_is_an_error():
    cb = died_early(date(2023, 7, 1))
    assert_fires(cb, "EC10", Severity.ERROR, form="response", field="eval_date", row="V3")


def test_ec10_post_mortem_lab_after_death_is_flagged_as_a_warning():
    cb = dead_casebook()
    cb.labs.append(lab("PM", "ldh", 900, "U/L", 105, 205, date(2024, 11, 4), post_mortem=True))
    assert_fires(cb, "EC10", Severity.WARNING, form="labs", field="sample_date", row="PM")


def test_ec10_population_registry_record_after_death_is_flagged_as_a_warning():
    cb = dead_casebook()
    cb.followups.append(
        {"id": "F3", "visit_date": date(2024, 12, 1), "vital_status": "alive",
         "source_of_vital_status": "population_registry"}
    )  # fmt: skip
    assert_fires(cb, "EC10", Severity.WARNING, form="followup", field="visit_date", row="F3")


def test_ec10_chart_visit_after_death_is_an_error():
    cb = dead_casebook()
    cb.followups.append({"id": "F3", "visit_date": date(2024, 12, 1), "vital_status": "alive"})
    assert_fires(cb, "EC10", Severity.ERROR, form="followup", field="visit_date", row="F3")


def test_ec10_the_visit_recording_the_death_and_a_later_central_review_are_not_events_after_death():
    cb = dead_casebook()
    cb.central_reviews[0]["review_date"] = date(2025, 2, 1)
    assert_silent(cb, "EC10")


def test_ec10_events_on_the_day_of_death_are_accepted():
    cb = died_early(date(2023, 7, 5))  # line 2's evaluation V3
    assert_silent(cb, "EC10")


# EC11 ------------------------------------------------------------------------------------------------------


def test_ec11_last_known_alive_after_the_data_cutoff_is_an_error():
    cb = clean_casebook()
    cb.followups[0]["date_last_known_alive"] = CUTOFF + timedelta(days=1)
    assert_fires(cb, "EC11", Severity.ERROR, form="followup", field="date_last_known_alive", row="F1")


def test_ec11_last_known_alive_after_death_is_an_error():
    cb = dead_casebook(died=date(2024, 9, 30))
    assert_fires(cb, "EC11", Severity.ERROR, form="followup", field="date_last_known_alive", row="F1")


def test_ec11_last_known_alive_on_the_cutoff_is_accepted():
    cb = clean_casebook()
    cb.followups[0]["date_last_known_alive"] = CUTOFF
    assert_silent(cb, "EC11")


def test_ec11_without_a_cutoff_only_the_death_date_bounds_last_known_alive():
    cb = clean_casebook(data_cutoff_date=None)
    cb.followups[0]["date_last_known_alive"] = date(2025, 6, 20)
    assert_silent(cb, "EC11")


# EC13 ------------------------------------------------------------------------------------------------------


def test_ec13_month_precision_date_of_death_is_a_query():
    cb = dead_casebook()
    by_id(cb.followups, "F2")["date_of_death_precision"] = "month"
    f = assert_fires(cb, "EC13", Severity.WARNING, form="followup", field="date_of_death", row="F2")
    assert "2024-11" in f.message


def test_ec13_year_precision_line_start_is_a_query():
    cb = clean_casebook()
    by_id(cb.lines, "T2")["start_date_precision"] = "year"
    assert_fires(cb, "EC13", Severity.WARNING, form="treatment", field="start_date", row="T2")


def test_ec13_partial_date_of_diagnosis_is_a_query():
    cb = clean_casebook()
    cb.enrolment["date_of_diagnosis_precision"] = "month"
    assert_fires(cb, "EC13", Severity.WARNING, form="enrolment", field="date_of_diagnosis")


def test_ec13_partial_specimen_date_is_not_an_endpoint():
    cb = clean_casebook()
    cb.specimens[0]["specimen_date_precision"] = "month"
    assert_silent(cb, "EC13")


def test_ec13_day_precision_endpoints_are_complete():
    cb = dead_casebook()
    by_id(cb.followups, "F2")["date_of_death_precision"] = "day"
    assert_silent(cb, "EC13")


# EC31 ------------------------------------------------------------------------------------------------------


def test_ec31_dead_without_a_date_of_death_is_an_error():
    cb = dead_casebook()
    by_id(cb.followups, "F2").update(date_of_death=None, date_of_death_missing_reason="unknown")
    assert_fires(cb, "EC31", Severity.ERROR, form="followup", field="date_of_death", row="F2")


def test_ec31_dead_without_a_cause_of_death_is_an_error():
    cb = dead_casebook()
    by_id(cb.followups, "F2")["cause_of_death"] = None
    assert_fires(cb, "EC31", Severity.ERROR, form="followup", field="cause_of_death", row="F2")


def test_ec31_dead_with_date_and_unknown_cause_is_complete():
    cb = dead_casebook()
    by_id(cb.followups, "F2")["cause_of_death"] = "unknown"
    assert_silent(cb, "EC31")


def test_ec31_alive_patient_needs_no_death_details():
    assert_silent(clean_casebook(), "EC31")


# EC32 ------------------------------------------------------------------------------------------------------


def test_ec32_living_patient_without_contact_for_200_days_is_overdue():
    cb = clean_casebook()
    cb.followups[0].update(
        visit_date=TODAY - timedelta(days=200), date_last_known_alive=TODAY - timedelta(days=200)
    )
    f = assert_fires(cb, "EC32", Severity.WARNING, form="followup", field="visit_date", row="F1")
    assert "200 days" in f.message


def test_ec32_contact_exactly_183_days_ago_is_not_yet_overdue():
    cb = clean_casebook()
    cb.followups[0].update(
        visit_date=TODAY - timedelta(days=183), date_last_known_alive=TODAY - timedelta(days=183)
    )
    assert_silent(cb, "EC32")


def test_ec32_interval_is_configurable():
    cb = clean_casebook(followup_interval_days=30)  # last contact 59 days ago
    assert_fires(cb, "EC32", Severity.WARNING, form="followup", field="visit_date", row="F1")


def test_ec32_registered_patient_never_followed_up_is_overdue():
    cb = empty_casebook(enrolment={"registration_date": date(2024, 1, 1)})
    assert [f.rule for f in findings(cb, "EC32")] == ["EC32"]


def test_ec32_dead_patient_is_never_overdue():
    assert_silent(dead_casebook(), "EC32")


def test_ec32_patient_lost_to_follow_up_is_not_chased_by_the_nightly_job():
    cb = clean_casebook()
    cb.followups.append({"id": "F2", "visit_date": date(2024, 6, 1), "vital_status": "lost_to_follow_up"})
    cb.followups[0].update(visit_date=date(2024, 1, 1), date_last_known_alive=date(2024, 1, 1))
    assert_silent(cb, "EC32")
