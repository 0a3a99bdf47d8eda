from django.core.management.base import BaseCommand

from registry.core.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo sites, users and synthetic cohort (idempotent; an interrupted load resumes)."

    def add_arguments(self, parser):
        parser.add_argument("--users-only", action="store_true", help="Only the demo sites and users.")
        parser.add_argument("--skip-credentials", action="store_true", help="Don't print the demo passwords.")

    def handle(self, *args, users_only, skip_credentials, **options):
        load_demo(self.stdout, users_only=users_only, show_credentials=not skip_credentials)
