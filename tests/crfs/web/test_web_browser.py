"""A site coordinator's day in a real browser: sign in, enrol a patient, fill the baseline, add a treatment
line and a response evaluation, trip an edit check (evaluation before the line start) and fix it, submit."""

import os
import re

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from registry.crfs.models import Regimen  # noqa: E402
from tests.factories.sites import PASSWORD  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
SCREENSHOTS = Path(settings.BASE_DIR) / ".data" / "screenshots"


def day(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


@pytest.fixture
def page(live_server, regimens):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()


def test_coordinator_enrols_fills_forms_fixes_an_edit_check_and_submits(page, live_server, coordinator_a,
                                                                        site_a):
    base = live_server.url
    page.goto(f"{base}/accounts/login/?next=/patients/")
    page.fill("#id_username", coordinator_a.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    expect(page.get_by_text("No patients match.")).to_be_visible()

    # Enrol.
    page.click("text=Enrol patient")
    expect(page.locator("#id_site")).to_have_value(str(site_a.pk))
    page.fill("#id_registration_date", day(195))
    page.select_option("#id_consent_obtained", "yes")
    page.fill("#id_consent_date", day(196))
    for criterion in ("age_at_registration_ge_18", "histological_confirmation", "ki67_gt_20_or_mitoses_gt_20",
                      "digestive_primary_or_gi_cup"):
        page.select_option(f"#id_{criterion}", "true")
    page.fill("#id_date_of_diagnosis", day(200))
    page.select_option("#id_registration_timing", "prospective_at_diagnosis")
    page.get_by_role("button", name="Enrol patient").click()
    expect(page.get_by_text(re.compile(r"Patient enrolled with study id NO-OUS-0001\w?\."))).to_be_visible()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Patient NO-OUS-0001\w?$"))
    study_id = heading.inner_text().removeprefix("Patient ").strip()
    patient_url = page.url

    # Baseline: fill and submit in one go.
    page.locator("#family-baseline").get_by_role("link", name="Start").click()
    page.select_option("#id_sex", "female")
    page.fill("#id_date_of_birth", "1960-01-01")
    page.select_option("#id_ecog_ps", "1")
    page.fill("#id_ps_assessment_date", day(195))
    page.fill("#id_weight_kg", "64.5")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Demographics and baseline status: submitted (version 2).")).to_be_visible()
    expect(page.get_by_text("Reason for change")).to_be_visible()

    # A treatment line.
    page.goto(patient_url)
    page.get_by_role("link", name="Add line").click()
    page.fill("#id_line_number", "1")
    page.select_option("#id_intent", "palliative")
    page.select_option("#id_regimen", str(Regimen.objects.get(code="carbo_etop").pk))
    page.select_option("#id_etoposide_route", "iv")
    page.fill("#id_start_date", day(180))
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Treatment lines: saved as draft (version 1).")).to_be_visible()
    expect(page.get_by_text("No evaluations yet.")).to_be_visible()

    # A response evaluation dated before the line started: the inline check names the rule.
    page.get_by_role("link", name="Add evaluation").click()
    page.select_option("#id_method", "ct")
    page.select_option("#id_criteria", "recist_1_1")
    page.select_option("#id_new_lesions", "false")
    page.select_option("#id_overall_response", "PR")
    page.fill("#id_eval_date", day(185))
    page.locator("#id_eval_date").dispatch_event("change")
    inline = page.locator("#errors-eval_date")
    expect(inline).to_contain_text("EC08: eval_date")
    expect(inline).to_contain_text("must be after the start_date")
    # Submitting anyway is refused by the server with the same message, and the input is kept.
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#errors-eval_date")).to_contain_text("EC08: eval_date")
    expect(page.get_by_text("Please correct the fields marked below.")).to_be_visible()
    expect(page.locator("#id_overall_response")).to_have_value("PR")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "evaluation_form_error.png"), full_page=True)

    # Fix the date: the inline error goes away; submit.
    page.fill("#id_eval_date", day(130))
    page.locator("#id_eval_date").dispatch_event("change")
    expect(page.locator("#errors-eval_date")).to_be_empty()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Response evaluations: submitted (version 2).")).to_be_visible()

    # The patient page shows the forms, the timeline with the evaluation and best response.
    page.goto(patient_url)
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Line 1")
    expect(timeline).to_contain_text("Carboplatin + etoposide")
    expect(timeline).to_contain_text("Best response: PR")
    expect(timeline.locator(".evaluations")).to_contain_text(day(130))
    expect(page.locator("#family-baseline + tr")).to_contain_text("submitted")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "patient_page.png"), full_page=True)

    # The dashboard's matrix shows the new patient's statuses.
    page.goto(f"{base}/patients/")
    row = page.locator("tr", has_text=study_id)
    expect(row).to_contain_text("submitted")
    expect(row).to_contain_text("draft")
    expect(row).to_contain_text("missing")
