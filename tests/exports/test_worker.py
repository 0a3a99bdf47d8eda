"""A real Celery worker process builds an export queued by the service (enqueued on commit)."""

import time

import pytest

from registry.exports import services
from registry.exports.models import ExportJob, JobStatus
from tests.celery_worker import celery_worker
from tests.factories.exports import cohort

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_real_worker_builds_the_export(site_a, data_manager, seeded_regimens, settings, tmp_path):
    cohort(site_a, 2)
    media = tmp_path / "worker-media"
    settings.MEDIA_ROOT = media
    with celery_worker(extra_env={"MEDIA_ROOT": str(media)}) as (_proc, queue):
        settings.EXPORTS_QUEUE = queue
        job = services.export_job_create(user=data_manager, shape="wide", fmt="csv")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                break
            time.sleep(0.5)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 1 and job.row_count == 2
    path = media / job.file
    assert path.exists() and path.read_text().count("\n") == 3
    assert ExportJob.objects.get(pk=job.pk).manifest["sha256"] == job.checksum_sha256
    assert media == settings.MEDIA_ROOT
