"""The main menu: each entry names a URL and the roles that see it. Apps add their pages here."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from registry.sites.models import Role

SITE_STAFF = {Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR}


@dataclass(frozen=True)
class MenuEntry:
    label: str
    url_name: str
    roles: frozenset[str]


MENU: tuple[MenuEntry, ...] = (
    MenuEntry("Patients", "crfs:dashboard", frozenset(SITE_STAFF | {Role.MONITOR, Role.DATA_MANAGER})),
    MenuEntry("Review queue", "pathology:queue", frozenset({Role.CENTRAL_PATHOLOGIST, Role.DATA_MANAGER})),
    MenuEntry("Pathology material", "pathology:material", frozenset(SITE_STAFF | {Role.DATA_MANAGER})),
    MenuEntry("Notifications", "pathology:notifications", frozenset(SITE_STAFF)),
    MenuEntry("Agreement", "pathology:agreement", frozenset({Role.DATA_MANAGER})),
    MenuEntry("Queries", "queries:list", frozenset(SITE_STAFF | {Role.MONITOR, Role.DATA_MANAGER})),
    MenuEntry("Data quality", "queries:dashboard", frozenset({Role.MONITOR, Role.DATA_MANAGER})),
    MenuEntry("Analyses", "analysis:dashboard", frozenset({Role.STATISTICIAN, Role.DATA_MANAGER})),
    MenuEntry("Exports", "exports:list", frozenset(SITE_STAFF | {Role.STATISTICIAN, Role.DATA_MANAGER})),
)


def menu_for(user, roles: set[str]) -> list[dict]:
    """Entries whose page exists and whose roles the user holds (superusers see all)."""
    entries = []
    for entry in MENU:
        if not (user.is_superuser or roles & entry.roles):
            continue
        try:
            entries.append({"label": entry.label, "url": reverse(entry.url_name)})
        except NoReverseMatch:
            continue
    return entries
