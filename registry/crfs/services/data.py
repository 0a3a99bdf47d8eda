"""Writing user input onto a form instance: only data fields, coerced and validated field by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from registry.core.errors import ValidationFailed
from registry.crfs.derive import normalise_partial_dates
from registry.crfs.models import CaseReportForm, Regimen


def _resolve_foreign_key(form: CaseReportForm, field: models.ForeignKey, raw: Any) -> None:
    if raw is None or raw == "":
        setattr(form, field.attname, None)
        return
    target = field.related_model
    if isinstance(raw, target):
        setattr(form, field.name, raw)
        return
    if target is Regimen and isinstance(raw, str) and not raw.isdigit():
        # Regimens are chosen by their DOMAIN.md code.
        regimen = Regimen.objects.filter(code=raw).first()
        if regimen is None:
            raise ValidationFailed(f"Unknown regimen code {raw!r}.", field=field.name, rule="choice")
        setattr(form, field.name, regimen)
        return
    try:
        setattr(form, field.attname, int(raw))
    except (TypeError, ValueError):
        raise ValidationFailed(f"{field.name} must be an id.", field=field.name, rule="invalid") from None


def apply_data(form: CaseReportForm, data: Mapping[str, Any], *, creating: bool) -> None:
    """Set the given data fields on `form` and run the field-level validation (types, choices, ranges).

    Workflow and derived fields cannot be written; parent links (`IMMUTABLE_FIELDS`) only on creation.
    """
    allowed = set(form.data_fields())
    for name in data:
        if name not in allowed:
            raise ValidationFailed(f"{name} cannot be written on this form.", field=name, rule="unknown_field")
        if not creating and name in form.IMMUTABLE_FIELDS:
            raise ValidationFailed(f"{name} cannot be changed after creation.", field=name, rule="immutable")
    for name, raw in data.items():
        field = form._meta.get_field(name)
        if isinstance(field, models.ForeignKey):
            _resolve_foreign_key(form, field, raw)
        else:
            setattr(form, field.attname, "" if raw is None and not field.null else raw)
    for name in form.MISSING_REASONS:
        if getattr(form, name) is not None and getattr(form, f"{name}_missing_reason"):
            raise ValidationFailed(f"Give either {name} or the reason it is missing, not both.",
                                   field=f"{name}_missing_reason", rule="value_or_missing_reason")
    skip = [f.name for f in form._meta.concrete_fields if f.name not in allowed]
    try:
        # Coerce first, so a partial date given as a string is a date before it is normalised.
        form.clean_fields(exclude=skip)
        normalise_partial_dates(form)
        form.clean()
        form.validate_constraints(exclude=skip)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        field = next(iter(errors))
        raise ValidationFailed(errors[field][0], field=field, rule="field", errors=errors) from None
