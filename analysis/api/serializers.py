"""Input and output serializers of the analysis API (separate classes, DESIGN.md §3.2)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from analysis.models import (
    AnalysisDefinition,
    AnalysisResult,
    AnalysisRun,
    AnalysisSettings,
    Endpoint,
    KiOperator,
    LateDeathRule,
    Method,
    MinimumFormStatus,
    Population,
)


class DefinitionOutput(serializers.ModelSerializer):
    class Meta:
        model = AnalysisDefinition
        fields = ["id", "code", "title", "method", "endpoint", "population", "population_filter",
                  "grouping_variable", "group_order", "covariates", "options", "enabled", "display_order", "section",
                  "created_at", "updated_at"]


class DefinitionInput(serializers.Serializer):
    """Fields a data manager may write; the service validates columns and covariate specs."""

    code = serializers.SlugField(max_length=60)
    title = serializers.CharField(max_length=200)
    method = serializers.ChoiceField(choices=Method.choices)
    endpoint = serializers.ChoiceField(choices=Endpoint.choices, default=Endpoint.NONE)
    population = serializers.ChoiceField(choices=Population.choices, default=Population.P3)
    population_filter = serializers.DictField(required=False, default=dict)
    grouping_variable = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    group_order = serializers.ListField(required=False, default=list)
    covariates = serializers.ListField(required=False, default=list,
                                       help_text="CovariateSpec dicts (Cox), TableVariable dicts (Table 1) or "
                                                 "flag column names (response).")
    options = serializers.DictField(required=False, default=dict)
    enabled = serializers.BooleanField(required=False, default=True)
    display_order = serializers.IntegerField(required=False, default=100, min_value=0, max_value=32767)
    section = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class FigureOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    fmt = serializers.CharField()
    url = serializers.CharField()


def figure_links(figures) -> list[dict]:
    """Each stored PNG, and its SVG (rendered from the stored result on first request, at the PNG's id)."""
    links = []
    for fig in figures:
        if fig.fmt != "png":
            continue  # an SVG already rendered is listed through its PNG
        links += [{"id": fig.pk, "name": fig.name, "fmt": fmt, "url": reverse("analysis:figure", args=[fig.pk, fmt])}
                  for fmt in ("png", "svg")]
    return links


class ResultOutput(serializers.ModelSerializer):
    figures = serializers.SerializerMethodField()

    class Meta:
        model = AnalysisResult
        fields = ["id", "run", "definition_code", "title", "method", "status", "error", "seconds", "result",
                  "figures"]

    def get_figures(self, obj) -> list[dict]:
        figures = getattr(obj, "figure_list", None)
        if figures is None:
            figures = list(obj.figures.all())
        return FigureOutput(figure_links(figures), many=True).data


class RunOutput(serializers.ModelSerializer):
    requested_by = serializers.StringRelatedField()

    class Meta:
        model = AnalysisRun
        fields = ["id", "status", "trigger", "requested_by", "fingerprint", "data_cutoff", "code_version",
                  "library_versions", "settings_used", "n_patients", "timings", "attempts", "error", "created_at",
                  "started_at", "finished_at"]


class RunDetailOutput(RunOutput):
    results = serializers.SerializerMethodField()
    definitions_used = serializers.JSONField()

    class Meta(RunOutput.Meta):
        fields = [*RunOutput.Meta.fields, "definitions_used", "results"]

    def get_results(self, obj) -> list[dict]:
        return ResultOutput(obj.results.prefetch_related("figures").order_by("pk"), many=True).data


class SettingsOutput(serializers.ModelSerializer):
    class Meta:
        model = AnalysisSettings
        fields = ["ki67_cutoff", "ki67_operator", "min_cell_size", "data_cutoff_date", "pfs_assessment_interval_days",
                  "pfs_late_death_rule", "minimum_form_status", "updated_at"]


class SettingsInput(serializers.Serializer):
    ki67_cutoff = serializers.DecimalField(max_digits=4, decimal_places=1, min_value=0, max_value=100, required=False)
    ki67_operator = serializers.ChoiceField(choices=KiOperator.choices, required=False)
    min_cell_size = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    data_cutoff_date = serializers.DateField(allow_null=True, required=False)
    pfs_assessment_interval_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    pfs_late_death_rule = serializers.ChoiceField(choices=LateDeathRule.choices, required=False)
    minimum_form_status = serializers.ChoiceField(choices=MinimumFormStatus.choices, required=False)
