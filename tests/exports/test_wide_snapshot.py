"""The wide export's read (registry/exports/wide.py `snapshot_chunks`): outside a transaction it runs on a
connection of its own, pipelined, all from one REPEATABLE READ snapshot, and the connection is closed however
the read ends. These tests commit for real (transaction=True): the read's connection must see the rows."""

import csv
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from analysis.datasets import COLUMNS, DEFAULT_CONFIG, build_dataset
from registry.crfs.models import Enrolment
from registry.exports import services
from registry.exports.models import JobStatus
from registry.exports.wide import snapshot_chunks
from registry.exports.writers.columns import text
from registry.patients.models import Patient
from tests.factories.exports import cohort

pytestmark = pytest.mark.django_db(transaction=True)


def _eligible(snap) -> dict[int, bool]:
    return {e["patient_id"]: e["eligible"] for e in snap.enrolments.dicts()}


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_export_outside_a_transaction_reads_on_its_own_connection_and_holds_the_analysis_dataset(
        site_a, site_b, data_manager, settings):
    cohort(site_b, 2)
    cohort(site_a, 3)
    settings.EXPORTS_CHUNK_SIZE = 2
    assert not connection.in_atomic_block
    before = _backends()
    job = services.export_job_create(user=data_manager, shape="wide", fmt="csv")
    services.export_job_build(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.progress == 100 and job.rows_written == 5  # progress reported on Django's connection meanwhile
    with open(Path(settings.MEDIA_ROOT) / job.file, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS)
    dataset = build_dataset(DEFAULT_CONFIG, cutoff=timezone.localdate())
    assert len(rows) == len(dataset) == 5
    for row, expected in zip(rows, dataset, strict=True):
        assert row == {name: text(value) for name, value in expected.items()}
    assert _backends() == before  # the private read connection is closed


def test_every_chunk_comes_from_the_snapshot_taken_when_the_export_started(site_a):
    patients = cohort(site_a, 6)
    last = max(patients, key=lambda p: p.pk)
    assert Enrolment.objects.get(patient=last).eligible is True
    feed = snapshot_chunks(Patient.objects.all(), minimum_status="draft", chunk_size=1)
    first = next(feed)
    assert [row[0] for row in first.patients.rows] != [last.pk]
    Enrolment.objects.filter(patient=last).update(eligible=False)  # committed: autocommit, transaction=True
    seen = {snap.patients.rows[0][0]: snap for snap in feed}
    assert _eligible(seen[last.pk]) == {last.pk: True}
    # positive control: a read started now sees the change
    (now,) = snapshot_chunks(Patient.objects.all(), minimum_status="draft", chunk_size=6)
    assert _eligible(now)[last.pk] is False


def test_a_consumer_that_stops_early_closes_the_read_connection(site_a):
    cohort(site_a, 4)
    before = _backends()
    feed = snapshot_chunks(Patient.objects.all(), minimum_status="draft", chunk_size=1)
    next(feed)
    assert _backends() == before + 1
    feed.close()
    assert _backends() == before


def test_a_failing_read_is_raised_to_the_consumer_and_closes_the_connection(site_a):
    cohort(site_a, 1)
    before = _backends()
    feed = snapshot_chunks(Patient.objects.extra(where=["no_such_column = 1"]), minimum_status="draft",
                           chunk_size=1)
    with pytest.raises(Exception, match="no_such_column"):
        list(feed)
    assert _backends() == before


def test_a_private_read_refuses_to_run_inside_a_transaction():
    from django.db import transaction

    from registry.core.reads import private_consistent_read

    reading = private_consistent_read()
    with transaction.atomic(), pytest.raises(RuntimeError, match="open transaction"):
        reading.__enter__()
