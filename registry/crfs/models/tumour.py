"""F3 — Tumour and staging (one per patient)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from registry.audit.tracking import audited
from registry.crfs.models.base import CaseReportForm, form_constraints, precision_field, to_verify_index


class PrimarySite(models.TextChoices):
    OESOPHAGUS = "oesophagus", "Oesophagus"
    STOMACH = "stomach", "Stomach"
    DUODENUM = "duodenum", "Duodenum"
    AMPULLA = "ampulla", "Ampulla of Vater"
    PANCREAS = "pancreas", "Pancreas"
    JEJUNUM_ILEUM = "jejunum_ileum", "Jejunum/ileum"
    APPENDIX = "appendix", "Appendix"
    COLON_RIGHT = "colon_right", "Right colon"
    COLON_LEFT = "colon_left", "Left colon"
    RECTUM = "rectum", "Rectum"
    ANAL_CANAL = "anal_canal", "Anal canal"
    GALLBLADDER_BILE_DUCT = "gallbladder_bile_duct", "Gallbladder/bile duct"
    LIVER_PRIMARY = "liver_primary", "Liver (primary)"
    UNKNOWN_PRIMARY_GI_PATTERN = "unknown_primary_gi_pattern", "Unknown primary, GI pattern"
    OTHER_DIGESTIVE = "other_digestive", "Other digestive"


class PrimarySiteGroup(models.TextChoices):
    OESOPHAGUS_STOMACH = "oesophagus_stomach", "Oesophagus/stomach"
    PANCREATOBILIARY = "pancreatobiliary", "Pancreatobiliary"
    SMALL_BOWEL = "small_bowel", "Small bowel"
    COLORECTAL = "colorectal", "Colorectal"
    UNKNOWN = "unknown", "Unknown primary"
    OTHER = "other", "Other"


class DiseaseExtent(models.TextChoices):
    LOCALISED = "localised", "Localised"
    LOCOREGIONAL = "locoregional", "Locoregional"
    LOCALLY_ADVANCED_UNRESECTABLE = "locally_advanced_unresectable", "Locally advanced, unresectable"
    METASTATIC = "metastatic", "Metastatic"
    UNKNOWN = "unknown", "Unknown"


class MetastaticSite(models.TextChoices):
    LIVER = "liver", "Liver"
    LYMPH_NODES_DISTANT = "lymph_nodes_distant", "Distant lymph nodes"
    LYMPH_NODES_REGIONAL = "lymph_nodes_regional", "Regional lymph nodes"
    LUNG = "lung", "Lung"
    BONE = "bone", "Bone"
    PERITONEUM = "peritoneum", "Peritoneum"
    BRAIN = "brain", "Brain"
    ADRENAL = "adrenal", "Adrenal"
    PLEURA = "pleura", "Pleura"
    SKIN_SOFT_TISSUE = "skin_soft_tissue", "Skin/soft tissue"
    BONE_MARROW = "bone_marrow", "Bone marrow"
    OVARY = "ovary", "Ovary"
    OTHER = "other", "Other"


class LiverTumourBurden(models.TextChoices):
    NONE = "none", "None"
    UNDER_25 = "<25%", "< 25 %"
    FROM_25_TO_50 = "25-50%", "25–50 %"
    OVER_50 = ">50%", "> 50 %"
    UNKNOWN = "unknown", "Unknown"


class ResectionOfPrimary(models.TextChoices):
    NONE = "none", "None"
    CURATIVE = "curative", "Curative"
    PALLIATIVE = "palliative", "Palliative"
    UNKNOWN = "unknown", "Unknown"


class ImagingResult(models.TextChoices):
    NOT_DONE = "not_done", "Not done"
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    EQUIVOCAL = "equivocal", "Equivocal"


@audited()
class TumourStaging(CaseReportForm):
    primary_site = models.CharField(max_length=32, choices=PrimarySite.choices, blank=True)
    primary_site_group = models.CharField(max_length=20, choices=PrimarySiteGroup.choices, blank=True,
                                          editable=False)
    icd10_topography = models.CharField(max_length=8, blank=True)
    icdo3_topography = models.CharField(max_length=8, blank=True)
    disease_extent_at_diagnosis = models.CharField(max_length=32, choices=DiseaseExtent.choices, blank=True)
    advanced_disease_date = models.DateField(null=True, blank=True)
    advanced_disease_date_precision = precision_field()
    # A column of codes rather than an M2M table: one row change per edit keeps the audit trail readable.
    metastatic_sites = ArrayField(models.CharField(max_length=24, choices=MetastaticSite.choices),
                                  default=list, blank=True)
    n_metastatic_organs = models.PositiveSmallIntegerField(null=True, editable=False)
    liver_tumour_burden = models.CharField(max_length=8, choices=LiverTumourBurden.choices, blank=True)
    tnm_t = models.CharField(max_length=8, blank=True)
    tnm_n = models.CharField(max_length=8, blank=True)
    tnm_m = models.CharField(max_length=8, blank=True)
    tnm_edition = models.CharField(max_length=16, blank=True)
    stage_group = models.CharField(max_length=16, blank=True)
    resection_of_primary = models.CharField(max_length=10, choices=ResectionOfPrimary.choices, blank=True)
    imaging_ssrt_pet_result = models.CharField(max_length=10, choices=ImagingResult.choices, blank=True)
    imaging_fdg_pet_result = models.CharField(max_length=10, choices=ImagingResult.choices, blank=True)

    PARTIAL_DATES = ("advanced_disease_date",)
    DERIVED_FIELDS = ("primary_site_group", "n_metastatic_organs")
    REQUIRED_ON_SUBMIT = ("primary_site", "disease_extent_at_diagnosis", "resection_of_primary")

    class Meta:
        indexes = [to_verify_index("tumour_to_verify")]
        constraints = [
            models.UniqueConstraint(fields=["patient"], name="tumourstaging_one_per_patient"),
            *form_constraints("tumourstaging", ("advanced_disease_date",), ()),
        ]

    def conditionally_required(self) -> dict[str, str]:
        missing = {}
        if self.disease_extent_at_diagnosis == DiseaseExtent.METASTATIC and not self.metastatic_sites:
            missing["metastatic_sites"] = "metastatic_sites is required for metastatic disease."
        return missing

    def __str__(self) -> str:
        return f"Tumour {self.patient_id}"
