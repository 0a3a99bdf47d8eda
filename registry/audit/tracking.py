"""How a model joins the audit trail: row-level PostgreSQL triggers from django-pghistory.

Triggers fire for every write path (ORM save, bulk_create, queryset.update, bulk_update, raw SQL, deletes),
which signal-based auditing misses (research/reliability.md §3.1). Row level, not statement level: the
statement-level triggers were measured pathologically slow on long-lived connections. Event tables are
append-only (PGHISTORY_APPEND_ONLY): a trigger refuses UPDATE and DELETE on them.
"""

from __future__ import annotations

import pghistory


def audited(**options):
    """Class decorator: record an event row for each insert, update and delete of the model."""
    return pghistory.track(
        pghistory.InsertEvent(),
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
        **options,
    )


def audit_context(**metadata):
    """Attach who/why (user id, reason for change, ...) to every audited write inside the block.

    Nested blocks join the outermost context, so a service called from a request or a task adds to it.
    """
    return pghistory.context(**{k: v for k, v in metadata.items() if v not in (None, "")})
