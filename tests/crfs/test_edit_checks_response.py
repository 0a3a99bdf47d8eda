"""EC08 (evaluation timing), EC27 (CR without new lesions) and EC28 (RECIST recomputed from target sums)."""

from datetime import date
from decimal import Decimal

import pytest

from registry.crfs.validation import Severity
from registry.crfs.validation.response import recist_target_category
from tests.crfs.casebooks import assert_fires, assert_silent, by_id, clean_casebook, evaluation, findings


def evals(cb, line_id):
    return by_id(cb.lines, line_id)["evaluations"]


# EC08 ------------------------------------------------------------------------------------------------------


def test_ec08_evaluation_on_the_line_start_date_is_an_error():
    cb = clean_casebook()
    by_id(evals(cb, "T1"), "V1")["eval_date"] = date(2023, 2, 1)
    assert_fires(cb, "EC08", Severity.ERROR, form="response", field="eval_date", row="V1")


def test_ec08_first_evaluation_14_days_after_start_is_a_warning():
    cb = clean_casebook()
    by_id(evals(cb, "T1"), "V1")["eval_date"] = date(2023, 2, 15)
    assert_fires(cb, "EC08", Severity.WARNING, form="response", field="eval_date", row="V1")


def test_ec08_first_evaluation_130_days_after_start_is_a_warning():
    cb = clean_casebook()
    by_id(evals(cb, "T2"), "V3")["eval_date"] = date(2023, 9, 17)  # line 2 starts 2023-05-10
    assert_fires(cb, "EC08", Severity.WARNING, form="response", field="eval_date", row="V3")


@pytest.mark.parametrize("first", [date(2023, 2, 22), date(2023, 6, 1)])  # day 21 and day 120
def test_ec08_first_evaluation_between_21_and_120_days_is_accepted(first):
    cb = clean_casebook()
    ev = evals(cb, "T1")
    ev[:] = [evaluation("V1", first, "SD", 95), evaluation("V9", date(2023, 9, 1), "SD", 95)]
    assert_silent(cb, "EC08")


def test_ec08_only_the_first_evaluation_is_timed():
    cb = clean_casebook()
    evals(cb, "T1").append(evaluation("V9", date(2023, 12, 1), "PD", 90))
    assert_silent(cb, "EC08")


# EC27 ------------------------------------------------------------------------------------------------------


def test_ec27_complete_response_with_new_lesions_is_an_error():
    cb = clean_casebook()
    by_id(evals(cb, "T1"), "V1").update(overall_response="CR", new_lesions=True, target_sum_mm=Decimal(0))
    assert_fires(cb, "EC27", Severity.ERROR, form="response", field="overall_response", row="V1")


def test_ec27_progression_with_new_lesions_is_consistent():
    cb = clean_casebook()
    by_id(evals(cb, "T1"), "V2")["new_lesions"] = True
    assert_silent(cb, "EC27")


def test_ec27_complete_response_without_new_lesions_is_consistent():
    cb = clean_casebook()
    by_id(evals(cb, "T1"), "V1").update(overall_response="CR", target_sum_mm=Decimal(0))
    assert_silent(cb, "EC27")


# EC28 ------------------------------------------------------------------------------------------------------


def recist_line(*evaluations, baseline=100, criteria="recist_1_1"):
    """Clean case book whose line 1 has the given (response, target sum) evaluations, 6 weeks apart."""
    cb = clean_casebook()
    t1 = by_id(cb.lines, "T1")
    t1.update(
        baseline_target_sum_mm=None if baseline is None else Decimal(baseline), reason_stopped="toxicity"
    )
    t1["date_progression"] = None
    t1["evaluations"] = [
        evaluation(f"E{i}", date(2023, 3, 15 + i), response, target, criteria=criteria)
        for i, (response, target) in enumerate(evaluations, start=1)
    ]
    return cb


def test_ec28_growth_of_25_percent_and_6_mm_over_nadir_recorded_as_sd_is_a_warning():
    cb = recist_line(("PR", 24), ("SD", 30))
    f = assert_fires(cb, "EC28", Severity.WARNING, form="response", field="overall_response", row="E2")
    assert "RECIST PD" in f.message


def test_ec28_growth_of_25_percent_but_only_4_mm_over_nadir_is_stable_disease():
    assert_silent(recist_line(("PR", 16), ("SD", 20), baseline=24), "EC28")


def test_ec28_recist_1_0_needs_no_5_mm_increase_for_progression():
    cb = recist_line(("PR", 16), ("SD", 20), baseline=24, criteria="recist_1_0")
    assert_fires(cb, "EC28", Severity.WARNING, form="response", field="overall_response", row="E2")


def test_ec28_partial_response_with_only_20_percent_shrinkage_is_a_warning():
    cb = recist_line(("PR", 80))
    assert_fires(cb, "EC28", Severity.WARNING, form="response", field="overall_response", row="E1")


def test_ec28_stable_disease_with_40_percent_shrinkage_is_a_warning():
    cb = recist_line(("SD", 60))
    assert_fires(cb, "EC28", Severity.WARNING, form="response", field="overall_response", row="E1")


def test_ec28_partial_response_at_exactly_minus_30_percent_is_accepted():
    assert_silent(recist_line(("PR", 70)), "EC28")


def test_ec28_progression_from_new_lesions_with_stable_targets_is_accepted():
    cb = recist_line(("SD", 95), ("PD", 96))
    by_id(evals(cb, "T1"), "E2")["new_lesions"] = True
    assert_silent(cb, "EC28")


def test_ec28_the_first_evaluation_is_not_taken_as_baseline():
    # Measured against the first scan (65 mm) the second (68 mm) would be SD; against the line's baseline
    # of 100 mm it is still a partial response, so the recorded PR stands.
    assert_silent(recist_line(("PR", 65), ("PR", 68)), "EC28")


def test_ec28_each_mismatching_evaluation_is_reported_on_its_own_row():
    cb = recist_line(("SD", 60), ("SD", 63))  # −40 % and −37 % vs baseline: both PR
    assert [f.row for f in findings(cb, "EC28")] == ["E1", "E2"]


def test_ec28_is_silent_without_a_baseline_target_sum():
    assert_silent(recist_line(("SD", 30), ("SD", 60), baseline=None), "EC28")


def test_ec28_does_not_recompute_choi_criteria():
    assert_silent(recist_line(("SD", 60), criteria="choi"), "EC28")


@pytest.mark.parametrize(
    "baseline,nadir,current,expected",
    [
        (100, 100, 70, "PR"),
        (100, 100, 71, "SD"),
        (100, 50, 60, "PD"),  # +20 % and +10 mm vs nadir, still −40 % vs baseline
        (100, 20, 24, "PR"),  # +20 % but +4 mm
        (100, 0, 5, "PD"),
        (100, 0, 0, "PR"),
        (0, 0, 0, "SD"),
    ],
)
def test_recist_target_category_uses_baseline_for_response_and_nadir_for_progression(
    baseline, nadir, current, expected
):
    assert recist_target_category(Decimal(baseline), Decimal(nadir), Decimal(current)) == expected
