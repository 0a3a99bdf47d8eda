"""In a real browser: a monitor raises a query on a submitted treatment line, the site coordinator answers it
and corrects the value (from the query page: the correction goes through the CRF services with the answer as
the reason for change), and the monitor closes it."""

import os

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

import pytest  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from registry.queries.models import DataQuery, QueryStatus  # noqa: E402
from tests.factories.sites import PASSWORD  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]




@pytest.fixture
def browser(live_server, regimens):
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(browser, base: str, user, next_url: str):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    return context, page


def test_monitor_raises_site_answers_and_corrects_monitor_closes(browser, live_server, site_a, coordinator_a,
                                                                 monitor_a):
    from tests.factories.crfs import complete_casebook
    from tests.factories.queries import submit_all

    forms = submit_all(complete_casebook(site=site_a, user=coordinator_a), coordinator_a)
    line = forms["treatment"]
    base = live_server.url

    # The monitor raises a query on n_cycles from the form's verification page.
    context, page = sign_in(browser, base, monitor_a, f"/queries/forms/treatment/{line.pk}/")
    expect(page.locator("#field-n_cycles")).to_contain_text("4")
    page.locator("#field-n_cycles").get_by_role("link", name="Raise query").click()
    expect(page.locator("#id_field")).to_have_value("n_cycles")
    page.fill("#id_text", "The chemotherapy chart lists 6 cycles. Please check.")
    page.get_by_role("button", name="Raise query").click()
    expect(page.locator("#query-status")).to_have_text("Open")
    query = DataQuery.objects.get(origin="manual")
    context.close()

    # The site coordinator finds it on the work list, corrects the value and answers.
    context, page = sign_in(browser, base, coordinator_a, "/queries/worklist/")
    page.locator("#my-open-queries").get_by_role("link", name=f"Q{query.pk}").click()
    expect(page.locator("#current-value")).to_have_text("4")
    page.select_option("#id_reason", "corrected")
    page.fill("#id_value", "6")
    page.fill("#id_text", "Transcription error: 6 cycles were given.")
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_text("Your answer was recorded.")).to_be_visible()
    expect(page.locator("#query-status")).to_have_text("Answered")
    expect(page.locator("#current-value")).to_have_text("6")
    context.close()

    # The monitor reviews the answer and closes the query.
    context, page = sign_in(browser, base, monitor_a, f"/queries/{query.pk}/")
    expect(page.locator("#thread")).to_contain_text("Transcription error")
    page.fill("#id_close_text", "Confirmed against the chart.")
    page.get_by_role("button", name="Close query").click()
    expect(page.locator("#query-status")).to_have_text("Closed")
    context.close()

    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and query.closed_by == monitor_a
    assert query.response_reason == "corrected"
    line.refresh_from_db()
    assert line.n_cycles == 6 and line.version == 3  # submitted v2 → corrected v3
