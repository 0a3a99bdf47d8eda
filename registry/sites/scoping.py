"""The ONE place that decides which sites' data a user may see or act on.

Every list, detail, filter, history view, export and admin page scopes its queryset through
`scope_queryset` (or a model manager's `visible_to`, which calls it). Deny by default: anonymous,
inactive and membership-less users see nothing. Scoping is a single SQL EXISTS, so it adds no queries.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.db.models import Exists, OuterRef, Q

from registry.sites.models import Role, Site, SiteMembership

#: Roles allowed to read patients' case report forms at a site (central pathologists and statisticians
#: work through the blinded review queue and the pseudonymised analysis data instead).
CASEBOOK_READERS = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER})
#: Roles allowed to enter and change CRF data at a site.
DATA_ENTRY = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR})


def _roles(roles: Iterable[str] | None) -> list[str]:
    return [str(r) for r in (roles if roles is not None else Role.values)]


def _memberships(user, roles: Iterable[str] | None):
    return SiteMembership.objects.filter(user_id=user.pk, role__in=_roles(roles))


def is_unrestricted(user) -> bool:
    """Superusers (the registry's system administrators) see every site."""
    return bool(user.is_active and user.is_superuser)


def scope_queryset(queryset: models.QuerySet, user, *, site_field: str = "site",
                   roles: Iterable[str] | None = None) -> models.QuerySet:
    """Rows of `queryset` whose site (reached through `site_field`) the user holds one of `roles` at."""
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if is_unrestricted(user):
        return queryset
    memberships = _memberships(user, roles)
    at_site = Exists(memberships.filter(site_id=OuterRef(site_field)))
    study_wide = Exists(memberships.filter(site__isnull=True))
    return queryset.filter(Q(study_wide) | Q(at_site))


def sites_visible_to(user, roles: Iterable[str] | None = None) -> models.QuerySet[Site]:
    """Sites where the user holds any of `roles` (every site for a study-wide membership)."""
    return scope_queryset(Site.objects.all(), user, site_field="pk", roles=roles)


def has_role(user, roles: Iterable[str], site: Site | int | None = None) -> bool:
    """Whether the user holds one of `roles` at `site` (or anywhere, when site is None)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if is_unrestricted(user):
        return True
    memberships = _memberships(user, roles)
    if site is None:
        return memberships.exists()
    site_id = site.pk if isinstance(site, Site) else site
    return memberships.filter(Q(site__isnull=True) | Q(site_id=site_id)).exists()


def roles_of(user) -> set[str]:
    """Every role the user holds somewhere (for menus; never for object access)."""
    if user is None or not user.is_authenticated:
        return set()
    return set(SiteMembership.objects.filter(user_id=user.pk).values_list("role", flat=True))


class SiteScopedQuerySet(models.QuerySet):
    """Querysets of site-owned models; `site_field` is the lookup path from the model to its Site."""

    site_field = "site"

    def visible_to(self, user, roles: Iterable[str] | None = None):
        return scope_queryset(self, user, site_field=self.site_field, roles=roles)


def scoped_queryset_class(site_field: str) -> type[SiteScopedQuerySet]:
    """A SiteScopedQuerySet subclass for models whose site sits at `site_field` (e.g. "patient__site")."""
    return type(f"SiteScopedQuerySet_{site_field}", (SiteScopedQuerySet,), {"site_field": site_field})
