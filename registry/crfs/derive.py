"""Derived values (DOMAIN.md F1–F8 "auto" fields): computed by code from entered data, never typed in.

Pure functions over model instances already in memory: no queries. The services call `derive_form` on the
instance being saved and `derive_patient` on the whole case book (cross-form values such as eval_number),
and the case book builder calls the same functions on unsaved input, so edit checks see what will be stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from registry.crfs.models import (
    Baseline,
    CaseReportForm,
    DatePrecision,
    Drug,
    Enrolment,
    FollowUp,
    LabResult,
    LocalPathology,
    OtherTreatment,
    ResponseEvaluation,
    SystemicTreatmentStatus,
    TreatmentLine,
    TumourStaging,
)
from registry.crfs.models.enrolment import ELIGIBILITY_CRITERIA
from registry.crfs.models.tumour import MetastaticSite, PrimarySite, PrimarySiteGroup
from registry.crfs.validation import regimens as regimen_rules
from registry.crfs.validation import units

DAYS_PER_YEAR = Decimal("365.25")
#: DOMAIN.md F5: a baseline sample lies within −30 to +3 days of the line's start.
BASELINE_WINDOW = (timedelta(days=-30), timedelta(days=3))


@dataclass
class PatientRecords:
    """One patient's forms, loaded once (a fixed number of queries) and then worked on in memory."""

    patient: object
    site: object | None = None
    enrolment: Enrolment | None = None
    baseline: Baseline | None = None
    tumour: TumourStaging | None = None
    treatment_status: SystemicTreatmentStatus | None = None
    specimens: list[LocalPathology] = field(default_factory=list)
    labs: list[LabResult] = field(default_factory=list)
    lines: list[TreatmentLine] = field(default_factory=list)
    evaluations: list[ResponseEvaluation] = field(default_factory=list)
    other_treatments: list[OtherTreatment] = field(default_factory=list)
    followups: list[FollowUp] = field(default_factory=list)
    #: regimen id → its drug components
    regimen_drugs: Mapping[int, list[Drug]] = field(default_factory=dict)
    #: (model, pk) → the cross-form derived values as stored, to tell which rows need writing back
    stored: dict[tuple[type, int], tuple] = field(default_factory=dict)

    def snapshot(self) -> None:
        """Remember the stored derived values (call right after loading, before any derivation)."""
        self.stored = {(type(f), f.pk): cross_form_values(f) for f in self.all_forms()}

    def all_forms(self) -> Iterable[CaseReportForm]:
        for one in (self.enrolment, self.baseline, self.tumour, self.treatment_status):
            if one is not None:
                yield one
        yield from (*self.specimens, *self.labs, *self.lines, *self.evaluations, *self.other_treatments,
                    *self.followups)


# ---------------------------------------------------------------------------------------------------------
# Partial dates


def imputed(day: date | None, precision: str) -> date | None:
    """The analysis date of a partial date: the 15th for month precision, 1 July for year precision."""
    if day is None:
        return None
    if precision == DatePrecision.MONTH:
        return day.replace(day=15)
    if precision == DatePrecision.YEAR:
        return day.replace(month=7, day=1)
    return day


def normalise_partial_dates(form: CaseReportForm) -> None:
    """Store a partial date as the first day of its month or year (the database constraint's form)."""
    for name in form.PARTIAL_DATES:
        day, precision = getattr(form, name), getattr(form, f"{name}_precision")
        if isinstance(day, date):
            if precision == DatePrecision.MONTH:
                setattr(form, name, day.replace(day=1))
            elif precision == DatePrecision.YEAR:
                setattr(form, name, day.replace(month=1, day=1))


# ---------------------------------------------------------------------------------------------------------
# Row-local derivations


def eligible(enrolment: Enrolment) -> bool | None:
    """AND of the four inclusion criteria; None while any is unanswered and none is failed."""
    answers = [getattr(enrolment, name) for name in ELIGIBILITY_CRITERIA]
    if any(a is False for a in answers):
        return False
    return None if any(a is None for a in answers) else True


def primary_site_group(primary_site: str) -> str:
    """DOMAIN.md F3 grouping. The anal canal counts as colorectal only if REGISTRY_ANAL_CANAL_IS_COLORECTAL."""
    if not primary_site:
        return ""
    anal_is_colorectal = getattr(settings, "REGISTRY_ANAL_CANAL_IS_COLORECTAL", False)
    groups = {
        PrimarySite.OESOPHAGUS: PrimarySiteGroup.OESOPHAGUS_STOMACH,
        PrimarySite.STOMACH: PrimarySiteGroup.OESOPHAGUS_STOMACH,
        PrimarySite.AMPULLA: PrimarySiteGroup.PANCREATOBILIARY,
        PrimarySite.PANCREAS: PrimarySiteGroup.PANCREATOBILIARY,
        PrimarySite.GALLBLADDER_BILE_DUCT: PrimarySiteGroup.PANCREATOBILIARY,
        PrimarySite.LIVER_PRIMARY: PrimarySiteGroup.PANCREATOBILIARY,
        PrimarySite.DUODENUM: PrimarySiteGroup.SMALL_BOWEL,
        PrimarySite.JEJUNUM_ILEUM: PrimarySiteGroup.SMALL_BOWEL,
        PrimarySite.COLON_RIGHT: PrimarySiteGroup.COLORECTAL,
        PrimarySite.COLON_LEFT: PrimarySiteGroup.COLORECTAL,
        PrimarySite.RECTUM: PrimarySiteGroup.COLORECTAL,
        PrimarySite.ANAL_CANAL: PrimarySiteGroup.COLORECTAL if anal_is_colorectal else PrimarySiteGroup.OTHER,
        PrimarySite.UNKNOWN_PRIMARY_GI_PATTERN: PrimarySiteGroup.UNKNOWN,
    }
    return groups.get(primary_site, PrimarySiteGroup.OTHER)


