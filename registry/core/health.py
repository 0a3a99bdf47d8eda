"""Health of the parts the registry needs: database, broker, at least one Celery worker."""

from __future__ import annotations

import time

from django.db import connection


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        status = "up"
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the message is reported
        detail = f"{type(exc).__name__}: {exc}"
        status = "down"
    return {"status": status, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        return cursor.fetchone()[0].split(" on ")[0]


def _broker() -> str:
    from registry.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return conn.as_uri()


def _workers() -> str:
    from registry.celery import app

    replies = app.control.ping(timeout=1.5, limit=1) or []
    if not replies:
        raise RuntimeError("no Celery worker answered a ping within 1.5 s")
    return ", ".join(sorted(name for reply in replies for name in reply))


def system_health() -> dict:
    """Each component's status; overall "up" only when all are up."""
    components = {"database": _timed(_database), "broker": _timed(_broker), "worker": _timed(_workers)}
    overall = "up" if all(c["status"] == "up" for c in components.values()) else "degraded"
    return {"status": overall, "components": components}
