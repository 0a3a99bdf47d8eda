"""DRF plumbing shared by every API: pagination and errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry.core.errors import DomainError, ValidationFailed


class StandardPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """Serializer errors (nested dicts and lists, e.g. of a many=True child) as {"a.0.b": [messages]}, the
    ApiError `errors` shape; top-level messages without a field go under non_field_errors."""
    errors: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            for name, messages in flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)).items():
                errors.setdefault(name, []).extend(messages)
    elif isinstance(detail, list | tuple):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list | tuple):
                errors.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
            else:
                errors.setdefault(prefix or "non_field_errors", []).append(str(item))
    else:
        errors.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return errors


def validation_failed(detail) -> ValidationFailed:
    """A DRF serializer/filter ValidationError as the registry's ValidationFailed (one error shape for all)."""
    errors = flatten_errors(detail) or {"non_field_errors": ["Invalid input."]}
    field = next(iter(errors))
    message = errors[field][0] if field == "non_field_errors" else f"{field}: {errors[field][0]}"
    return ValidationFailed(message, field=field, rule="invalid", errors=errors)


def exception_handler(exc, context):
    """Domain errors and model/serializer validation errors become 4xx in the ApiError shape, never a 500."""
    if isinstance(exc, DrfValidationError):
        exc = validation_failed(exc.detail)
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response({"detail": "Validation failed.", "code": "validation_failed", "errors": errors},
                        status=400)
    return drf_exception_handler(exc, context)
