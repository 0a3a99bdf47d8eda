"""The edit-check catalogue as a whole: the contract, rule selection, and robustness on missing data."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.crfs.validation import FORMS, RULES, CaseBook, Finding, Severity, rule, rules_for, run_checks
from tests.crfs.casebooks import TODAY, clean_casebook, dead_casebook, empty_casebook

# DOMAIN.md §5: rule number → severity as written there (EC26's pending review is shown as information).
EXPECTED_SEVERITY = {
    1: "E", 2: "E/W", 3: "W", 4: "E", 5: "E/W", 6: "E/W", 7: "E", 8: "E/W", 9: "E", 10: "E/W",
    11: "E", 12: "W", 13: "W", 14: "E", 15: "E/W", 16: "E/W", 17: "E/W", 18: "E", 19: "W", 20: "W",
    21: "W", 22: "E", 23: "E", 24: "E", 25: "W", 26: "E", 27: "E", 28: "W", 29: "E", 30: "W",
    31: "E", 32: "W", 33: "W", 34: "W", 35: "E/W", 36: "I",
}  # fmt: skip


def test_all_36_rules_are_registered_in_domain_order():
    assert [r.id for r in RULES] == [f"EC{n:02d}" for n in range(1, 37)]


@pytest.mark.parametrize("number,severity", EXPECTED_SEVERITY.items())
def test_rule_severity_matches_domain_section_5(number, severity):
    assert rule(f"EC{number:02d}").severity == severity


@pytest.mark.parametrize("r", RULES, ids=lambda r: r.id)
def test_every_rule_declares_known_forms_a_title_and_a_docstring_quoting_it(r):
    assert r.forms and set(r.forms) <= set(FORMS)
    assert r.title
    doc = r.check.__doc__ or ""
    assert doc.startswith(f"{r.id} ") and "\n" not in doc.strip()


def test_rule_lookup_by_id_and_unknown_id_is_a_key_error():
    assert rule("EC07").id == "EC07"
    with pytest.raises(KeyError):
        rule("EC99")


def test_clean_casebook_raises_no_finding():
    assert run_checks(clean_casebook()) == []


def test_clean_dead_patient_raises_no_finding():
    assert run_checks(dead_casebook()) == []


def test_empty_casebook_raises_no_finding():
    assert run_checks(empty_casebook()) == []


def test_findings_are_frozen_values_naming_their_rule():
    cb = clean_casebook()
    cb.lines[0]["end_date"] = date(2023, 1, 30)
    (f,) = run_checks(cb)
    assert isinstance(f, Finding) and f.rule == "EC07" and f.severity is Severity.ERROR
    assert f.severity == "E"  # StrEnum: compares equal to the stored code
    with pytest.raises(AttributeError):
        f.rule = "EC08"  # type: ignore[misc]


def test_run_checks_with_forms_runs_only_rules_touching_those_families():
    selected = {r.id for r in rules_for(["labs"])}
    assert {"EC12", "EC15", "EC16", "EC34"} <= selected
    assert "EC27" not in selected and "EC31" not in selected
    cb = clean_casebook()
    cb.lines[0]["end_date"] = date(2023, 1, 30)  # EC07, a treatment rule
    assert run_checks(cb, forms=["labs"]) == []
    assert [f.rule for f in run_checks(cb, forms=["treatment"])] == ["EC07"]


def test_run_checks_accepts_a_single_family_name():
    assert rules_for("response") == rules_for(["response"])


def test_run_checks_rejects_an_unknown_family():
    with pytest.raises(ValueError, match="lab_results"):
        run_checks(clean_casebook(), forms=["lab_results"])


def test_every_family_has_at_least_one_rule():
    assert all(rules_for([family]) for family in FORMS)


def test_rules_skip_none_rows_in_repeating_lists():
    cb = clean_casebook()
    cb.specimens.append(None)
    cb.labs.append(None)
    cb.lines[0]["evaluations"].append(None)
    assert run_checks(cb) == []


def test_rules_do_not_fire_on_records_whose_fields_are_all_none():
    """Every field blank (ids kept): nothing to compare, so only "absence" rules may speak."""

    def blank(record):
        out = {k: (v if k == "id" else None) for k, v in record.items()}
        if "evaluations" in record:
            out["evaluations"] = [blank(e) for e in record["evaluations"]]
        return out

    cb = clean_casebook()
    blanked = CaseBook(
        enrolment=blank(cb.enrolment),
        baseline=blank(cb.baseline),
        tumour=blank(cb.tumour),
        specimens=[blank(r) for r in cb.specimens],
        labs=[blank(r) for r in cb.labs],
        lines=[blank(r) for r in cb.lines],
        other_treatments=[],
        followups=[blank(r) for r in cb.followups],
        central_reviews=[blank(r) for r in cb.central_reviews],
        final_classification=blank(cb.final_classification),
        today=TODAY,
        in_outcome_population=True,
    )
    assert [(f.rule, f.severity) for f in run_checks(blanked)] == [("EC26", Severity.INFO)]


def _strip(record, keep):
    return {k: v for k, v in record.items() if keep(k)}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_no_rule_crashes_when_any_subset_of_fields_is_missing(data):
    """Absent inputs never crash a rule (DESIGN.md: rules simply do not fire)."""
    cb = clean_casebook()
    cb = dead_casebook() if data.draw(st.booleans()) else cb

    def keep(_key):
        return data.draw(st.booleans())

    def thin(record):
        if record is None or data.draw(st.integers(0, 9)) == 0:
            return None
        out = _strip(record, keep)
        if "evaluations" in record:
            out["evaluations"] = [thin(e) for e in record["evaluations"]]
        return out

    thinned = CaseBook(
        enrolment=thin(cb.enrolment),
        baseline=thin(cb.baseline),
        tumour=thin(cb.tumour),
        specimens=[thin(r) for r in cb.specimens],
        labs=[thin(r) for r in cb.labs],
        lines=[thin(r) for r in cb.lines],
        other_treatments=[],
        followups=[thin(r) for r in cb.followups],
        central_reviews=[thin(r) for r in cb.central_reviews],
        final_classification=thin(cb.final_classification),
        today=TODAY,
        data_cutoff_date=data.draw(st.sampled_from([None, cb.data_cutoff_date])),
        in_outcome_population=data.draw(st.booleans()),
    )
    for f in run_checks(thinned):
        assert f.message.endswith(f"({f.rule})")


@settings(max_examples=150, deadline=None)
@given(
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.dates(),
    ),
    field=st.sampled_from(
        [
            "ki67_percent",
            "mitoses_per_2mm2",
            "specimen_date",
            "value",
            "uln",
            "lln",
            "unit",
            "n_cycles",
            "start_date",
            "end_date",
            "date_progression",
            "target_sum_mm",
            "eval_date",
            "line_number",
            "regimen_other_text",
            "ecog_ps",
            "date_of_death",
            "date_last_known_alive",
            "visit_date",
        ]
    ),
)
def test_no_rule_crashes_on_odd_values(value, field):
    """Values of the wrong type (as an unvalidated API payload might hold) never crash a rule."""
    cb = clean_casebook()
    for record in (cb.specimens[0], cb.labs[0], cb.lines[0], cb.lines[0]["evaluations"][0], cb.followups[0]):
        if field in record:
            record[field] = value
    if field == "ecog_ps":
        cb.baseline["ecog_ps"] = value
    run_checks(cb)
