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
    """Browser sessions; a privileged session without its second factor verified does not authenticate."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        from django.conf import settings

        from registry.core.twofactor import requires_two_factor

        user = result[0]
        verified = getattr(request._request.user, "is_verified", lambda: False)()
        if settings.REGISTRY_REQUIRE_2FA and not verified and requires_two_factor(user):
            return None
        return result
