"""OpenAPI descriptions of the registry's own authentication classes (drf-spectacular extensions)."""

from drf_spectacular.authentication import SessionScheme, TokenScheme


class AuditedTokenScheme(TokenScheme):
    target_class = "registry.core.authentication.AuditedTokenAuthentication"


class AuditedSessionScheme(SessionScheme):
    target_class = "registry.core.authentication.AuditedSessionAuthentication"
