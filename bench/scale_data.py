"""Synthetic registry at scale (issue 7 item 1; run by hand, or imported by the other bench scripts):

    .venv/bin/python bench/scale_data.py --patients 100000

`ensure_scale_database(n)` creates (or reuses, when it already holds n patients) the database `bench_scale_<n>`
on the server of DATABASE_URL with every migration applied, switches Django's connection to it, and fills it
with n patients of the demo cohort's model (registry/crfs/demo: same plans, same calibration, seed 19).

Why not the demo loader: it saves through the CRF services, ~1 s a patient. Here each batch of plans becomes
in-memory forms (primary keys drawn from the tables' sequences first, so lines, evaluations and findings can
refer to each other), derived with the same `derive_form`/`derive_patient` the services use, checked with the
same edit checks, then written with `bulk_create`. The pghistory row triggers still write an audit event for
every row, under the context {"command": "bench.scale_data"}; findings and automatic queries go through the
same store/reconcile functions as the nightly re-check.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from pghistory import config as pghistory_config  # noqa: E402

from bench.scale_rows import AUDIT_CONTEXT, Context, build_batch, set_counters  # noqa: E402
from registry.audit.tracking import audit_context  # noqa: E402
from registry.crfs.demo.generator import deal, patient_plan  # noqa: E402

DEFAULT_SEED = 19
BATCH_PATIENTS = 1000


def database_name(n: int) -> str:
    return f"bench_scale_{n}"


def _plans(dealt: list, first: int, last: int, seed: int) -> list:
    plans = [patient_plan(i, *dealt[i], seed) for i in range(first, last)]
    return sorted(plans, key=lambda p: (p.forms[0].data["registration_date"], p.index))


def _write_batch(plans: list, ctx: Context, seed: int, numbers: dict[str, int] | None = None) -> Counter:
    with transaction.atomic(), audit_context(**AUDIT_CONTEXT, seed=seed) as tracked:
        prepare_transaction(tracked)
        return build_batch(plans, ctx, numbers).write()


def _report(stdout, done: int, n: int, rows: Counter, started: float) -> None:
    if stdout is not None:
        elapsed = time.perf_counter() - started
        total = sum(rows.values())
        stdout.write(f"  {done}/{n} patients, {total} rows, {elapsed:.0f} s ({total / elapsed:.0f} rows/s)\n")
        stdout.flush()


def insert_patients(n: int, *, seed: int = DEFAULT_SEED, batch_patients: int = BATCH_PATIENTS, workers: int = 1,
                    stdout=None) -> Counter:
    """Insert n synthetic patients (plans 0..n-1 of the seed) into the current database; rows per table.

    Each batch is one transaction, so an interrupted run leaves whole patients only. With workers > 1 (a fresh
    database only: study numbers are dealt from 1 per site) batches run in forked processes, each with its own
    connection, and the site counters are set once at the end."""
    ctx = Context.load()
    dealt = deal(n, seed)
    rows: Counter = Counter()
    started = time.perf_counter()
    bounds = [(first, min(n, first + batch_patients)) for first in range(0, n, batch_patients)]
    if workers <= 1:
        for first, last in bounds:
            rows.update(_write_batch(_plans(dealt, first, last, seed), ctx, seed))
            _report(stdout, last, n, rows, started)
        _analyse()
        return rows
    from registry.patients.models import Patient, StudyIdCounter

    if Patient.objects.exists() or StudyIdCounter.objects.filter(last_number__gt=0).exists():
        raise RuntimeError("Parallel insert needs an empty registry (study numbers are dealt from 1).")
    bases, running = [], Counter()
    for first, last in bounds:
        bases.append(dict(running))
        running.update(site for _, site in dealt[first:last])
    jobs = [(first, last, seed, base) for (first, last), base in zip(bounds, bases, strict=True)]
    connection.close()  # each forked worker opens its own
    global _DEALT
    _DEALT = dealt
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for done, counts in enumerate(pool.imap_unordered(_worker_batch, jobs), start=1):
            rows.update(counts)
            _report(stdout, min(n, done * batch_patients), n, rows, started)
    with transaction.atomic(), audit_context(**AUDIT_CONTEXT, seed=seed):
        set_counters({ctx.sites[code]: last for code, last in running.items()})
    _analyse()
    return rows


def _analyse() -> None:
    """Planner statistics for the freshly loaded tables, as after any bulk load (pg_restore, vacuumdb
    --analyze-only): autovacuum would get there later, and until then the benchmarks measured plans made on
    no statistics (the monitors' worklist took 290 ms instead of 25 ms at 10,000 patients)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


_DEALT: list = []
_WORKER_CTX: Context | None = None


def _worker_batch(job: tuple) -> Counter:
    global _WORKER_CTX
    first, last, seed, base = job
    if _WORKER_CTX is None:
        _WORKER_CTX = Context.load()
    return _write_batch(_plans(_DEALT, first, last, seed), _WORKER_CTX, seed, base)


def prepare_transaction(tracked) -> None:
    """Set, for the transaction, the pghistory context of `tracked` (pghistory only injects it into ORM DML; the
    COPY statements need it set explicitly so their audit events carry it). The cheap `pgtrigger.ignore={}` path
    of the audit triggers comes with every connection (settings.py)."""
    metadata = json.dumps(tracked.metadata, cls=pghistory_config.json_encoder())
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pghistory.context_id', %s, true), "
                       "set_config('pghistory.context_metadata', %s, true)", [str(tracked.id), metadata])


