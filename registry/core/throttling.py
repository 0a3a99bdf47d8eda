"""API rate limits that tell clients where they stand (X-RateLimit-* headers on every API response)."""

from __future__ import annotations

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _HeaderMixin:
    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if self.rate is not None and hasattr(self, "history"):  # no history: this throttle did not apply
            remaining = max(self.num_requests - len(self.history), 0)
            reset = int(self.history[-1] + self.duration - self.now) if self.history else int(self.duration)
            current = getattr(request._request, "rate_limit", None)
            # Report the tightest limit when several throttles apply.
            if current is None or remaining < current["remaining"]:
                request._request.rate_limit = {"limit": self.num_requests, "remaining": remaining,
                                               "reset": max(reset, 0)}
        return allowed


class RegistryUserRateThrottle(_HeaderMixin, UserRateThrottle):
    pass


class RegistryAnonRateThrottle(_HeaderMixin, AnonRateThrottle):
    pass


class RateLimitHeadersMiddleware:
    """Copies the throttle state DRF recorded on the request into standard-style response headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        limit = getattr(request, "rate_limit", None)
        if limit:
            response["X-RateLimit-Limit"] = str(limit["limit"])
            response["X-RateLimit-Remaining"] = str(limit["remaining"])
            response["X-RateLimit-Reset"] = str(limit["reset"])
        return response
