"""Issue 15 in Chromium: a page left open past the idle limit clears itself, without a
click (ui.session.idle_watch). The server runs with SESSION_IDLE_MINUTES=1; the test
opens the patient list (names on screen), waits 90 s without touching the page, and
expects the sign-in form and no patient name. About 2 minutes."""

from __future__ import annotations

import pytest

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, app_server, require_playwright
from tests.factories import PASSWORD
from tests.security.test_untrusted_text import LINK, make_untrusted_record


@pytest.fixture
def idle_server(store_url):
    make_untrusted_record()
    with app_server(store_url, SESSION_IDLE_MINUTES="1") as url:
        yield url


@pytest.mark.browser
def test_an_idle_page_clears_itself_without_a_click(idle_server):
    sync_playwright = require_playwright()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(idle_server)
            page.locator(".st-key-sign_in_username input").fill("dr.inert")
            page.locator(".st-key-sign_in_password input").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Today").wait_for()  # clinicians, directors
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Patients").click()
            page.get_by_role("heading", name="Patients").wait_for()
            picker = page.locator(".st-key-open_patient").get_by_role("combobox")
            assert LINK in picker.input_value()  # the newest patient's name on screen
            page.wait_for_timeout(90_000)  # no click, no key: 60 s idle + one watch period
            page.get_by_role("heading", name="Sign in").wait_for(timeout=30_000)
            assert page.locator(".st-key-open_patient").count() == 0
            assert LINK not in page.inner_text("body")
        finally:
            browser.close()
