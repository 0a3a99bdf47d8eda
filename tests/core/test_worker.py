"""A real worker process, a real broker (filesystem by default, Redis when CELERY_BROKER_URL says so)."""

import pytest

from registry.core.health import system_health
from registry.core.tasks import probe
from tests.celery_worker import celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_real_worker_process_runs_a_task_and_stores_its_result():
    from django_celery_results.models import TaskResult

    with celery_worker() as (proc, queue):
        result = probe.apply_async(args=["round-trip"], queue=queue)
        value = result.get(timeout=60)
    assert value["token"] == "round-trip"
    assert value["worker_pid"] != proc.pid  # ran in a pool child of the worker process, not in this test
    stored = TaskResult.objects.get(task_id=result.id)
    assert stored.status == "SUCCESS"
    assert stored.task_name == "core.probe"


def test_health_reports_worker_up_only_while_a_worker_runs():
    assert system_health()["components"]["worker"]["status"] == "down"
    with celery_worker():
        report = system_health()
    assert report["components"]["database"]["status"] == "up"
    assert report["components"]["broker"]["status"] == "up"
    assert report["components"]["worker"]["status"] == "up", report
    assert report["status"] == "up"
