"""In a real Chromium: a clinician signs in and lands on Today (clinic in Pacific/Auckland);
no "Deploy" button or developer menu (.streamlit/config.toml toolbarMode = "minimal");
the list at phone (375 px) and tablet (820 px) widths; one tap on a row opens the
infusion screen of that patient; the same on the Patients list (opens the record). Dates are relative to the clinic's real today (the
server's clock cannot be frozen), hand-computed: infusion 1 today, and a booster 45 days
ago (>= 42, the booster interval)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.clinic.infusions import log_infusion, start_course
from data.selfreport.clinic_settings import update_clinic_settings
from data.store.clinic_time import today_in
from data.store.db import write_session
from models.access import SYSTEM
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, app_server, require_playwright
from tests.browser.test_infusion_day import settle
from tests.clinical_factories import infusion_input, make_patient
from tests.factories import PASSWORD, make_user
from tests.screenshots import SHOTS

pytestmark = pytest.mark.browser
ZONE = "Pacific/Auckland"


@pytest.fixture
def server(store_url):
    """`streamlit run dashboard.py` as deployed: the project's .streamlit/config.toml
    applies (no --server.headless flag here: the config sets it)."""
    with app_server(store_url) as url:
        yield url


@pytest.fixture
def store(server):
    actor = make_user("dr.today", "clinician", ("CL1",))
    with write_session() as session:
        update_clinic_settings(session, actor=SYSTEM, code="CL1", changes={"time_zone": ZONE})
    day = today_in(ZONE)
    for code, infusions in (("NZ-1", [(day, "induction")]),
                            ("NZ-2", [(day - timedelta(days=60), "induction"),
                                      (day - timedelta(days=45), "booster")])):
        patient = make_patient(actor, code)
        with write_session() as session:
            course = start_course(session, actor=actor, patient_id=patient,
                                  start_date=infusions[0][0], today=day)
            for number, (on, kind) in enumerate(infusions, start=1):
                log_infusion(session, actor=actor, course_id=course.id, today=day,
                             infusion=infusion_input(number, administered_on=on,
                                                     infusion_type=kind))
    return server


def test_today_on_phone_and_tablet_then_one_tap_opens_the_infusion_screen(store):
    sync_playwright = require_playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 820, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(store)
        page.get_by_role("textbox", name="Username").fill("dr.today")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Today").wait_for()
        settle(page)
        assert page.get_by_text(f"({ZONE})").count() == 1
        assert page.get_by_role("button", name="Deploy").count() == 0
        assert page.get_by_test_id("stAppDeployButton").count() == 0
        table = page.get_by_test_id("stDataFrame")
        table.wait_for()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "today_820.png"))
        page.set_viewport_size({"width": 375, "height": 800})
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / "today_375.png"))
        page.set_viewport_size({"width": 820, "height": 1000})
        page.wait_for_timeout(500)
        # rows in code order: NZ-1 (infusion today), NZ-2 (booster due); tap the 2nd row's
        # selection cell (the grid is a canvas: rows are 35 px under a 35 px header)
        box = table.bounding_box()
        page.mouse.click(box["x"] + 15, box["y"] + 35 + 35 + 17)
        page.get_by_role("heading", name="Log infusion").wait_for()
        page.wait_for_timeout(500)
        settle(page)
        assert page.get_by_text("Patient code: NZ-2").count() == 1
        page.screenshot(path=str(SHOTS / "today_opened_infusion.png"))
        # the infusion screen starts with the sidebar collapsed (the form needs the width):
        # back to the record, whose sidebar is open again
        page.get_by_role("button", name="Back to the patient record").click()
        page.get_by_role("heading", name="Patient record").wait_for()
        settle(page)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Patients").click()
        page.get_by_role("heading", name="Patients").wait_for()
        settle(page)
        table = page.get_by_test_id("stDataFrame")
        table.wait_for()
        page.screenshot(path=str(SHOTS / "patients_820.png"))
        page.set_viewport_size({"width": 375, "height": 800})
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / "patients_375.png"))
        page.set_viewport_size({"width": 820, "height": 1000})
        page.wait_for_timeout(500)
        box = table.bounding_box()  # newest first: NZ-2, NZ-1; tap NZ-1 (the 2nd row)
        page.mouse.click(box["x"] + 15, box["y"] + 35 + 35 + 17)
        page.get_by_role("heading", name="Patient record").wait_for()
        settle(page)
        assert page.get_by_text("Patient code: NZ-1").count() == 1
        browser.close()
