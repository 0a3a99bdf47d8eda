"""Input and output serializers of the data-quality API (separate classes: DESIGN.md §3.2)."""

from __future__ import annotations

from rest_framework import serializers

from registry.crfs.catalogue import BY_CODE
from registry.queries.models import (
    APPROVAL_MEANING,
    CasebookSignature,
    DataFreeze,
    DataQuery,
    FieldVerification,
    QueryMessage,
    ResponseReason,
)

FAMILY_CHOICES = sorted(BY_CODE)


class MessageOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, allow_null=True)

    class Meta:
        model = QueryMessage
        fields = ["id", "kind", "text", "response_reason", "author", "created_at"]


class QueryOutput(serializers.ModelSerializer):
    study_id = serializers.CharField(source="patient.study_id")
    site = serializers.CharField(source="patient.site.code")
    raised_by = serializers.CharField(source="raised_by.username", default=None, allow_null=True)
    answered_by = serializers.CharField(source="answered_by.username", default=None, allow_null=True)
    closed_by = serializers.CharField(source="closed_by.username", default=None, allow_null=True)

    class Meta:
        model = DataQuery
        fields = ["id", "patient", "study_id", "site", "form_family", "object_id", "field", "origin", "rule",
                  "status", "text", "raised_by", "response_reason", "first_answered_at", "answered_at",
                  "answered_by", "closed_at", "closed_by", "reopen_count", "finding_active", "created_at",
                  "updated_at"]


class QueryDetailOutput(QueryOutput):
    messages = MessageOutput(many=True)

    class Meta(QueryOutput.Meta):
        fields = [*QueryOutput.Meta.fields, "messages"]


class QueryCreateInput(serializers.Serializer):
    patient = serializers.IntegerField()
    form_family = serializers.ChoiceField(choices=FAMILY_CHOICES)
    object_id = serializers.IntegerField(required=False, allow_null=True)
    field = serializers.CharField(required=False, allow_blank=True, default="")
    text = serializers.CharField()


class TextInput(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="")


class AnswerInput(serializers.Serializer):
    text = serializers.CharField()
    reason = serializers.ChoiceField(choices=ResponseReason.choices)
    value = serializers.JSONField(required=False, help_text="The corrected value of the queried field; with "
                                                            "reason=corrected the form is updated as well.")
    expected_version = serializers.IntegerField(required=False, help_text="The form version the correction is "
                                                                          "based on (required with value).")


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField()


class VerificationOutput(serializers.ModelSerializer):
    verified_by = serializers.CharField(source="verified_by.username")
    is_current = serializers.BooleanField()

    class Meta:
        model = FieldVerification
        fields = ["id", "patient", "form_family", "object_id", "field", "value_snapshot", "form_version",
                  "verified_by", "verified_at", "is_current", "unverified_at", "unverified_reason"]


class VerifyFieldsInput(serializers.Serializer):
    form_family = serializers.ChoiceField(choices=FAMILY_CHOICES)
    object_id = serializers.IntegerField()
    fields = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class VerifyFormInput(serializers.Serializer):
    form_family = serializers.ChoiceField(choices=FAMILY_CHOICES)
    object_id = serializers.IntegerField()
    expected_version = serializers.IntegerField(required=False)


class FreezeOutput(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    study_id = serializers.CharField(source="patient.study_id", default=None, allow_null=True)
    locked_by = serializers.CharField(source="locked_by.username")
    released_by = serializers.CharField(source="released_by.username", default=None, allow_null=True)

    class Meta:
        model = DataFreeze
        fields = ["id", "scope", "site", "patient", "study_id", "reason", "locked_by", "created_at",
                  "forms_locked", "drafts_skipped", "released_at", "released_by", "release_reason",
                  "forms_unlocked"]


class UnlockOutput(serializers.Serializer):
    forms_unlocked = serializers.IntegerField()


class SignatureOutput(serializers.ModelSerializer):
    study_id = serializers.CharField(source="patient.study_id")
    signer = serializers.CharField(source="signer.username")
    voided_by = serializers.CharField(source="voided_by.username", default=None, allow_null=True)
    is_valid = serializers.BooleanField()

    class Meta:
        model = CasebookSignature
        fields = ["id", "patient", "study_id", "signer", "signer_name", "meaning", "signed_at", "content_hash",
                  "is_valid", "voided_at", "voided_by", "voided_by_change"]


class SignInput(serializers.Serializer):
    patient = serializers.IntegerField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    meaning = serializers.CharField(required=False, default=APPROVAL_MEANING)


class ToVerifyOutput(serializers.Serializer):
    family = serializers.CharField()
    label = serializers.CharField()
    form_id = serializers.IntegerField()
    patient_id = serializers.IntegerField()
    study_id = serializers.CharField()
    site_code = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)


class WorklistOutput(serializers.Serializer):
    open_queries = QueryOutput(many=True)
    to_verify = ToVerifyOutput(many=True)


class DashboardRowOutput(serializers.Serializer):
    site_id = serializers.IntegerField()
    site = serializers.CharField()
    form_family = serializers.CharField()
    forms = serializers.IntegerField()
    forms_submitted = serializers.IntegerField()
    submitted_pct = serializers.FloatField(allow_null=True)
    required_fields = serializers.IntegerField()
    required_filled = serializers.IntegerField()
    completeness_pct = serializers.FloatField(allow_null=True)
    forms_verified = serializers.IntegerField()
    sdv_pct = serializers.FloatField(allow_null=True)
    fields_verified = serializers.IntegerField()
    open_queries = serializers.IntegerField()
    answered_queries = serializers.IntegerField()
    closed_queries = serializers.IntegerField()
    median_days_to_answer = serializers.FloatField(allow_null=True)
    age_buckets = serializers.DictField(child=serializers.IntegerField())
