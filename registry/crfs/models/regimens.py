"""Reference tables for F6: drugs and regimens as drug components, so a new regimen needs no code change.

Seeded by a data migration from `registry/crfs/validation/regimens.py`. Platinum and temozolomide flags are
properties of the drugs; a treatment line's flags are derived from its regimen's components by the services.
"""

from __future__ import annotations

from django.db import models

from registry.audit.tracking import audited
from registry.core.models import TimeStampedModel


class PlatinumAgent(models.TextChoices):
    CISPLATIN = "cisplatin", "Cisplatin"
    CARBOPLATIN = "carboplatin", "Carboplatin"
    OXALIPLATIN = "oxaliplatin", "Oxaliplatin"


@audited()
class Drug(TimeStampedModel):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    atc_code = models.CharField(max_length=8, blank=True)
    is_platinum = models.BooleanField(default=False)
    platinum_agent = models.CharField(max_length=12, choices=PlatinumAgent.choices, blank=True)
    is_cytotoxic = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_platinum=False, platinum_agent="")
                | (models.Q(is_platinum=True) & ~models.Q(platinum_agent="")),
                name="drug_platinum_agent_iff_platinum",
            ),
        ]

    def __str__(self) -> str:
        return self.name


@audited()
class Regimen(TimeStampedModel):
    code = models.CharField(max_length=32, unique=True)
    label = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True, help_text="Inactive regimens cannot be chosen for new lines.")
    drugs = models.ManyToManyField(Drug, through="RegimenComponent", related_name="regimens")

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


@audited()
class RegimenComponent(TimeStampedModel):
    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="components")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["regimen__code", "drug__code"]
        constraints = [models.UniqueConstraint(fields=["regimen", "drug"], name="regimen_component_unique")]

    def __str__(self) -> str:
        return f"{self.regimen_id}: {self.drug_id}"
