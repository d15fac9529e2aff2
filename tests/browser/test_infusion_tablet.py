"""The infusion screen on a tablet in portrait (820 x 1180, issue 12 item 2) and the PHQ-9
item-9 prompt (item 9 left blank: a prompt at the field, and Save refuses it with the
problem at the top and under item 9; nothing saved). Screenshots go to tests/screenshots.py's
folder (docs/screenshots/ only with UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import pytest

from models.tables import Assessment, Infusion
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, require_playwright
from tests.browser.test_infusion_day import (  # noqa: F401 (server is a fixture)
    TIMEOUT_MS,
    choose,
    server,
    settle,
    sign_in_and_register,
    type_into,
    widget,
)
from tests.pages.conftest import count
from tests.screenshots import SHOTS

TABLET = {"width": 820, "height": 1180}


def tablet_shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_tab(page, label: str) -> None:
    page.get_by_role("tab", name=label).click()
    settle(page)


@pytest.mark.browser
def test_tablet_sections_and_the_item_9_prompt(server):  # noqa: F811
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
            page.set_viewport_size(TABLET)
            settle(page)
            # the sidebar does not squeeze the fields: the form keeps the screen's width
            main = page.get_by_test_id("stMain").bounding_box()
            field = widget(page, "infusion_weight_kg").bounding_box()
            assert main["width"] >= 760, main
            assert field["width"] >= 300, field  # two fields a row at 820 px
            type_into(page, "infusion_weight_kg", "70")
            type_into(page, "infusion_dose_mg_per_kg", "0.5")
            page.get_by_text("35.0 mg", exact=True).wait_for()
            tablet_shot(page, "infusion-tablet-details")
            open_tab(page, "2 Before")
            for n in range(1, 9):
                choose(page, f"pre_PHQ-9_item_{n}", "1 · Several days")
            prompt = widget(page, "pre_PHQ-9_item_9").locator("xpath=following::*"
                                                              "[contains(., 'Item 9 is required')]")
            page.get_by_text("Item 9 is required: answer it, or tick 'prefers not to "
                             "answer'.", exact=False).first.wait_for()
            assert prompt.count() >= 1
            page.get_by_text("prorated for 1 missing", exact=False).first.wait_for()
            page.get_by_text("Item 9 is required", exact=False).first.scroll_into_view_if_needed()
            tablet_shot(page, "infusion-tablet-item9-prompt")
            open_tab(page, "5 Review & save")
            widget(page, "save_infusion").get_by_role("button").click()
            settle(page)
            page.get_by_text("1 thing to fix before saving", exact=False).wait_for()
            page.get_by_text("PHQ-9 before the infusion, question 9: required",
                             exact=False).first.wait_for()
            # Save opened the section of the problem; the message is under item 9 too
            assert page.get_by_role("tab", name="2 Before").get_attribute(
                "aria-selected") == "true"
            under_item9 = widget(page, "pre_PHQ-9_item_9").locator(
                "xpath=following-sibling::*[1]")
            assert "required: answer item 9" in under_item9.inner_text()
            page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                          " (m || window).scrollTo(0, 0); }")
            tablet_shot(page, "infusion-tablet-not-saved")
            assert (count(Infusion), count(Assessment)) == (0, 0)
        finally:
            browser.close()
