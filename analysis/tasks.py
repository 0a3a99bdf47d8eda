"""Celery tasks of the analysis app: thin, named, idempotent, taking ids (DESIGN.md §3.5).

The beat schedule lives in django-celery-beat's tables (seeded by migration 0003, editable in the admin):
`analysis.tick` every 10 minutes, `analysis.sweep` every 5 minutes.
"""

from __future__ import annotations

from celery import shared_task

from analysis import services


@shared_task(name="analysis.tick")
def tick() -> int | None:
    """Queue a recompute if the data, definitions, settings or code changed; returns the new run's id."""
    run = services.analysis_tick()
    return run.pk if run else None


@shared_task(name="analysis.run")
def run_analysis(run_id: int) -> str | None:
    """Execute one run (a finished run is left as it is); returns its final status."""
    run = services.analysis_run_execute(run_id)
    return run.status if run else None


@shared_task(name="analysis.sweep")
def sweep(queued_after_seconds: float | None = None, running_after_seconds: float | None = None) -> list[int]:
    """Re-dispatch runs left queued or running past their timeouts; returns their ids."""
    return services.analysis_sweep(queued_after_seconds=queued_after_seconds,
                                   running_after_seconds=running_after_seconds)
