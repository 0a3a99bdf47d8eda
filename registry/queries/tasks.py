"""Thin Celery tasks: each calls one service. Idempotent (re-running converges to the same queries)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="queries.recheck_all")
def recheck_all() -> dict:
    """Nightly: every edit check over all data; open, close and reopen automatic queries."""
    from registry.queries.services import recheck_all as run

    return run()


@shared_task(name="queries.overdue_followup")
def overdue_followup() -> dict:
    """Daily: overdue follow-up queries (EC32) for living patients not seen within the interval."""
    from registry.queries.services import overdue_followup_sweep

    return overdue_followup_sweep()


@shared_task(name="queries.reconcile_patient")
def reconcile_patient(patient_id: int) -> dict:
    """Re-check one patient (used when a save path could not reconcile in-process)."""
    from registry.patients.models import Patient
    from registry.queries.services import queries_reconcile_patient

    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        return {"skipped": "patient not found"}
    return queries_reconcile_patient(patient, recheck=True).as_dict()
