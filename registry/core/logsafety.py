"""Keeps patient data and secrets out of the logs (ASVS V7.1; GDPR Art. 5(1)(f)).

The registry's own log calls carry ids only. What can carry data is an exception's *message*: PostgreSQL
echoes the offending value (`invalid input syntax for type date: "<what the user typed>"`, `Key (x)=(…)
already exists`), Python echoes it (`invalid literal for int(): '…'`), and Celery repeats the message in its
failure line. The filter on every handler replaces such a message with the exception's type (and the
SQLSTATE and constraint of a database error, which say what broke without the values); the traceback frames
stay, so the fault can still be found. Domain errors keep their messages (written for the user, they name
fields and rules, never values), and so do errors of sockets, files and the broker (they name hosts and paths).
"""

from __future__ import annotations

import logging
from typing import Any

from registry.core.errors import DomainError

WITHHELD = "message withheld: may contain patient data"


class RedactedException(Exception):
    """Stands in for a logged exception whose message was withheld."""


def _summary(exc: BaseException) -> str:
    parts = [f"{type(exc).__module__}.{type(exc).__qualname__}"]
    cause = exc.__cause__ or exc.__context__ or exc
    diag = getattr(cause, "diag", None) or getattr(exc, "diag", None)
    sqlstate = getattr(cause, "sqlstate", None) or getattr(exc, "sqlstate", None)
    if sqlstate:
        parts.append(f"SQLSTATE {sqlstate}")
    for attribute in ("constraint_name", "table_name", "column_name"):
        value = getattr(diag, attribute, None) if diag is not None else None
        if value:
            parts.append(f"{attribute.split('_')[0]} {value}")
    return f"{'; '.join(parts)} ({WITHHELD})"


def _safe_types() -> tuple[type[BaseException], ...]:
    """Messages written for users (domain errors) or about the infrastructure (sockets, files, the broker)."""
    from kombu.exceptions import KombuError

    return (DomainError, OSError, KombuError)


def redact(exc: BaseException) -> BaseException:
    """The exception itself if its message is safe to log, else a stand-in naming its type only."""
    if isinstance(exc, _safe_types()):
        return exc
    return RedactedException(_summary(exc))


class RedactSensitive(logging.Filter):
    """Handler filter: withhold exception messages (and Celery's copy of them in the log line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        if exc_info and exc_info[1] is not None:
            original = exc_info[1]
            safe = redact(original)
            if safe is not original:
                record.exc_info = (type(safe), safe, exc_info[2])
                record.exc_text = None
                record.args = _scrub_args(record.args, original, safe)
        elif isinstance(record.args, dict) and isinstance(record.args.get("exc"), str) and \
                record.name.startswith("celery"):
            record.args = {**record.args, "exc": WITHHELD}
        return True


def _scrub_args(args: Any, original: BaseException, safe: BaseException) -> Any:
    """Celery's failure line repeats the exception (`%(exc)s`); any argument showing it is replaced."""
    texts = {str(original), repr(original)}
    texts.discard("")

    def clean(value: Any) -> Any:
        if isinstance(value, BaseException) and value is original:
            return safe
        if isinstance(value, str) and any(text in value for text in texts):
            return str(safe)
        return value

    if isinstance(args, dict):
        return {key: clean(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(clean(value) for value in args)
    return args
