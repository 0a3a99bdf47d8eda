"""A central pathologist's read in a real headless Chromium: sign in, open the queue, claim a case, see it
blinded, submit the read, and see the local read revealed."""

import os
from decimal import Decimal

import pytest

from registry.pathology.models import CaseStatus, CentralReview, ReviewCase
from tests.factories.pathology import LOCAL_KI67, ready_case
from tests.factories.sites import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls in the test are synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        yield tab
        context.close()
        browser.close()


def test_pathologist_claims_and_submits_a_blinded_read(live_server, page, site_a, pathologist):
    case = ready_case(site=site_a, receiver=pathologist, diagnosis="NET_G3", ki67=LOCAL_KI67)
    page.goto(f"{live_server.url}/accounts/login/?next=/pathology/")
    page.fill("#id_username", pathologist.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#queue")
    row = page.locator(f"tr[data-case='{case.pk}']")
    assert case.patient.study_id in row.inner_text()
    row.get_by_role("button", name="Claim").click()
    page.wait_for_selector("#review-form")
    body = page.content()
    assert str(LOCAL_KI67) not in body and "local-read" not in body and "blinding-note" in body
    page.check("input[name=adequate_material][value=true]")
    page.select_option("#id_central_diagnosis", "NEC_large_cell")
    page.select_option("#id_differentiation", "poor")
    page.select_option("#id_morph_organoid_pattern", "absent")
    page.select_option("#id_morph_desmoplastic_stroma", "present")
    page.fill("#id_ki67_central_percent", "76.5")
    page.fill("#id_ki67_central_cells_counted", "900")
    page.select_option("#id_p53_ihc", "aberrant")
    page.select_option("#id_rb1_ihc", "lost")
    page.click("#submit-review")
    page.wait_for_selector("#local-read")
    assert str(LOCAL_KI67) in page.inner_text("#local-read")
    assert "Discordant" in page.inner_text("#local-read")
    review = CentralReview.objects.get(case=case)
    assert (review.reviewer_id, review.central_diagnosis, review.ki67_central_percent, review.cell_type) == (
        pathologist.pk, "NEC_large_cell", Decimal("76.5"), "large_cell")
    assert ReviewCase.objects.get(pk=case.pk).status == CaseStatus.SECOND_REVIEW
