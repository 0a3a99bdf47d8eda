"""The restricted database role the application runs as in production.

Append-only is enforced twice: pghistory's trigger refuses UPDATE/DELETE on event tables, and the role the
web, worker and beat processes connect as has no UPDATE, DELETE or TRUNCATE privilege on them and owns no
table, so it can neither disable the trigger (`ALTER TABLE ... DISABLE TRIGGER` needs ownership) nor
bypass it. Migrations run as the owning role (research/reliability.md §3.4).
"""

from __future__ import annotations

import pghistory.models
from django.apps import apps
from django.db import connection
from psycopg import sql


def audit_event_tables() -> list[str]:
    """Database tables of every pghistory event model (that exists in the database)."""
    existing = set(connection.introspection.table_names())
    return sorted(
        model._meta.db_table for model in apps.get_models()
        if issubclass(model, pghistory.models.Event) and not model._meta.proxy and model._meta.managed
        and model._meta.db_table in existing
    )


def grant_application_role(role: str, password: str | None = None) -> list[str]:
    """Create (if needed) and (re)grant `role`: full DML on ordinary tables, insert/select only on audit events."""
    events = audit_event_tables()
    statements = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        exists = cursor.fetchone() is not None
        ident = sql.Identifier(role)
        if not exists:
            statements.append(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(ident))
        if password:
            statements.append(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(password)))
        statements += [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(connection.settings_dict["NAME"]),
                                                                 ident),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident),
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(ident),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident),
            sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}").format(ident),
        ]
        for table in events:
            statements.append(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                sql.Identifier(table), ident))
        for statement in statements:
            cursor.execute(statement)
    return events
