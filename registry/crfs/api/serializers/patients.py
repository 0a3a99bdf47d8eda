"""Patients: enrolment (study id + F1 in one call), list rows, the detail with its per-form status summary,
and withdrawal."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.crfs.api.fields import CodeOutputField
from registry.crfs.api.serializers.common import EditCheckFindingOutput, reason_field
from registry.crfs.api.serializers.enrolment import EnrolmentInput
from registry.patients.models import Patient
from registry.sites.models import Site
from registry.sites.scoping import sites_visible_to


@extend_schema_field(OpenApiTypes.INT)
class VisibleSiteField(serializers.PrimaryKeyRelatedField):
    """A site the caller holds a role at; any other id is "does not exist" (never "not yours")."""

    def get_queryset(self):
        request = self.context.get("request")
        return sites_visible_to(request.user) if request is not None else Site.objects.none()


class PatientEnrolInput(EnrolmentInput):
    """Enrol a patient: the site (default: your only data-entry site) and the F1 enrolment fields."""

    site = VisibleSiteField(required=False, help_text="Site id; may be left out when you enter data at one "
                                                      "site only.")
    reason = None  # a new record needs no reason for change

    class Meta(EnrolmentInput.Meta):
        fields = [*(f for f in EnrolmentInput.Meta.fields if f != "reason"), "site"]


class PatientWithdrawInput(serializers.Serializer):
    withdrawal_date = serializers.DateField()
    reason = reason_field()


class PatientListOutput(serializers.ModelSerializer):
    site_code = serializers.CharField(source="site.code", read_only=True)

    class Meta:
        model = Patient
        fields = ["id", "study_id", "site", "site_code", "withdrawn", "withdrawal_date", "created_at"]
        read_only_fields = fields


class FormStatusCounts(serializers.Serializer):
    draft = serializers.IntegerField()
    submitted = serializers.IntegerField()
    verified = serializers.IntegerField()
    locked = serializers.IntegerField()


class FormItemOutput(serializers.Serializer):
    serializer_choice_field = CodeOutputField
    id = serializers.IntegerField()
    status = CodeOutputField(choices=["draft", "submitted", "verified", "locked"])
    version = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True, help_text="The treatment line of a response "
                                                                    "evaluation.")


class FormSummaryOutput(serializers.Serializer):
    family = serializers.CharField(help_text="Catalogue code: the URL segment patients/{id}/<family>/.")
    label = serializers.CharField()
    domain_ref = serializers.CharField()
    repeating = serializers.BooleanField()
    parent = serializers.CharField(allow_null=True)
    count = serializers.IntegerField()
    statuses = FormStatusCounts()
    items = FormItemOutput(many=True)


class PatientDetailOutput(serializers.ModelSerializer):
    """A patient with the status of each form family and the open edit-check findings."""

    site_code = serializers.CharField(source="site.code", read_only=True)
    forms = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["id", "study_id", "site", "site_code", "enrolled_by", "withdrawn", "withdrawal_date",
                  "withdrawal_reason", "created_at", "updated_at", "forms", "findings"]
        read_only_fields = fields

    @extend_schema_field(FormSummaryOutput(many=True))
    def get_forms(self, patient):
        return FormSummaryOutput(self.context["forms"], many=True).data

    @extend_schema_field(EditCheckFindingOutput(many=True))
    def get_findings(self, patient):
        return EditCheckFindingOutput(self.context["findings"], many=True).data
