from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from registry.core.backup import restore


class Command(BaseCommand):
    help = "Restore a dump made by `backup` into a NEW database and verify every table against its manifest."

    def add_arguments(self, parser):
        parser.add_argument("dump", type=Path)
        parser.add_argument("--database", required=True, help="Name of the new database to create")

    def handle(self, *args, dump, database, **options):
        try:
            result = restore(connection.settings_dict, dump, database)
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        if not result["verified"]:
            raise CommandError(f"restored database differs from the backup in: {', '.join(result['mismatches'])}")
        self.stdout.write(f"restored into {database}: {result['tables']} tables, {result['rows']} rows, "
                          "every table's row count and checksum match the backup")
