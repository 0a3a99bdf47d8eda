"""Django's `createsuperuser`, with its writes in the audit trail under the command's name.

This app comes before django.contrib.auth in INSTALLED_APPS, so this command is the one `manage.py` runs."""

from django.contrib.auth.management.commands import createsuperuser

from registry.audit.tracking import audit_context


class Command(createsuperuser.Command):
    def handle(self, *args, **options):
        with audit_context(command="createsuperuser"):
            return super().handle(*args, **options)
