"""The server-error view (handler500): a database that is down or restarting is a 503 "try again", not a 500.

Django calls handler500 for any exception a view or middleware did not handle (also one raised while a
middleware loads the session or the user), inside the `except` block, so the exception is at hand. Each
save runs in one transaction, so a 503 means nothing of it was written; with CONN_HEALTH_CHECKS the next
request opens a fresh connection and the app recovers without a restart. The body is fixed text: no
traceback, no exception message (it can echo data), no template that would query the database again.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views.defaults import server_error as django_server_error

RETRY_AFTER_SECONDS = 5
MESSAGE = "The registry's database is unavailable for a moment. Nothing was saved; try again shortly."


def database_unavailable(exc: BaseException | None) -> bool:
    """True for a lost or refused database connection (restart, failover, network), anywhere in the chain."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, (OperationalError, InterfaceError)):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def server_error(request, *args, **kwargs):
    if not database_unavailable(sys.exc_info()[1]):
        return django_server_error(request, *args, **kwargs)
    if request.path.startswith(("/api/", "/redcap/")):
        response = JsonResponse({"detail": MESSAGE, "code": "database_unavailable"}, status=503)
    else:
        response = HttpResponse(
            f"<!doctype html><title>Temporarily unavailable</title><h1>Temporarily unavailable</h1><p>{MESSAGE}</p>",
            status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
