"""F8 — Follow-up visits and vital status (n visits; the latest visit is the current vital status)."""

from __future__ import annotations

from django.db import models

from registry.audit.tracking import audited
from registry.crfs.models.base import CaseReportForm, form_constraints, precision_field, to_verify_index
from registry.crfs.models.baseline import EcogPs


class VitalStatus(models.TextChoices):
    ALIVE = "alive", "Alive"
    DEAD = "dead", "Dead"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", "Lost to follow-up"


class CauseOfDeath(models.TextChoices):
    DISEASE = "disease", "Disease"
    TREATMENT_TOXICITY = "treatment_toxicity", "Treatment toxicity"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class VitalStatusSource(models.TextChoices):
    CHART = "chart", "Medical chart"
    POPULATION_REGISTRY = "population_registry", "Population registry"
    CONTACT = "contact", "Contact with patient or family"


@audited()
class FollowUp(CaseReportForm):
    visit_date = models.DateField(null=True, blank=True)
    vital_status = models.CharField(max_length=20, choices=VitalStatus.choices, blank=True)
    date_last_known_alive = models.DateField(null=True, blank=True)
    date_last_known_alive_precision = precision_field()
    date_of_death = models.DateField(null=True, blank=True)
    date_of_death_precision = precision_field()
    cause_of_death = models.CharField(max_length=20, choices=CauseOfDeath.choices, blank=True)
    ps_at_visit = models.PositiveSmallIntegerField(choices=EcogPs.choices, null=True, blank=True)
    source_of_vital_status = models.CharField(max_length=20, choices=VitalStatusSource.choices, blank=True)

    PARTIAL_DATES = ("date_last_known_alive", "date_of_death")
    REQUIRED_ON_SUBMIT = ("visit_date", "vital_status")

    class Meta:
        indexes = [to_verify_index("followup_to_verify")]
        verbose_name = "follow-up"
        ordering = ["patient", "visit_date"]
        constraints = [
            *form_constraints("followup", ("date_last_known_alive", "date_of_death"), ()),
            models.CheckConstraint(
                condition=models.Q(vital_status="dead") | models.Q(date_of_death__isnull=True),
                name="followup_death_date_only_if_dead",
                violation_error_message="date_of_death only applies when vital_status is dead.",
            ),
        ]

    def conditionally_required(self) -> dict[str, str]:
        missing = {}
        if self.vital_status == VitalStatus.ALIVE and self.date_last_known_alive is None:
            missing["date_last_known_alive"] = "date_last_known_alive is required for a living patient."
        return missing

    def __str__(self) -> str:
        return f"Follow-up {self.visit_date} ({self.patient_id})"
