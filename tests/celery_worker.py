"""A real Celery worker process for tests, pointed at the test database and a private queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def worker_database_url() -> str:
    """URL of the database the test process is using (pytest-django renamed it to the test name)."""
    s = connection.settings_dict
    host = s.get("HOST") or ""
    auth = quote(s.get("USER") or "postgres") + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    if host.startswith("/"):
        return f"postgresql://{auth}@/{s['NAME']}?host={quote(host, safe='')}"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}@{host}{port}/{s['NAME']}"


@contextmanager
def celery_worker(*, queue: str | None = None, concurrency: int = 1, extra_env: dict | None = None):
    """Start `celery worker` as a subprocess consuming `queue`; yields (process, queue)."""
    queue = queue or f"test-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "DATABASE_URL": worker_database_url(), **(extra_env or {})}
    log = BASE_DIR / ".data" / f"worker-{queue}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "registry", "worker", "-Q", queue, "-c", str(concurrency),
             "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "-l", "info"],
            cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_ready(log, proc)
        yield proc, queue
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_ready(log: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log.read_text()}")
        if " ready." in log.read_text():
            return
        time.sleep(0.25)
    raise TimeoutError(f"worker not ready after {timeout}s:\n{log.read_text()}")
