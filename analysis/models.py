"""Analysis definitions, settings, runs, results and figures (DESIGN.md §2 analysis, §4 reproducibility).

A run is the database row that is the job's source of truth: it freezes the input dataset, the definitions
and the settings it used, with the code and library versions, so any result can be recomputed exactly.
Results are written all at once when a run finishes; earlier runs' results are never touched.
"""

from __future__ import annotations

import zlib
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from registry.core.models import TimeStampedModel


class Method(models.TextChoices):
    KM = "km", "Kaplan-Meier"
    LOGRANK = "logrank", "Log-rank test"
    COX_UNI = "cox_uni", "Cox, univariable"
    COX_MULTI = "cox_multi", "Cox, multivariable"
    TABLE1 = "table1", "Table 1 (baseline by group)"
    RESPONSE = "response", "Response rates"
    FLOW = "flow", "Flow diagram counts"
    FOLLOWUP = "followup", "Median follow-up (reverse KM)"


class Endpoint(models.TextChoices):
    OS = "os", "Overall survival from line-1 start"
    PFS = "pfs", "Progression-free survival, line 1"
    OS_DX = "os_dx", "Overall survival from diagnosis"
    NONE = "none", "No time-to-event endpoint"


class Population(models.TextChoices):
    P0 = "p0", "P0 All registered (eligible)"
    P1 = "p1", "P1 Advanced"
    P2 = "p2", "P2 Centrally reviewed HG-NEN"
    P3 = "p3", "P3 Palliative chemotherapy"
    P4 = "p4", "P4 Response-evaluable"


#: endpoint → (duration column, event column) of the dataset
ENDPOINT_COLUMNS = {"os": ("os_days", "os_event"), "pfs": ("pfs_days", "pfs_event"),
                    "os_dx": ("os_dx_days", "os_dx_event")}
SURVIVAL_METHODS = frozenset({Method.KM, Method.LOGRANK, Method.COX_UNI, Method.COX_MULTI, Method.FOLLOWUP})


class AnalysisDefinition(TimeStampedModel):
    """One table or figure of the report: endpoint, population, subgroup filter, grouping, covariates, method."""

    code = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    method = models.CharField(max_length=12, choices=Method.choices)
    endpoint = models.CharField(max_length=8, choices=Endpoint.choices, default=Endpoint.NONE)
    population = models.CharField(max_length=4, choices=Population.choices, default=Population.P3)
    population_filter = models.JSONField(
        default=dict, blank=True,
        help_text='Extra equality filters on dataset columns, e.g. {"group": "NEC", "ki67_high": 0}.')
    grouping_variable = models.CharField(max_length=60, blank=True,
                                         help_text="Dataset column that splits the curves or table columns.")
    group_order = models.JSONField(default=list, blank=True, help_text="Order (and labels) of the groups.")
    covariates = models.JSONField(
        default=list, blank=True,
        help_text="Cox covariates: a list of CovariateSpec dicts (name, kind, label, scale, reference, levels, "
                  "positive). Table 1: a list of TableVariable dicts. Response: a list of flag columns.")
    options = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=100)
    section = models.CharField(max_length=40, blank=True, help_text="Report section (figures, table2, cox, ...).")

    class Meta:
        ordering = ["display_order", "code"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        from analysis.definitions import definition_errors

        errors = definition_errors(self.as_config())
        if errors:
            raise ValidationError(errors)

    def as_config(self) -> dict:
        """The definition as plain data (what a run freezes and the compute core reads)."""
        return {"code": self.code, "title": self.title, "method": self.method, "endpoint": self.endpoint,
                "population": self.population, "population_filter": self.population_filter or {},
                "grouping_variable": self.grouping_variable, "group_order": self.group_order or [],
                "covariates": self.covariates or [], "options": self.options or {}, "section": self.section,
                "display_order": self.display_order}


class KiOperator(models.TextChoices):
    GE = "ge", "≥ cut-off is high"
    GT = "gt", "> cut-off is high"


class LateDeathRule(models.TextChoices):
    EVENT = "event", "Count as PFS event (registry convention)"
    CENSOR = "censor", "Censor at last evaluation (trial convention)"


class MinimumFormStatus(models.TextChoices):
    DRAFT = "draft", "All entered data (drafts included)"
    SUBMITTED = "submitted", "Submitted or later"
    VERIFIED = "verified", "Verified (SDV) or locked"
    LOCKED = "locked", "Locked only"


def _default_min_cell() -> int:
    return int(getattr(settings, "REGISTRY_MIN_CELL_SIZE", 5))


class AnalysisSettings(TimeStampedModel):
    """The operator-configurable parameters (one row, pk=1); each run stores the values it used."""

    ki67_cutoff = models.DecimalField(max_digits=4, decimal_places=1, default=Decimal(55))
    ki67_operator = models.CharField(max_length=2, choices=KiOperator.choices, default=KiOperator.GE)
    min_cell_size = models.PositiveSmallIntegerField(default=_default_min_cell, validators=[MinValueValidator(1)])
    data_cutoff_date = models.DateField(null=True, blank=True,
                                        help_text="Empty: the date of each run (data as of the run).")
    pfs_assessment_interval_days = models.PositiveSmallIntegerField(default=63, validators=[MinValueValidator(1)])
    pfs_late_death_rule = models.CharField(max_length=8, choices=LateDeathRule.choices, default=LateDeathRule.EVENT)
    minimum_form_status = models.CharField(max_length=10, choices=MinimumFormStatus.choices,
                                           default=MinimumFormStatus.DRAFT)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name_plural = "analysis settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="analysis_settings_singleton")]

    def __str__(self) -> str:
        return "Analysis settings"

    def as_config(self) -> dict:
        return {"ki67_cutoff": float(self.ki67_cutoff), "ki67_operator": self.ki67_operator,
                "min_cell_size": self.min_cell_size,
                "data_cutoff_date": self.data_cutoff_date.isoformat() if self.data_cutoff_date else None,
                "pfs_assessment_interval_days": self.pfs_assessment_interval_days,
                "pfs_late_death_rule": self.pfs_late_death_rule, "minimum_form_status": self.minimum_form_status}


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partly failed"
    FAILED = "failed", "Failed"


FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED})


