"""The per-patient column helpers the analysis dataset is derived with (analysis/arrays.py): reductions by
patient position, partial-date imputation and missing values, each against a hand-worked answer."""

from datetime import date
from decimal import Decimal

import numpy as np

from analysis import arrays
from analysis.datasets import impute as impute_one

NAT = arrays.NAT


def days(*values):
    return np.array([np.datetime64(v, "D") if v else NAT for v in values], dtype="datetime64[D]")


def test_first_and_last_row_per_patient_follow_the_table_order_and_skip_rows_that_do_not_match():
    pos = np.array([0, 0, 0, 2, 2])
    mask = np.array([False, True, True, True, False])
    assert arrays.first_row(pos, mask, 3).tolist() == [1, -1, 3]
    assert arrays.last_row(pos, mask, 3).tolist() == [2, -1, 3]


def test_min_and_max_day_ignore_missing_dates_and_masked_rows():
    pos = np.array([0, 0, 1, 1, 2])
    when = days("2022-03-01", "2022-01-01", None, "2021-05-05", None)
    mask = np.array([True, True, True, False, True])
    assert arrays.min_day(pos, when, mask, 4).astype(str).tolist() == ["2022-01-01", "NaT", "NaT", "NaT"]
    assert arrays.max_day(pos, when, np.ones(5, bool), 4).astype(str).tolist() == [
        "2022-03-01", "2021-05-05", "NaT", "NaT"]


def test_imputation_moves_month_dates_to_the_15th_and_year_dates_to_1_july_as_the_scalar_rule_does():
    given = [date(2020, 2, 1), date(2021, 1, 1), date(2024, 2, 29), None, date(2019, 12, 31)]
    precision = np.array(["month", "year", "day", "month", None], dtype=object)
    out, imputed = arrays.impute(days(*given), precision)
    expected = [impute_one(d, p) for d, p in zip(given, precision, strict=True)]
    assert out.astype(object).tolist() == [d for d, _ in expected]  # NaT → None
    assert imputed.tolist() == [was for _, was in expected] == [True, True, False, False, False]


def test_take_fills_missing_rows_with_the_missing_value_of_each_kind():
    rows = np.array([1, -1, 0])
    assert arrays.take(np.array(["a", "b"], dtype=object), rows).tolist() == ["b", None, "a"]
    assert np.isnat(arrays.take(days("2020-01-01", "2020-01-02"), rows)).tolist() == [False, True, False]
    assert np.isnan(arrays.take(np.array([1.5, 2.5]), rows)).tolist() == [False, True, False]
    assert arrays.take(np.array([True, True]), rows).tolist() == [True, False, True]
    assert arrays.take(np.array([], dtype=object), rows).tolist() == [None, None, None]


def test_patient_positions_come_from_ids_in_any_order_and_unknown_ids_are_minus_one():
    index = arrays.PatientIndex([30, 10, 20])
    assert index.positions([10, 30, 99, 20, 5]).tolist() == [1, 0, -1, 2, -1]
    assert arrays.PatientIndex([]).positions([1]).tolist() == [-1]


def test_columns_convert_values_and_drop_rows_of_patients_not_in_the_list():
    table = arrays.TableRows(("patient_id", "when", "value", "flag"), [
        (20, date(2020, 1, 2), Decimal("1.25"), None), (99, None, None, True), (10, None, None, "x")])
    cols = arrays.Columns(table, arrays.PatientIndex([10, 20]))
    assert cols.pos.tolist() == [1, 0] and cols.n == 2
    assert cols.day("when").astype(str).tolist() == ["2020-01-02", "NaT"]
    assert np.isnan(cols.num("value")).tolist() == [False, True] and cols.num("value")[0] == 1.25
    assert cols.flag("flag").tolist() == [False, True]
    assert cols.obj("flag").tolist() == [None, "x"]


def test_python_values_come_back_with_none_for_missing():
    assert arrays.ints(np.array([3, 4, 5]), np.array([True, False, True])) == [3, None, 5]
    assert arrays.floats(np.array([0.5, np.nan])) == [0.5, None]
    assert arrays.iso(days("2021-07-01", None)) == ["2021-07-01", None]
    assert arrays.days_between(days("2021-03-01"), days("2021-02-01")).tolist() == [28]
