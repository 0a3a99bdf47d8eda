"""CPU cost of each endpoint of the load scenario, one request at a time (no concurrency), in-process:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry DEBUG=false \\
        .venv/bin/python bench/load/cost.py --patients 10000 [--database NAME] [--repeat 10] \\
        [--only "PATCH"] [--profile 30]

Why: on a machine shared with other work, locust's latencies mostly measure waiting for a CPU. CPU seconds per
request do not depend much on what else runs, so they tell what two idle cores could serve: the Django side
(this process's CPU time) and the PostgreSQL side (the CPU time of this connection's server process, read
from /proc: PostgreSQL must run on this machine). Uses the same database and plan as run_load.py.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.load.measure import cpu_seconds  # noqa: E402
from bench.load.run_load import build_plan, ensure_database  # noqa: E402


def _clients(plan):
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.test import APIClient

    def api(token):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    monitor_page = Client()
    monitor_page.force_login(get_user_model().objects.get(username=plan["monitors"][0]["username"]))
    return (api(plan["staff"][0]["token"]), api(plan["monitors"][0]["token"]),
            api(plan["pathologists"][0]["token"]), monitor_page)


def _measure(label, call, repeat, backend_pid, rows, only=None, profile=0):
    if only and not any(word.lower() in label.lower() for word in only):
        return
    call()  # warm-up (templates, caches)
    if profile:
        _profile(label, call, repeat, profile)
    app, db, wall = time.process_time(), cpu_seconds(backend_pid), time.perf_counter()
    for _ in range(repeat):
        response = call()
        assert response.status_code in (200, 201, 204), f"{label}: HTTP {response.status_code}"
    app, db = time.process_time() - app, cpu_seconds(backend_pid) - db
    wall = time.perf_counter() - wall
    rows.append((label, repeat, app * 1000 / repeat, db * 1000 / repeat, wall * 1000 / repeat))
    print(f"{label:<34} {repeat:>4} {app * 1000 / repeat:>9.0f} {db * 1000 / repeat:>8.0f} "
          f"{wall * 1000 / repeat:>8.0f}", flush=True)


def _profile(label, call, repeat, top):
    """Queries per request (one call), then the `top` functions by cumulative time over `repeat` calls."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    print(f"{label}: {len(queries)} queries per request", flush=True)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        call()
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(top)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--database")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--only", action="append", help="measure only endpoints whose label contains this")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also count the queries of one request and print the N costliest functions (cProfile)")
    args = parser.parse_args(argv)
    from django.conf import settings
    from django.db import connection

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    ensure_database(args.patients, args.database or f"bench_load_{args.patients}")
    plan = build_plan(50)
    staff, monitor, pathologist, monitor_page = _clients(plan)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    patients = plan["staff"][0]["patients"]
    baseline = f"/api/v1/patients/{patients[0]}/baseline/"

    def save():
        etag = staff.get(baseline)["ETag"]  # (its cost is the GET row)
        return staff.patch(baseline, {"weight_kg": "71.5"}, format="json", HTTP_IF_MATCH=etag,
                           HTTP_X_CHANGE_REASON="Load test: weight re-checked against the chart.")

    query_id = monitor.get("/api/v1/queries/?status=open").json()["results"][0]["id"]
    print(f"{'endpoint':<34} {'n':>4} {'app ms':>9} {'db ms':>8} {'wall ms':>8}   (CPU per request)")
    rows: list = []
    r = args.repeat

    def measure(*a):
        _measure(*a, only=args.only, profile=args.profile)

    measure("GET form (baseline)", lambda: staff.get(baseline), r, backend, rows)
    measure("GET + PATCH form (baseline)", save, r, backend, rows)
    measure("GET patients list", lambda: staff.get("/api/v1/patients/?page=2"), r, backend, rows)
    measure("GET follow-up list", lambda: staff.get(f"/api/v1/patients/{patients[0]}/followup/"), r, backend,
            rows)
    measure("GET queries list", lambda: monitor.get("/api/v1/queries/?status=open"), r, backend, rows)
    measure("GET query worklist", lambda: monitor.get("/api/v1/queries/worklist/"), r, backend, rows)
    measure("GET query", lambda: monitor.get(f"/api/v1/queries/{query_id}/"), r, backend, rows)
    measure("page /queries/", lambda: monitor_page.get("/queries/?page=2"), r, backend, rows)
    measure("page /patients/", lambda: monitor_page.get("/patients/"), r, backend, rows)
    measure("GET review queue", lambda: pathologist.get("/api/v1/pathology/cases/"), r, backend, rows)
    measure("POST claim-next", lambda: pathologist.post("/api/v1/pathology/cases/claim-next/"), 2, backend, rows)
    measure("GET quality dashboard", lambda: monitor.get("/api/v1/queries/dashboard/"), 2, backend, rows)


if __name__ == "__main__":
    main()
