"""Celery: the beat schedule rows from the data migration, and queries.recheck_all run by a real worker."""

import pytest

from registry.queries.models import DataQuery, QueryOrigin, QueryStatus


@pytest.mark.django_db
def test_beat_schedule_rows_exist():
    from django_celery_beat.models import PeriodicTask

    recheck = PeriodicTask.objects.get(task="queries.recheck_all")
    assert (recheck.crontab.hour, recheck.crontab.minute, recheck.enabled) == ("2", "0", True)
    overdue = PeriodicTask.objects.get(task="queries.overdue_followup")
    assert overdue.crontab.hour == "3" and overdue.crontab.day_of_week == "*"


@pytest.mark.django_db
def test_tasks_have_explicit_names():
    from registry.queries import tasks

    assert tasks.recheck_all.name == "queries.recheck_all"
    assert tasks.overdue_followup.name == "queries.overdue_followup"
    assert tasks.reconcile_patient.name == "queries.reconcile_patient"




@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_recheck_all(regimens, site_a, coordinator_a):
    from django_celery_results.models import TaskResult

    from registry.crfs.models import EditCheckFinding, TreatmentLine
    from registry.queries.tasks import recheck_all
    from tests.celery_worker import celery_worker
    from tests.factories.queries import casebook_with_warning

    forms = casebook_with_warning(site_a, coordinator_a)
    patient = forms["patient"]
    # Saved through the services in committed transactions: the receivers opened the query already.
    query = DataQuery.objects.get(patient=patient, origin=QueryOrigin.AUTO, rule="EC17")
    assert query.status == QueryStatus.OPEN
    # A correction that bypassed the services (e.g. a SQL fix) is only seen by the nightly re-check.
    TreatmentLine.objects.filter(pk=forms["treatment"].pk).update(n_cycles=6)
    with celery_worker() as (proc, queue):
        result = recheck_all.apply_async(queue=queue)
        totals = result.get(timeout=120)
    assert totals["patients"] == 1 and totals["closed"] == 1 and totals["batches"] == 1
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and query.closed_by is None
    assert not EditCheckFinding.objects.filter(patient=patient, rule="EC17").exists()
    assert TaskResult.objects.get(task_id=result.id).task_name == "queries.recheck_all"
