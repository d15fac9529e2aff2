"""End to end in a real Chromium: a clinician signs in, registers a patient, logs an
infusion with a pre PHQ-9 whose item 9 is 1 and a post PHQ-9, sees the alert banner, and
closes the alert with the action taken. Screenshots of each step go to tests/screenshots.py's folder
(the README shows them).

Skipped, with the reason, only when /usr/bin/chromium (or Playwright) is missing and the
CI environment variable is not set; under CI=true a missing browser fails the test.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlmodel import select

from data.store.db import read_session
from models.tables import Assessment, Infusion, Patient, SafetyAlert
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, app_server, require_playwright
from tests.factories import PASSWORD, make_user
from tests.screenshots import SHOTS

TIMEOUT_MS = 20_000


@pytest.fixture
def server(store_url):
    """`streamlit run dashboard.py` against the test's store, with a clinician in it."""
    make_user("dr.day", "clinician", ("CL1",))
    with app_server(store_url) as url:
        yield url


def settle(page) -> None:
    """Wait until Streamlit has finished the rerun a widget change started."""
    page.wait_for_timeout(200)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for()


def widget(page, key: str):
    return page.locator(f".st-key-{key}")


def type_into(page, key: str, text: str) -> None:
    field = widget(page, key).locator("input, textarea").first
    field.click()
    field.fill(text)
    field.press("Enter" if field.evaluate("e => e.tagName") == "INPUT" else "Tab")
    settle(page)


def type_date(page, key: str, yyyymmdd: str) -> None:
    """Type into the date field's segments, then click away: the date commits on blur."""
    widget(page, key).locator("[role=spinbutton][data-type=year]").click()
    page.keyboard.type(yyyymmdd)
    page.keyboard.press("Enter")
    page.locator("h1").first.click()
    settle(page)


def choose(page, key: str, option: str) -> None:
    """A radio answer: click its label (the input itself is visually hidden)."""
    widget(page, key).get_by_text(option, exact=True).click()
    settle(page)


def select_option(page, key: str, option: str) -> None:
    widget(page, key).get_by_role("combobox").click()
    page.get_by_role("option", name=option).click()
    settle(page)


def shot(page, name: str, height: int = 1000, heading: str | None = None) -> None:
    """A screenshot from the top of the page, or from `heading` (Streamlit scrolls its own
    main container, so a taller viewport, not full_page, shows more of a long form)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": height})
    if heading:
        page.get_by_role("heading", name=heading).evaluate("e => e.scrollIntoView()")
    else:
        page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                      " (m || window).scrollTo(0, 0); }")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})


def sign_in_and_register(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Sign in", exact=True).first.wait_for()
    # Inside the sign-in form, Enter would submit: fill both fields, then click.
    widget(page, "sign_in_username").locator("input").fill("dr.day")
    widget(page, "sign_in_password").locator("input").fill(PASSWORD)
    shot(page, "01_sign_in")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Today").wait_for()  # clinicians, directors
    # Navigate inside the app: a reload would sign the user out (session state dies).
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Patients").click()
    page.get_by_role("heading", name="Patients").wait_for()
    type_into(page, "new_patient_code", "MRN-4711")
    type_into(page, "new_patient_name", "Ada <script>alert(1)</script> Lovelace")
    type_date(page, "new_patient_birth_date", "19811210")
    shot(page, "02_register_patient")
    widget(page, "register_patient").get_by_role("button").click()
    page.get_by_role("heading", name="Patient record").wait_for()
    settle(page)
    shot(page, "03_patient_record", height=1300)


def log_the_infusion(page) -> None:
    widget(page, "log_infusion").get_by_role("button").click()
    page.get_by_role("heading", name="Log infusion").wait_for()
    widget(page, "start_course").get_by_role("button").click()
    page.get_by_text("Course 1 (induction) started.").wait_for()
    type_into(page, "infusion_weight_kg", "70")
    type_into(page, "infusion_dose_mg_per_kg", "0.5")
    page.get_by_text("35.0 mg", exact=True).wait_for()
    page.get_by_role("tab", name="2 Before").click()  # the form's sections are tabs
    settle(page)
    for n in range(1, 10):
        choose(page, f"pre_PHQ-9_item_{n}", "1 · Several days" if n == 9
               else "2 · More than half the days")
    page.get_by_text("PHQ-9 total 17 / 27: moderately severe", exact=True).wait_for()
    shot(page, "04_infusion_with_scores", height=2200)
    page.get_by_role("tab", name="4 After").click()
    settle(page)
    for n in range(1, 10):
        choose(page, f"post_PHQ-9_item_{n}", "0 · Not at all" if n == 9 else "1 · Several days")
    page.get_by_text("PHQ-9 total 8 / 27: mild", exact=True).wait_for()
    page.get_by_role("tab", name="5 Review & save").click()
    settle(page)
    widget(page, "save_infusion").get_by_role("button").click()
    page.get_by_text("Infusion 1 saved with 2 score(s).").wait_for()
    page.get_by_text("1 open suicide-risk alert(s)").first.wait_for()
    settle(page)
    shot(page, "05_saved_alert_banner", height=1200)


def close_the_alert(page) -> None:
    page.get_by_role("link", name="Review the open alerts").first.click()
    page.get_by_role("heading", name="Safety alerts").wait_for()
    settle(page)
    select_option(page, "alert_to_close", "MRN-4711")
    select_option(page, "alert_action", "Suicide risk assessment done (e.g. C-SSRS)")
    type_into(page, "alert_note", "C-SSRS screen: no plan, no intent; safety plan given")
    shot(page, "06_safety_close_alert")
    widget(page, "close_alert").get_by_role("button").click()
    page.get_by_text("No open alert in your clinics.").wait_for()
    settle(page)
    shot(page, "07_alert_closed")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Patient record").click()
    page.get_by_role("heading", name="Correction history").wait_for()
    settle(page)
    shot(page, "08_patient_record_courses", height=1100, heading="Courses")


@pytest.mark.browser
def test_a_clinicians_infusion_day(server):
    sync_playwright = require_playwright()
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            sign_in_and_register(page, server)
            assert page.get_by_text("Name: Ada <script>alert(1)</script> Lovelace").count() == 1
            log_the_infusion(page)
            close_the_alert(page)
            assert page.get_by_text("open suicide-risk alert").count() == 0
        except Exception:
            page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp"))
                                     / "infusion_day_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    with read_session() as session:
        patient = session.exec(select(Patient)).one()
        assert (patient.patient_code, patient.birth_date.isoformat()) == ("MRN-4711",
                                                                          "1981-12-10")
        assert session.exec(select(Infusion.total_dose_mg)).one() == 35.0
        assert sorted(session.exec(select(Assessment.total)).all()) == [8, 17]
        alert = session.exec(select(SafetyAlert)).one()
        assert (alert.item9_value, alert.status, alert.action) == (1, "closed",
                                                                   "risk_assessment")
    print(f"\ninfusion day journey: {time.monotonic() - started:.1f} s")
