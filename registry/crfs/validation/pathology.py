"""Edit checks on F4 local pathology (and the same consistency rules on F9 central reads).

DOMAIN.md §5 items 3, 14 and 18–24; WHO 2019 grading (DOMAIN.md §2.1).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from registry.crfs.validation.base import (
    HIGH_GRADE_DIAGNOSES,
    NEC_DIAGNOSES,
    CaseBook,
    Finding,
    Rule,
    Severity,
    date_span,
    finding,
    number,
    offset_days,
    rows,
    value,
)

DIAGNOSIS_WINDOW_DAYS = 30
HIGH_GRADE_THRESHOLD = Decimal(20)  # Ki-67 % and mitoses per 2 mm² (WHO 2019)
NET_G3_RARE_KI67 = Decimal(55)
MINEN_MIN_COMPONENT = Decimal(30)  # each component ≥ 30 % (DOMAIN.md §2.1)
CELL_TYPE_FOR = {"NEC_small_cell": "small_cell", "NEC_large_cell": "large_cell"}
PS_AT_BASELINE = frozenset({0, 1, 2, 3, 4})  # 5 = dead, never valid at baseline


@dataclass(frozen=True)
class _Read:
    """One pathology read: a local specimen (F4) or a central review (F9)."""

    form: str
    row: object | None
    record: Mapping
    diagnosis_field: str
    ki67_field: str

    @property
    def diagnosis(self) -> object | None:
        return self.record.get(self.diagnosis_field)

    @property
    def ki67(self) -> Decimal | None:
        return number(self.record.get(self.ki67_field))


def _reads(cb: CaseBook) -> Iterator[_Read]:
    for s in rows(cb.specimens):
        yield _Read("pathology", s.get("id"), s, "local_diagnosis", "ki67_percent")
    for r in rows(cb.central_reviews):
        yield _Read("central_review", r.get("id"), r, "central_diagnosis", "ki67_central_percent")


def ec03_diagnostic_specimen_near_diagnosis(cb: CaseBook) -> Iterator[Finding]:
    """EC03 W: specimen_date of the diagnostic specimen is within ±30 d of date_of_diagnosis."""
    diagnosed = date_span(cb.enrolment, "date_of_diagnosis")
    if diagnosed is None:
        return
    for s in rows(cb.specimens):
        taken = date_span(s, "specimen_date")
        if s.get("is_diagnostic") is not True or taken is None:
            continue
        low, high = offset_days(diagnosed, taken)
        if low > DIAGNOSIS_WINDOW_DAYS or high < -DIAGNOSIS_WINDOW_DAYS:
            yield finding(
                "EC03",
                Severity.WARNING,
                "pathology",
                "specimen_date",
                f"specimen_date ({taken}) of the diagnostic specimen is more than "
                f"{DIAGNOSIS_WINDOW_DAYS} days "
                f"from date_of_diagnosis ({diagnosed})",
                s.get("id"),
            )


def _out_of_percent(raw: object) -> bool:
    n = number(raw)
    return raw is not None and (n is None or not 0 <= n <= 100)


def ec14_value_ranges(cb: CaseBook) -> Iterator[Finding]:
    """EC14 E: Ki-67 in [0, 100]; mitoses ≥ 0; PS in {0..4} at baseline."""
    percent_fields = [(read.form, read.ki67_field, read.row, read.record) for read in _reads(cb)]
    if cb.final_classification is not None:
        percent_fields.append(("final_classification", "final_ki67", None, cb.final_classification))
    for form, field, row, record in percent_fields:
        if _out_of_percent(record.get(field)):
            yield finding(
                "EC14",
                Severity.ERROR,
                form,
                field,
                f"{field} ({record.get(field)}) must be a percentage between 0 and 100",
                row,
            )
    for s in rows(cb.specimens):
        raw = s.get("mitoses_per_2mm2")
        mitoses = number(raw)
        if raw is not None and (mitoses is None or mitoses < 0):
            yield finding(
                "EC14",
                Severity.ERROR,
                "pathology",
                "mitoses_per_2mm2",
                f"mitoses_per_2mm2 ({raw}) must be a number ≥ 0",
                s.get("id"),
            )
    raw_ps = value(cb.baseline, "ecog_ps")
    ps = number(raw_ps)
    if raw_ps is not None and (ps is None or ps not in PS_AT_BASELINE):
        yield finding(
            "EC14",
            Severity.ERROR,
            "baseline",
            "ecog_ps",
            f"ecog_ps ({raw_ps}) at baseline must be one of 0, 1, 2, 3, 4",
        )


def ec18_high_grade_needs_proliferation(cb: CaseBook) -> Iterator[Finding]:
    """EC18 E: local_diagnosis ∈ {NET_G3, NEC*} requires ki67_percent > 20 or mitoses_per_2mm2 > 20."""
    for s in rows(cb.specimens):
        if s.get("local_diagnosis") not in HIGH_GRADE_DIAGNOSES:
            continue
        ki67, mitoses = number(s.get("ki67_percent")), number(s.get("mitoses_per_2mm2"))
        if ki67 is None and mitoses is None:
            continue
        if not any(x is not None and x > HIGH_GRADE_THRESHOLD for x in (ki67, mitoses)):
            yield finding(
                "EC18",
                Severity.ERROR,
                "pathology",
                "ki67_percent",
                f"local_diagnosis {s.get('local_diagnosis')} requires ki67_percent > 20 or "
                "mitoses_per_2mm2 > 20 "
                f"(entered: {ki67}, {mitoses})",
                s.get("id"),
            )


def ec19_differentiation_contradiction(cb: CaseBook) -> Iterator[Finding]:
    """EC19 W: NET_G3 with differentiation = poor, or NEC* with differentiation = well → contradiction."""
    for read in _reads(cb):
        diff = read.record.get("differentiation")
        if (read.diagnosis == "NET_G3" and diff == "poor") or (
            read.diagnosis in NEC_DIAGNOSES and diff == "well"
        ):
            yield finding(
                "EC19",
                Severity.WARNING,
                read.form,
                "differentiation",
                f"differentiation '{diff}' contradicts {read.diagnosis_field} {read.diagnosis}",
                read.row,
            )


def ec20_nec_with_low_ki67(cb: CaseBook) -> Iterator[Finding]:
    """EC20 W: NEC with Ki-67 ≤ 20 % → query (unusual; check the mitotic count)."""
    for read in _reads(cb):
        ki67 = read.ki67
        if read.diagnosis in NEC_DIAGNOSES and ki67 is not None and ki67 <= HIGH_GRADE_THRESHOLD:
            yield finding(
                "EC20",
                Severity.WARNING,
                read.form,
                read.ki67_field,
                f"{read.ki67_field} ({ki67}) ≤ 20 % is unusual for {read.diagnosis}; check the mitotic count",
                read.row,
            )


def ec21_net_g3_with_very_high_ki67(cb: CaseBook) -> Iterator[Finding]:
    """EC21 W: NET G3 with Ki-67 > 55 % → allowed but rare; query to confirm."""
    for read in _reads(cb):
        ki67 = read.ki67
        if read.diagnosis == "NET_G3" and ki67 is not None and ki67 > NET_G3_RARE_KI67:
            yield finding(
                "EC21",
                Severity.WARNING,
                read.form,
                read.ki67_field,
                f"{read.ki67_field} ({ki67}) > 55 % is rare for NET_G3; please confirm",
                read.row,
            )


def ec22_cell_type_only_for_nec(cb: CaseBook) -> Iterator[Finding]:
    """EC22 E: NEC_small_cell/NEC_large_cell requires cell_type, and cell_type is allowed only for NEC."""
    for read in _reads(cb):
        diagnosis, cell_type = read.diagnosis, read.record.get("cell_type")
        if diagnosis is None:
            continue
        expected = CELL_TYPE_FOR.get(diagnosis)
        if expected is not None and cell_type is None:
            yield finding(
                "EC22",
                Severity.ERROR,
                read.form,
                "cell_type",
                f"cell_type is required for {read.diagnosis_field} {diagnosis}",
                read.row,
            )
        elif expected is not None and cell_type != expected:
            yield finding(
                "EC22",
                Severity.ERROR,
                read.form,
                "cell_type",
                f"cell_type '{cell_type}' contradicts {read.diagnosis_field} {diagnosis} "
                f"(expected {expected})",
                read.row,
            )
        elif diagnosis not in NEC_DIAGNOSES and cell_type not in (None, "not_applicable"):
            yield finding(
                "EC22",
                Severity.ERROR,
                read.form,
                "cell_type",
                f"cell_type '{cell_type}' is allowed only for NEC, not {read.diagnosis_field} {diagnosis}",
                read.row,
            )


def ec23_minen_components(cb: CaseBook) -> Iterator[Finding]:
    """EC23 E: MiNEN requires minen_nonNE_component with each component ≥ 30 %."""
    for s in rows(cb.specimens):
        if s.get("local_diagnosis") != "MiNEN":
            continue
        if s.get("minen_nonNE_component") is None:
            yield finding(
                "EC23",
                Severity.ERROR,
                "pathology",
                "minen_nonNE_component",
                "minen_nonNE_component is required for local_diagnosis MiNEN",
                s.get("id"),
            )
        percent = number(s.get("minen_nonNE_percent"))
        if percent is None or not MINEN_MIN_COMPONENT <= percent <= 100 - MINEN_MIN_COMPONENT:
            yield finding(
                "EC23",
                Severity.ERROR,
                "pathology",
                "minen_nonNE_percent",
                f"minen_nonNE_percent ({s.get('minen_nonNE_percent')}) must be 30–70 so that each MiNEN "
                "component is ≥ 30 %",
                s.get("id"),
            )


def ec24_neuroendocrine_marker(cb: CaseBook) -> Iterator[Finding]:
    """EC24 E: NEN diagnosis requires at least one of CgA/synaptophysin IHC = positive."""
    for s in rows(cb.specimens):
        diagnosis = s.get("local_diagnosis")
        markers = (s.get("chromogranin_a_ihc"), s.get("synaptophysin_ihc"))
        if diagnosis in (None, "not_NEN") or markers == (None, None) or "positive" in markers:
            continue
        yield finding(
            "EC24",
            Severity.ERROR,
            "pathology",
            "chromogranin_a_ihc",
            f"local_diagnosis {diagnosis} requires chromogranin_a_ihc or synaptophysin_ihc = positive "
            f"(entered: {markers[0]}, {markers[1]})",
            s.get("id"),
        )


RULES = (
    Rule(
        "EC03",
        "W",
        ("pathology", "enrolment"),
        "Diagnostic specimen within ±30 d of diagnosis",
        ec03_diagnostic_specimen_near_diagnosis,
    ),
    Rule(
        "EC14",
        "E",
        ("baseline", "pathology", "central_review", "final_classification"),
        "Ki-67 0–100, mitoses ≥ 0, baseline PS 0–4",
        ec14_value_ranges,
    ),
    Rule(
        "EC18",
        "E",
        ("pathology",),
        "High-grade diagnosis needs Ki-67 or mitoses > 20",
        ec18_high_grade_needs_proliferation,
    ),
    Rule(
        "EC19",
        "W",
        ("pathology", "central_review"),
        "Differentiation consistent with diagnosis",
        ec19_differentiation_contradiction,
    ),
    Rule("EC20", "W", ("pathology", "central_review"), "NEC with Ki-67 ≤ 20 %", ec20_nec_with_low_ki67),
    Rule(
        "EC21",
        "W",
        ("pathology", "central_review"),
        "NET G3 with Ki-67 > 55 %",
        ec21_net_g3_with_very_high_ki67,
    ),
    Rule(
        "EC22",
        "E",
        ("pathology", "central_review"),
        "Cell type only and always for NEC",
        ec22_cell_type_only_for_nec,
    ),
    Rule("EC23", "E", ("pathology",), "MiNEN components each ≥ 30 %", ec23_minen_components),
    Rule("EC24", "E", ("pathology",), "NEN needs CgA or synaptophysin positive", ec24_neuroendocrine_marker),
)
