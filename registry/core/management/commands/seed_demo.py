from django.core.management.base import BaseCommand

from registry.core.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo sites, users and synthetic cohort (idempotent)."

    def handle(self, *args, **options):
        load_demo(self.stdout)
