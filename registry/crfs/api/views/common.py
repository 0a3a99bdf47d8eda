"""Request parsing shared by the CRF API views: validated input as a domain error, If-Match, the reason for
change, the role pre-check, and the 412 body."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.response import Response

from registry.core.errors import PermissionDenied, PreconditionRequired, StaleVersion, ValidationFailed
from registry.crfs.api.serializers.common import REASON_MAX_LENGTH
from registry.sites.models import Role
from registry.sites.scoping import DATA_ENTRY, has_role

_IF_MATCH = re.compile(r'^\s*"?([0-9]{1,9})"?\s*$')

#: Who may do what, checked before the body is read so that a role without the right gets 403 whatever it
#: sends; the services enforce the same sets again (registry/crfs/services/forms.py) and stay authoritative.
ACTION_ROLES: dict[str, frozenset[str]] = {
    "create": DATA_ENTRY,
    "update": DATA_ENTRY,
    "delete": DATA_ENTRY,
    "submit": DATA_ENTRY,
    "verify": frozenset({Role.MONITOR}),
    "lock": frozenset({Role.DATA_MANAGER}),
    "unlock": frozenset({Role.DATA_MANAGER}),
}


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as {field: [messages]}; list positions become a message prefix."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            if isinstance(key, int):
                for name, messages in _flatten(value, prefix).items():
                    flat.setdefault(name, []).extend(f"[{key}] {m}" for m in messages)
            else:
                name = str(key) if not prefix else f"{prefix}.{key}"
                for sub, messages in _flatten(value, name).items():
                    flat.setdefault(sub, []).extend(messages)
    elif isinstance(errors, list | tuple):
        for item in errors:
            for name, messages in _flatten(item, prefix).items():
                flat.setdefault(name, []).extend(messages)
    else:
        flat.setdefault(prefix or "non_field_errors", []).append(str(errors))
    return flat


def validated(serializer: serializers.Serializer) -> dict[str, Any]:
    """The serializer's validated data, or ValidationFailed naming the first bad field (400)."""
    if serializer.is_valid():
        return dict(serializer.validated_data)
    errors = _flatten(serializer.errors)
    field = next(iter(errors))
    raise ValidationFailed(f"{field}: {errors[field][0]}", field=field, rule="invalid", errors=errors)


def expected_version(request) -> int:
    """The form version the client based its change on, from If-Match (428 when missing)."""
    raw = request.headers.get("If-Match")
    if raw is None or not raw.strip():
        raise PreconditionRequired('If-Match is required: send the ETag of the form as you read it, e.g. "3".',
                                   field="If-Match", rule="if_match_required")
    match = _IF_MATCH.match(raw)
    if match is None:
        raise ValidationFailed('If-Match must be the ETag of the form, e.g. "3".', field="If-Match",
                               rule="if_match")
    return int(match.group(1))


def change_reason(request, data: dict[str, Any] | None = None) -> str | None:
    """The reason for change: body field `reason`, else the X-Change-Reason header (None if neither)."""
    reason = (data or {}).pop("reason", None)
    if reason and reason.strip():
        return reason.strip()
    header = request.headers.get("X-Change-Reason")
    if header is None or not header.strip():
        return None
    field = serializers.CharField(max_length=REASON_MAX_LENGTH)
    try:
        return field.run_validation(header.strip())
    except serializers.ValidationError as exc:
        raise ValidationFailed(f"X-Change-Reason: {exc.detail[0]}", field="X-Change-Reason",
                               rule="invalid") from None


def require_role(user, action: str, site_id: int, roles: Iterable[str] | None = None) -> None:
    """403 unless the user holds a role allowed to `action` at the site."""
    if not has_role(user, roles if roles is not None else ACTION_ROLES[action], site_id):
        raise PermissionDenied(f"Your role at this site does not allow you to {action} this form.", rule="role")


def stale_response(exc: StaleVersion, current_version: int | None) -> Response:
    """412 with the form's current version in the body and as the ETag, so the client can reload."""
    body = {**exc.as_dict(), "current_version": current_version}
    response = Response(body, status=exc.status_code)
    if current_version is not None:
        response["ETag"] = f'"{current_version}"'
    return response


def with_etag(response: Response, version: int) -> Response:
    response["ETag"] = f'"{version}"'
    return response
