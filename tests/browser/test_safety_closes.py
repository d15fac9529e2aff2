"""In a real Chromium: the overdue mark, one visit's pre and post alerts closed with one
action, then a second visit closed right after (the picker holds no stale choice).
Screenshots of the Safety page at phone (375 px) and tablet (820 px) widths.

Note: this path also passed with the former selection code; the regression itself is
pinned by tests/pages/test_safety_page_alerts.py (the reset value travels to the browser
with set_value)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from data.store.audit import utcnow
from data.store.db import read_session, write_session
from models.tables import SafetyAlert
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, app_server, require_playwright
from tests.browser.test_infusion_day import TIMEOUT_MS, settle, widget
from tests.clinical_factories import log, make_course, make_patient, score
from tests.factories import PASSWORD, make_user
from tests.screenshots import SHOTS

pytestmark = pytest.mark.browser


@pytest.fixture
def server(store_url):
    clin = make_user("dr.safe", "clinician", ("CL1",))
    for code, items in (("P-OLD", [0] * 8 + [2]), ("P-NEW", [0] * 8 + [1])):
        log(clin, make_course(clin, make_patient(clin, code=code)),
            scores=[score("PHQ-9", "pre", items), score("PHQ-9", "post", items)])
    with write_session() as session:  # P-OLD's alerts opened 30 h ago: overdue
        for alert in session.exec(select(SafetyAlert)).all():
            if alert.item9_value == 2:
                alert.opened_at = utcnow() - timedelta(hours=30)
                session.add(alert)
    with app_server(store_url) as url:
        yield url


def select_option(page, key: str, text: str) -> None:
    """Type into the selectbox's filter and take the first match with Enter."""
    box = widget(page, key).get_by_role("combobox")
    box.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    settle(page)


def statuses() -> list[str]:
    with read_session() as session:
        return sorted(a.status for a in session.exec(select(SafetyAlert)).all())


def test_two_closes_in_a_row_in_the_browser(server):
    sync_playwright = require_playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server)
        widget(page, "sign_in_username").locator("input").fill("dr.safe")
        widget(page, "sign_in_password").locator("input").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Today").wait_for()  # a clinician's start page
        page.get_by_role("link", name="Review the open alerts").first.click()
        page.get_by_role("heading", name="Safety alerts").wait_for()
        settle(page)
        page.get_by_text("2 alert(s) open longer than 24 hours").wait_for()
        for width in (375, 820):
            page.set_viewport_size({"width": width, "height": 1400})
            page.wait_for_timeout(400)
            page.screenshot(path=str(SHOTS / f"safety_alerts_{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1400, "height": 1000})
        settle(page)

        select_option(page, "alert_to_close", "P-OLD")  # the visit: pre and post together
        settle(page)
        select_option(page, "alert_action", "Safety plan reviewed")
        settle(page)
        widget(page, "close_alert").get_by_role("button").click()
        page.get_by_text("2 alerts of this visit closed").wait_for()
        settle(page)
        picker = widget(page, "alert_to_close")
        assert "P-OLD" not in picker.inner_text()  # no stale choice left in the browser

        select_option(page, "alert_to_close", "P-NEW")
        settle(page)
        select_option(page, "alert_action", "Safety plan reviewed")
        settle(page)
        widget(page, "close_alert").get_by_role("button").click()
        page.get_by_text("No open alert in your clinics.").wait_for()
        assert page.get_by_text("choose the alert to close").count() == 0
        browser.close()
    assert statuses() == ["closed"] * 4
