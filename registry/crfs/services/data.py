"""Writing user input onto a form instance: only data fields, coerced and validated field by field."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

from django.core.exceptions import FieldError, ValidationError
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import BooleanField, CheckConstraint, Q
from django.db.models.functions import Coalesce
from django.db.models.sql import Query
from django.db.models.sql.constants import SINGLE

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


def _failing_checks(form: CaseReportForm, checks: list[CheckConstraint], exclude, using: str) -> set[int] | None:
    """The ids of the check constraints `form` violates, all evaluated in one query (Django's
    `CheckConstraint.validate` runs one query, in a savepoint, per constraint). None when the combined query
    fails, so the caller asks Django constraint by constraint, as it would have."""
    connection = connections[using]
    query = Query(None)
    for name, value in form._get_field_expression_map(meta=form._meta, exclude=exclude).items():
        query.add_annotation(value if hasattr(value, "resolve_expression") else models.Value(value), name,
                             select=False)
    checked = []
    for constraint in checks:
        condition = Q(constraint.condition)
        if connection.features.supports_comparing_boolean_expr:
            condition = Coalesce(condition, True, output_field=BooleanField())
        try:
            # A FieldError names an excluded field: Django skips the constraint then, and so do we.
            query.add_annotation(condition, f"_check_{len(checked)}")
        except FieldError:
            continue
        checked.append(constraint)
    if not checked:
        return set()
    atomic = transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
    try:
        with atomic:
            row = query.get_compiler(using=using).execute_sql(SINGLE)
    except DatabaseError:
        return None
    return {id(constraint) for constraint, passed in zip(checked, row, strict=True) if not passed}


def validate_constraints(form: CaseReportForm, *, exclude) -> None:
    """`Model.validate_constraints` with every check constraint evaluated in one query: the same errors, in
    the same order, under the same keys."""
    constraints = form.get_constraints()
    using = router.db_for_write(type(form), instance=form)
    checks = [c for model, cs in constraints if model is type(form) for c in cs if type(c) is CheckConstraint]
    failing = _failing_checks(form, checks, exclude, using) if checks else set()
    batched = {id(c) for c in checks} if failing is not None else set()
    errors: dict = {}
    for model_class, model_constraints in constraints:
        for constraint in model_constraints:
            try:
                if id(constraint) in batched:
                    if id(constraint) in failing:
                        raise ValidationError(constraint.get_violation_error_message(),
                                              code=constraint.violation_error_code)
                else:
                    constraint.validate(model_class, form, exclude=exclude, using=using)
            except ValidationError as e:
                if getattr(e, "code", None) == "unique" and len(getattr(constraint, "fields", ())) == 1:
                    errors.setdefault(constraint.fields[0], []).append(e)
                else:
                    errors = e.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


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
        validate_constraints(form, exclude=skip)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        field = next(iter(errors))
        raise ValidationFailed(errors[field][0], field=field, rule="field", errors=errors) from None
