"""Export benchmark (issue 7 item 3, issue 9; run by hand, never in the test suite):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_scale \\
        .venv/bin/python bench/export_bench.py --patients 100000 --formats csv,parquet,sav

Uses the scale generator's database `bench_scale_<n>` (bench/scale_data.py `ensure_scale_database`; it is only
built here when missing, never rebuilt under another process that is still filling it). Each format is exported
through the real service (ExportJob → export_job_build, wide shape, every site) in a fresh child process, so
each peak RSS is that export's alone; the child samples its RSS every 10 ms with psutil. The floor is a
PostgreSQL `COPY (…) TO STDOUT` of the same source rows: the wide export's own snapshot queries
(`analysis.selectors.SnapshotReader`; the export runs them scoped to its patients, through server-side
cursors) over every patient at once, unscoped, consumed by this process.
DESIGN.md §6 budget: wide CSV of 100,000 patients with peak RSS < 300 MB, within 3× that COPY.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
from django.db import connection  # noqa: E402

#: Tables the wide export reads; analysed first when autovacuum never has (a freshly bulk-loaded database
#: plans its queries on no statistics at all, which no production database does).
READ_TABLES = ("patients_patient", "crfs_enrolment", "crfs_baseline", "crfs_tumourstaging", "crfs_localpathology",
               "crfs_labresult", "crfs_treatmentline", "crfs_responseevaluation", "crfs_followup",
               "crfs_systemictreatmentstatus", "pathology_finalclassification", "sites_site")


class PeakRss:
    """Samples this process's RSS every 10 ms in a thread; `peak` is the maximum seen."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def use_database(n: int, *, allow_build: bool) -> str:
    """Point the connection at bench_scale_<n>; refuse to touch a database another process is still filling."""
    from bench.scale_data import database_name, ensure_scale_database

    name = database_name(n)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
    if exists:
        connection.settings_dict["NAME"] = name
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM patients_patient")
            have = cursor.fetchone()[0]
        if have != n and not allow_build:
            sys.exit(f"{name} holds {have} patients, not {n} (still being filled?); rerun when it is complete, "
                     "or pass --allow-build to let ensure_scale_database rebuild it.")
        if have == n:
            return name
    elif not allow_build:
        sys.exit(f"{name} does not exist; pass --allow-build to create it with bench/scale_data.py.")
    return ensure_scale_database(n, stdout=sys.stdout)


def analyse_if_never_analysed() -> list[str]:
    done = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
                       "AND last_analyze IS NULL AND last_autoanalyze IS NULL", [list(READ_TABLES)])
        for (table,) in cursor.fetchall():
            cursor.execute(f'ANALYZE "{table}"')
            done.append(table)
    return done


def copy_floor() -> dict[str, float]:
    """COPY … TO STDOUT (csv) of the wide export's source queries over every patient; bytes are consumed."""
    from analysis.selectors import SnapshotReader

    reader = SnapshotReader(minimum_status="draft")
    total_bytes = rows = 0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for read in reader.reads:
            with raw.copy(f"COPY ({read.sql}) TO STDOUT WITH (FORMAT csv)", read.params) as copy:
                for block in copy:
                    total_bytes += len(block)
                    rows += bytes(block).count(b"\n")
    return {"seconds": time.perf_counter() - started, "bytes": total_bytes, "rows": rows}


def export_once(spec: str) -> dict[str, object]:
    """One export through the service, in this process (run as a child by `main`); `spec` is a format of the
    wide shape (csv, parquet, sav, dta, …) or `long-<format>` for the long shape (every form family)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from registry.exports import services

    settings.MEDIA_ROOT = Path(settings.DATA_DIR) / "bench-media"
    user, _ = get_user_model().objects.get_or_create(
        username="bench-exports", defaults={"is_superuser": True, "is_staff": True})
    shape, fmt = spec.split("-", 1) if spec.startswith("long-") else ("wide", spec)
    job = services.export_job_create(user=user, shape=shape, fmt=fmt)
    rss_before = psutil.Process().memory_info().rss
    cpu0 = time.process_time()
    with PeakRss() as rss:
        t0 = time.perf_counter()
        services.export_job_build(job.pk)
        seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    job.refresh_from_db()
    if job.status != "succeeded":
        raise SystemExit(job.error)
    path = Path(settings.MEDIA_ROOT) / job.file
    out = {"format": spec, "rows": job.row_count, "bytes": job.file_size, "seconds": seconds, "cpu_seconds": cpu,
           "rss_before_mib": rss_before / 2**20, "rss_peak_mib": rss.peak / 2**20}
    path.unlink(missing_ok=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,parquet",
                        help="comma-separated wide formats; long-<format> (e.g. long-csv) for the long shape")
    parser.add_argument("--allow-build", action="store_true",
                        help="let bench/scale_data.py create (or rebuild) bench_scale_<n> when it is not complete")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child mode: export one format, print JSON
    args = parser.parse_args()

    if args.one:
        use_database(args.patients, allow_build=False)
        print(json.dumps(export_once(args.one)))
        return

    name = use_database(args.patients, allow_build=args.allow_build)
    analysed = analyse_if_never_analysed()
    print(f"Database {name}: {args.patients} patients" + (f"; analysed {', '.join(analysed)}" if analysed else ""))
    print(f"Load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    floor = copy_floor()
    print(f"COPY floor (same source rows, csv): {floor['seconds']:.2f} s, {floor['rows']} rows, "
          f"{floor['bytes'] / 1e6:.1f} MB")
    results = []
    for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
        child = subprocess.run([sys.executable, __file__, "--patients", str(args.patients), "--one", fmt],
                               capture_output=True, text=True, env=os.environ.copy(), check=False)
        if child.returncode:
            print(f"{fmt}: export failed\n{child.stdout}{child.stderr}")
            continue
        result = json.loads(child.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"{fmt:<10} {result['rows']} rows, {result['bytes'] / 1e6:.1f} MB: {result['seconds']:.2f} s "
              f"(CPU {result['cpu_seconds']:.2f} s), peak RSS {result['rss_peak_mib']:.0f} MiB "
              f"(at start {result['rss_before_mib']:.0f} MiB), {result['seconds'] / floor['seconds']:.1f}× COPY")
    again = copy_floor()
    print(f"COPY floor again after the exports: {again['seconds']:.2f} s")
    print(f"Load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for r in results:
        if r["format"] == "csv":
            ok_rss, ok_ratio = r["rss_peak_mib"] < 300, r["seconds"] <= 3 * floor["seconds"]
            print(f"Budget (DESIGN.md §6) wide CSV: peak RSS < 300 MB {'met' if ok_rss else 'NOT met'}; "
                  f"within 3× COPY {'met' if ok_ratio else 'NOT met'} ({r['seconds'] / floor['seconds']:.1f}×)")


if __name__ == "__main__":
    main()
