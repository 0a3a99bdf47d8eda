"""F2 — Demographics and baseline status (one per patient: at diagnosis / before 1st-line treatment).

PS at the start of later lines is captured on the treatment line itself (`ecog_ps_at_start`).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from registry.audit.tracking import audited
from registry.crfs.models.base import (
    CaseReportForm,
    DatePrecision,
    form_constraints,
    missing_reason_field,
    to_verify_index,
)


class Sex(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"


class EcogPs(models.IntegerChoices):
    FULLY_ACTIVE = 0, "0 — fully active"
    RESTRICTED = 1, "1 — restricted in strenuous activity"
    AMBULATORY = 2, "2 — ambulatory, self-care, unable to work"
    LIMITED_SELF_CARE = 3, "3 — limited self-care, > 50 % in bed or chair"
    DISABLED = 4, "4 — completely disabled"


class PsSource(models.TextChoices):
    ECOG_WHO = "ecog_who", "ECOG/WHO"
    KARNOFSKY_CONVERTED = "karnofsky_converted", "Converted from Karnofsky"


class FunctionalSyndrome(models.TextChoices):
    NONE = "none", "None"
    CARCINOID_SYNDROME = "carcinoid_syndrome", "Carcinoid syndrome"
    OTHER_HORMONAL = "other_hormonal", "Other hormonal syndrome"
    UNKNOWN = "unknown", "Unknown"


class HereditarySyndrome(models.TextChoices):
    NONE = "none", "None"
    MEN1 = "MEN1", "MEN1"
    VHL = "VHL", "von Hippel-Lindau"
    NF1 = "NF1", "Neurofibromatosis type 1"
    LYNCH = "Lynch", "Lynch syndrome"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


@audited()
class Baseline(CaseReportForm):
    sex = models.CharField(max_length=6, choices=Sex.choices, blank=True)
    # Year precision by default: the full birth date is identifying and the analyses need only the age.
    date_of_birth = models.DateField(null=True, blank=True)
    date_of_birth_precision = models.CharField(max_length=5, choices=DatePrecision.choices,
                                               default=DatePrecision.YEAR)
    age_at_diagnosis = models.DecimalField(max_digits=4, decimal_places=1, null=True, editable=False,
                                           help_text="Derived: (date of diagnosis − date of birth) / 365.25.")
    ecog_ps = models.PositiveSmallIntegerField(choices=EcogPs.choices, null=True, blank=True)
    ecog_ps_missing_reason = missing_reason_field()
    ps_assessment_date = models.DateField(null=True, blank=True)
    ps_source = models.CharField(max_length=20, choices=PsSource.choices, blank=True)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True,
                                    validators=[MinValueValidator(25), MaxValueValidator(250)])
    height_cm = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True,
                                    validators=[MinValueValidator(120), MaxValueValidator(220)])
    charlson_comorbidity_index = models.PositiveSmallIntegerField(null=True, blank=True,
                                                                  validators=[MaxValueValidator(37)])
    functional_syndrome = models.CharField(max_length=20, choices=FunctionalSyndrome.choices, blank=True)
    hereditary_syndrome = models.CharField(max_length=8, choices=HereditarySyndrome.choices, blank=True)
    prior_other_malignancy = models.BooleanField(null=True, blank=True)
    prior_other_malignancy_details = models.TextField(blank=True)

    PARTIAL_DATES = ("date_of_birth",)
    MISSING_REASONS = ("ecog_ps",)
    DERIVED_FIELDS = ("age_at_diagnosis",)
    REQUIRED_ON_SUBMIT = ("sex", "date_of_birth", "ecog_ps", "ps_assessment_date")

    class Meta:
        indexes = [to_verify_index("baseline_to_verify")]
        constraints = [
            models.UniqueConstraint(fields=["patient"], name="baseline_one_per_patient"),
            models.CheckConstraint(condition=models.Q(ecog_ps__lte=4), name="baseline_ecog_ps_0_4"),
            *form_constraints("baseline", ("date_of_birth",), ("ecog_ps",)),
        ]

    def __str__(self) -> str:
        return f"Baseline {self.patient_id}"
