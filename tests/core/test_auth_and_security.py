"""Sign-in, lock-out, token API access, health, and the production hardening."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

from tests.celery_worker import worker_database_url
from tests.factories.sites import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_signs_in_and_shows_the_users_roles(client, coordinator_a):
    response = client.post(reverse("login"), {"username": "coord_a", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert b"Site coordinator" in response.content or b"site_coordinator" in response.content


def test_pages_require_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_repeated_failed_logins_lock_the_account(client, coordinator_a):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "coord_a", "password": "wrong-password"})
    response = client.post(reverse("login"), {"username": "coord_a", "password": PASSWORD})
    assert response.status_code == 429
    assert b"locked" in response.content


def test_logout_requires_post_and_ends_the_session(client, coordinator_a):
    client.force_login(coordinator_a)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_password_change_page_changes_the_password(client, coordinator_a):
    client.force_login(coordinator_a)
    new = "a-new-long-passphrase-7"
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    coordinator_a.refresh_from_db()
    assert coordinator_a.check_password("a-new-long-passphrase-7")


def test_api_accepts_token_and_rejects_basic_auth(api_client, coordinator_a, site_a):
    assert api_client(coordinator_a).get("/api/v1/sites/").status_code == 200
    basic = api_client()
    basic.credentials(HTTP_AUTHORIZATION="Basic Y29vcmRfYTpjb3JyZWN0LWhvcnNlLWJhdHRlcnktOQ==")
    assert basic.get("/api/v1/sites/").status_code == 401


def test_api_site_list_is_scoped_for_member_other_site_and_outsider(
    api_client, site_a, site_b, coordinator_a, coordinator_b, outsider
):
    codes = lambda user: [s["code"] for s in api_client(user).get("/api/v1/sites/").json()["results"]]  # noqa: E731
    assert codes(coordinator_a) == ["OUS"]
    assert codes(coordinator_b) == ["AUH"]
    assert codes(outsider) == []
    assert api_client(coordinator_b).get(f"/api/v1/sites/{site_a.pk}/").status_code == 404
    assert api_client(outsider).get(f"/api/v1/sites/{site_a.pk}/").status_code == 404
    assert api_client(coordinator_a).get(f"/api/v1/sites/{site_a.pk}/").status_code == 200


def test_security_headers_are_sent(client):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_health_endpoint_reports_components_and_503_without_worker(client):
    response = client.get("/health")
    body = response.json()
    assert body["components"]["database"]["status"] == "up"
    assert body["components"]["broker"]["status"] == "up"
    assert body["components"]["worker"]["status"] == "down"
    assert response.status_code == 503


def _production_env(**extra):
    # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; production must never run with it.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        "REGISTRY_ENV": "production",
        "SECRET_KEY": "prod-test-" + "k" * 60,
        "ALLOWED_HOSTS": "registry.example.org",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "DEBUG": "",
        **extra,
    }


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=_production_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(("override", "message"), [
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
    ({"DEBUG": "true"}, "DEBUG"),
    ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL"),
])
def test_production_refuses_to_start_with_unsafe_settings(override, message):
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR, env=_production_env(**override), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_api_throttle_reports_limits_in_headers_and_answers_429(api_client, coordinator_a, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    # The rates are read once into the throttle class; patch them there (monkeypatch restores them).
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "user": "3/min"})
    client = api_client(coordinator_a)
    first = client.get("/api/v1/sites/")
    assert first["X-RateLimit-Limit"] == "3"
    assert first["X-RateLimit-Remaining"] == "2"
    client.get("/api/v1/sites/")
    client.get("/api/v1/sites/")
    blocked = client.get("/api/v1/sites/")
    assert blocked.status_code == 429
    assert blocked["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" in blocked
