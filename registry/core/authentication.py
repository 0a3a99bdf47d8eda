"""API authentication that also feeds the audit context (token and session; never HTTP Basic)."""

from __future__ import annotations

import pghistory
from rest_framework import authentication


class _AuditUserMixin:
    """Django middleware runs before DRF authenticates a token, so the audit context learns the user here."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            pghistory.context(user=result[0].pk)
        return result


class AuditedTokenAuthentication(_AuditUserMixin, authentication.TokenAuthentication):
    pass


class AuditedSessionAuthentication(_AuditUserMixin, authentication.SessionAuthentication):
    pass
