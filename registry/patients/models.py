"""Patients of the study, known to the registry only by a pseudonymous study id (no names, no national ids)."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from registry.audit.tracking import audited
from registry.core.models import TimeStampedModel
from registry.patients.study_ids import STUDY_ID_PATTERN
from registry.sites.models import Site
from registry.sites.scoping import scoped_queryset_class


@audited()
class StudyIdCounter(TimeStampedModel):
    """The last study-id number handed out at a site. Locked with SELECT ... FOR UPDATE while a patient is
    enrolled, so concurrent enrolments at one site get consecutive numbers; it only ever goes up, so a
    withdrawn or deleted patient's number is never given to anyone else."""

    site = models.OneToOneField(Site, on_delete=models.PROTECT, primary_key=True, related_name="study_id_counter")
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        triggers = [
            # A decrement would hand out a number twice; refuse it whichever write path tries.
            pgtrigger.Protect(
                name="study_id_counter_never_decrements",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__last_number__gt=pgtrigger.F("new__last_number")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site_id}: {self.last_number}"


@audited()
class Patient(TimeStampedModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    study_id = models.CharField(max_length=24, unique=True, editable=False)
    sequence_number = models.PositiveIntegerField(
        editable=False, help_text="The NNNN part of the study id: the site's n-th enrolment."
    )
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn = models.BooleanField(default=False)
    withdrawal_date = models.DateField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)

    objects = scoped_queryset_class("site").as_manager()

    class Meta:
        ordering = ["site__code", "sequence_number"]
        constraints = [
            models.UniqueConstraint(fields=["site", "sequence_number"], name="patient_unique_site_sequence"),
            models.CheckConstraint(condition=Q(study_id__regex=STUDY_ID_PATTERN), name="patient_study_id_format"),
            models.CheckConstraint(condition=Q(sequence_number__gte=1), name="patient_sequence_positive"),
            models.CheckConstraint(
                condition=Q(withdrawn=False) | (Q(withdrawal_date__isnull=False) & ~Q(withdrawal_reason="")),
                name="patient_withdrawal_has_date_and_reason",
                violation_error_message="A withdrawal needs a date and a reason.",
            ),
        ]
        triggers = [
            # The study id is printed on sample labels and shipment forms; it must never change.
            pgtrigger.Protect(
                name="patient_study_id_immutable",
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange("study_id", "site", "sequence_number"),
            ),
        ]

    def __str__(self) -> str:
        return self.study_id