def _use_database(name: str, *, clobber: bool) -> None:
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=not clobber)


def _other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def ensure_scale_database(n: int, seed: int = DEFAULT_SEED, *, workers: int = 2, stdout=None) -> str:
    """The name of a database holding n synthetic patients (created and filled when missing); Django's default
    connection points at it afterwards. A database left half-filled by an interrupted run is rebuilt."""
    from registry.patients.models import Patient

    name = database_name(n)
    _use_database(name, clobber=False)
    present = Patient.objects.count()
    while 0 < present < n and _other_sessions():
        # Another process is still filling it (its batches commit one by one): wait rather than rebuild.
        if stdout is not None:
            stdout.write(f"{name}: {present}/{n} patients, another session is filling it; waiting …\n")
        time.sleep(20)
        present = Patient.objects.count()
    if present == n:
        return name
    if present:
        if stdout is not None:
            stdout.write(f"{name} holds {present} patients, not {n}: rebuilding it.\n")
        connection.close()
        _use_database(name, clobber=True)
    insert_patients(n, seed=seed, workers=workers, stdout=stdout)
    return name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch", type=int, default=BATCH_PATIENTS, help="patients per transaction")
    parser.add_argument("--workers", type=int, default=2, help="parallel insert processes")
    parser.add_argument("--rebuild", action="store_true", help="drop and refill the database")
    args = parser.parse_args(argv)
    name = database_name(args.patients)
    print(f"Database {name} on {connection.settings_dict.get('HOST') or 'local socket'} …", flush=True)
    started = time.perf_counter()
    _use_database(name, clobber=args.rebuild)
    migrated = time.perf_counter() - started
    from registry.patients.models import Patient

    present = Patient.objects.count()
    if present == args.patients:
        print(f"{name} already holds {present} patients; nothing to do.")
        return
    if present:
        print(f"{name} holds {present} patients, not {args.patients}: rebuilding it.")
        connection.close()
        _use_database(name, clobber=True)
    print(f"Migrations ready in {migrated:.0f} s; inserting {args.patients} patients (seed {args.seed}) …",
          flush=True)
    filled = time.perf_counter()
    rows = insert_patients(args.patients, seed=args.seed, batch_patients=args.batch, workers=args.workers,
                           stdout=sys.stdout)
    seconds = time.perf_counter() - filled
    from bench.scale_rows import audit_rows

    print(f"\n{'table':<40} {'rows':>10}")
    for table, count in sorted(rows.items()):
        print(f"{table:<40} {count:>10}")
    total = sum(rows.values())
    audits = audit_rows()
    print(f"{'total':<40} {total:>10}")
    print(f"audit events written by the triggers under the scale context: {audits}")
    print(f"insert: {seconds:.1f} s, {total / seconds:.0f} rows/s ({args.patients / seconds:.0f} patients/s); "
          f"total with migrations {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
