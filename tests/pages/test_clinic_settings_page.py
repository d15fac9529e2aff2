"""Settings page, clinic block: a director sets the on-call contacts, the crisis text
and the schedule of a clinic in their scope; bad values are refused naming the field."""

from __future__ import annotations

from sqlmodel import select

from data.selfreport.clinic_settings import DEFAULT_CRISIS_TEXT
from data.selfreport.schedules import load_schedule
from data.store.db import read_session
from models.tables import Clinic
from tests.factories import make_user
from tests.pages.conftest import go, joined, sign_in


def clinic(code: str = "CL1") -> tuple[Clinic, dict]:
    with read_session() as session:
        row = session.exec(select(Clinic).where(Clinic.code == code)).one()
        return row, load_schedule(session, row)


def test_a_director_sets_a_clinics_oncall_crisis_text_and_schedule(app, store_url):
    make_user("boss", "director", ("CL1", "CL2"))
    go(sign_in(app, "boss"), "pages/settings.py")
    assert app.selectbox(key="clinic_settings_code").options == ["CL1", "CL2"]
    assert f"Patients of CL1 see: {DEFAULT_CRISIS_TEXT}" in joined(app.info)
    app.text_input(key="clinic_email_CL1").set_value("oncall@clinic.test")
    app.text_input(key="clinic_webhook_CL1").set_value("https://hooks.clinic.test/x")
    app.text_area(key="clinic_crisis_CL1").set_value("Call 112 now.")
    app.multiselect(key="clinic_schedule_after_first_CL1").set_value(["PHQ-9"])
    app.button(key="save_clinic_settings").click().run()
    assert not app.exception
    assert "Saved the settings of clinic CL1." in joined(app.success)
    assert "Patients of CL1 see: Call 112 now." in joined(app.info)
    row, schedule = clinic()
    assert (row.oncall_email, row.oncall_webhook, row.crisis_text) == (
        "oncall@clinic.test", "https://hooks.clinic.test/x", "Call 112 now.")
    assert schedule == {"after_first": ["PHQ-9"]}


def test_a_bad_webhook_is_refused_naming_the_field(app, store_url):
    make_user("boss", "director", ("CL1",))
    go(sign_in(app, "boss"), "pages/settings.py")
    app.text_input(key="clinic_webhook_CL1").set_value("ftp://hooks.clinic.test")
    app.button(key="save_clinic_settings").click().run()
    assert "oncall_webhook: must be an http" in joined(app.error)
    assert clinic()[0].oncall_webhook == ""


def test_a_director_sets_the_clinic_time_zone(app, store_url):
    make_user("boss", "director", ("CL1",))
    go(sign_in(app, "boss"), "pages/settings.py")
    zone = app.selectbox(key="clinic_time_zone_CL1")
    assert zone.value == "UTC" and "Pacific/Auckland" in zone.options
    zone.set_value("Pacific/Auckland")
    app.button(key="save_clinic_settings").click().run()
    assert not app.exception
    assert "Saved the settings of clinic CL1." in joined(app.success)
    assert clinic()[0].time_zone == "Pacific/Auckland"
    assert app.selectbox(key="clinic_time_zone_CL1").value == "Pacific/Auckland"
