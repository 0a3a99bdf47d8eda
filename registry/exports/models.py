"""Export jobs, frozen releases (the key that makes shifted dates consistent) and REDCap-compatible API tokens.

An ExportJob row is the source of truth of an export (DESIGN.md §3.5): the Celery task only reads and updates
it, and the sweeper re-dispatches rows left queued or running. The row is audited; progress ticks are kept out
of the audit trail (they are not a change of what was exported, and would drown the trail).
"""

from __future__ import annotations

import secrets

import pghistory
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from registry.audit.tracking import audited
from registry.core.models import TimeStampedModel
from registry.sites.models import Site


def _new_release_key() -> str:
    return secrets.token_hex(32)


def _new_token() -> str:
    return secrets.token_hex(16).upper()


class Shape(models.TextChoices):
    LONG = "long", "Long: one table per form"
    WIDE = "wide", "Wide: one row per patient (analysis-ready, derived variables)"


class ExportFormat(models.TextChoices):
    # Labels copy REDCap's export dialog (research/peers.md §3.4) so users recognise them.
    CSV = "csv", "CSV / Microsoft Excel (raw data)"
    CSV_LABELS = "csv_labels", "CSV / Microsoft Excel (labels)"
    XLSX = "xlsx", "Excel workbook (.xlsx)"
    SPSS = "sav", "SPSS Statistical Software (.sav)"
    STATA = "dta", "Stata Statistical Software (.dta)"
    PARQUET = "parquet", "Apache Parquet"
    ODM = "odm", "CDISC ODM (XML) 1.3.2"
    REDCAP_DICTIONARY = "redcap_dd", "REDCap data dictionary (CSV)"
    CODEBOOK = "codebook", "Codebook (CSV)"
    BUNDLE = "zip", "Zip bundle (CSV, Stata, SPSS, Parquet, codebook, manifest)"


class DateHandling(models.TextChoices):
    KEEP = "keep", "Keep dates as entered"
    SHIFT = "shift", "Shift all dates by value between 1 and 364 days (per patient)"
    DURATIONS = "durations", "Export durations only (days from the date of diagnosis)"
    REMOVE = "remove", "Remove all date and datetime fields"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobSource(models.TextChoices):
    WEB = "web", "Export page"
    API = "api", "REST API"
    REDCAP_API = "redcap_api", "REDCap-compatible API"
    ADMIN_ACTION = "admin_action", "Admin action"


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED})


@audited(exclude=["key"])
class ExportRelease(TimeStampedModel):
    """A named data release. Its secret key seeds the per-patient date shift, so every export of the same
    release shifts a patient's dates by the same offset, and exports of different releases cannot be linked
    by their offsets. The key never leaves the server (pseudonymisation domain, research/reliability.md §1.4)."""

    name = models.CharField(max_length=80, unique=True,
                            validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                                                       "Letters, digits, dot, dash and underscore only.")])
    description = models.TextField(blank=True)
    data_cutoff = models.DateField(null=True, blank=True,
                                   help_text="Wide exports of this release cap follow-up at this date.")
    key = models.CharField(max_length=64, default=_new_release_key, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "name"]

    def __str__(self) -> str:
        return self.name


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=pghistory.AnyChange(exclude=["progress", "rows_written", "heartbeat_at",
                                                                 "updated_at"])),
    pghistory.DeleteEvent(),
)
class ExportJob(TimeStampedModel):
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="export_jobs")
    source = models.CharField(max_length=16, choices=JobSource.choices, default=JobSource.WEB)
    release = models.ForeignKey(ExportRelease, on_delete=models.PROTECT, related_name="jobs", null=True, blank=True)
    shape = models.CharField(max_length=8, choices=Shape.choices, default=Shape.LONG)
    format = models.CharField(max_length=16, choices=ExportFormat.choices, default=ExportFormat.CSV)
    forms = models.JSONField(default=list, blank=True, help_text="Catalogue codes of the exported form families.")
    sites = models.ManyToManyField(Site, related_name="+", blank=True,
                                   help_text="Sites in scope, frozen when the job was created.")
    scope_all_sites = models.BooleanField(default=False, help_text="Study-wide scope (every site, now and later).")
    options = models.JSONField(default=dict, blank=True,
                               help_text="De-identification and format options actually applied.")
    pseudonymised = models.BooleanField(default=False, help_text="Free text dropped and dates shifted/durations.")
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_written = models.PositiveBigIntegerField(default=0)
    row_count = models.PositiveBigIntegerField(null=True, blank=True)
    file = models.CharField(max_length=300, blank=True, help_text="Path under MEDIA_ROOT.")
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    checksum_sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"]),
            models.Index(fields=["status", "dispatched_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="exportjob_progress_percent"),
            models.CheckConstraint(
                condition=~Q(status=JobStatus.SUCCEEDED) | ~Q(checksum_sha256="") | Q(file=""),
                name="exportjob_file_has_checksum",
            ),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.get_format_display()}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


@audited(exclude=["token"])
class RedcapToken(TimeStampedModel):
    """A per-user token for the REDCap-compatible API: 32 hexadecimal characters, as REDCap clients require."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="redcap_tokens")
    token = models.CharField(max_length=32, unique=True, default=_new_token, editable=False,
                             validators=[RegexValidator(r"^[0-9A-F]{32}$")])
    label = models.CharField(max_length=100, blank=True)
    release = models.ForeignKey(ExportRelease, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                help_text="Release whose key shifts dates for pseudonymised users.")
    is_active = models.BooleanField(default=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user__username", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(token__regex=r"^[0-9A-F]{32}$"),  # noqa: S106 - a format, not a secret
                                   name="redcaptoken_32_hex"),
        ]

    def __str__(self) -> str:
        return f"REDCap API token of {self.user} ({self.label or self.token[:4] + '…'})"
