"""Web and API load benchmark (issue 7 item 4): gunicorn as in production, a Celery worker, locust headless.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry \\
        .venv/bin/python bench/load/run_load.py --patients 2000 --users 50 --spawn-rate 10 --duration 60s

What it does, in order, and undoes at the end (every process it starts is stopped, even on Ctrl-C):
1. Database `bench_load_<patients>` on the DATABASE_URL server: created with every migration and filled with
   the demo-like synthetic cohort of bench/scale_data.py (`insert_patients`, same seed), or reused when it
   already holds that many patients. It is private to this benchmark because the run writes to it (saved
   forms, claimed cases, reads, an export, an analysis run); `--drop` removes it afterwards.
2. The plan for locust (bench/load/locustfile.py): API tokens for the demo site coordinators, the monitor,
   both central pathologists and the data manager; each coordinator's patients whose baseline form is not
   locked (split between the locust users sharing that account, so saves never collide).
3. A Celery worker (filesystem broker in a private data directory, so it never takes other processes' tasks).
4. gunicorn with the production command (`registry.wsgi:application`, `--workers 4 --timeout 60`, sync
   workers by default, `--worker-class gthread --threads N` optional) bound to 127.0.0.1 only, DEBUG off and
   persistent database connections (DB_CONN_MAX_AGE=60) as in production, plus `-c bench/load/gunicorn_conf.py`
   (preload the app and URL modules in the master; `--no-preload` leaves it out). Two production settings are not
   used: HTTPS redirect and Secure-only cookies need TLS, which a loopback benchmark does not have.
   API throttling stays on but is raised through its settings (API_THROTTLE_USER / API_THROTTLE_ANON env).
5. Jobs an interrupted earlier run left queued or running go back to the worker (the services' sweepers), then
   `locust --headless -u USERS -r RATE -t DURATION --csv <out>/load` runs the plan; the load average and the
   CPU seconds of gunicorn, the worker and the database's server processes are sampled; afterwards the export
   and the analysis run are awaited (--job-wait) before the worker is stopped.
6. A report: users held, requests, failures, p50/p95/p99 per endpoint (locust, client side), the form-save
   p95 against the DESIGN.md §6 budget (300 ms at 50 users), the same per endpoint from gunicorn's access log
   (server side: the difference is time queued for a free worker), CPU per request, the jobs' outcome and
   the machine's load average. Exit status 1 when any request failed.

On a machine shared with other work the latencies mostly measure waiting for a CPU: read them with the load
average printed, and use bench/load/cost.py (CPU per request per endpoint, one at a time) for what two idle
cores can serve. `--exclude-tags dashboard` leaves the (costly) quality dashboard out of the monitors' tasks.

Options: --help. Output files stay in --out (default bench/load/out/).
"""

from __future__ import annotations

import argparse
import atexit
import csv
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
# A private broker folder and media root for this run, shared with the worker it starts and no one else.
PRIVATE = Path(tempfile.mkdtemp(prefix="registry-load-"))
atexit.register(shutil.rmtree, PRIVATE, True)
os.environ["REGISTRY_DATA_DIR"] = str(PRIVATE)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.load.measure import ACCESS_FORMAT, CpuMeter, LoadSampler, descendants, server_times  # noqa: E402

FORM_SAVE = "PATCH form (baseline)"
BUDGET_MS = 300
#: Locust users of the SiteStaff class per coordinator account at most (weights in the locustfile: 30 of 48).
STAFF_SHARE = 30 / 48


def database_url(name: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def ensure_database(n: int, name: str) -> str:
    """`name` (default bench_load_<n>) holding n synthetic patients (bench/scale_data.py), created or reused; Django's
    connection points at it afterwards."""
    from bench.scale_data import insert_patients
    from registry.patients.models import Patient

    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=True)
    present = Patient.objects.count()
    if present != n:
        if present:
            print(f"{name} holds {present} patients, not {n}: rebuilding it.", flush=True)
            connection.close()
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
        started = time.perf_counter()
        insert_patients(n, stdout=sys.stdout)
        print(f"filled {name} in {time.perf_counter() - started:.0f} s", flush=True)
    return name


