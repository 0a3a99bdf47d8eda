"""F6 — Treatment lines (1..n per patient), other treatments, and the no-treatment path."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from registry.audit.tracking import audited
from registry.crfs.models.base import (
    CaseReportForm,
    YesNo,
    form_constraints,
    missing_reason_field,
    precision_field,
    to_verify_index,
)
from registry.crfs.models.baseline import EcogPs
from registry.crfs.models.regimens import Regimen


class LineIntent(models.TextChoices):
    PALLIATIVE = "palliative", "Palliative"
    ADJUVANT = "adjuvant", "Adjuvant"
    NEOADJUVANT = "neoadjuvant", "Neoadjuvant"
    CHEMORADIATION = "chemoradiation", "Chemoradiation"


class EtoposideRoute(models.TextChoices):
    IV = "iv", "Intravenous"
    ORAL = "oral", "Oral"
    IV_AND_ORAL = "iv_and_oral", "Intravenous and oral"


class ReasonStopped(models.TextChoices):
    COMPLETED_PLANNED = "completed_planned", "Completed as planned"
    PROGRESSION = "progression", "Progression"
    TOXICITY = "toxicity", "Toxicity"
    PATIENT_WISH = "patient_wish", "Patient's wish"
    DEATH = "death", "Death"
    DETERIORATION_PS = "deterioration_ps", "Deteriorating performance status"
    OTHER = "other", "Other"
    ONGOING = "ongoing", "Ongoing"


class BestResponse(models.TextChoices):
    CR = "CR", "Complete response"
    PR = "PR", "Partial response"
    SD = "SD", "Stable disease"
    NON_CR_NON_PD = "non_CR_non_PD", "Non-CR/non-PD"
    PD = "PD", "Progressive disease"
    NE = "NE", "Not evaluable"


@audited()
class TreatmentLine(CaseReportForm):
    line_number = models.PositiveSmallIntegerField(null=True, blank=True,
                                                   validators=[MinValueValidator(1), MaxValueValidator(10)])
    intent = models.CharField(max_length=16, choices=LineIntent.choices, blank=True)
    regimen = models.ForeignKey(Regimen, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    regimen_other_text = models.CharField(max_length=200, blank=True)
    backbone_regimen = models.ForeignKey(
        Regimen, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
        help_text="For chemotherapy + bevacizumab: the chemotherapy backbone (its drugs set the platinum flags).",
    )
    etoposide_route = models.CharField(max_length=12, choices=EtoposideRoute.choices, blank=True)
    start_date = models.DateField(null=True, blank=True)
    start_date_precision = precision_field()
    end_date = models.DateField(null=True, blank=True)
    end_date_precision = precision_field()
    n_cycles = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(50)])
    n_cycles_missing_reason = missing_reason_field()
    dose_reduced = models.BooleanField(null=True, blank=True)
    reason_stopped = models.CharField(max_length=20, choices=ReasonStopped.choices, blank=True)
    baseline_target_sum_mm = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, blank=True, validators=[MaxValueValidator(1000)],
        help_text="RECIST sum of target-lesion diameters on the baseline scan before this line.",
    )
    ecog_ps_at_start = models.PositiveSmallIntegerField(choices=EcogPs.choices, null=True, blank=True)
    clinical_progression = models.BooleanField(default=False,
                                               help_text="Progression judged clinically, without a PD scan.")
    clinical_progression_date = models.DateField(null=True, blank=True)
    clinical_progression_date_precision = precision_field()
    # Derived (services): from the F7 evaluations and the regimen's drug components.
    best_response = models.CharField(max_length=16, choices=BestResponse.choices, blank=True, editable=False)
    date_progression = models.DateField(null=True, blank=True, editable=False)
    date_progression_precision = precision_field()
    contains_platinum_any = models.BooleanField(null=True, editable=False)
    is_platinum_etoposide = models.BooleanField(null=True, editable=False)
    is_temozolomide_based = models.BooleanField(null=True, editable=False)

    PARTIAL_DATES = ("start_date", "end_date", "clinical_progression_date", "date_progression")
    MISSING_REASONS = ("n_cycles",)
    DERIVED_FIELDS = ("best_response", "date_progression", "date_progression_precision",
                      "contains_platinum_any", "is_platinum_etoposide", "is_temozolomide_based")
    REQUIRED_ON_SUBMIT = ("line_number", "intent", "regimen", "start_date")

    class Meta:
        indexes = [to_verify_index("treatline_to_verify")]
        ordering = ["patient", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "line_number"], name="treatmentline_unique_number"),
            *form_constraints(
                "treatmentline", ("start_date", "end_date", "clinical_progression_date", "date_progression"),
                ("n_cycles",),
            ),
        ]

    def conditionally_required(self) -> dict[str, str]:
        missing = {}
        if self.end_date is not None and not self.reason_stopped:
            missing["reason_stopped"] = "reason_stopped is required once the line has an end_date."
        if self.clinical_progression and self.clinical_progression_date is None:
            missing["clinical_progression_date"] = "clinical_progression_date is required for clinical progression."
        return missing

    def __str__(self) -> str:
        return f"Line {self.line_number} ({self.patient_id})"


class OtherTreatmentType(models.TextChoices):
    SURGERY_PRIMARY = "surgery_primary", "Surgery of the primary"
    SURGERY_METASTASIS = "surgery_metastasis", "Surgery of metastases"
    LIVER_DIRECTED = "liver_directed", "Liver-directed (RFA/TACE/SIRT)"
    RADIOTHERAPY = "radiotherapy", "Radiotherapy"
    CHEMORADIATION = "chemoradiation", "Chemoradiation"


class OtherTreatmentIntent(models.TextChoices):
    CURATIVE = "curative", "Curative"
    PALLIATIVE = "palliative", "Palliative"
    ADJUVANT = "adjuvant", "Adjuvant"
    NEOADJUVANT = "neoadjuvant", "Neoadjuvant"
    UNKNOWN = "unknown", "Unknown"


@audited()
class OtherTreatment(CaseReportForm):
    type = models.CharField(max_length=20, choices=OtherTreatmentType.choices, blank=True)
    date = models.DateField(null=True, blank=True)
    date_precision = precision_field()
    intent = models.CharField(max_length=12, choices=OtherTreatmentIntent.choices, blank=True)
    details = models.TextField(blank=True)

    PARTIAL_DATES = ("date",)
    REQUIRED_ON_SUBMIT = ("type", "date", "intent")

    class Meta:
        indexes = [to_verify_index("othertreat_to_verify")]
        ordering = ["patient", "date"]
        constraints = [*form_constraints("othertreatment", ("date",), ())]

    def __str__(self) -> str:
        return f"{self.get_type_display()} ({self.patient_id})"


class ReasonNoTreatment(models.TextChoices):
    POOR_PS = "poor_ps", "Poor performance status"
    PATIENT_CHOICE = "patient_choice", "Patient's choice"
    RAPID_DEATH = "rapid_death", "Rapid death"
    COMORBIDITY = "comorbidity", "Comorbidity"
    OTHER = "other", "Other"


@audited()
class SystemicTreatmentStatus(CaseReportForm):
    """Whether the patient received palliative systemic treatment at all (the no-treatment path)."""

    received_palliative_systemic = models.CharField(max_length=3, choices=YesNo.choices, blank=True)
    reason_no_treatment = models.CharField(max_length=16, choices=ReasonNoTreatment.choices, blank=True)
    reason_no_treatment_other = models.CharField(max_length=200, blank=True)

    REQUIRED_ON_SUBMIT = ("received_palliative_systemic",)

    class Meta:
        indexes = [to_verify_index("txstatus_to_verify")]
        verbose_name_plural = "systemic treatment status"
        constraints = [
            models.UniqueConstraint(fields=["patient"], name="systemictreatmentstatus_one_per_patient"),
            models.CheckConstraint(
                condition=models.Q(reason_no_treatment="") | models.Q(received_palliative_systemic=YesNo.NO),
                name="systemictreatmentstatus_reason_only_if_untreated",
                violation_error_message="A reason for no treatment only applies when none was received.",
            ),
        ]

    def conditionally_required(self) -> dict[str, str]:
        missing = {}
        if self.received_palliative_systemic == YesNo.NO and not self.reason_no_treatment:
            missing["reason_no_treatment"] = "reason_no_treatment is required when no treatment was received."
        if self.reason_no_treatment == ReasonNoTreatment.OTHER and not self.reason_no_treatment_other.strip():
            missing["reason_no_treatment_other"] = "Describe the other reason."
        return missing

    def __str__(self) -> str:
        return f"Systemic treatment status {self.patient_id}"
