"""The scale generator's insert path (bench/scale_data.py) on the ordinary test database: the rows it writes
with COPY must be registry data like any other — passing the edit checks, audited under the generator's
context, with valid study ids that continue the site counters, and usable by the analysis dataset."""

from collections import Counter

import pghistory.models
import pytest
from django.apps import apps

from analysis.datasets import build_dataset
from bench.scale_data import insert_patients
from registry.crfs.casebook import build_casebook
from registry.crfs.catalogue import FAMILIES
from registry.crfs.demo import model as demo_model
from registry.crfs.derive import derive_patient
from registry.crfs.models import FormStatus, ResponseEvaluation, TreatmentLine
from registry.crfs.validation import Severity, run_checks
from registry.pathology.models import CaseStatus, FinalClassification, ReviewCase
from registry.patients.models import Patient, StudyIdCounter
from registry.patients.study_ids import is_well_formed
from registry.queries.models import DataQuery
from registry.queries.services.recheck import load_batch
from tests.factories.patients import PatientFactory

pytestmark = pytest.mark.django_db(transaction=False)

N = 40


@pytest.fixture
def inserted(site_a):
    """One patient enrolled the ordinary way at OUS first, so the generator must continue its counter."""
    existing = PatientFactory(site=site_a)
    rows = insert_patients(N, workers=1)
    return existing, rows


def _events(model, **filters) -> int:
    event_models = [m for m in apps.get_models()
                    if issubclass(m, pghistory.models.Event) and getattr(m, "pgh_tracked_model", None) is model]
    assert event_models, f"{model.__name__} is not audited"
    return sum(m.objects.filter(**filters).count() for m in event_models)


def test_generated_forms_pass_every_edit_check_and_hold_their_derived_values(inserted):
    existing, _ = inserted
    ids = list(Patient.objects.exclude(pk=existing.pk).values_list("pk", flat=True))
    assert len(ids) == N
    errors, stale = [], []
    for records in load_batch(ids):
        stale += derive_patient(records)  # rows whose stored cross-form values differ from a fresh derivation
        errors += [f for f in run_checks(build_casebook(records)) if f.severity == Severity.ERROR]
        for form in records.all_forms():
            if form.status != FormStatus.DRAFT:
                assert not form.incomplete_fields(), (form, form.incomplete_fields())
                assert form.submitted_at is not None and form.submitted_by_id is not None
            if form.status in (FormStatus.VERIFIED, FormStatus.LOCKED):
                assert form.verified_at is not None
    assert errors == []
    assert stale == []
    # Every family of the case report form is present in the cohort.
    for fam in FAMILIES:
        assert fam.model.objects.filter(patient_id__in=ids).exists(), fam.code
    assert ResponseEvaluation.objects.filter(patient_id__in=ids).count() > TreatmentLine.objects.filter(
        patient_id__in=ids).count()


def test_every_generated_row_has_an_audit_event_under_the_generator_context(inserted):
    _, rows = inserted
    context = {"pgh_context__metadata__command": "bench.scale_data"}
    for model in (Patient, TreatmentLine, ResponseEvaluation, ReviewCase, FinalClassification, DataQuery):
        written = rows[model._meta.db_table] + (rows["queries_dataquery (auto)"] if model is DataQuery else 0)
        assert written > 0, model.__name__
        assert _events(model, pgh_label="insert", **context) == written, model.__name__


def test_study_ids_are_valid_and_continue_each_site_counter(inserted, site_a):
    existing, _ = inserted
    by_site: dict[int, list[int]] = {}
    for patient in Patient.objects.all():
        assert is_well_formed(patient.study_id), patient.study_id
        by_site.setdefault(patient.site_id, []).append(patient.sequence_number)
    assert existing.sequence_number == 1
    for site_id, numbers in by_site.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        assert StudyIdCounter.objects.get(site_id=site_id).last_number == len(numbers)
    assert len(by_site[site_a.pk]) > 1


def test_central_review_reaches_the_planned_final_diagnoses_and_leaves_an_open_queue(inserted):
    statuses = Counter(ReviewCase.objects.values_list("status", flat=True))
    assert statuses[CaseStatus.FINAL] > N // 2
    assert statuses[CaseStatus.READY] + statuses[CaseStatus.IN_REVIEW] + statuses[CaseStatus.AWAITING_MATERIAL] > 0
    assert not ReviewCase.objects.filter(status=CaseStatus.FINAL, final_classification__isnull=True).exists()
    assert FinalClassification.objects.filter(final_diagnosis__startswith="NEC").exists()


def test_the_analysis_dataset_builds_from_the_generated_cohort(inserted):
    existing, _ = inserted
    rows = build_dataset({}, cutoff=demo_model.DATA_CUTOFF)
    generated = [r for r in rows if r["patient_id"] != existing.pk]
    assert len(generated) == N
    groups = Counter(r["group"] for r in generated)
    assert groups["NEC"] > 0
    analysed = [r for r in generated if r["p3"]]
    assert analysed and all(r["os_days"] is not None and r["os_days"] >= 0 for r in analysed)
    assert any(r["os_event"] == 1 for r in analysed)
