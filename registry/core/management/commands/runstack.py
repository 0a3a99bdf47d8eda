"""Start the whole system for a demo or development: migrate, load demo data, then web, worker and beat.

Ctrl-C (or SIGTERM) stops the three processes in order and then the embedded PostgreSQL, if this
command is using it. Each process runs in its own session so one Ctrl-C doesn't race the shutdown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web, Celery worker and Celery beat with demo data (the README's run command)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="Skip loading the demo data.")

    def handle(self, *args, host, port, no_demo, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        if not no_demo:
            # Sites and users at once (sign-in works immediately); the cohort, entered through the CRF
            # services, fills in from a background process (below) and resumes if interrupted.
            call_command("seed_demo", users_only=True, stdout=self.stdout)

        python = sys.executable
        processes = {
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            "worker": [python, "-m", "celery", "-A", "registry", "worker", "-l", "info", "--concurrency", "2",
                       "-n", "worker@%h", "--without-gossip"],
            "beat": [python, "-m", "celery", "-A", "registry", "beat", "-l", "info",
                     "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                     "--pidfile", str(settings.DATA_DIR / "celerybeat.pid")],
        }
        if not no_demo:
            processes["demo"] = [python, "manage.py", "seed_demo", "--skip-credentials"]
        running: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, argv in processes.items():
                running[name] = subprocess.Popen(argv, cwd=settings.BASE_DIR, start_new_session=True)  # noqa: S603
            url = f"http://{host}:{port}/"
            self._wait_for(url + "health", running)
            self.stdout.write(self.style.SUCCESS(
                f"\nNEN Registry is running at {url}  (API docs {url}api/docs/, health {url}health)\n"
                "Press Ctrl-C to stop web, worker, beat and the embedded database."
                + ("\nThe demo cohort is being entered through the CRF services in the background (several "
                   "minutes); pages fill in as it goes, and an interrupted load resumes on the next run."
                   if not no_demo else "")
            ))
            while not stopping:
                for name, proc in running.items():
                    if name == "demo":  # the demo loader ends when the cohort is in; that is not a failure
                        continue
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping everything.")
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            self._shutdown(running)

    def _wait_for(self, url: str, running: dict, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(proc.poll() is not None for proc in running.values()):
                return
            try:
                with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - our own loopback URL
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)

    def _shutdown(self, running: dict) -> None:
        self.stdout.write("\nStopping…")
        for name in ("demo", "web", "beat", "worker"):
            proc = running.get(name)
            if proc and proc.poll() is None:
                proc.terminate()  # the main process only: a Celery worker then shuts its pool down warmly
        for name, proc in running.items():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            self.stdout.write(f"  {name} stopped")
        if settings.EMBEDDED_POSTGRES:
            from django.db import connections

            connections.close_all()
            from registry.core.embedded_postgres import stop

            stop(settings.DATA_DIR / "postgres")
            self.stdout.write("  embedded PostgreSQL stopped")
