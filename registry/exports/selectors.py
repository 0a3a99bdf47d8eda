"""Reads of the exports app. Who may export what goes through registry/sites/scoping.py like every other read:
site staff, monitors and data managers export the sites they hold those roles at (full data); statisticians
export every site they are granted, pseudonymised only (research/reliability.md §1.4, Art. 89 GDPR)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from registry.core.errors import NotFound
from registry.exports.models import ExportJob, ExportRelease, RedcapToken
from registry.patients.models import Patient
from registry.sites.models import Role, Site
from registry.sites.scoping import CASEBOOK_READERS, is_unrestricted, sites_visible_to

#: Roles whose exports carry full data for their sites.
FULL_EXPORT_ROLES = CASEBOOK_READERS
#: Roles whose exports are always pseudonymised (no free text; dates shifted, as durations, or removed).
PSEUDONYMISED_EXPORT_ROLES = frozenset({Role.STATISTICIAN})
EXPORT_ROLES = FULL_EXPORT_ROLES | PSEUDONYMISED_EXPORT_ROLES


def export_sites_for_user(user) -> QuerySet[Site]:
    """Sites the user may export (any export role)."""
    return sites_visible_to(user, roles=EXPORT_ROLES)


def full_data_site_ids(user) -> set[int]:
    """Sites whose full (identifiable-date, free-text) data the user may export."""
    return set(sites_visible_to(user, roles=FULL_EXPORT_ROLES).values_list("pk", flat=True))


def site_ids_of(patients: QuerySet) -> set[int]:
    """The sites of these patients, one query over the sites only (the patients' default ordering would make
    DISTINCT run over every patient)."""
    return set(patients.order_by().values_list("site_id", flat=True).distinct())


def can_export(user) -> bool:
    """Whether the user may export anything at all."""
    return bool(user and user.is_authenticated and user.is_active
                and (is_unrestricted(user) or export_sites_for_user(user).exists()))


def must_pseudonymise(user, site_ids: Iterable[int]) -> bool:
    """True when some requested site is visible to the user only through a pseudonymised-only role."""
    if is_unrestricted(user):
        return False
    return not set(site_ids) <= full_data_site_ids(user)


def export_patients(user, *, site_ids: Iterable[int] | None) -> QuerySet[Patient]:
    """Patients of the requested sites that the user may export *now* (scope re-checked at build time)."""
    patients = Patient.objects.visible_to(user, roles=EXPORT_ROLES)
    return patients.filter(site_id__in=list(site_ids)) if site_ids is not None else patients


def job_list_for_user(user) -> QuerySet[ExportJob]:
    """The user's own export jobs, newest first (a job and its file belong to whoever asked for them)."""
    if user is None or not user.is_authenticated:
        return ExportJob.objects.none()
    return ExportJob.objects.filter(requested_by_id=user.pk).select_related("release").order_by("-created_at", "-pk")


def job_get_for_user(user, pk) -> ExportJob:
    """One of the user's jobs; NotFound otherwise (never reveal that someone else's job exists)."""
    try:
        return job_list_for_user(user).get(pk=pk)
    except (ExportJob.DoesNotExist, ValueError, TypeError):
        raise NotFound("Export not found.") from None


def release_list() -> QuerySet[ExportRelease]:
    """Releases, newest first (names only are shown to users; keys never leave the server)."""
    return ExportRelease.objects.only("id", "name", "description", "data_cutoff", "created_at").order_by(
        "-created_at")


def redcap_token_user(token: str) -> RedcapToken | None:
    """The active token with this value (REDCap tokens are case-insensitive hexadecimal), or None."""
    if not isinstance(token, str) or len(token) != 32:
        return None
    return (RedcapToken.objects.select_related("user", "release")
            .filter(token=token.upper(), is_active=True, user__is_active=True).first())


def redcap_token_list_for_user(user) -> QuerySet[RedcapToken]:
    return RedcapToken.objects.filter(user_id=user.pk).order_by("-created_at")
