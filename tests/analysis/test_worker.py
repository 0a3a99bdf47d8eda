"""Analyses in a REAL Celery worker process (tests/celery_worker.py) against the test database, including a
worker killed with SIGKILL in the middle of a run."""

import importlib
import os
import signal
import time

import pytest
from django.apps import apps

from analysis import services
from analysis.models import AnalysisDefinition, AnalysisResult, AnalysisRun, RunStatus
from analysis.selectors import latest_good_results
from tests.celery_worker import celery_worker
from tests.factories.analysis import cohort

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    """Transactional tests end with a flush, which empties the tables data migrations seeded (and the audit
    tables are append-only, so serialized rollback cannot restore them): seed regimens and definitions again."""
    for module in ("registry.crfs.migrations.0003_seed_regimens", "analysis.migrations.0002_seed_paper_definitions"):
        importlib.import_module(module).seed(apps, None)

FEW = ("flow", "table1", "km-os-group", "km-pfs-group", "cox-multi-pfs-nec")


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def status_of(run_id: int) -> str:
    return AnalysisRun.objects.values_list("status", flat=True).get(pk=run_id)


def test_a_worker_process_runs_the_analysis(site_a, settings):
    cohort(site_a, n_nec=6, n_net=5)
    AnalysisDefinition.objects.exclude(code__in=FEW).update(enabled=False)
    with celery_worker() as (proc, queue):
        settings.ANALYSIS_QUEUE = queue
        run = services.analysis_tick()  # committed at once (no test transaction) → dispatched on commit
        wait_for(lambda: status_of(run.pk) in ("succeeded", "partial", "failed"), timeout=180,
                 what="the worker to finish the run")
    run.refresh_from_db()
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL), run.error
    assert run.attempts == 1
    assert set(AnalysisResult.objects.filter(run=run).values_list("definition_code", flat=True)) == set(FEW)
    assert latest_good_results()["km-os-group"].run_id == run.pk
    assert services.analysis_tick() is None  # nothing changed since


def test_worker_killed_mid_run_keeps_old_results_and_the_sweep_completes_the_run_once(site_a, settings):
    cohort(site_a, n_nec=6, n_net=5)
    AnalysisDefinition.objects.exclude(code__in=FEW).update(enabled=False)
    good = services.analysis_run_execute(services.analysis_tick().pk)  # the results on show before the crash
    assert good.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
    good_results = {r.definition_code: r.pk for r in AnalysisResult.objects.filter(run=good)}
    # more figures make the next run long enough to kill it while it computes
    template = AnalysisDefinition.objects.get(code="km-os-group")
    for i in range(40):
        AnalysisDefinition.objects.create(**{**template.as_config(), "code": f"km-os-group-copy-{i}",
                                             "title": f"OS copy {i}", "display_order": 500 + i})

    with celery_worker() as (proc, queue):
        settings.ANALYSIS_QUEUE = queue
        run = services.analysis_tick()
        wait_for(lambda: status_of(run.pk) == "running", timeout=120, what="the worker to start the run")
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGKILL)  # the worker and its pool child die at once, mid-computation
        proc.wait(timeout=30)
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)
    assert not AnalysisResult.objects.filter(run=run).exists()  # nothing half-written
    shown = latest_good_results()
    assert shown["km-os-group"].run_id == good.pk  # the previous results are still the ones on show
    assert {code: r.pk for code, r in shown.items()} == good_results

    with celery_worker() as (proc, queue):
        settings.ANALYSIS_QUEUE = queue
        assert services.analysis_sweep(running_after_seconds=0) == [run.pk]
        wait_for(lambda: status_of(run.pk) in ("succeeded", "partial", "failed"), timeout=300,
                 what="the re-dispatched run to finish")
        # a second sweep finds nothing to do, and a re-delivered message would be a no-op
        assert services.analysis_sweep(running_after_seconds=0) == []
    run.refresh_from_db()
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL), run.error
    assert run.attempts == 2
    codes = list(AnalysisResult.objects.filter(run=run).values_list("definition_code", flat=True))
    assert len(codes) == len(set(codes)) == AnalysisDefinition.objects.filter(enabled=True).count()
    assert AnalysisRun.objects.count() == 2
    assert latest_good_results()["km-os-group"].run_id == run.pk
