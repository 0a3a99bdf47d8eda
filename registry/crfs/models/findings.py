"""Edit-check findings stored per patient, refreshed on every save and submit; the data-queries feature
turns warnings into queries."""

from __future__ import annotations

from django.db import models

from registry.audit.tracking import audited
from registry.core.models import TimeStampedModel
from registry.sites.scoping import scoped_queryset_class


class FindingSeverity(models.TextChoices):
    ERROR = "E", "Error"
    WARNING = "W", "Warning"
    INFO = "I", "Information"


@audited()
class EditCheckFinding(TimeStampedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="edit_check_findings")
    form = models.CharField(max_length=32, help_text="Catalogue code of the form family the finding is on.")
    object_id = models.BigIntegerField(null=True, blank=True, help_text="The form instance (repeating forms).")
    rule = models.CharField(max_length=16)
    severity = models.CharField(max_length=1, choices=FindingSeverity.choices)
    field = models.CharField(max_length=64, blank=True)
    message = models.TextField()

    objects = scoped_queryset_class("patient__site").as_manager()

    class Meta:
        ordering = ["patient", "form", "object_id", "rule"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "form", "object_id", "rule", "field"],
                                    name="editcheckfinding_unique", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["severity", "rule"])]

    def __str__(self) -> str:
        return f"{self.rule} {self.form}.{self.field}"
