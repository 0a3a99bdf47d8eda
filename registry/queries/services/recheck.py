"""The nightly re-check: every edit check over every patient, in batches that each run a fixed number of
queries (one per form table, not one per patient), then the automatic queries, field verifications and
signatures of the batch are brought in line with the data.

Findings are stored exactly as the save path stores them (crfs.services.checks), so the findings table,
the queries and the save-time checks agree.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db import transaction
from django.utils import timezone

from registry.audit.tracking import audit_context
from registry.crfs.casebook import build_casebook
from registry.crfs.derive import PatientRecords, cross_form_fields, derive_patient
from registry.crfs.models import (
    Baseline,
    Enrolment,
    FollowUp,
    LabResult,
    LocalPathology,
    OtherTreatment,
    RegimenComponent,
    ResponseEvaluation,
    SystemicTreatmentStatus,
    TreatmentLine,
    TumourStaging,
)
from registry.crfs.services.checks import findings_store_many
from registry.crfs.validation import run_checks
from registry.patients.models import Patient
from registry.queries.models import CasebookSignature, FieldVerification
from registry.queries.services.reconcile import ReconcileResult, hits_from_findings, reconcile_hits
from registry.queries.services.sdv import unverify_changed
from registry.queries.targets import casebook_hash

BATCH_SIZE = 200
_SINGLE = ((Enrolment, "enrolment"), (Baseline, "baseline"), (TumourStaging, "tumour"),
           (SystemicTreatmentStatus, "treatment_status"))
_MANY = ((LocalPathology, "specimens"), (LabResult, "labs"), (TreatmentLine, "lines"),
         (ResponseEvaluation, "evaluations"), (OtherTreatment, "other_treatments"), (FollowUp, "followups"))


def load_batch(patient_ids: list[int]) -> list[PatientRecords]:
    """PatientRecords for many patients in one query per form table (crfs.casebook.load_records, batched)."""
    patients = list(Patient.objects.filter(pk__in=patient_ids).select_related("site").order_by("pk"))
    records = {p.pk: PatientRecords(patient=p, site=p.site) for p in patients}
    for model, attr in _SINGLE:
        for form in model.objects.filter(patient_id__in=patient_ids).order_by("pk"):
            if getattr(records[form.patient_id], attr) is None:
                setattr(records[form.patient_id], attr, form)
    for model, attr in _MANY:
        forms = model.objects.filter(patient_id__in=patient_ids).order_by("pk")
        if model is TreatmentLine:
            forms = forms.select_related("regimen", "backbone_regimen")
        for form in forms:
            getattr(records[form.patient_id], attr).append(form)
    drugs: dict[int, list] = {}
    for component in RegimenComponent.objects.select_related("drug").order_by("regimen_id", "drug__code"):
        drugs.setdefault(component.regimen_id, []).append(component.drug)
    for r in records.values():
        r.regimen_drugs = drugs
        r.snapshot()
    return list(records.values())


@transaction.atomic
def recheck_batch(patient_ids: list[int], *, today: date | None = None, rules: set[str] | None = None) -> dict:
    """Re-run the edit checks for these patients and reconcile queries, verifications and signatures."""
    # Lock the patients as the CRF services do, so no save interleaves with the batch.
    list(Patient.objects.filter(pk__in=patient_ids).order_by("pk").select_for_update().values_list("pk", flat=True))
    batch = load_batch(patient_ids)
    derived: dict[type, list] = defaultdict(list)
    found: dict[int, list] = {}
    for records in batch:
        for form in derive_patient(records):
            derived[type(form)].append(form)
        found[records.patient.pk] = run_checks(build_casebook(records, today=today))
    with audit_context(action="queries.recheck"):
        for model, forms in derived.items():
            model.objects.bulk_update(forms, list(cross_form_fields(model)))
        stored = findings_store_many(batch, found)
        result: ReconcileResult = reconcile_hits([r.patient for r in batch], hits_from_findings(stored), rules=rules)
        forms = [form for records in batch for form in records.all_forms()]
        verifications = FieldVerification.objects.filter(patient_id__in=patient_ids, unverified_at__isnull=True)
        unverified = unverify_changed(forms, verifications)
        if unverified:
            FieldVerification.objects.bulk_update(unverified, ["unverified_at", "unverified_reason", "updated_at"])
        hashes = {r.patient.pk: casebook_hash(r.all_forms()) for r in batch}
        void = [s.pk for s in CasebookSignature.objects.filter(patient_id__in=patient_ids, voided_at__isnull=True)
                if s.content_hash != hashes.get(s.patient_id)]
        if void:
            CasebookSignature.objects.filter(pk__in=void).update(
                voided_at=timezone.now(), updated_at=timezone.now(),
                voided_by_change="casebook content changed since signing (found by the nightly re-check)")
    return {**result.as_dict(), "patients": len(batch), "unverified": len(unverified), "signatures_voided": len(void)}


def recheck_all(*, batch_size: int = BATCH_SIZE, today: date | None = None) -> dict:
    """Every patient, batch by batch (each batch its own transaction, so a long run holds no long locks)."""
    totals: dict[str, int] = defaultdict(int)
    last = 0
    while True:
        ids = list(Patient.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        for key, value in recheck_batch(ids, today=today).items():
            totals[key] += value
        totals["batches"] += 1
        last = ids[-1]
    return dict(totals)
