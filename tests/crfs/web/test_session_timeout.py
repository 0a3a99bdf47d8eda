"""Idle and absolute session timeouts, and a CRF form posted after the session expired: nothing is saved by
the anonymous post, the user is sent to sign in and back to the form with the input restored (in a real
browser, through the page's sessionStorage copy), and saving then stores exactly what was typed."""

import os

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

import time  # noqa: E402
from urllib.parse import quote  # noqa: E402

import pytest  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.urls import reverse  # noqa: E402

from registry.crfs.models import Baseline  # noqa: E402
from tests.factories.crfs import complete_casebook  # noqa: E402
from tests.factories.patients import PatientFactory  # noqa: E402
from tests.factories.sites import PASSWORD  # noqa: E402


def form_url(baseline) -> str:
    return reverse("crfs:form", args=[baseline.patient_id, "baseline", baseline.pk])


@pytest.mark.django_db
def test_idle_session_expires_but_activity_keeps_it_alive(client, coordinator_a, settings):
    settings.SESSION_COOKIE_AGE = 3
    client.post(reverse("login"), {"username": coordinator_a.username, "password": PASSWORD})
    for _ in range(4):  # 4.8 s of activity, more than the 3 s idle timeout
        assert client.get("/patients/").status_code == 200
        time.sleep(1.2)
    time.sleep(3.5)  # idle past the timeout
    response = client.get("/patients/")
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_absolute_timeout_ends_an_active_session(client, coordinator_a, settings):
    settings.REGISTRY_SESSION_MAX_AGE = 2
    client.force_login(coordinator_a)
    assert client.get("/patients/").status_code == 200
    time.sleep(3.5)  # whole seconds are compared: 3.5 s is past a 2 s limit whatever the rounding
    assert client.get("/patients/").status_code == 302
    assert client.get("/patients/").status_code == 302  # signed out, not just refused once


@pytest.mark.django_db
def test_form_posted_after_expiry_saves_nothing_and_goes_to_sign_in_and_back(client, site_a, coordinator_a):
    baseline = complete_casebook(PatientFactory(site=site_a), user=coordinator_a)["baseline"]
    client.force_login(coordinator_a)
    Session.objects.all().delete()  # the session expired on the server
    response = client.post(form_url(baseline), {"weight_kg": "91", "action": "draft"})
    expected_next = quote(f"{form_url(baseline)}?restore_draft=1", safe="/")
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={expected_next}"
    assert Baseline.objects.get(pk=baseline.pk).version == baseline.version  # nothing saved
    page = client.get(response.url).content.decode()
    assert "Your session expired before the form was saved" in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_keeps_the_input_through_expiry_and_sign_in(live_server, regimens, site_a, coordinator_a,
                                                            settings):
    from playwright.sync_api import expect, sync_playwright

    from tests.crfs.web.test_web_browser import CHROMIUM_ARGS

    baseline = complete_casebook(PatientFactory(site=site_a), user=coordinator_a)["baseline"]
    settings.SESSION_COOKIE_AGE = 6
    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context().new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}{reverse('login')}?next={form_url(baseline)}")
        page.fill("#id_username", coordinator_a.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#id_weight_kg")).to_be_visible()
        page.fill("#id_weight_kg", "66.5")
        page.select_option("#id_ecog_ps", "2")
        time.sleep(7)  # the user is called away: idle past the timeout
        page.get_by_role("button", name="Save draft").click()

        expect(page.get_by_text("Your session expired before the form was saved")).to_be_visible()
        assert Baseline.objects.get(pk=baseline.pk).version == baseline.version
        page.fill("#id_username", coordinator_a.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")

        expect(page.locator("#draft-restored")).to_contain_text("has been put back")
        expect(page.locator("#id_weight_kg")).to_have_value("66.5")
        expect(page.locator("#id_ecog_ps")).to_have_value("2")
        assert "restore_draft" not in page.url
        kept = page.evaluate("window.sessionStorage.getItem('crf-draft:' + window.location.pathname)")
        assert kept is None  # the browser's copy is gone once put back
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_text("saved as draft")).to_be_visible()
        browser.close()
    saved = Baseline.objects.get(pk=baseline.pk)
    assert (float(saved.weight_kg), saved.ecog_ps, saved.version) == (66.5, 2, baseline.version + 1)
