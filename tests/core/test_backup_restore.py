"""The documented backup/restore pair restores an identical database, audit trail included."""

import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from registry.audit.tracking import audit_context
from registry.core.backup import database_fingerprint
from registry.sites.models import Site
from tests.factories.sites import SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def target_name():
    name = f"restore_{uuid.uuid4().hex[:10]}"
    yield name
    db = connection.settings_dict
    with psycopg.connect(dbname=db["NAME"], user=db["USER"] or "postgres", host=db["HOST"] or None,
                         port=db["PORT"] or None, password=db["PASSWORD"] or None, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_then_restore_gives_identical_rows_and_checksums(tmp_path, target_name, capsys):
    user = UserFactory(username="restorer")
    with audit_context(user=user.pk, reason="before backup"):
        site = SiteFactory(code="BKP")
        Site.objects.filter(pk=site.pk).update(name="Renamed before backup")
    dump = tmp_path / "registry.dump"

    call_command("backup", output=dump)
    call_command("restore", str(dump), database=target_name)

    original = database_fingerprint(connection.settings_dict)
    restored = database_fingerprint(connection.settings_dict, target_name)
    assert restored == original
    assert restored["sites_siteevent"]["rows"] >= 2  # the audit trail came along
    assert "every table's row count and checksum match" in capsys.readouterr().out


def test_restore_refuses_a_damaged_dump(tmp_path, target_name):
    SiteFactory(code="DMG")
    dump = tmp_path / "registry.dump"
    call_command("backup", output=dump)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(dump), database=target_name)


def test_restore_refuses_to_overwrite_an_existing_database(tmp_path):
    dump = tmp_path / "registry.dump"
    call_command("backup", output=dump)
    with pytest.raises(CommandError, match="already exists"):
        call_command("restore", str(dump), database=connection.settings_dict["NAME"])
