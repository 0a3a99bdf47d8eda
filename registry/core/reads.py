"""Consistent multi-query reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction


@contextmanager
def consistent_read() -> Iterator[None]:
    """Run the reads inside in one REPEATABLE READ, READ ONLY transaction: a dataset or an export read with
    several queries then sees one point in time, never half of a save that committed between two of them.
    Inside a caller's transaction the reads simply join it (they see what it sees, its own writes included)."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


@contextmanager
def private_consistent_read() -> Iterator[Any]:
    """A psycopg connection of its own, in one REPEATABLE READ, READ ONLY transaction, closed on exit.

    For a long read (an export) that must see one point in time while the caller keeps writing on Django's
    connection (the job's progress): those writes could not run in a read-only transaction. Outside any
    transaction only: a second connection cannot see a caller's uncommitted writes.
    """
    import psycopg

    if connection.in_atomic_block:
        raise RuntimeError("a private read cannot see the caller's open transaction; read on its connection")
    params = {k: v for k, v in connection.get_connection_params().items() if k not in ("cursor_factory", "context")}
    with psycopg.connect(**params) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try:
            yield conn
        finally:
            conn.rollback()
