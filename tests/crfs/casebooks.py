"""Case-book factories and assertions for the edit-check tests (pure data, no database).

`clean_casebook()` is one consistent NEC patient on which no rule fires; each test breaks exactly one thing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from registry.crfs.validation import Finding, Severity, rule
from registry.crfs.validation.base import CaseBook

TODAY = date(2025, 6, 30)
CUTOFF = date(2025, 6, 1)


def evaluation(id: str, eval_date: date, response: str, target_sum_mm: int | str | None, **extra) -> dict:
    """One F7 response evaluation (CT, RECIST 1.1, no new lesions unless given)."""
    return {
        "id": id,
        "eval_date": eval_date,
        "overall_response": response,
        "new_lesions": False,
        "target_sum_mm": None if target_sum_mm is None else Decimal(target_sum_mm),
        "progression_type": "radiological" if response == "PD" else None,
        "method": "ct",
        "criteria": "recist_1_1",
        **extra,
    }


def lab(id: str, analyte: str, value, unit: str, lln, uln, sample_date: date, **extra) -> dict:
    """One F5 laboratory result."""
    return {
        "id": id,
        "analyte": analyte,
        "value": value,
        "unit": unit,
        "lln": lln,
        "uln": uln,
        "sample_date": sample_date,
        "timepoint": "other",
        "is_baseline": False,
        **extra,
    }


def clean_casebook(**overrides) -> CaseBook:
    """A consistent advanced NEC patient: two palliative lines, alive at last contact, centrally reviewed."""
    line1 = {
        "id": "T1",
        "line_number": 1,
        "intent": "palliative",
        "regimen": "carbo_etop",
        "regimen_other_text": None,
        "start_date": date(2023, 2, 1),
        "end_date": date(2023, 4, 26),
        "n_cycles": 4,
        "reason_stopped": "progression",
        "date_progression": date(2023, 4, 26),
        "contains_platinum_any": True,
        "is_platinum_etoposide": True,
        "clinical_progression": False,
        "baseline_target_sum_mm": Decimal(100),
        "evaluations": [
            evaluation("V1", date(2023, 3, 22), "PR", 60),
            evaluation("V2", date(2023, 4, 26), "PD", 80),
        ],
    }
    line2 = {
        "id": "T2",
        "line_number": 2,
        "intent": "palliative",
        "regimen": "folfiri",
        "regimen_other_text": None,
        "start_date": date(2023, 5, 10),
        "end_date": None,
        "n_cycles": 6,
        "reason_stopped": "ongoing",
        "date_progression": None,
        "contains_platinum_any": False,
        "is_platinum_etoposide": False,
        "clinical_progression": False,
        "baseline_target_sum_mm": Decimal(82),
        "evaluations": [evaluation("V3", date(2023, 7, 5), "SD", 84)],
    }
    fields = {
        "enrolment": {
            "study_id": "NO-OUS-0001",
            "country": "NO",
            "registration_date": date(2023, 1, 20),
            "consent_obtained": "yes",
            "consent_date": date(2023, 1, 18),
            "age_at_registration_ge_18": True,
            "histological_confirmation": True,
            "ki67_gt_20_or_mitoses_gt_20": True,
            "digestive_primary_or_gi_cup": True,
            "date_of_diagnosis": date(2023, 1, 10),
            "registration_timing": "prospective_at_diagnosis",
        },
        "baseline": {
            "sex": "male",
            "date_of_birth": date(1955, 3, 2),
            "birth_year": 1955,
            "ecog_ps": 1,
            "ps_assessment_date": date(2023, 1, 25),
        },
        "tumour": {
            "primary_site": "pancreas",
            "disease_extent_at_diagnosis": "metastatic",
            "advanced_disease_date": date(2023, 1, 10),
            "metastatic_sites": ["liver", "lymph_nodes_distant"],
        },
        "specimens": [
            {
                "id": "S1",
                "specimen_date": date(2023, 1, 8),
                "is_diagnostic": True,
                "specimen_site": "liver_metastasis",
                "specimen_type": "core_biopsy",
                "classification_edition": "WHO2019",
                "local_diagnosis": "NEC_large_cell",
                "differentiation": "poor",
                "ki67_percent": Decimal("70.0"),
                "mitoses_per_2mm2": Decimal(35),
                "cell_type": "large_cell",
                "chromogranin_a_ihc": "positive",
                "synaptophysin_ihc": "positive",
                "minen_nonNE_component": None,
                "minen_nonNE_percent": None,
            }
        ],
        "labs": [
            lab(
                "L1",
                "alp",
                Decimal(150),
                "U/L",
                35,
                105,
                date(2023, 1, 28),
                timepoint="baseline_line1",
                is_baseline=True,
            ),
            lab(
                "L2",
                "ldh",
                320,
                "U/L",
                105,
                205,
                date(2023, 1, 28),
                timepoint="baseline_line1",
                is_baseline=True,
            ),
            lab(
                "L3",
                "haemoglobin",
                Decimal("12.1"),
                "g/dL",
                Decimal("13.5"),
                Decimal("17.5"),
                date(2023, 1, 28),
                timepoint="baseline_line1",
                is_baseline=True,
            ),
        ],
        "lines": [line1, line2],
        "other_treatments": [],
        "followups": [
            {
                "id": "F1",
                "visit_date": date(2025, 5, 2),
                "vital_status": "alive",
                "date_last_known_alive": date(2025, 5, 2),
                "date_of_death": None,
                "cause_of_death": None,
                "source_of_vital_status": "chart",
            }
        ],
        "central_reviews": [
            {
                "id": "R1",
                "specimen_id": "S1",
                "review_date": date(2023, 6, 1),
                "central_diagnosis": "NEC_large_cell",
                "ki67_central_percent": Decimal(65),
                "differentiation": "poor",
                "cell_type": "large_cell",
                "submitted": True,
            }
        ],
        "final_classification": {
            "final_diagnosis": "NEC_large",
            "final_ki67": Decimal(65),
            "method": "single_reviewer",
        },
        "today": TODAY,
        "data_cutoff_date": CUTOFF,
        "in_outcome_population": True,
    }
    fields.update(overrides)
    return CaseBook(**fields)


def dead_casebook(died: date = date(2024, 11, 3)) -> CaseBook:
    """The clean patient, last seen alive in October 2024 and dead on `died` (recorded at a later visit)."""
    cb = clean_casebook()
    cb.followups[0].update(visit_date=date(2024, 10, 1), date_last_known_alive=date(2024, 10, 1))
    cb.followups.append(
        {
            "id": "F2",
            "visit_date": date(2024, 11, 20),
            "vital_status": "dead",
            "date_last_known_alive": None,
            "date_of_death": died,
            "cause_of_death": "disease",
            "source_of_vital_status": "chart",
        }
    )
    return cb


def empty_casebook(**overrides) -> CaseBook:
    """A patient on whom nothing has been entered yet."""
    fields = {
        "enrolment": None,
        "baseline": None,
        "tumour": None,
        "specimens": [],
        "labs": [],
        "lines": [],
        "other_treatments": [],
        "followups": [],
        "central_reviews": [],
        "final_classification": None,
        "today": TODAY,
    }
    fields.update(overrides)
    return CaseBook(**fields)


def by_id(records: list[dict], id: str) -> dict:
    """The row with this id."""
    return next(r for r in records if r["id"] == id)


def findings(cb: CaseBook, rule_id: str) -> list[Finding]:
    """What one rule reports on the case book."""
    return list(rule(rule_id).check(cb))


def assert_silent(cb: CaseBook, rule_id: str) -> None:
    """The rule reports nothing."""
    found = findings(cb, rule_id)
    assert found == [], f"{rule_id} unexpectedly fired: {found}"


def assert_fires(
    cb: CaseBook, rule_id: str, severity: Severity, *, form: str, field: str, row: object | None = None
) -> Finding:
    """The rule reports one finding with this severity, form, field and row; its message names both."""
    found = findings(cb, rule_id)
    assert len(found) == 1, f"{rule_id}: expected one finding, got {found}"
    (f,) = found
    assert (f.rule, f.severity, f.form, f.field, f.row) == (rule_id, severity, form, field, row), f
    assert f.message.endswith(f"({rule_id})"), f.message
    assert field in f.message, f"{f.message!r} does not name {field}"
    return f
