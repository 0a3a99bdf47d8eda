"""OpenAPI pieces shared by the CRF API: code-list components, the error body, headers and error responses.

Every write documents the optimistic-locking contract (If-Match required, 412 stale, 428 missing) and the
reason-for-change header, because schemathesis and client generators only know what the schema says
(research/reliability.md §4.1, §5.3).
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from registry.crfs.api.fields import CodeOutputField, choices_class

#: The ETag of a form is its version in double quotes; If-Match must repeat it.
ETAG_PATTERN = r'^"[0-9]{1,9}"$'


class CodeChoiceFieldExtension(OpenApiSerializerFieldExtension):
    """A code list as a `$ref` to one component per study code list (see registry/crfs/api/fields.py)."""

    target_class = "registry.crfs.api.fields.CodeChoiceField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        values = [k for k in field.choices if k not in ("", None)]
        known = choices_class(field)
        if known is not None:
            name = f"{known.__name__}Choices"
        else:
            owner = type(field.parent).__name__ if field.parent is not None else "Field"
            name = f"{owner}{''.join(p.capitalize() for p in field.field_name.split('_'))}Choices"
        kind = "integer" if values and all(isinstance(v, int) for v in values) else "string"
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name,
                                      schema={"type": kind, "enum": values})
        auto_schema.registry.register_on_missing(component)
        if isinstance(field, CodeOutputField):
            return {**component.ref, "nullable": True} if _may_be_blank(field) else component.ref
        if field.allow_blank:
            return {"oneOf": [component.ref, {"type": "string", "enum": [""]}]}
        return component.ref


def _may_be_blank(field) -> bool:
    """Whether an output code may be null: its model column is nullable or may be blank (shown as null)."""
    if field.allow_null:
        return True
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None:
        return False
    try:
        column = model._meta.get_field(field.source)
    except FieldDoesNotExist:
        return False
    return column.blank or column.null


class CodeOutputFieldExtension(CodeChoiceFieldExtension):
    target_class = "registry.crfs.api.fields.CodeOutputField"


class ApiError(serializers.Serializer):
    """Every 4xx body: a message, a machine code, the rule broken and the offending fields."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False, help_text="validation_failed, permission_denied, not_found, "
                                                            "conflict, stale_version, precondition_required, ...")
    rule = serializers.CharField(required=False, help_text="Edit-check id (EC14) or rule name (reason_required).")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="Messages by field name.")
    current_version = serializers.IntegerField(required=False,
                                               help_text="On 412: the form's current version (its ETag).")


IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, pattern=ETAG_PATTERN,
    description='The ETag (`"<version>"`) of the form as last read. A stale value gets 412 with the current '
                "version; a missing one gets 428.",
)
CHANGE_REASON = OpenApiParameter(
    "X-Change-Reason", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Reason for change (alternative to the body field `reason`); required once a form is "
                "submitted, recorded in the audit trail.",
)
ETAG = OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201, 412],
                        description='The form\'s version in quotes; send it back as If-Match.')

_DESCRIPTIONS = {
    400: "Invalid input: field errors, a hard edit check (rule EC..), or a missing reason for change.",
    401: "Not signed in.",
    403: "Your role at the patient's site does not allow this action.",
    404: "No such object, or not visible to you.",
    409: "The form's workflow state forbids this (locked, wrong step, already exists).",
    412: "The form changed since you read it (If-Match is stale); the body gives the current version.",
    428: "If-Match is missing.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses sharing the ApiError body."""
    return {code: OpenApiResponse(ApiError, description=_DESCRIPTIONS[code]) for code in codes}


READ_ERRORS = (401, 404)
CREATE_ERRORS = (400, 401, 403, 404, 409)
WRITE_ERRORS = (400, 401, 403, 404, 409, 412, 428)
