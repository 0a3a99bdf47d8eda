"""Attaches user, request id, client address and an optional reason for change to every write request."""

from __future__ import annotations

import uuid

from pghistory.middleware import HistoryMiddleware


class AuditContextMiddleware(HistoryMiddleware):
    """pghistory context for POST/PUT/PATCH/DELETE: who, from where, which request, and why (if given).

    The reason may come from the `X-Change-Reason` header (API) or a `change_reason` form field; services
    that require a reason validate it themselves and add it to the same context.
    """

    def get_context(self, request):
        context = super().get_context(request)
        request.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        context["request_id"] = request.request_id
        context["method"] = request.method
        reason = request.headers.get("X-Change-Reason")
        if reason:
            context["reason"] = reason[:500]
        return context
