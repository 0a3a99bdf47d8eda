"""Domain errors raised by services; views and the API turn them into clear 4xx responses.

Each error names the field and the rule it broke, so the user can fix the input and nothing saved is lost.
"""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the operation (HTTP 400 unless a subclass says otherwise)."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None,
                 errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule
        self.errors = errors or ({field: [message]} if field else {})

    def as_dict(self) -> dict:
        body: dict = {"detail": self.message, "code": self.code}
        if self.rule:
            body["rule"] = self.rule
        if self.errors:
            body["errors"] = self.errors
        return body


class ValidationFailed(DomainError):
    """Input broke a hard edit check or a field rule."""

    code = "validation_failed"


class PermissionDenied(DomainError):
    """The user's role does not allow this action on this object."""

    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    """The object does not exist or is not visible to the user (never reveal which)."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The object's state forbids the action (locked form, wrong workflow step)."""

    status_code = 409
    code = "conflict"


class StaleVersion(DomainError):
    """Optimistic locking: someone saved the object since the client read it (HTTP 412)."""

    status_code = 412
    code = "stale_version"


class PreconditionRequired(DomainError):
    """An update came without the version it was based on (HTTP 428)."""

    status_code = 428
    code = "precondition_required"
