"""DRF plumbing shared by every API: pagination and errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry.core.errors import DomainError


class StandardPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc, context):
    """Domain errors and model validation errors become 4xx with field errors, never a 500."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response({"detail": "Validation failed.", "code": "validation_failed", "errors": errors},
                        status=400)
    return drf_exception_handler(exc, context)
