"""Input and output serializers of the export API (separate classes, DESIGN.md §3.2)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from registry.crfs.catalogue import BY_CODE
from registry.exports.models import DateHandling, ExportFormat, ExportJob, ExportRelease, Shape
from registry.exports.services import BUNDLE_FORMATS, DELIMITERS


class ExportJobCreateInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    shape = serializers.ChoiceField(choices=Shape.choices, default=Shape.LONG)
    forms = serializers.ListField(child=serializers.ChoiceField(choices=list(BY_CODE)), required=False, default=list)
    sites = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    release = serializers.SlugRelatedField(slug_field="name", queryset=ExportRelease.objects.all(), required=False,
                                           allow_null=True, default=None)
    drop_free_text = serializers.BooleanField(default=False)
    dates = serializers.ChoiceField(choices=DateHandling.choices, default=DateHandling.KEEP)
    hash_record_id = serializers.BooleanField(default=False)
    minimum_status = serializers.ChoiceField(choices=["draft", "submitted", "verified", "locked"], default="draft")
    labels = serializers.BooleanField(default=False)
    delimiter = serializers.ChoiceField(choices=list(DELIMITERS), default="comma")
    bundle = serializers.ListField(child=serializers.ChoiceField(choices=list(BUNDLE_FORMATS)), required=False,
                                   default=list)
    cutoff = serializers.DateField(required=False, allow_null=True, default=None)


class ExportJobOutput(serializers.ModelSerializer):
    sites = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    release = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "created_at", "source", "shape", "format", "forms", "sites", "scope_all_sites", "release",
                  "options", "pseudonymised", "status", "progress", "rows_total", "rows_written", "row_count",
                  "file_name", "file_size", "checksum_sha256", "error", "started_at", "finished_at",
                  "download_url"]
        read_only_fields = fields

    def get_download_url(self, job) -> str | None:
        if job.status != "succeeded" or not job.file:
            return None
        url = reverse("exports-api:job-download", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ExportJobDetailOutput(ExportJobOutput):
    class Meta(ExportJobOutput.Meta):
        fields = [*ExportJobOutput.Meta.fields, "manifest"]
        read_only_fields = fields
