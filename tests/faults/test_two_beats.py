"""Fault: two `celery beat` processes run at once (a second replica, or an old one that never stopped), so
every periodic task is sent twice. Two real beats send the analysis tick and the nightly edit-check re-check
every 2 seconds to a worker with two pool processes: the tick's advisory lock and fingerprint give exactly one
analysis run per change of the data, and the re-check (patients locked per batch, unique constraints on
findings and queries) never duplicates a query; no task fails."""

import pytest
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
from django_celery_results.models import TaskResult

from analysis.models import AnalysisDefinition, AnalysisRun
from registry.queries.models import DataQuery
from registry.queries.services import recheck_all
from tests.celery_worker import BASE_DIR, celery_worker
from tests.factories.crfs import complete_casebook
from tests.factories.patients import PatientFactory
from tests.faults.procs import celery_beat, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

FEW = ("flow", "table1", "km-os-group")
PERIODIC = ("analysis.tick", "queries.recheck_all")


def sends(beat: str, task: str) -> int:
    """How many times the beat process `beat` has sent `task` (from its log)."""
    lines = (BASE_DIR / ".data" / f"beat-{beat}.log").read_text().splitlines()
    return sum("Sending due task" in line and f"({task})" in line for line in lines)


def finished_runs() -> int:
    return AnalysisRun.objects.filter(status__in=["succeeded", "partial", "failed"]).count()


def test_two_beats_give_one_analysis_run_per_data_change_and_no_duplicate_queries(site_a, coordinator_a,
                                                                                   regimens):
    AnalysisDefinition.objects.exclude(code__in=FEW).update(enabled=False)
    for _ in range(2):
        complete_casebook(PatientFactory(site=site_a), user=coordinator_a)
    queue = "faults-beats"
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.exclude(task__in=PERIODIC).update(enabled=False)
    PeriodicTask.objects.filter(task__in=PERIODIC).update(interval=every, crontab=None, queue=queue, enabled=True,
                                                          last_run_at=None)
    PeriodicTasks.update_changed()
    env = {"DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings", "FAULTS_QUEUE": queue}

    with celery_worker(queue=queue, concurrency=2, extra_env=env), celery_beat("one", env), celery_beat("two", env):
        wait_for(lambda: finished_runs() == 1, timeout=180, what="the first run")
        wait_for(lambda: min(sends(b, "analysis.tick") for b in ("one", "two")) >= 4, timeout=60,
                 what="both beats to send the tick several times")
        with transaction.atomic():  # the data change, committed at once (a tick never sees half of it)
            complete_casebook(PatientFactory(site=site_a), user=coordinator_a)
        wait_for(lambda: finished_runs() == 2, timeout=180, what="the run for the new data")
        marks = {b: sends(b, "analysis.tick") for b in ("one", "two")}
        wait_for(lambda: all(sends(b, "analysis.tick") >= marks[b] + 3 for b in marks), timeout=60,
                 what="more duplicate ticks after the second run")
        wait_for(lambda: TaskResult.objects.filter(task_name="queries.recheck_all").count() >= 6, timeout=60,
                 what="re-checks from both beats")
    ticks = TaskResult.objects.filter(task_name="analysis.tick")
    rechecks = TaskResult.objects.filter(task_name="queries.recheck_all")
    assert {r.status for r in ticks} == {"SUCCESS"} and {r.status for r in rechecks} == {"SUCCESS"}
    assert ticks.count() >= 14 and rechecks.count() >= 6  # every tick was sent by both beats
    assert AnalysisRun.objects.count() == 2  # one run per data change, not one per beat
    fingerprints = list(AnalysisRun.objects.values_list("fingerprint", flat=True))
    assert len(set(fingerprints)) == 2  # never two runs of the same data
    assert sum(r.result not in ("null", None) for r in ticks) == 2  # exactly two ticks created a run
    queries = list(DataQuery.objects.values_list("patient_id", "form_family", "object_id", "rule", "field"))
    assert len(queries) == len(set(queries))
    assert recheck_all()["opened"] == 0  # a single re-check now finds nothing the doubled ones missed
