"""Demo sites and users (demo only: passwords are printed so a new user can sign in)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from registry.sites.models import Country, Role, Site, SiteMembership

DEMO_SITES = (
    ("OUS", "Oslo University Hospital", Country.NORWAY),
    ("HUS", "Haukeland University Hospital, Bergen", Country.NORWAY),
    ("RH", "Rigshospitalet, Copenhagen", Country.DENMARK),
    ("AUH", "Aarhus University Hospital", Country.DENMARK),
    ("OUH", "Odense University Hospital", Country.DENMARK),
    ("UAS", "Uppsala University Hospital", Country.SWEDEN),
    ("SUS", "Skåne University Hospital, Lund", Country.SWEDEN),
)

#: (username, role, site code or None for study-wide, is_staff)
DEMO_USERS = (
    ("coordinator.ous", Role.SITE_COORDINATOR, "OUS", False),
    ("investigator.ous", Role.SITE_INVESTIGATOR, "OUS", False),
    ("coordinator.hus", Role.SITE_COORDINATOR, "HUS", False),
    ("coordinator.rh", Role.SITE_COORDINATOR, "RH", False),
    ("coordinator.auh", Role.SITE_COORDINATOR, "AUH", False),
    ("coordinator.ouh", Role.SITE_COORDINATOR, "OUH", False),
    ("coordinator.uas", Role.SITE_COORDINATOR, "UAS", False),
    ("coordinator.sus", Role.SITE_COORDINATOR, "SUS", False),
    ("monitor.nordic", Role.MONITOR, "OUS", False),
    ("datamanager", Role.DATA_MANAGER, None, True),
    ("pathologist.perren", Role.CENTRAL_PATHOLOGIST, None, False),
    ("pathologist.couvelard", Role.CENTRAL_PATHOLOGIST, None, False),
    ("statistician", Role.STATISTICIAN, None, False),
)
EXTRA_MONITOR_SITES = ("HUS", "RH")


def demo_password(username: str) -> str:
    return f"demo-{username.split('.')[0]}-2026"


@transaction.atomic
def seed_sites_and_users() -> list[tuple[str, str, str]]:
    """Create the demo sites, users and memberships if missing; return (username, password, roles)."""
    sites = {}
    for code, name, country in DEMO_SITES:
        sites[code], _ = Site.objects.get_or_create(code=code, defaults={"name": name, "country": country})
    User = get_user_model()
    credentials = []
    admin, created = User.objects.get_or_create(username="admin", defaults={
        "is_staff": True, "is_superuser": True, "email": "admin@localhost"})
    if created:
        admin.set_password(demo_password("admin"))
        admin.save()
    credentials.append(("admin", demo_password("admin"), "system administrator (superuser)"))
    for username, role, site_code, is_staff in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": is_staff, "email": f"{username}@localhost"})
        if created:
            user.set_password(demo_password(username))
            user.save()
        site_codes = [site_code] + (list(EXTRA_MONITOR_SITES) if role == Role.MONITOR else [])
        for code in site_codes:
            SiteMembership.objects.get_or_create(user=user, site=sites[code] if code else None, role=role)
        where = ", ".join(c for c in site_codes if c) or "all sites"
        credentials.append((username, demo_password(username), f"{role.label} @ {where}"))
    return credentials
