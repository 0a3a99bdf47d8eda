"""Hospitals taking part in the study and who may do what at each of them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from registry.audit.tracking import audited
from registry.core.models import TimeStampedModel


class Country(models.TextChoices):
    NORWAY = "NO", "Norway"
    SWEDEN = "SE", "Sweden"
    DENMARK = "DK", "Denmark"
    FINLAND = "FI", "Finland"
    ICELAND = "IS", "Iceland"


class Role(models.TextChoices):
    SITE_COORDINATOR = "site_coordinator", "Site coordinator"
    SITE_INVESTIGATOR = "site_investigator", "Site investigator"
    MONITOR = "monitor", "Monitor"
    DATA_MANAGER = "data_manager", "Data manager"
    CENTRAL_PATHOLOGIST = "central_pathologist", "Central pathologist"
    STATISTICIAN = "statistician", "Statistician"


#: Roles whose holders work for the whole study and may be granted every site at once (site left empty).
STUDY_WIDE_ROLES = frozenset({Role.DATA_MANAGER, Role.CENTRAL_PATHOLOGIST, Role.STATISTICIAN})


@audited()
class Site(TimeStampedModel):
    code = models.CharField(
        max_length=8, unique=True,
        help_text="Short upper-case code used in study ids, e.g. OUS for Oslo University Hospital.",
    )
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, choices=Country.choices)
    is_active = models.BooleanField(default=True, help_text="Inactive sites cannot enrol new patients.")

    class Meta:
        ordering = ["country", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z0-9]{2,8}$"), name="site_code_upper_alnum"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


@audited()
class SiteMembership(TimeStampedModel):
    """A user's role at one site, or at every site (site empty) for a study-wide role."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="memberships", null=True, blank=True,
        help_text="Leave empty to grant a study-wide role (data manager, central pathologist, "
                  "statistician) at every site.",
    )
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        ordering = ["user__username", "site__code", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "site", "role"], name="membership_unique_user_site_role", nulls_distinct=False
            ),
            models.CheckConstraint(
                condition=Q(site__isnull=False) | Q(role__in=sorted(r.value for r in STUDY_WIDE_ROLES)),
                name="membership_site_required_for_site_roles",
                violation_error_message="Site roles (coordinator, investigator, monitor) need a site.",
            ),
        ]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self) -> str:
        where = self.site.code if self.site_id else "all sites"
        return f"{self.user} — {self.get_role_display()} @ {where}"