def n_metastatic_organs(sites: Iterable[str]) -> int:
    """Distinct organs with distant metastases. Regional nodes are not distant spread, so they do not
    count (which is why DOMAIN.md's range is 0–12 for 13 codes)."""
    return len({s for s in sites if s != MetastaticSite.LYMPH_NODES_REGIONAL})


def line_flags(regimen_drugs: list[Drug] | None) -> dict[str, bool | None]:
    """Platinum and temozolomide flags from the regimen's drug components (None when the regimen is
    unknown or has no coded components, e.g. `other`)."""
    if not regimen_drugs:
        return {"contains_platinum_any": None, "is_platinum_etoposide": None, "is_temozolomide_based": None}
    return {
        "contains_platinum_any": regimen_rules.contains_platinum_any(regimen_drugs),
        "is_platinum_etoposide": regimen_rules.is_platinum_etoposide(regimen_drugs),
        "is_temozolomide_based": regimen_rules.is_temozolomide_based(regimen_drugs),
    }


def line_drugs(line: TreatmentLine, regimen_drugs: Mapping[int, list[Drug]]) -> list[Drug]:
    """The line's drugs: its regimen's components plus, for chemo + bevacizumab, the backbone's."""
    drugs = list(regimen_drugs.get(line.regimen_id, []))
    if line.backbone_regimen_id:
        drugs += regimen_drugs.get(line.backbone_regimen_id, [])
    return drugs


def convert_lab(lab: LabResult) -> None:
    """Keep what the lab reported in `entered_*` and store value, LLN and ULN in the analyte's canonical
    unit when the conversion is exact; an unknown unit is left as entered for the edit checks (EC15)."""
    lab.entered_value, lab.entered_lln, lab.entered_uln = lab.value, lab.lln, lab.uln
    lab.entered_unit = lab.unit
    analyte = units.ANALYTES.get(lab.analyte)
    if analyte is None or not lab.unit:
        return
    unit = analyte.unit(lab.unit)
    if unit is None:
        return
    lab.unit = unit.symbol
    if analyte.canonical_unit is None or unit.symbol == analyte.canonical_unit:
        return  # assay specific (CgA): never converted
    for name in ("value", "lln", "uln"):
        amount = getattr(lab, name)
        if amount is not None:
            setattr(lab, name, units.to_canonical(lab.analyte, amount, unit.symbol))
    lab.unit = analyte.canonical_unit


