"""Two-factor sign-in (TOTP, django-otp) for the roles that can see or change data across sites.

Data managers, central pathologists and administrators (staff/superusers) must confirm a TOTP device and
verify a code every session before any page other than sign-in/out and the 2FA pages themselves
(21 CFR Part 11 §11.300, research/reliability.md §2.2). Switched by REGISTRY_REQUIRE_2FA (on in production).
"""

from __future__ import annotations

import base64
from io import BytesIO

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

from registry.sites.models import Role, SiteMembership

PRIVILEGED_ROLES = (Role.DATA_MANAGER, Role.CENTRAL_PATHOLOGIST)
EXEMPT_PREFIXES = ("/accounts/", "/static/", "/health", "/api/", "/redcap/api/")


def requires_two_factor(user) -> bool:
    """Whether this user must use a second factor (privileged role, staff or superuser)."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return SiteMembership.objects.filter(user_id=user.pk, role__in=PRIVILEGED_ROLES).exists()


class RequireTwoFactorMiddleware:
    """Sends a privileged user without a verified second factor to set up or verify TOTP."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (settings.REGISTRY_REQUIRE_2FA and request.user.is_authenticated
                and not request.path.startswith(EXEMPT_PREFIXES)
                and not request.user.is_verified() and requires_two_factor(request.user)):
            target = "twofactor_verify" if user_has_device(request.user) else "twofactor_setup"
            return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)


def qr_code_data_uri(config_url: str) -> str:
    """An SVG QR code of the otpauth:// URL as a data: URI (the CSP allows data: images, not inline scripts)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
