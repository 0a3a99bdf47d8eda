"""Database-trigger audit: every write path leaves an event with who; events cannot be changed."""

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from registry.audit.tracking import audit_context
from registry.sites.models import Site
from tests.factories.sites import SiteFactory, UserFactory

pytestmark = pytest.mark.django_db




def test_raw_sql_update_leaves_audit_row_with_user():
    site = SiteFactory(code="RAW")
    user = UserFactory()
    with audit_context(user=user.pk, reason="raw correction"), connection.cursor() as cursor:
        cursor.execute("UPDATE sites_site SET name = %s WHERE id = %s", ["Renamed by SQL", site.pk])
    event = Site.pgh_event_model.objects.filter(pgh_obj_id=site.pk, pgh_label="update").get()
    assert event.name == "Renamed by SQL"
    assert event.pgh_context.metadata["user"] == user.pk
    assert event.pgh_context.metadata["reason"] == "raw correction"


def test_bulk_update_leaves_one_audit_row_per_row_with_user():
    sites = [SiteFactory(code=f"BU{i}") for i in range(3)]
    user = UserFactory()
    for site in sites:
        site.name = f"{site.name} (bulk)"
    with audit_context(user=user.pk):
        Site.objects.bulk_update(sites, ["name"])
    events = Site.pgh_event_model.objects.filter(pgh_obj_id__in=[s.pk for s in sites], pgh_label="update")
    assert events.count() == 3
    assert {e.pgh_context.metadata["user"] for e in events} == {user.pk}


def test_queryset_update_and_delete_are_audited():
    site = SiteFactory(code="QU1")
    Site.objects.filter(pk=site.pk).update(is_active=False)
    pk = site.pk
    site.delete()
    events = Site.pgh_event_model.objects.filter(pgh_obj_id=pk).order_by("pgh_id")
    labels = list(events.values_list("pgh_label", flat=True))
    assert labels == ["insert", "update", "delete"]


def test_audit_rows_cannot_be_updated():
    site = SiteFactory(code="TMP1")
    event = Site.pgh_event_model.objects.filter(pgh_obj_id=site.pk).first()
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        Site.pgh_event_model.objects.filter(pk=event.pk).update(name="tampered")


def test_audit_rows_cannot_be_deleted_even_with_raw_sql():
    site = SiteFactory(code="TMP2")
    table = Site.pgh_event_model._meta.db_table
    refused = pytest.raises(ProgrammingError, match="Cannot update or delete")
    with refused, transaction.atomic(), connection.cursor() as c:
        c.execute(f"DELETE FROM {table} WHERE pgh_obj_id = %s", [site.pk])  # noqa: S608 - fixed table name
    assert Site.pgh_event_model.objects.filter(pgh_obj_id=site.pk).exists()


def test_write_request_records_user_request_id_and_reason(client):
    admin = UserFactory(username="sysadmin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        "/admin/sites/site/add/", {"code": "NEW", "name": "New Hospital", "country": "SE", "is_active": "on"},
        HTTP_X_CHANGE_REASON="site joined the study", HTTP_X_REQUEST_ID="req-123",
    )
    assert response.status_code in (200, 302)
    site = Site.objects.get(code="NEW")
    event = Site.pgh_event_model.objects.get(pgh_obj_id=site.pk, pgh_label="insert")
    metadata = event.pgh_context.metadata
    assert metadata["user"] == admin.pk
    assert metadata["request_id"] == "req-123"
    assert metadata["reason"] == "site joined the study"
    assert metadata["url"] == "/admin/sites/site/add/"


def test_connections_skip_no_trigger_but_spare_pgtriggers_per_row_exception_path():
    """Every connection starts with an empty `pgtrigger.ignore` (the fast path of `_pgtrigger_should_ignore`);
    an empty list ignores nothing: the insert is still audited."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('pgtrigger.ignore', true)")
        assert cursor.fetchone()[0] == "{}"
    site = SiteFactory(code="FASTPATH")
    assert Site.pgh_event_model.objects.filter(pgh_obj_id=site.pk, pgh_label="insert").count() == 1