def build_plan(users: int) -> dict:
    """Tokens, the monitor's password and each coordinator's editable patients, for the locustfile."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from registry.crfs.models import Baseline, FormStatus
    from registry.sites.demo import demo_password, seed_sites_and_users
    from registry.sites.models import Role, SiteMembership

    seed_sites_and_users()
    User = get_user_model()

    def token(user) -> str:
        return Token.objects.get_or_create(user=user)[0].key

    staff = []
    for membership in SiteMembership.objects.filter(role=Role.SITE_COORDINATOR).select_related("user", "site"):
        patients = list(Baseline.objects.filter(patient__site=membership.site, patient__withdrawn=False)
                        .exclude(status=FormStatus.LOCKED).order_by("patient_id")
                        .values_list("patient_id", flat=True))
        if patients:
            staff.append({"username": membership.user.username, "token": token(membership.user),
                          "patients": patients})
    if not staff:
        raise SystemExit("No coordinator has a patient with an editable baseline form.")
    monitors = [{"username": u.username, "password": demo_password(u.username), "token": token(u)}
                for u in User.objects.filter(memberships__role=Role.MONITOR).distinct()]
    pathologists = [{"username": u.username, "token": token(u)}
                    for u in User.objects.filter(memberships__role=Role.CENTRAL_PATHOLOGIST).distinct()]
    data_manager = User.objects.get(username="datamanager")
    return {"staff": staff, "staff_users_per_account": max(1, math.ceil(users * STAFF_SHARE / len(staff))),
            "monitors": monitors, "pathologists": pathologists,
            "data_manager": {"username": data_manager.username, "token": token(data_manager)}}


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    print("+", " ".join(cmd), flush=True)
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen | None) -> None:
    """SIGTERM to the process group the benchmark started (gunicorn master and workers, celery and its pool)."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(url: str, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited (code {process.returncode}); see its log")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL we built
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{url} did not answer in {seconds:.0f} s")


def report(out: Path, samples: list[float], started_jobs: dict, cpu: CpuMeter, seconds: float) -> int:
    rows = list(csv.DictReader((out / "load_stats.csv").open()))
    history = list(csv.DictReader((out / "load_stats_history.csv").open()))
    held = max((int(float(r["User Count"])) for r in history), default=0)
    print(f"\nusers held: {held}")
    header = f"{'type':<6} {'endpoint':<34} {'requests':>8} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7}"
    print(header + "\n" + "-" * len(header))
    failures = 0
    for r in rows:
        name = r["Name"] if r["Type"] else "ALL (aggregated)"
        failures += int(r["Failure Count"]) if r["Type"] else 0
        print(f"{r['Type']:<6} {name:<34} {r['Request Count']:>8} {r['Failure Count']:>5} {r['50%']:>6} "
              f"{r['95%']:>6} {r['99%']:>6} {float(r['Max Response Time']):>7.0f}")
    print("(milliseconds; 'job' rows: time from the request to the worker's finished job)")
    save = next((r for r in rows if r["Name"] == FORM_SAVE), None)
    if save is not None:
        p95 = float(save["95%"])
        print(f"\nform save p95: {p95:.0f} ms — budget {BUDGET_MS} ms: {'MET' if p95 < BUDGET_MS else 'NOT MET'}")
    failed = list(csv.DictReader((out / "load_failures.csv").open())) if (out / "load_failures.csv").exists() else []
    for f in failed:
        print(f"FAILURE {f['Method']} {f['Name']}: {f['Occurrences']} × {f['Error'][:300]}")
    print(f"errors: {failures}")
    for label, state in started_jobs.items():
        print(f"{label}: {state}")
    print("\nserver-side time per request (gunicorn access log; locust's time minus this = queued for a worker)")
    print(f"{'endpoint':<52} {'requests':>8} {'p50':>6} {'p95':>6} {'p99':>6}")
    for key, n, p50, p95, p99 in server_times(out / "access.log"):
        print(f"{key:<52} {n:>8} {p50:>6.0f} {p95:>6.0f} {p99:>6.0f}")
    requests = sum(int(r["Request Count"]) for r in rows if r["Type"] and r["Type"] != "job")
    used = cpu.used
    print(f"\nCPU seconds used in {seconds:.0f} s: " + ", ".join(f"{k} {v:.1f}" for k, v in used.items()))
    if requests:
        web = used.get("gunicorn", 0) * 1000 / requests
        db = used.get("postgres (bench database)", 0) * 1000 / requests
        print(f"per HTTP request: {web:.0f} ms in gunicorn + {db:.0f} ms in PostgreSQL (upper bound: includes the "
              f"worker's queries); two idle cores would serve about {2000 / (web + db):.0f} requests/s "
              f"(this run: {requests / seconds:.1f}/s)")
    if samples:
        print(f"machine load average (1 min, {os.cpu_count()} cores) during the run: mean "
              f"{sum(samples) / len(samples):.1f}, max {max(samples):.1f}")
    return 1 if failures else 0


