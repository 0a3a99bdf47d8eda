"""TOTP second factor for data managers, central pathologists and administrators."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def require_2fa(settings):
    settings.REGISTRY_REQUIRE_2FA = True


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_data_manager_without_device_is_sent_to_setup(client, data_manager):
    client.force_login(data_manager)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("twofactor_setup"))


def test_setup_with_a_valid_code_confirms_the_device_and_opens_the_pages(client, pathologist):
    client.force_login(pathologist)
    page = client.get(reverse("twofactor_setup"))
    assert page.status_code == 200
    assert b"data:image/svg+xml;base64," in page.content
    device = TOTPDevice.objects.get(user=pathologist)
    assert not device.confirmed
    response = client.post(reverse("twofactor_setup"), {"token": current_code(device), "next": "/"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("home")).status_code == 200


def test_wrong_code_is_refused_and_pages_stay_closed(client, data_manager):
    client.force_login(data_manager)
    client.get(reverse("twofactor_setup"))
    device = TOTPDevice.objects.get(user=data_manager)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("twofactor_setup"), {"token": wrong})
    assert response.status_code == 200
    assert b"not valid" in response.content
    assert client.get(reverse("home")).status_code == 302


def test_confirmed_device_requires_verification_each_session(client, data_manager):
    device = TOTPDevice.objects.create(user=data_manager, name="phone", confirmed=True)
    client.force_login(data_manager)
    response = client.get(reverse("home"))
    assert response.url.startswith(reverse("twofactor_verify"))
    client.post(reverse("twofactor_verify"), {"token": current_code(device), "next": "/"})
    assert client.get(reverse("home")).status_code == 200


def test_site_coordinator_needs_no_second_factor(client, coordinator_a):
    client.force_login(coordinator_a)
    assert client.get(reverse("home")).status_code == 200


def test_unverified_privileged_session_cannot_use_the_api(client, data_manager):
    client.force_login(data_manager)
    assert client.get("/api/v1/sites/").status_code in (401, 403)


def test_superuser_admin_requires_second_factor(client):
    from tests.factories.sites import UserFactory

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/").status_code == 302
