"""Fault: the broker is unreachable while users save case report forms and ask for an export, and while the
analysis tick queues a recompute. Saves never wait on the broker (their follow-ups run in-process after
commit), so they all succeed; a job is a database row first and a message second (the transactional-outbox
shape: row and audit event in the saving transaction, the message after commit), so a failed publish only
leaves the row queued. When the broker returns, the sweep (a beat task every 5 minutes) sends the rows again
and a worker runs each job exactly once, on the data saved during the outage."""

import pytest

from analysis import services as analysis
from analysis.models import AnalysisDefinition, AnalysisRun, RunStatus
from registry.crfs.models import Baseline, LabResult
from registry.exports import services as exports
from registry.exports.models import ExportJob, JobStatus
from tests.celery_worker import celery_worker
from tests.crfs.api.conftest import create_data
from tests.factories.crfs import complete_casebook
from tests.factories.patients import PatientFactory
from tests.faults.procs import free_port, producer_broker, redis_server, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

FEW = ("flow", "table1", "km-os-group")


def test_saves_succeed_with_the_broker_down_and_every_job_runs_once_when_it_returns(
        site_a, coordinator_a, data_manager, api_client, regimens, settings, tmp_path, caplog):
    AnalysisDefinition.objects.exclude(code__in=FEW).update(enabled=False)
    patients = [complete_casebook(PatientFactory(site=site_a), user=coordinator_a)["patient"] for _ in range(3)]
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    queue = f"faults-{port}"
    settings.EXPORTS_QUEUE = settings.ANALYSIS_QUEUE = queue
    settings.MEDIA_ROOT = media = tmp_path / "media"
    coordinator, manager = api_client(coordinator_a), api_client(data_manager)

    with producer_broker(url):  # nothing listens on the port: the broker is down
        saved = {}
        for i, patient in enumerate(patients):
            baseline = Baseline.objects.get(patient=patient)
            response = coordinator.patch(f"/api/v1/patients/{patient.pk}/baseline/", {"weight_kg": 60 + i},
                                         format="json", HTTP_IF_MATCH=f'"{baseline.version}"')
            assert response.status_code == 200, response.content
            saved[patient.pk] = (60 + i, baseline.version + 1)
        labs = coordinator.post(f"/api/v1/patients/{patients[0].pk}/labs/", {**create_data("labs"), "value": 310},
                                format="json")
        assert labs.status_code == 201, labs.content
        export = manager.post("/api/v1/exports/jobs/", {"format": "csv", "shape": "long"}, format="json")
        assert export.status_code == 202, export.content
        run = analysis.analysis_tick()  # what beat's tick does: a run row, its message lost
        assert run is not None
    assert "could not enqueue export" in caplog.text and "could not enqueue analysis run" in caplog.text
    job = ExportJob.objects.get(pk=export.json()["id"])
    assert job.status == JobStatus.QUEUED and run.status == RunStatus.QUEUED

    with redis_server(port), celery_worker(queue=queue, extra_env={"CELERY_BROKER_URL": url,
                                                                   "MEDIA_ROOT": str(media)}), producer_broker(url):
        assert exports.export_sweep(queued_after_seconds=0) == [job.pk]
        assert analysis.analysis_sweep(queued_after_seconds=0) == [run.pk]
        wait_for(lambda: ExportJob.objects.get(pk=job.pk).status in ("succeeded", "failed"), timeout=180,
                 what="the export")
        wait_for(lambda: AnalysisRun.objects.get(pk=run.pk).status in ("succeeded", "partial", "failed"),
                 timeout=300, what="the analysis run")
        # nothing left to send; a second sweep sends nothing twice
        assert exports.export_sweep(queued_after_seconds=0) == []
        assert analysis.analysis_sweep(queued_after_seconds=0) == []

    # lost writes: 0
    for patient_id, (weight, version) in saved.items():
        baseline = Baseline.objects.get(patient_id=patient_id)
        assert (float(baseline.weight_kg), baseline.version) == (weight, version)
    assert LabResult.objects.filter(patient=patients[0], value=310).count() == 1
    # lost or duplicated jobs: 0
    job.refresh_from_db()
    run.refresh_from_db()
    assert (job.status, job.attempts, ExportJob.objects.count()) == (JobStatus.SUCCEEDED, 1, 1), job.error
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL) and run.attempts == 1, run.error
    assert AnalysisRun.objects.count() == 1
    assert run.fingerprint == analysis.current_inputs()["fingerprint"]  # computed on the data saved in the outage
    assert job.row_count > 0
