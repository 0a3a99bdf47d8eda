"""One patient's case report forms as a validation `CaseBook` of plain mappings (DOMAIN.md §4 names).

`casebook_for_patient` runs a fixed number of queries whatever the size of the case book (one per form
table plus one for the regimen components), so the nightly re-check and every save cost the same.
`overrides` are unsaved form instances — the input being saved — that replace their stored row (same model
and id) or join the case book as new rows, so a service can validate before it writes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from registry.crfs.derive import PatientRecords, derive_form, derive_patient
from registry.crfs.models import (
    Baseline,
    CaseReportForm,
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
from registry.crfs.validation import CaseBook
from registry.sites.models import Site

#: Queries `load_records` (and so `casebook_for_patient`) runs, whatever the patient's data (a `loaded` form
#: and a `site` save one each).
CASEBOOK_QUERIES = 12

_SKIP = frozenset({"patient", "created_by", "updated_by", "submitted_by", "verified_by", "locked_by"})
_ONE_PER_PATIENT = {Enrolment: "enrolment", Baseline: "baseline", TumourStaging: "tumour",
                    SystemicTreatmentStatus: "treatment_status"}
_REPEATING = {LocalPathology: "specimens", LabResult: "labs", TreatmentLine: "lines",
              ResponseEvaluation: "evaluations", OtherTreatment: "other_treatments", FollowUp: "followups"}


@functools.cache
def _rows_sql(model: type[CaseReportForm]) -> str:
    """The ORM's own SQL for "the patient's rows of `model`, oldest first" (one parameter: the patient id),
    compiled once per model: a save loads nine tables this way, and compiling their wide SELECTs each time
    cost more CPU than running them."""
    sql, params = model.objects.filter(patient_id=0).order_by("pk").query.sql_with_params()
    if params != (0,):  # only the patient id, passed again on each run
        raise ValueError(f"unexpected query parameters {params!r}")
    return sql


@functools.cache
def _regimen_drugs_sql() -> str:
    """Every regimen component's drug with its `regimen_key`, by regimen then drug code (compiled once)."""
    components = (Drug.objects.annotate(regimen_key=F("regimens__id")).filter(regimen_key__isnull=False)
                  .order_by("regimen_key", "code"))
    sql, params = components.query.sql_with_params()
    if params:
        raise ValueError(f"unexpected query parameters {params!r}")
    return sql


def load_records(patient, *, loaded: CaseReportForm | None = None, site: Site | None = None) -> PatientRecords:
    """Every form of the patient, plus the regimen components the derivations need.

    `loaded` is a one-per-patient form of the patient just read from the database (the service's locked row):
    it stands in the records for its table's query; `site`, the patient's site read with the patient, likewise.
    """
    def of(model: type[CaseReportForm]) -> list[CaseReportForm]:
        return list(model.objects.raw(_rows_sql(model), [patient.pk]))

    def one(model: type[CaseReportForm]) -> CaseReportForm | None:
        if type(loaded) is model and loaded.pk is not None and loaded.patient_id == patient.pk:
            return loaded
        rows = of(model)
        return rows[0] if rows else None

    records = PatientRecords(patient=patient)
    records.enrolment = one(Enrolment)
    records.baseline = one(Baseline)
    records.tumour = one(TumourStaging)
    records.treatment_status = one(SystemicTreatmentStatus)
    records.specimens = of(LocalPathology)
    records.labs = of(LabResult)
    records.lines = list(TreatmentLine.objects.filter(patient_id=patient.pk).order_by("pk")
                         .select_related("regimen", "backbone_regimen"))
    records.evaluations = of(ResponseEvaluation)
    records.other_treatments = of(OtherTreatment)
    records.followups = of(FollowUp)
    drugs: dict[int, list] = {}
    for drug in Drug.objects.raw(_regimen_drugs_sql()):
        drugs.setdefault(drug.regimen_key, []).append(drug)
    records.regimen_drugs = drugs
    records.site = site if site is not None and site.pk == patient.site_id else Site.objects.get(pk=patient.site_id)
    records.snapshot()
    return records


