from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from registry.core.backup import backup


class Command(BaseCommand):
    help = "Dump the registry database (pg_dump custom format) with a manifest of per-table checksums."

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="Dump file (default .data/backups/registry-<UTC time>.dump)")

    def handle(self, *args, output, **options):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        output = output or settings.DATA_DIR / "backups" / f"registry-{stamp}.dump"
        manifest = backup(connection.settings_dict, output)
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(f"{output}  sha256 {manifest['sha256']}  {len(manifest['tables'])} tables, {rows} rows")
