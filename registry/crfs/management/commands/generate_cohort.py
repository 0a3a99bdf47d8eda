"""`manage.py generate_cohort --patients N --seed S`: enter a synthetic NORDIC NEC 2-like cohort of any size
through the CRF services (the demo uses the default 639 patients; benchmarks use other sizes)."""

from __future__ import annotations

import cProfile
import io
import pstats

from django.core.management.base import BaseCommand, CommandError

from registry.audit.tracking import audit_context
from registry.crfs.demo import model as m
from registry.crfs.demo.generator import generate_plans
from registry.crfs.demo.loader import demo_patients_exist, load_plans


class Command(BaseCommand):
    help = "Generate a synthetic cohort (calibrated to NORDIC NEC 2) and enter it through the CRF services."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=m.DEFAULT_PATIENTS)
        parser.add_argument("--seed", type=int, default=m.DEFAULT_SEED)
        parser.add_argument("--profile", type=int, default=0, metavar="N",
                            help="Profile the load with cProfile and print the N most expensive calls.")

    def handle(self, *args, patients: int, seed: int, profile: int, **options):
        from registry.sites.demo import seed_sites_and_users

        if patients < 1:
            raise CommandError("--patients must be at least 1.")
        if demo_patients_exist():
            raise CommandError("The demo sites already have patients; generate a cohort into an empty database.")
        with audit_context(command="generate_cohort"):
            seed_sites_and_users()
            plans = generate_plans(patients, seed=seed)
            self.stdout.write(f"Entering {len(plans)} synthetic patients (seed {seed}) through the CRF services …")
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            report = load_plans(plans, stdout=self.stdout)
            if profiler:
                profiler.disable()
                text = io.StringIO()
                stats = pstats.Stats(profiler, stream=text)
                stats.sort_stats("cumulative").print_stats(profile)
                stats.sort_stats("tottime").print_stats(profile)
                self.stdout.write(text.getvalue())
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items()))
        rate = report.patients / report.seconds if report.seconds else 0.0
        self.stdout.write(self.style.SUCCESS(
            f"{report.patients} patients, {report.forms} forms ({statuses}) in {report.seconds:.1f} s "
            f"({rate:.1f} patients/s)."))
