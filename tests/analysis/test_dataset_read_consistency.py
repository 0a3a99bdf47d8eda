"""The dataset's reads (one query per table) share one REPEATABLE READ snapshot, so a save that commits
between two of them cannot give a patient lines without their evaluations (registry/core/reads.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.selectors import registry_snapshot
from registry.core.reads import consistent_read


@pytest.mark.django_db(transaction=True)
def test_a_dataset_read_outside_a_transaction_runs_in_one_repeatable_read_transaction():
    with CaptureQueriesContext(connection) as ctx:
        registry_snapshot()
    sql = [q["sql"] for q in ctx.captured_queries]
    first = next(i for i, s in enumerate(sql) if "REPEATABLE READ" in s)
    reads = [s for s in sql[first + 1:] if s.lstrip().upper().startswith("SELECT")]
    assert sql[first] == "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
    assert len(reads) == 11  # every table of the snapshot after the SET, before the commit
    assert not connection.in_atomic_block


@pytest.mark.django_db(transaction=True)
def test_a_consistent_read_refuses_writes():
    from django.db.utils import InternalError

    from registry.sites.models import Site

    with pytest.raises(InternalError, match="read-only transaction"), consistent_read():
        Site.objects.create(code="RO", name="Read only", country="NO")


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_reads_join_it_and_see_its_writes(site_a):
    from tests.factories.patients import PatientFactory

    patient = PatientFactory(site=site_a)  # not committed: the test's transaction is still open
    assert connection.in_atomic_block
    with CaptureQueriesContext(connection) as ctx:
        snap = registry_snapshot()
    assert [p["id"] for p in snap.patients.dicts()] == [patient.pk]
    assert not any("REPEATABLE READ" in q["sql"] for q in ctx.captured_queries)