def sweep_leftovers() -> list:
    """Jobs a killed earlier run left queued or running go back to the worker (the services' own sweepers)."""
    from analysis.services import analysis_sweep
    from registry.exports.services import export_sweep

    return export_sweep(queued_after_seconds=0, running_after_seconds=0) + analysis_sweep(
        queued_after_seconds=0, running_after_seconds=0)


def job_marks() -> dict:
    """The newest export job and analysis run before the run: the run's own jobs come after these."""
    from analysis.models import AnalysisRun
    from registry.exports.models import ExportJob

    unfinished = AnalysisRun.objects.filter(status__in=["queued", "running"]).order_by("pk").first()
    last_run = AnalysisRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return {"export": ExportJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            # A recompute asked for while one is waiting returns that one (analysis_request_recompute).
            "analysis": unfinished.pk - 1 if unfinished else last_run}


def _jobs(marks: dict) -> tuple:
    from analysis.models import AnalysisRun
    from registry.exports.models import ExportJob

    return (ExportJob.objects.filter(pk__gt=marks["export"]).order_by("pk").first(),
            AnalysisRun.objects.filter(pk__gt=marks["analysis"]).defer("dataset").order_by("pk").first())


def wait_for_jobs(marks: dict, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job, run = _jobs(marks)
        if all(x is None or x.status not in ("queued", "running") for x in (job, run)):
            return
        time.sleep(2)
    print(f"jobs still unfinished after {seconds:.0f} s; the worker is stopped now", flush=True)


def job_states(marks: dict) -> dict:
    job, run = _jobs(marks)
    states = {}
    if job is not None:
        took = (job.finished_at - job.created_at).total_seconds() if job.finished_at else None
        states[f"export job {job.pk}"] = f"{job.status}, {job.row_count} rows, {took} s from request to file"
    if run is not None:
        took = (run.finished_at - run.created_at).total_seconds() if run.finished_at else None
        states[f"analysis run {run.pk}"] = f"{run.status}, {run.n_patients} patients, {took} s from request to result"
    return states


def backends(name: str) -> list[int]:
    """PostgreSQL server processes connected to the benchmark database (same machine: loopback only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name])
        return [row[0] for row in cursor.fetchall()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000, help="synthetic patients in the database")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", default="60s", help="locust --run-time, e.g. 60s or 2m")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--no-preload", dest="preload", action="store_false",
                        help="exactly the production command: no preload (see bench/load/gunicorn_conf.py)")
    parser.add_argument("--port", type=int, default=58000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "load" / "out")
    parser.add_argument("--database", help="database name (default bench_load_<patients>)")
    parser.add_argument("--exclude-tags", help="locust task tags to leave out, e.g. dashboard")
    parser.add_argument("--job-wait", type=float, default=300,
                        help="seconds to wait after the run for the export and analysis jobs to finish")
    parser.add_argument("--drop", action="store_true", help="drop the benchmark database at the end")
    args = parser.parse_args(argv)

    name = ensure_database(args.patients, args.database or f"bench_load_{args.patients}")
    plan = build_plan(args.users)
    url = database_url(name)
    connection.close()
    args.out.mkdir(parents=True, exist_ok=True)
    # every output of an earlier run goes, the access log included (gunicorn appends to it)
    for old in [*args.out.glob("load_*.csv"), args.out / "access.log"]:
        old.unlink(missing_ok=True)
    (args.out / "plan.json").write_text(json.dumps(plan))
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false",
           "DB_CONN_MAX_AGE": "60", "API_THROTTLE_USER": "1000000/min", "API_THROTTLE_ANON": "100000/min",
           "SECRET_KEY": secrets.token_urlsafe(64), "LOG_LEVEL": "WARNING", "LOAD_PLAN": str(args.out / "plan.json"),
           "AXES_FAILURE_LIMIT": "1000"}
    bin_dir = Path(sys.executable).parent
    worker = server = None
    sampler = LoadSampler()
    try:
        worker = start([str(bin_dir / "celery"), "-A", "registry", "worker", "-l", "warning", "--concurrency", "1",
                        "--without-gossip", "--without-mingle", "-n", f"load-{os.getpid()}@%h"],
                       env, args.out / "worker.log")
        gunicorn = [str(bin_dir / "gunicorn"), "registry.wsgi:application", "--bind", f"127.0.0.1:{args.port}",
                    "--workers", str(args.workers), "--timeout", "60", "--worker-class", args.worker_class]
        if args.preload:
            gunicorn += ["-c", str(ROOT / "bench" / "load" / "gunicorn_conf.py")]
        if args.worker_class == "gthread":
            gunicorn += ["--threads", str(args.threads)]
        gunicorn += ["--access-logfile", str(args.out / "access.log"), "--access-logformat", ACCESS_FORMAT]
        server = start(gunicorn, env, args.out / "gunicorn.log")
        host = f"http://127.0.0.1:{args.port}"
        wait_for(f"{host}/accounts/login/", 120, server)
        swept = sweep_leftovers()
        if swept:
            print(f"re-dispatched jobs left unfinished by an interrupted earlier run: {swept}", flush=True)
        marks = job_marks()
        print(f"load average before the run: {os.getloadavg()[0]:.1f}", flush=True)
        cpu = CpuMeter({"gunicorn": lambda: descendants(server.pid), "celery worker": lambda: descendants(worker.pid),
                        "postgres (bench database)": lambda: backends(name)})
        sampler.start()
        cpu.start()
        began = time.monotonic()
        locust = [str(bin_dir / "locust"), "-f", str(ROOT / "bench" / "load" / "locustfile.py"), "--headless",
                  "-u", str(args.users), "-r", str(args.spawn_rate), "-t", args.duration, "--host", host,
                  "--csv", str(args.out / "load"), "--csv-full-history", "--only-summary", "--stop-timeout", "10",
                  "--exit-code-on-error", "0", "--loglevel", "WARNING"]
        if args.exclude_tags:
            locust += ["--exclude-tags", args.exclude_tags]
        print("+", " ".join(locust[1:]), flush=True)
        subprocess.run(locust, cwd=ROOT, env=env, check=True, timeout=_seconds(args.duration) + 180)
        cpu.stop()
        seconds = time.monotonic() - began
        wait_for_jobs(marks, args.job_wait)
    finally:
        sampler.stopped.set()
        stop(server)
        stop(worker)
    code = report(args.out, sampler.samples, job_states(marks), cpu, seconds)
    connection.close()
    if args.drop:
        connection.creation.destroy_test_db(name, verbosity=0, keepdb=False)
        print(f"dropped {name}")
    return code


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(float(duration[:-1]) * units[duration[-1]]) if duration[-1] in units else int(duration)


if __name__ == "__main__":
    sys.exit(main())
