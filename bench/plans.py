"""Query plans at registry scale (issue 7 item 5; run by hand, not a test):

    .venv/bin/python bench/plans.py --patients 100000 [--verbose]

Runs the real code behind each hot page and job — the pathology queue and claim-next, the data-query list,
worklist and dashboard, the CRF dashboard matrix, the patient list API, the analysis dataset build and the
export reads (long tables and the wide table) — against `bench_scale_<n>` (bench/scale_data.py), captures the
SQL it sends, and runs EXPLAIN (ANALYZE, BUFFERS) of each statement inside a transaction that is rolled back.
Prints, per statement, the time and every scan node (index or sequential), and flags a sequential scan of a
large table that throws most of its rows away (an index is expected there). Whole-table reads (exports, the
analysis snapshot) legitimately scan sequentially and are not flagged.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

#: A table this big read sequentially while keeping under SELECTIVE of its rows (or in a loop) is flagged.
LARGE_TABLE = 50_000
SELECTIVE = 0.2
_SKIP = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SET|SELECT set_config|INSERT|UPDATE|DELETE)",
                   re.IGNORECASE)


@dataclass
class Scan:
    node: str
    relation: str
    index: str
    rows: int
    removed: int
    loops: int
    parallel: bool = False

    def text(self) -> str:
        where = f"{self.relation}" + (f" using {self.index}" if self.index else "")
        removed = f", {self.removed} removed by filter" if self.removed else ""
        how = f"{self.loops} parallel workers" if self.parallel else f"{self.loops} loops"
        return f"{self.node} on {where}: {self.rows} rows x {how}{removed}"


@dataclass
class Plan:
    scenario: str
    sql: str
    ms: float
    scans: list[Scan] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    shared_hit: int = 0
    shared_read: int = 0


def _walk(node: dict, out: list[Scan]) -> None:
    if "Relation Name" in node:
        out.append(Scan(node["Node Type"], node["Relation Name"], node.get("Index Name", ""),
                        int(node.get("Actual Rows", 0)), int(node.get("Rows Removed by Filter", 0)),
                        int(node.get("Actual Loops", 1)), bool(node.get("Parallel Aware"))))
    for child in node.get("Plans", []):
        _walk(child, out)


def _table_sizes() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, GREATEST(reltuples, 0)::bigint FROM pg_class WHERE relkind = 'r' "
                       "AND relnamespace = 'public'::regnamespace")
        return dict(cursor.fetchall())


def explain(scenario: str, sql: str, sizes: dict[str, int], *, full_read: bool) -> Plan:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        result = cursor.fetchone()[0]
    doc = result[0] if isinstance(result, list) else result
    scans: list[Scan] = []
    _walk(doc["Plan"], scans)
    plan = Plan(scenario, sql, float(doc.get("Execution Time", 0.0)), scans,
                shared_hit=int(doc["Plan"].get("Shared Hit Blocks", 0)),
                shared_read=int(doc["Plan"].get("Shared Read Blocks", 0)))
    for scan in scans:
        size = sizes.get(scan.relation, 0)
        # A scan that keeps most of a big table is what an index could not avoid; one that throws most of it
        # away (or runs in a loop) is where an index is expected. Whole-table reads only flag the loops.
        if scan.node == "Seq Scan" and size >= LARGE_TABLE and scan.loops:
            kept = scan.rows * scan.loops if scan.parallel else scan.rows
            looped = scan.loops > 1 and not scan.parallel
            if looped or (kept < SELECTIVE * size and not full_read):
                plan.flags.append(f"seq scan of {scan.relation} ({size} rows) keeping {scan.rows} "
                                  f"x {scan.loops} loops")
    return plan


def capture(run: Callable[[], object]) -> list[str]:
    """The SQL statements `run` sends (in a transaction rolled back afterwards: claim-next writes)."""
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            run()
        transaction.set_rollback(True)
    return [q["sql"] for q in queries.captured_queries if not _SKIP.match(q["sql"])]


def _get(user, path: str) -> Callable[[], object]:
    def run():
        client = Client()
        client.force_login(user)
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    return run


def scenarios() -> list[tuple[str, Callable[[], object], bool]]:
    """(name, code to run, whether it legitimately reads whole tables)."""
    from django.contrib.auth import get_user_model

    from analysis.datasets import build_dataset
    from registry.crfs.catalogue import FAMILIES
    from registry.crfs.demo.model import DATA_CUTOFF
    from registry.exports.deid import Deidentifier
    from registry.exports.tables import ExportSource
    from registry.pathology.services import case_claim_next
    from registry.patients.models import Patient

    users = {u.username: u for u in get_user_model().objects.filter(username__in=[
        "pathologist.perren", "datamanager", "coordinator.ous", "monitor.nordic"])}
    patho, dm, coord, monitor = (users[k] for k in ("pathologist.perren", "datamanager", "coordinator.ous",
                                                   "monitor.nordic"))
    source = ExportSource(patients=Patient.objects.all(), deid=Deidentifier())

    def export_long_first_rows():
        for table in source.long_tables([f.code for f in FAMILIES]):
            for i, _row in enumerate(table.rows):
                if i >= 2000:
                    break

    def export_wide_first_chunk():
        table = source.wide_table(config={}, cutoff=DATA_CUTOFF)
        for i, _row in enumerate(table.rows):
            if i >= 2000:
                break

    return [
        ("pathology queue page (pathologist)", _get(patho, "/pathology/"), False),
        ("pathology claim-next (service)", lambda: case_claim_next(user=patho), False),
        ("pathology queue page, ready only (pathologist)", _get(patho, "/pathology/?status=ready"), False),
        ("pathology queue page 500 (pathologist)", _get(patho, "/pathology/?page=500"), False),
        ("pathology material page (data manager)", _get(dm, "/pathology/material/"), False),
        ("pathology material page (site coordinator)", _get(coord, "/pathology/material/"), False),
        ("pathology material page, deep pages (data manager)",
         _get(dm, "/pathology/material/?out_page=100&recv_page=3&ret_page=1000"), False),
        ("data-query list (data manager)", _get(dm, "/queries/"), False),
        ("data-query list, open only (monitor)", _get(monitor, "/queries/?status=open"), False),
        ("query worklist (site coordinator)", _get(coord, "/queries/worklist/"), False),
        ("query worklist (monitor)", _get(monitor, "/queries/worklist/"), False),
        ("quality dashboard (data manager)", _get(dm, "/queries/dashboard/"), False),
        ("CRF dashboard matrix (data manager)", _get(dm, "/patients/"), False),
        ("CRF dashboard matrix (site coordinator)", _get(coord, "/patients/"), False),
        ("CRF dashboard, page 200 (data manager)", _get(dm, "/patients/?page=200"), False),
        ("patient list API (data manager)", _get(dm, "/api/v1/patients/"), False),
        ("analysis dataset build", lambda: build_dataset({}, cutoff=DATA_CUTOFF), True),
        ("export long tables (first 2000 rows each)", export_long_first_rows, True),
        ("export wide table (first chunk)", export_wide_first_chunk, True),
    ]


def run_plans(*, only: str = "", verbose: bool = False, sql_dir: Path | None = None) -> list[Plan]:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    sizes = _table_sizes()
    Client().get("/accounts/login/")  # import every view module once: the first scenario's wall time is its own
    plans: list[Plan] = []
    for name, run, full_read in scenarios():
        if only and not any(part.strip().lower() in name.lower() for part in only.split(",")):
            continue
        started = time.perf_counter()
        statements = capture(run)
        wall = time.perf_counter() - started
        seen: set[str] = set()
        print(f"\n== {name}: {len(statements)} statements, {wall * 1000:.0f} ms wall")
        for sql in statements:
            shape = re.sub(r"\d+", "N", sql)
            if shape in seen:
                continue
            seen.add(shape)
            with transaction.atomic():
                plan = explain(name, sql, sizes, full_read=full_read)
                transaction.set_rollback(True)
            plans.append(plan)
            if sql_dir is not None:
                sql_dir.mkdir(parents=True, exist_ok=True)
                (sql_dir / f"{len(plans):03d}.sql").write_text(f"-- {name}\n{sql};\n")
            mark = "FLAG " if plan.flags else ""
            if plan.ms >= 5 or plan.flags or verbose:
                print(f"  {mark}{plan.ms:8.1f} ms  {sql[:150]}{'…' if len(sql) > 150 else ''}")
                for scan in plan.scans:
                    print(f"        {scan.text()}")
                for flag in plan.flags:
                    print(f"        !! {flag}")
    return plans


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--only", default="", help="run the scenarios whose name contains one of these "
                                                   "(comma-separated)")
    parser.add_argument("--verbose", action="store_true", help="print every statement, not only slow/flagged")
    parser.add_argument("--sql-dir", type=Path, help="also write each distinct statement to this folder")
    args = parser.parse_args(argv)
    from bench.scale_data import ensure_scale_database

    name = ensure_scale_database(args.patients, stdout=sys.stdout)
    print(f"Plans on {name} ({timezone.localdate()})")
    plans = run_plans(only=args.only, verbose=args.verbose, sql_dir=args.sql_dir)
    flagged = [p for p in plans if p.flags]
    print(f"\n{len(plans)} distinct statements, {len(flagged)} flagged:")
    for p in flagged:
        print(f"  [{p.scenario}] {p.ms:.1f} ms: {'; '.join(p.flags)}")


if __name__ == "__main__":
    main()
