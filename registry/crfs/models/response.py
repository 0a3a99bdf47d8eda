"""F7 — Response evaluations (0..n per treatment line). `eval_number` is derived from the dates."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models

from registry.audit.tracking import audited
from registry.crfs.models.base import CaseReportForm, form_constraints, missing_reason_field, to_verify_index
from registry.crfs.models.treatment import BestResponse, TreatmentLine


class EvaluationMethod(models.TextChoices):
    CT = "ct", "CT"
    MRI = "mri", "MRI"
    PET_CT = "pet_ct", "PET-CT"
    CLINICAL_ONLY = "clinical_only", "Clinical only"


class ResponseCriteria(models.TextChoices):
    RECIST_1_1 = "recist_1_1", "RECIST 1.1"
    RECIST_1_0 = "recist_1_0", "RECIST 1.0"
    WHO = "who", "WHO"
    CHOI = "choi", "Choi"
    INVESTIGATOR_CLINICAL = "investigator_clinical", "Investigator, clinical"


class ProgressionType(models.TextChoices):
    RADIOLOGICAL = "radiological", "Radiological"
    CLINICAL = "clinical", "Clinical"


#: Overall response uses the same codes as a line's best response.
OverallResponse = BestResponse


@audited()
class ResponseEvaluation(CaseReportForm):
    line = models.ForeignKey(TreatmentLine, on_delete=models.PROTECT, related_name="evaluations")
    eval_date = models.DateField(null=True, blank=True)
    eval_number = models.PositiveSmallIntegerField(null=True, editable=False,
                                                   help_text="Derived: 1, 2, … in date order within the line.")
    method = models.CharField(max_length=16, choices=EvaluationMethod.choices, blank=True)
    criteria = models.CharField(max_length=24, choices=ResponseCriteria.choices, blank=True)
    target_sum_mm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True,
                                        validators=[MaxValueValidator(1000)])
    target_sum_mm_missing_reason = missing_reason_field()
    new_lesions = models.BooleanField(null=True, blank=True)
    overall_response = models.CharField(max_length=16, choices=OverallResponse.choices, blank=True)
    progression_type = models.CharField(max_length=12, choices=ProgressionType.choices, blank=True)
    confirmed = models.BooleanField(null=True, blank=True)

    MISSING_REASONS = ("target_sum_mm",)
    DERIVED_FIELDS = ("eval_number",)
    REQUIRED_ON_SUBMIT = ("eval_date", "method", "criteria", "new_lesions", "overall_response")
    IMMUTABLE_FIELDS = ("line",)

    class Meta:
        indexes = [to_verify_index("response_to_verify")]
        ordering = ["line", "eval_date", "pk"]
        constraints = [*form_constraints("responseevaluation", (), ("target_sum_mm",))]

    def conditionally_required(self) -> dict[str, str]:
        missing = {}
        if self.overall_response == OverallResponse.PD and not self.progression_type:
            missing["progression_type"] = "progression_type is required for PD."
        return missing

    def __str__(self) -> str:
        return f"Evaluation {self.eval_number or '?'} of line {self.line_id}"
