"""The monitoring section in Chromium at tablet (820 px) and phone (375 px) widths: the
hold warning appears at the vitals as soon as the pre-infusion systolic is 250, the
decision and reason sit under it, and an adverse-event row is added. Screenshots
(infusion-monitoring-820.png, -375.png) go to tests/screenshots.py's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, require_playwright
from tests.browser.test_infusion_day import (  # noqa: F401
    server,
    settle,
    sign_in_and_register,
    type_into,
    widget,
)
from tests.browser.test_infusion_tablet import open_tab
from tests.screenshots import SHOTS

TIMEOUT_MS = 20_000


def _shot_at(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1100})
    settle(page)
    widget(page, "vital_bp_sys_before").evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"infusion-monitoring-{width}.png"))


@pytest.mark.browser
def test_the_hold_warning_and_adverse_events_on_tablet_and_phone(server):  # noqa: F811
    sync_playwright = require_playwright()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            sign_in_and_register(page, server)
            widget(page, "log_infusion").get_by_role("button").click()
            page.get_by_role("heading", name="Log infusion").wait_for()
            widget(page, "start_course").get_by_role("button").click()
            page.get_by_text("Course 1 (induction) started.").wait_for()
            open_tab(page, "2 Before")  # the vitals before the infusion and the hold rule
            type_into(page, "vital_bp_sys_before", "250")
            type_into(page, "vital_bp_dia_before", "90")
            page.get_by_text("250/90 mmHg is above the protocol's hold rule").wait_for()
            widget(page, "infusion_bp_decision").wait_for()  # the decision under the vitals
            SHOTS.mkdir(parents=True, exist_ok=True)
            for width in (820, 375):
                _shot_at(page, width)
            page.set_viewport_size({"width": 1400, "height": 1000})
            open_tab(page, "3 Monitoring")  # sedation, dissociation, adverse events
            type_into(page, "infusion_ae_count", "1")
            widget(page, "infusion_ae_1_action").wait_for()
        except Exception:
            page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp"))
                                     / "infusion_monitoring_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
