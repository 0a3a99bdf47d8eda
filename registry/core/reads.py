"""Consistent multi-query reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
