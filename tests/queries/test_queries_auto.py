"""Automatic queries follow the edit checks: a warning opens one, fixing the value closes it, a regression
reopens it — on the save path (signals after commit) and in the nightly re-check."""

import pytest

from registry.crfs.models import EditCheckFinding
from registry.crfs.services import form_update
from registry.queries.models import DataQuery, MessageKind, QueryOrigin, QueryStatus
from registry.queries.services import queries_reconcile_patient, query_answer, query_close, recheck_all
from tests.factories.queries import casebook_with_warning

pytestmark = pytest.mark.django_db


def auto_queries(patient):
    return DataQuery.objects.filter(patient=patient, origin=QueryOrigin.AUTO)


def save(form, user, captured, **data):
    with captured(execute=True):
        return form_update(form, data=data, user=user, expected_version=form.version, reason="source checked")


def test_warning_opens_fix_closes_regression_reopens(site_a, coordinator_a, django_capture_on_commit_callbacks):
    forms = casebook_with_warning(site_a, coordinator_a)
    patient, line = forms["patient"], forms["treatment"]
    assert EditCheckFinding.objects.filter(patient=patient, rule="EC17", severity="W").exists()
    line = save(line, coordinator_a, django_capture_on_commit_callbacks, n_cycles=15)
    query = auto_queries(patient).get(rule="EC17")
    assert (query.status, query.form_family, query.object_id, query.field) == (
        QueryStatus.OPEN, "treatment", line.pk, "n_cycles")
    assert query.messages.get().kind == MessageKind.SYSTEM

    line = save(line, coordinator_a, django_capture_on_commit_callbacks, n_cycles=6)
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and query.closed_by is None and not query.finding_active

    save(line, coordinator_a, django_capture_on_commit_callbacks, n_cycles=16)
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN and query.reopen_count == 1 and query.finding_active
    assert query.messages.order_by("pk").last().kind == MessageKind.REOPEN
    assert auto_queries(patient).filter(rule="EC17").count() == 1


def test_reconcile_is_idempotent(site_a, coordinator_a):
    patient = casebook_with_warning(site_a, coordinator_a)["patient"]
    first = queries_reconcile_patient(patient)
    second = queries_reconcile_patient(patient)
    assert len(first.opened) >= 1 and second.as_dict() == {"opened": 0, "closed": 0, "reopened": 0}


def test_confirmed_value_closed_by_monitor_stays_closed(site_a, coordinator_a, monitor_a):
    patient = casebook_with_warning(site_a, coordinator_a)["patient"]
    queries_reconcile_patient(patient)
    query = auto_queries(patient).get(rule="EC17")
    query_answer(query, user=coordinator_a, text="14 cycles given, see chart", reason="confirmed_as_is")
    query_close(query, user=monitor_a, text="Accepted")
    assert recheck_all()["reopened"] == 0
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


def test_nightly_recheck_opens_and_closes(site_a, coordinator_a, django_capture_on_commit_callbacks):
    forms = casebook_with_warning(site_a, coordinator_a)
    patient = forms["patient"]
    assert not auto_queries(patient).exists()  # on_commit callbacks did not run in this test transaction
    totals = recheck_all(batch_size=1)
    assert totals["opened"] >= 1 and totals["patients"] == 1
    assert auto_queries(patient).filter(rule="EC17", status=QueryStatus.OPEN).exists()
    save(forms["treatment"], coordinator_a, django_capture_on_commit_callbacks, n_cycles=5)
    assert auto_queries(patient).get(rule="EC17").status == QueryStatus.CLOSED
    again = recheck_all()
    assert again["opened"] == 0 and again["reopened"] == 0


def test_overdue_followup_raises_and_closes_ec32(site_a, coordinator_a):
    from registry.crfs.models import FollowUp
    from registry.queries.services import overdue_followup_sweep
    from tests.factories.crfs import FollowUpFactory, complete_casebook, days_ago

    forms = complete_casebook(site=site_a, user=coordinator_a)
    patient = forms["patient"]
    # Test setup: the last contact was 190 days ago (> the 183-day interval).
    FollowUp.objects.filter(pk=forms["followup"].pk).update(visit_date=days_ago(190),
                                                            date_last_known_alive=days_ago(190))
    result = overdue_followup_sweep()
    assert result["candidates"] == 1 and result["opened"] == 1
    query = auto_queries(patient).get(rule="EC32")
    assert query.form_family == "followup" and query.status == QueryStatus.OPEN
    assert "overdue" in query.text
    assert overdue_followup_sweep()["opened"] == 0  # idempotent
    FollowUpFactory(patient=patient, user=coordinator_a, visit_date=days_ago(1), date_last_known_alive=days_ago(1))
    closed = overdue_followup_sweep()
    query.refresh_from_db()
    assert closed["closed"] == 1 and query.status == QueryStatus.CLOSED and query.closed_by is None


def test_overdue_followup_skips_dead_and_withdrawn(site_a, coordinator_a):
    from datetime import timedelta

    from django.utils import timezone

    from registry.queries.services import overdue_followup_sweep
    from registry.queries.services.followup import overdue_candidates
    from tests.factories.crfs import FollowUpFactory, complete_casebook, days_ago

    later = timezone.localdate() + timedelta(days=400)
    dead = complete_casebook(site=site_a, user=coordinator_a)
    FollowUpFactory(patient=dead["patient"], user=coordinator_a, visit_date=days_ago(2), vital_status="dead",
                    date_last_known_alive=None, date_of_death=days_ago(2), cause_of_death="disease", ps_at_visit=None)
    withdrawn = complete_casebook(site=site_a, user=coordinator_a)["patient"]
    type(withdrawn).objects.filter(pk=withdrawn.pk).update(withdrawn=True, withdrawal_date=timezone.localdate(),
                                                          withdrawal_reason="consent withdrawn")
    assert overdue_candidates(today=later) == []
    assert overdue_followup_sweep(today=later)["opened"] == 0


def test_recheck_batch_runs_a_fixed_number_of_queries(site_a, coordinator_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from registry.queries.services import recheck_batch

    one = [casebook_with_warning(site_a, coordinator_a)["patient"].pk]
    three = [casebook_with_warning(site_a, coordinator_a)["patient"].pk for _ in range(3)]
    first = recheck_batch(one + three)
    assert first["patients"] == 4 and first["opened"] >= 4
    with CaptureQueriesContext(connection) as small:
        recheck_batch(one)
    with CaptureQueriesContext(connection) as large:
        recheck_batch(three)
    assert len(small) == len(large) <= 25
