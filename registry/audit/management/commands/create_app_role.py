import os

from django.core.management.base import BaseCommand

from registry.audit.roles import grant_application_role


class Command(BaseCommand):
    help = ("Create or refresh the restricted database role the application runs as (run after every migrate, "
            "as the owning role): no UPDATE/DELETE/TRUNCATE on audit event tables.")

    def add_arguments(self, parser):
        parser.add_argument("--role", default=os.environ.get("APP_DB_ROLE", "registry_app"))
        parser.add_argument("--password-env", default="APP_DB_PASSWORD",
                            help="Environment variable holding the role's password (never on the command line).")

    def handle(self, *args, role, password_env, **options):
        events = grant_application_role(role, os.environ.get(password_env))
        self.stdout.write(f"role {role}: granted; {len(events)} audit event tables are insert/select only")
