"""Celery tasks of the exports app: thin, named, idempotent, taking ids (DESIGN.md §3.5).

`exports.sweep` runs every 5 minutes from django-celery-beat's tables (seeded by migration 0002).
"""

from __future__ import annotations

from celery import shared_task

from registry.exports import services


@shared_task(name="exports.build")
def build(job_id: int) -> str | None:
    """Build one export (a job that already finished is left as it is); returns its final status."""
    job = services.export_job_build(job_id)
    return job.status if job else None


@shared_task(name="exports.sweep")
def sweep(queued_after_seconds: float | None = None, running_after_seconds: float | None = None) -> list[int]:
    """Re-dispatch exports left queued or running past their timeouts; returns their ids."""
    return services.export_sweep(queued_after_seconds=queued_after_seconds,
                                 running_after_seconds=running_after_seconds)
