"""F4 — Local pathology (1..n per patient: diagnostic biopsy, resection specimen, re-biopsy).

Central review lives in its own tables (registry.pathology) and never overwrites these values.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from registry.audit.tracking import audited
from registry.crfs.models.base import (
    CaseReportForm,
    form_constraints,
    missing_reason_field,
    precision_field,
    to_verify_index,
)


class SpecimenSite(models.TextChoices):
    PRIMARY = "primary", "Primary tumour"
    LIVER_METASTASIS = "liver_metastasis", "Liver metastasis"
    LYMPH_NODE = "lymph_node", "Lymph node"
    OTHER_METASTASIS = "other_metastasis", "Other metastasis"


class SpecimenType(models.TextChoices):
    CORE_BIOPSY = "core_biopsy", "Core biopsy"
    ENDOSCOPIC_BIOPSY = "endoscopic_biopsy", "Endoscopic biopsy"
    FINE_NEEDLE_CYTOLOGY = "fine_needle_cytology", "Fine-needle cytology"
    RESECTION = "resection", "Resection"
    OTHER = "other", "Other"


class ClassificationEdition(models.TextChoices):
    WHO2010 = "WHO2010", "WHO 2010"
    WHO2017_PANC = "WHO2017_panc", "WHO 2017 (pancreas)"
    WHO2019 = "WHO2019", "WHO 2019"
    WHO2022 = "WHO2022", "WHO 2022"


class Diagnosis(models.TextChoices):
    NET_G1 = "NET_G1", "NET G1"
    NET_G2 = "NET_G2", "NET G2"
    NET_G3 = "NET_G3", "NET G3"
    NEC_SMALL_CELL = "NEC_small_cell", "NEC, small cell"
    NEC_LARGE_CELL = "NEC_large_cell", "NEC, large cell"
    NEC_NOS = "NEC_nos", "NEC, NOS"
    MINEN = "MiNEN", "MiNEN"
    NEN_G3_UNSPECIFIED = "NEN_G3_unspecified", "NEN G3, unspecified (pre-2017 report)"
    NOT_NEN = "not_NEN", "Not a NEN"


class Differentiation(models.TextChoices):
    WELL = "well", "Well differentiated"
    POOR = "poor", "Poorly differentiated"
    AMBIGUOUS = "ambiguous", "Ambiguous"
    NOT_ASSESSED = "not_assessed", "Not assessed"


class CellType(models.TextChoices):
    SMALL_CELL = "small_cell", "Small cell"
    LARGE_CELL = "large_cell", "Large cell"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class Ki67Method(models.TextChoices):
    EYEBALL = "eyeball", "Eyeball estimate"
    MANUAL_COUNT = "manual_count", "Manual count"
    DIGITAL_IMAGE_ANALYSIS = "digital_image_analysis", "Digital image analysis"
    UNKNOWN = "unknown", "Unknown"


class IhcResult(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    NOT_DONE = "not_done", "Not done"


class P53Result(models.TextChoices):
    WILD_TYPE = "wild_type", "Wild type"
    ABERRANT = "aberrant", "Aberrant"
    NOT_DONE = "not_done", "Not done"


class Rb1Result(models.TextChoices):
    RETAINED = "retained", "Retained"
    LOST = "lost", "Lost"
    NOT_DONE = "not_done", "Not done"


class MmrMsiStatus(models.TextChoices):
    PMMR_MSS = "pMMR_MSS", "pMMR / MSS"
    DMMR_MSI_H = "dMMR_MSI_H", "dMMR / MSI-H"
    NOT_DONE = "not_done", "Not done"


class MinenComponent(models.TextChoices):
    ADENOCARCINOMA = "adenocarcinoma", "Adenocarcinoma"
    SQUAMOUS = "squamous", "Squamous cell carcinoma"
    ACINAR = "acinar", "Acinar cell carcinoma"
    OTHER = "other", "Other"


@audited()
class LocalPathology(CaseReportForm):
    specimen_date = models.DateField(null=True, blank=True)
    specimen_date_precision = precision_field()
    is_diagnostic = models.BooleanField(default=False,
                                        help_text="The specimen the diagnosis (date_of_diagnosis) rests on.")
    specimen_site = models.CharField(max_length=20, choices=SpecimenSite.choices, blank=True)
    specimen_type = models.CharField(max_length=24, choices=SpecimenType.choices, blank=True)
    classification_edition = models.CharField(max_length=16, choices=ClassificationEdition.choices, blank=True)
    local_diagnosis = models.CharField(max_length=20, choices=Diagnosis.choices, blank=True)
    differentiation = models.CharField(max_length=16, choices=Differentiation.choices, blank=True)
    cell_type = models.CharField(max_length=16, choices=CellType.choices, blank=True)
    ki67_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    ki67_percent_missing_reason = missing_reason_field()
    ki67_cells_counted = models.PositiveIntegerField(null=True, blank=True,
                                                     validators=[MinValueValidator(100), MaxValueValidator(10_000)])
    ki67_method = models.CharField(max_length=24, choices=Ki67Method.choices, blank=True)
    mitoses_per_2mm2 = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    mitoses_per_2mm2_missing_reason = missing_reason_field()
    chromogranin_a_ihc = models.CharField(max_length=10, choices=IhcResult.choices, blank=True)
    synaptophysin_ihc = models.CharField(max_length=10, choices=IhcResult.choices, blank=True)
    p53_ihc = models.CharField(max_length=10, choices=P53Result.choices, blank=True)
    rb1_ihc = models.CharField(max_length=10, choices=Rb1Result.choices, blank=True)
    sstr2_ihc = models.CharField(max_length=10, choices=IhcResult.choices, blank=True)
    mmr_msi_status = models.CharField(max_length=12, choices=MmrMsiStatus.choices, blank=True)
    # DOMAIN.md spells these with "NE" in capitals; the column keeps the study's spelling.
    minen_nonNE_component = models.CharField(max_length=16, choices=MinenComponent.choices, blank=True)
    minen_nonNE_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    report_text = models.TextField(blank=True)

    PARTIAL_DATES = ("specimen_date",)
    MISSING_REASONS = ("ki67_percent", "mitoses_per_2mm2")
    REQUIRED_ON_SUBMIT = ("specimen_date", "specimen_site", "specimen_type", "classification_edition",
                          "local_diagnosis", "differentiation", "chromogranin_a_ihc", "synaptophysin_ihc")

    class Meta:
        indexes = [to_verify_index("localpath_to_verify")]
        verbose_name = "local pathology"
        verbose_name_plural = "local pathology"
        constraints = [*form_constraints("localpathology", ("specimen_date",), ("ki67_percent", "mitoses_per_2mm2"))]

    def conditionally_required(self) -> dict[str, str]:
        missing = {}
        cytology_only = self.specimen_type == SpecimenType.FINE_NEEDLE_CYTOLOGY
        if not cytology_only and self.ki67_percent is None and not self.ki67_percent_missing_reason:
            missing["ki67_percent"] = "ki67_percent (or the reason it is missing) is required unless cytology-only."
        return missing

    def __str__(self) -> str:
        return f"Specimen {self.pk} ({self.patient_id})"
