"""Django's `changepassword`, with its write in the audit trail under the command's name (see createsuperuser)."""

from django.contrib.auth.management.commands import changepassword

from registry.audit.tracking import audit_context


class Command(changepassword.Command):
    def handle(self, *args, **options):
        with audit_context(command="changepassword", username=options.get("username") or None):
            return super().handle(*args, **options)
