"""Fault: the worker process (and its pool child) is SIGKILLed in the middle of building an export. The job
row stays `running`; the sweeper re-dispatches it to a new worker, which builds it once: one job, one file,
attempt 2; a duplicate delivery of the same message afterwards changes nothing. (The analysis-run
counterpart is tests/analysis/test_worker.py::test_worker_killed_mid_run_keeps_old_results_and_the_sweep_...)

To kill the worker *mid-build* deterministically, a second database session holds an ACCESS EXCLUSIVE lock
on the patient table: the worker marks the job running, then blocks on its first read of patients."""

import os
import signal

import psycopg
import pytest

from registry.exports import services
from registry.exports.models import ExportJob, JobStatus
from registry.patients.models import Patient
from tests.celery_worker import celery_worker, worker_database_url
from tests.factories.exports import cohort
from tests.faults.procs import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def job_state(job_id: int) -> tuple[str, int]:
    return tuple(ExportJob.objects.values_list("status", "attempts").get(pk=job_id))


def waiting_on_lock(lock_holder: psycopg.Connection) -> bool:
    row = lock_holder.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                              "AND datname = current_database()").fetchone()
    return row[0] > 0


def test_worker_killed_mid_export_is_rebuilt_once_by_the_sweeper(site_a, data_manager, regimens, settings, tmp_path):
    cohort(site_a, 3)
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    worker_env = {"MEDIA_ROOT": str(media)}
    lock_holder = psycopg.connect(worker_database_url())
    try:
        with celery_worker(extra_env=worker_env) as (proc, queue):
            settings.EXPORTS_QUEUE = queue
            lock_holder.execute(f"LOCK TABLE {Patient._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            job = services.export_job_create(user=data_manager, shape="long", fmt="csv")
            wait_for(lambda: job_state(job.pk) == ("running", 1), timeout=120, what="the worker to start the job")
            wait_for(lambda: waiting_on_lock(lock_holder), timeout=60, what="the worker to read the patients")
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and its pool child die mid-build
            proc.wait(timeout=30)
        lock_holder.rollback()  # the lock goes; the dead worker's session ends
    finally:
        lock_holder.close()
    assert job_state(job.pk) == ("running", 1)
    assert not (media / "exports" / str(job.pk)).exists() or not any((media / "exports" / str(job.pk)).iterdir())

    with celery_worker(extra_env=worker_env) as (proc, queue):
        settings.EXPORTS_QUEUE = queue
        assert services.export_sweep(running_after_seconds=0) == [job.pk]
        wait_for(lambda: job_state(job.pk)[0] in ("succeeded", "failed"), timeout=180, what="the rebuilt export")
        assert services.export_sweep(running_after_seconds=0, queued_after_seconds=0) == []
        # the original message delivered again (at-least-once delivery) is a no-op
        from registry.exports.tasks import build

        assert build.apply_async(args=[job.pk], queue=queue).get(timeout=60) == "succeeded"
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2), job.error
    assert ExportJob.objects.count() == 1
    files = [p for p in (media / "exports" / str(job.pk)).rglob("*") if p.is_file()]
    assert [p.name for p in files] == [job.file.split("/")[-1]]
    assert job.row_count > 0
