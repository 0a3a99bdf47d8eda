"""F5 — Laboratory values: a long table, one row per analyte and sample, with the local lab's LLN and ULN.

Values are stored in the analyte's canonical unit when the conversion is exact (registry/crfs/validation/
units.py: ALP/LDH µkat/L → U/L, haemoglobin g/L and mmol/L → g/dL); what the lab reported is kept in the
`entered_*` columns. Chromogranin A is assay specific and is never converted.
"""

from __future__ import annotations

from django.db import models

from registry.audit.tracking import audited
from registry.crfs.models.base import CaseReportForm, form_constraints, missing_reason_field, to_verify_index
from registry.crfs.validation.units import ANALYTES


class LabTimepoint(models.TextChoices):
    DIAGNOSIS = "diagnosis", "At diagnosis"
    BASELINE_LINE1 = "baseline_line1", "Baseline before line 1"
    BASELINE_LINE_N = "baseline_line_n", "Baseline before a later line"
    ON_TREATMENT = "on_treatment", "On treatment"
    OTHER = "other", "Other"


Analyte = models.TextChoices("Analyte", [(a.code.upper(), (a.code, a.name)) for a in ANALYTES.values()])

_VALUE = {"max_digits": 18, "decimal_places": 6, "null": True, "blank": True}


@audited()
class LabResult(CaseReportForm):
    timepoint = models.CharField(max_length=16, choices=LabTimepoint.choices, blank=True)
    line = models.ForeignKey("crfs.TreatmentLine", on_delete=models.PROTECT, related_name="lab_results",
                             null=True, blank=True, help_text="The treatment line this sample is the baseline "
                                                              "for, when it is not line 1.")
    analyte = models.CharField(max_length=16, choices=Analyte.choices, blank=True)
    sample_date = models.DateField(null=True, blank=True)
    value = models.DecimalField(**_VALUE)
    value_missing_reason = missing_reason_field()
    unit = models.CharField(max_length=16, blank=True)
    lln = models.DecimalField(**_VALUE)
    uln = models.DecimalField(**_VALUE)
    post_mortem = models.BooleanField(default=False, help_text="Sample taken after death (EC10 flags it).")
    assay_name = models.CharField(max_length=120, blank=True, help_text="Required for chromogranin A.")
    # As reported by the lab, before any exact unit conversion (set by the services).
    entered_value = models.DecimalField(**_VALUE, editable=False)
    entered_unit = models.CharField(max_length=16, blank=True, editable=False)
    entered_lln = models.DecimalField(**_VALUE, editable=False)
    entered_uln = models.DecimalField(**_VALUE, editable=False)
    # Derived (services).
    value_x_uln = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True, editable=False)
    above_uln = models.BooleanField(null=True, editable=False)
    is_baseline = models.BooleanField(default=False, editable=False,
                                      help_text="Latest sample of its analyte within −30/+3 days of its "
                                                "line's start.")

    MISSING_REASONS = ("value",)
    DERIVED_FIELDS = ("entered_value", "entered_unit", "entered_lln", "entered_uln", "value_x_uln",
                      "above_uln", "is_baseline")
    REQUIRED_ON_SUBMIT = ("timepoint", "analyte", "sample_date", "value", "unit", "uln")

    class Meta:
        ordering = ["patient", "sample_date", "analyte"]
        indexes = [models.Index(fields=["patient", "analyte", "sample_date"]), to_verify_index("labresult_to_verify")]
        constraints = [*form_constraints("labresult", (), ("value",))]

    def conditionally_required(self) -> dict[str, str]:
        missing = {}
        if self.analyte == "cga" and not self.assay_name.strip():
            missing["assay_name"] = "assay_name is required for chromogranin A (values are assay specific)."
        return missing

    def __str__(self) -> str:
        return f"{self.analyte} {self.sample_date} ({self.patient_id})"