def lab_relative_to_uln(lab: LabResult) -> None:
    """value_x_uln = value / ULN and above_uln = value > ULN (None when either is missing)."""
    if lab.value is None or lab.uln is None or lab.uln <= 0:
        lab.value_x_uln, lab.above_uln = None, None
        return
    lab.value_x_uln = (Decimal(lab.value) / Decimal(lab.uln)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    lab.above_uln = Decimal(lab.value) > Decimal(lab.uln)


def derive_form(form: CaseReportForm, records: PatientRecords, *, entered: bool = False) -> None:
    """Row-local derived values of one form; `entered=True` when its data fields were just written (so lab
    units are converted once, from what the user typed)."""
    normalise_partial_dates(form)
    if isinstance(form, Enrolment):
        form.eligible = eligible(form)
    elif isinstance(form, TumourStaging):
        form.primary_site_group = primary_site_group(form.primary_site)
        form.n_metastatic_organs = n_metastatic_organs(form.metastatic_sites or [])
    elif isinstance(form, LabResult):
        if entered:
            convert_lab(form)
        lab_relative_to_uln(form)
    elif isinstance(form, TreatmentLine):
        for name, flag in line_flags(line_drugs(form, records.regimen_drugs)).items():
            setattr(form, name, flag)


# ---------------------------------------------------------------------------------------------------------
# Cross-form derivations

_RESPONSE_RANK = {"CR": 5, "PR": 4, "SD": 3, "non_CR_non_PD": 3, "PD": 2, "NE": 1}


def age_at_diagnosis(baseline: Baseline, enrolment: Enrolment | None) -> Decimal | None:
    """(date of diagnosis − date of birth) / 365.25 years, partial dates imputed, one decimal."""
    if enrolment is None:
        return None
    born = imputed(baseline.date_of_birth, baseline.date_of_birth_precision)
    diagnosed = imputed(enrolment.date_of_diagnosis, enrolment.date_of_diagnosis_precision)
    if born is None or diagnosed is None:
        return None
    years = Decimal((diagnosed - born).days) / DAYS_PER_YEAR
    return years.quantize(Decimal("0.1"), ROUND_HALF_UP)


def _eval_key(ev: ResponseEvaluation) -> tuple:
    return (ev.eval_date is None, ev.eval_date or date.max, ev.pk is None, ev.pk or 0)


def number_evaluations(evaluations: Iterable[ResponseEvaluation]) -> None:
    """eval_number = 1, 2, … by eval_date within each line (undated evaluations get none)."""
    by_line: dict[object, list[ResponseEvaluation]] = defaultdict(list)
    for ev in evaluations:
        by_line[ev.line_id].append(ev)
    for evs in by_line.values():
        dated = sorted((ev for ev in evs if ev.eval_date is not None), key=_eval_key)
        for n, ev in enumerate(dated, start=1):
            ev.eval_number = n
        for ev in evs:
            if ev.eval_date is None:
                ev.eval_number = None


def line_outcome(line: TreatmentLine, evaluations: list[ResponseEvaluation]) -> None:
    """Best overall response and date of progression (first PD evaluation, or the clinical-PD date)."""
    ranked = [ev for ev in sorted(evaluations, key=_eval_key) if ev.overall_response in _RESPONSE_RANK]
    best = max(ranked, key=lambda ev: _RESPONSE_RANK[ev.overall_response], default=None)
    line.best_response = best.overall_response if best else ""
    candidates = [(ev.eval_date, DatePrecision.DAY) for ev in ranked
                  if ev.overall_response == "PD" and ev.eval_date is not None]
    if line.clinical_progression and line.clinical_progression_date is not None:
        candidates.append((line.clinical_progression_date, line.clinical_progression_date_precision))
    if candidates:
        line.date_progression, line.date_progression_precision = min(
            candidates, key=lambda c: imputed(c[0], c[1]))
    else:
        line.date_progression, line.date_progression_precision = None, DatePrecision.DAY


def mark_baseline_labs(labs: list[LabResult], lines: list[TreatmentLine]) -> None:
    """is_baseline: the latest sample of each analyte within −30/+3 days of its line's start (the linked
    line, else line 1)."""
    starts = {line.pk: imputed(line.start_date, line.start_date_precision) for line in lines if line.pk}
    first = next((line for line in lines if line.line_number == 1), None)
    latest: dict[tuple[object, str], LabResult] = {}
    for lab in labs:
        lab.is_baseline = False
        line_id = lab.line_id or (first.pk if first else None)
        start = starts.get(line_id)
        if start is None or lab.sample_date is None or lab.value is None or not lab.analyte:
            continue
        if not start + BASELINE_WINDOW[0] <= lab.sample_date <= start + BASELINE_WINDOW[1]:
            continue
        key = (line_id, lab.analyte)
        current = latest.get(key)
        if current is None or (lab.sample_date, lab.pk or 0) > (current.sample_date, current.pk or 0):
            latest[key] = lab
    for lab in latest.values():
        lab.is_baseline = True


_CROSS_FORM_FIELDS = {
    Baseline: ("age_at_diagnosis",),
    ResponseEvaluation: ("eval_number",),
    TreatmentLine: ("best_response", "date_progression", "date_progression_precision"),
    LabResult: ("is_baseline",),
}


def cross_form_values(form: CaseReportForm) -> tuple:
    return tuple(getattr(form, n) for n in _CROSS_FORM_FIELDS.get(type(form), ()))


def derive_patient(records: PatientRecords) -> list[CaseReportForm]:
    """Recompute the cross-form derived values in memory; return the saved forms whose values differ from
    what is stored (the in-memory instances may already carry new values from an earlier derivation)."""
    if records.baseline is not None:
        records.baseline.age_at_diagnosis = age_at_diagnosis(records.baseline, records.enrolment)
    number_evaluations(records.evaluations)
    by_line: dict[object, list[ResponseEvaluation]] = defaultdict(list)
    for ev in records.evaluations:
        by_line[ev.line_id].append(ev)
    for line in records.lines:
        line_outcome(line, by_line.get(line.pk, []) if line.pk else [])
    mark_baseline_labs(records.labs, records.lines)
    # Forms saved in this request are not in `stored`; they were derived before being written.
    return [
        f for f in records.all_forms()
        if type(f) in _CROSS_FORM_FIELDS and (type(f), f.pk) in records.stored
        and records.stored[(type(f), f.pk)] != cross_form_values(f)
    ]


def cross_form_fields(model: type[CaseReportForm]) -> tuple[str, ...]:
    """The derived fields `derive_patient` may change on a model."""
    return _CROSS_FORM_FIELDS.get(model, ())