class RunTrigger(models.TextChoices):
    TICK = "tick", "Data changed (periodic check)"
    MANUAL = "manual", "Requested by a data manager"


class AnalysisRun(models.Model):
    """One recomputation of every enabled definition on one frozen dataset."""

    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=8, choices=RunTrigger.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    source_stamp = models.CharField(
        max_length=64, blank=True,
        help_text="Version of everything the inputs are read from (audit-event high-water marks, definitions, "
                  "settings, cut-off date, code) when they were last found to give this run's fingerprint.")
    data_cutoff = models.DateField(null=True, blank=True)
    code_version = models.CharField(max_length=80, blank=True)
    library_versions = models.JSONField(default=dict, blank=True)
    settings_used = models.JSONField(default=dict, blank=True)
    definitions_used = models.JSONField(default=list, blank=True)
    dataset = models.BinaryField(null=True, blank=True, editable=False,
                                 help_text="The frozen input dataset: zlib-compressed columnar JSON.")
    n_patients = models.PositiveIntegerField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per step.")
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    def frozen_columns(self) -> dict | None:
        import json

        if not self.dataset:
            return None
        return json.loads(zlib.decompress(bytes(self.dataset)))


class ResultStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class AnalysisResult(models.Model):
    """The output of one definition in one run (small cells already suppressed), or why it failed."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="results")
    definition = models.ForeignKey(AnalysisDefinition, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="results")
    definition_code = models.CharField(max_length=60)
    title = models.CharField(max_length=200)
    method = models.CharField(max_length=12, choices=Method.choices)
    status = models.CharField(max_length=10, choices=ResultStatus.choices)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["run", "pk"]
        constraints = [models.UniqueConstraint(fields=["run", "definition_code"], name="analysis_result_unique")]

    def __str__(self) -> str:
        return f"{self.definition_code} in run {self.run_id}"


class FigureFormat(models.TextChoices):
    PNG = "png", "PNG"
    SVG = "svg", "SVG"


class AnalysisFigure(models.Model):
    """A rendered figure, stored in the database (bytea) and served by a role-checking view, never as media."""

    result = models.ForeignKey(AnalysisResult, on_delete=models.CASCADE, related_name="figures")
    name = models.CharField(max_length=40)
    title = models.CharField(max_length=200, blank=True)
    fmt = models.CharField(max_length=3, choices=FigureFormat.choices)
    content = models.BinaryField()

    class Meta:
        ordering = ["result", "name", "fmt"]
        constraints = [models.UniqueConstraint(fields=["result", "name", "fmt"], name="analysis_figure_unique")]

    def __str__(self) -> str:
        return f"{self.name}.{self.fmt}"

    @property
    def content_type(self) -> str:
        return "image/png" if self.fmt == FigureFormat.PNG else "image/svg+xml"
