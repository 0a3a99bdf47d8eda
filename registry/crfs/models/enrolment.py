"""F1 — Enrolment and eligibility (one per patient; created together with the Patient)."""

from __future__ import annotations

from django.db import models

from registry.audit.tracking import audited
from registry.crfs.models.base import CaseReportForm, form_constraints, precision_field, to_verify_index


class ConsentObtained(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    WAIVED_BY_ETHICS = "waived_by_ethics", "Waived by the ethics committee"


class RegistrationTiming(models.TextChoices):
    PROSPECTIVE_AT_DIAGNOSIS = "prospective_at_diagnosis", "Prospective, at diagnosis"
    RETROSPECTIVE_CATCH_UP = "retrospective_catch_up", "Retrospective catch-up"


#: The four inclusion criteria whose AND is `eligible` (DOMAIN.md F1).
ELIGIBILITY_CRITERIA = (
    "age_at_registration_ge_18",
    "histological_confirmation",
    "ki67_gt_20_or_mitoses_gt_20",
    "digestive_primary_or_gi_cup",
)


@audited()
class Enrolment(CaseReportForm):
    registration_date = models.DateField(null=True, blank=True)
    consent_obtained = models.CharField(max_length=16, choices=ConsentObtained.choices, blank=True)
    consent_date = models.DateField(null=True, blank=True)
    age_at_registration_ge_18 = models.BooleanField(null=True, blank=True)
    histological_confirmation = models.BooleanField(null=True, blank=True)
    ki67_gt_20_or_mitoses_gt_20 = models.BooleanField(null=True, blank=True)
    digestive_primary_or_gi_cup = models.BooleanField(null=True, blank=True)
    eligible = models.BooleanField(null=True, editable=False, help_text="Derived: AND of the four criteria.")
    ineligibility_reason = models.TextField(blank=True)
    date_of_diagnosis = models.DateField(null=True, blank=True)
    date_of_diagnosis_precision = precision_field()
    registration_timing = models.CharField(max_length=24, choices=RegistrationTiming.choices, blank=True)

    PARTIAL_DATES = ("date_of_diagnosis",)
    DERIVED_FIELDS = ("eligible",)
    REQUIRED_ON_SUBMIT = ("registration_date", "consent_obtained", *ELIGIBILITY_CRITERIA,
                          "date_of_diagnosis", "registration_timing")

    class Meta:
        indexes = [to_verify_index("enrolment_to_verify")]
        constraints = [
            models.UniqueConstraint(fields=["patient"], name="enrolment_one_per_patient"),
            *form_constraints("enrolment", ("date_of_diagnosis",), ()),
        ]

    def conditionally_required(self) -> dict[str, str]:
        missing = {}
        if self.consent_obtained == ConsentObtained.YES and self.consent_date is None:
            missing["consent_date"] = "consent_date is required when consent was obtained."
        if self.eligible is False and not self.ineligibility_reason.strip():
            missing["ineligibility_reason"] = "ineligibility_reason is required when the patient is not eligible."
        return missing

    def __str__(self) -> str:
        return f"Enrolment {self.patient_id}"
