"""What every form family's serializers share, and the factories that build them from the model.

Input serializers carry only the fields the services may write (`CaseReportForm.data_fields()` less the
parent link, which comes from the URL) plus `reason`; they parse and type-check and nothing else — the
services run the edit checks and the workflow rules, exactly as for the web forms. Output serializers show
every column (workflow, derived) plus the form's open edit-check findings.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.crfs.api.fields import CodeChoiceField, CodeOutputField
from registry.crfs.catalogue import FormFamily
from registry.crfs.models import CaseReportForm, EditCheckFinding

#: Reasons for change are recorded in the audit context (the middleware keeps 500 characters too).
REASON_MAX_LENGTH = 500


def reason_field() -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, max_length=REASON_MAX_LENGTH, write_only=True,
        help_text="Reason for change: required to edit a submitted or verified form, to delete a submitted "
                  "form and to unlock; recorded in the audit trail. The X-Change-Reason header works too.",
    )


class EditCheckFindingOutput(serializers.ModelSerializer):
    """An open edit-check finding (E error, W warning, I information) with its rule id and field."""

    serializer_choice_field = CodeOutputField
    study_id = serializers.CharField(source="patient.study_id", read_only=True)

    class Meta:
        model = EditCheckFinding
        fields = ["id", "patient", "study_id", "form", "object_id", "rule", "severity", "field", "message",
                  "created_at", "updated_at"]
        read_only_fields = fields


class FindingIndex:
    """A patient's (or a page's) stored findings grouped by form instance, fetched in one query."""

    def __init__(self, findings: Iterable[EditCheckFinding]) -> None:
        self._by_form: dict[tuple[int, str, int | None], list[EditCheckFinding]] = defaultdict(list)
        for finding in findings:
            self._by_form[(finding.patient_id, finding.form, finding.object_id)].append(finding)

    def on(self, family: FormFamily, form: CaseReportForm) -> list[EditCheckFinding]:
        found = list(self._by_form.get((form.patient_id, family.code, form.pk), []))
        if not family.repeating:
            # One-per-patient forms: findings may be stored without a row id.
            found = self._by_form.get((form.patient_id, family.code, None), []) + found
        return found


class BuiltOnce:
    """ModelSerializer builds its fields from the model on every instance; these serializers are generated per
    family and never vary per request, so the fields are built once per class and each instance gets a copy
    (the copy DRF makes of declared fields anyway)."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            cls._built_fields = built
        return copy.deepcopy(built)


class FormInput(BuiltOnce, serializers.ModelSerializer):
    """Base of the generated input serializers: code lists accept null/"" to clear, unknown keys are refused
    (read-only keys of the output are ignored, so a GET body can be edited and sent back)."""

    serializer_choice_field = CodeChoiceField
    reason = reason_field()
    #: Output field names that may appear in a body and are ignored (set by `form_input`).
    ignored_keys: frozenset[str] = frozenset()

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        unknown = sorted(set(data) - set(self.fields) - self.ignored_keys)
        if unknown:
            raise serializers.ValidationError({name: ["This field does not exist on this form."]
                                               for name in unknown})
        return values


class FormOutput(BuiltOnce, serializers.ModelSerializer):
    """Base of the generated output serializers (every column read-only, plus `findings`)."""

    serializer_choice_field = CodeOutputField
    family: FormFamily
    findings = serializers.SerializerMethodField(help_text="Open edit-check findings on this form.")

    @extend_schema_field(EditCheckFindingOutput(many=True))
    def get_findings(self, form: CaseReportForm):
        index: FindingIndex = self.context["findings"]
        return EditCheckFindingOutput(index.on(self.family, form), many=True).data


def _clearable(field: models.Field) -> bool:
    """Text and code fields stored blank may be cleared with null (the services store "")."""
    return field.null or (field.blank and isinstance(field, models.CharField | models.TextField))


def form_serializers(family: FormFamily, module: str, *, input_fields: dict | None = None,
                     output_fields: dict | None = None) -> tuple[type[FormInput], type[FormOutput]]:
    """The input and output serializers of a family, named after its model (`TreatmentLineInput`,
    `TreatmentLineOutput`); `*_fields` declare fields that differ from the model's defaults."""
    model = family.model
    stem = model.__name__
    columns = [f.name for f in model._meta.concrete_fields]
    first = ["id", "patient", "status", "version"]
    shown = [*first, *(c for c in columns if c not in first), "findings"]
    output = type(f"{stem}Output", (FormOutput,), {
        "Meta": type("Meta", (), {"model": model, "fields": shown, "read_only_fields": shown}),
        "__module__": module, "__doc__": f"{family.domain_ref} {family.label}.", "family": family,
        **(output_fields or {}),
    })
    writable = [f for f in model.data_fields() if f not in model.IMMUTABLE_FIELDS]
    extra = {}
    for name in writable:
        extra[name] = {"required": False}
        if _clearable(model._meta.get_field(name)) and name not in (input_fields or {}):
            extra[name]["allow_null"] = True
    input_ = type(f"{stem}Input", (FormInput,), {
        "Meta": type("Meta", (), {"model": model, "fields": [*writable, "reason"], "extra_kwargs": extra,
                                  "validators": []}),
        "__module__": module, "__doc__": f"{family.domain_ref} {family.label}: the fields a user may write.",
        "ignored_keys": frozenset(output().fields), **(input_fields or {}),
    })
    return input_, output