def with_overrides(records: PatientRecords, overrides: Iterable[CaseReportForm]) -> PatientRecords:
    """A copy of `records` in which each override replaces its stored row, or is added when it is new."""
    result = replace(records, specimens=list(records.specimens), labs=list(records.labs),
                     lines=list(records.lines), evaluations=list(records.evaluations),
                     other_treatments=list(records.other_treatments), followups=list(records.followups))
    for form in overrides:
        model = type(form)
        if model in _ONE_PER_PATIENT:
            setattr(result, _ONE_PER_PATIENT[model], form)
            continue
        rows: list = getattr(result, _REPEATING[model])
        index = next((i for i, row in enumerate(rows) if form.pk is not None and row.pk == form.pk), None)
        if index is None:
            rows.append(form)
        else:
            rows[index] = form
        derive_form(form, result)
    return result


def _plain(value):
    if value == "":
        return None
    return list(value) if isinstance(value, list) else value


def form_mapping(form: CaseReportForm) -> dict:
    """A form's fields under their DOMAIN.md names; blank strings become None, regimens become codes."""
    row: dict = {}
    for f in form._meta.concrete_fields:
        if f.name in _SKIP:
            continue
        if isinstance(f, models.ForeignKey):
            row[f.attname] = getattr(form, f.attname)
        else:
            row[f.name] = _plain(getattr(form, f.attname))
    if isinstance(form, TreatmentLine):
        row["regimen"] = form.regimen.code if form.regimen_id else None
        row["backbone_regimen"] = form.backbone_regimen.code if form.backbone_regimen_id else None
    return row


def build_casebook(records: PatientRecords, *, today: date | None = None) -> CaseBook:
    """Derive the cross-form values in memory and map every form to plain data."""
    derive_patient(records)
    patient = records.patient
    enrolment = None
    if records.enrolment is not None:
        site = records.site
        enrolment = form_mapping(records.enrolment)
        enrolment.update(study_id=patient.study_id, site=site.code, country=site.country)
    baseline = None
    if records.baseline is not None:
        baseline = form_mapping(records.baseline)
        born = records.baseline.date_of_birth
        baseline["birth_year"] = born.year if born else None
    evaluations: dict[object, list[dict]] = {}
    for ev in sorted(records.evaluations, key=lambda e: (e.eval_number or 10_000, e.pk or 0)):
        evaluations.setdefault(ev.line_id, []).append(form_mapping(ev))
    lines = []
    for line in records.lines:
        row = form_mapping(line)
        row["evaluations"] = evaluations.get(line.pk, []) if line.pk else []
        lines.append(row)
    tumour = form_mapping(records.tumour) if records.tumour is not None else None
    return CaseBook(
        enrolment=enrolment,
        baseline=baseline,
        tumour=tumour,
        specimens=[form_mapping(s) for s in records.specimens],
        labs=[form_mapping(lab) for lab in records.labs],
        lines=lines,
        other_treatments=[form_mapping(t) for t in records.other_treatments],
        followups=[form_mapping(v) for v in records.followups],
        # Central review and the final classification join the case book with the pathology app.
        central_reviews=[],
        final_classification=None,
        today=today or timezone.localdate(),
        followup_interval_days=settings.REGISTRY_FOLLOW_UP_INTERVAL_DAYS,
    )


def casebook_for_patient(patient, *, overrides: Iterable[CaseReportForm] | None = None,
                         today: date | None = None) -> CaseBook:
    """The patient's case book for the edit checks, with unsaved `overrides` in place of stored rows."""
    records = load_records(patient)
    if overrides:
        records = with_overrides(records, overrides)
    return build_casebook(records, today=today)


__all__ = ["CASEBOOK_QUERIES", "build_casebook", "casebook_for_patient", "form_mapping",
           "load_records", "with_overrides"]
