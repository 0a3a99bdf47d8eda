"""The application's database role cannot tamper with the audit trail even by bypassing the trigger."""

import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from registry.audit.roles import audit_event_tables
from tests.factories.sites import SiteFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app_role():
    role = f"app_{uuid.uuid4().hex[:8]}"
    call_command("create_app_role", role=role)
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')


def connect_as(role):
    db = connection.settings_dict
    return psycopg.connect(dbname=db["NAME"], user=role, host=db["HOST"] or None, port=db["PORT"] or None,
                           autocommit=True)


def test_every_audited_model_has_an_event_table_in_the_restricted_list():
    tables = audit_event_tables()
    assert "sites_siteevent" in tables
    assert "audit_userevent" in tables


def test_app_role_writes_data_and_its_audit_rows(app_role):
    with connect_as(app_role) as conn:
        conn.execute("INSERT INTO sites_site (code, name, country, is_active, created_at, updated_at) "
                     "VALUES ('ROLE1', 'Role test', 'NO', true, now(), now())")
        assert conn.execute("SELECT count(*) FROM sites_siteevent e JOIN sites_site s ON s.id = e.pgh_obj_id "
                            "WHERE s.code = 'ROLE1'").fetchone()[0] == 1


@pytest.mark.parametrize("statement", [
    "UPDATE sites_siteevent SET name = 'tampered'",
    "DELETE FROM sites_siteevent",
    "TRUNCATE sites_siteevent",
    "ALTER TABLE sites_siteevent DISABLE TRIGGER ALL",
])
def test_app_role_cannot_change_or_unprotect_audit_rows(app_role, statement):
    SiteFactory(code="ROLE2")
    with connect_as(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    assert SiteFactory._meta.model.pgh_event_model.objects.filter(name="tampered").count() == 0
