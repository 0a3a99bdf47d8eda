"""Serializer fields of the CRF API.

Choice fields name their OpenAPI enum after the study's TextChoices class (`IhcResultChoices`), so one code
list is one schema component however many fields use it (chromogranin A, synaptophysin and SSTR2 share
IhcResult). drf-spectacular's own enum naming works per field name and warns when the same list appears under
several names — which a case report form does on purpose.
"""

from __future__ import annotations

import inspect
from functools import cache

from django.db import models
from rest_framework import serializers

from registry.crfs import models as crf_models
from registry.crfs.models import (
    base,
    baseline,
    enrolment,
    findings,
    followup,
    labs,
    pathology,
    regimens,
    response,
    treatment,
    tumour,
)

_CHOICE_MODULES = (base, baseline, enrolment, findings, followup, labs, pathology, regimens, response, treatment,
                   tumour, crf_models)


@cache
def _choices_by_values() -> dict[tuple, type[models.Choices]]:
    """Every code list of the CRF models, keyed by its tuple of values (the first class wins for aliases)."""
    found: dict[tuple, type[models.Choices]] = {}
    for module in _CHOICE_MODULES:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, models.Choices) and obj.__module__.startswith("registry.crfs.models"):
                found.setdefault(tuple(obj.values), obj)
    return found


def choices_class(field: serializers.ChoiceField) -> type[models.Choices] | None:
    """The TextChoices/IntegerChoices class whose values are exactly the field's choices, if any."""
    return _choices_by_values().get(tuple(k for k in field.choices if k not in ("", None)))


class CodeChoiceField(serializers.ChoiceField):
    """A study code list on input: accepts a code, or null/"" to clear the value (stored as blank)."""


class CodeOutputField(serializers.ChoiceField):
    """A study code list on output: a blank value is rendered as null (DOMAIN.md: no in-band blanks)."""

    def to_representation(self, value):
        if value in ("", None):
            return None
        return super().to_representation(value)
