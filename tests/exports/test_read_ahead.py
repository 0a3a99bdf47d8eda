"""The wide export's read-ahead (registry/exports/wide.py `ReadAhead`): outside a transaction, a thread with its
own connection reads the chunks ahead of the derivations, all from one REPEATABLE READ snapshot. These tests
commit for real (transaction=True): the reader's connection must see the rows."""

import csv
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from analysis.datasets import COLUMNS, DEFAULT_CONFIG, build_dataset
from registry.crfs.models import Enrolment
from registry.exports import services
from registry.exports.models import JobStatus
from registry.exports.wide import ReadAhead, snapshot_chunks
from registry.exports.writers.columns import text
from registry.patients.models import Patient
from tests.factories.exports import cohort

pytestmark = pytest.mark.django_db(transaction=True)


def _eligible(snap) -> dict[int, bool]:
    return {e["patient_id"]: e["eligible"] for e in snap.enrolments.dicts()}


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "export-read-ahead"]


def test_export_outside_a_transaction_reads_ahead_and_holds_the_analysis_dataset(site_a, site_b, data_manager,
                                                                                 settings):
    cohort(site_b, 2)
    cohort(site_a, 3)
    settings.EXPORTS_CHUNK_SIZE = 2
    assert not connection.in_atomic_block
    job = services.export_job_create(user=data_manager, shape="wide", fmt="csv")
    services.export_job_build(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    with open(Path(settings.MEDIA_ROOT) / job.file, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS)
    dataset = build_dataset(DEFAULT_CONFIG, cutoff=timezone.localdate())
    assert len(rows) == len(dataset) == 5
    for row, expected in zip(rows, dataset, strict=True):
        assert row == {name: text(value) for name, value in expected.items()}
    assert not _reader_threads()


def test_every_chunk_comes_from_the_snapshot_taken_when_the_export_started(site_a):
    patients = cohort(site_a, 6)
    last = max(patients, key=lambda p: p.pk)
    assert Enrolment.objects.get(patient=last).eligible is True
    feed = iter(ReadAhead(Patient.objects.all(), minimum_status="draft", chunk_size=1, depth=2))
    first = next(feed)  # the reader holds at most 2 queued chunks and 1 in hand: the last is unread
    assert [row[0] for row in first.patients.rows] != [last.pk]
    Enrolment.objects.filter(patient=last).update(eligible=False)  # committed: autocommit, transaction=True
    rest = list(feed)
    seen = {snap.patients.rows[0][0]: snap for snap in rest}
    assert _eligible(seen[last.pk]) == {last.pk: True}
    # positive control: a read started now sees the change
    (now,) = snapshot_chunks(Patient.objects.all(), minimum_status="draft", chunk_size=6)
    assert _eligible(now)[last.pk] is False
    assert not _reader_threads()


def test_a_consumer_that_stops_early_stops_the_reader(site_a):
    cohort(site_a, 4)
    feed = iter(ReadAhead(Patient.objects.all(), minimum_status="draft", chunk_size=1, depth=1))
    next(feed)
    assert _reader_threads()
    feed.close()
    assert not _reader_threads()


def test_a_failing_read_is_raised_to_the_consumer(site_a):
    cohort(site_a, 1)
    feed = ReadAhead(Patient.objects.extra(where=["no_such_column = 1"]), minimum_status="draft", chunk_size=1)
    with pytest.raises(Exception, match="no_such_column"):
        list(feed)
    assert not _reader_threads()
