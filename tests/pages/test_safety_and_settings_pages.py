"""Safety page (open alerts, closing with the action taken) and Protocol settings page."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.clinic.protocol import load_protocol
from data.store.db import read_session
from models.tables import SafetyAlert
from tests.clinical_factories import log, make_course, make_patient, score
from tests.factories import make_user
from tests.pages.conftest import go, joined, sign_in, table_with, values


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def alert_id(clin):
    pid = make_patient(clin, code="P-1", name="Ann Smith")
    return log(clin, make_course(clin, pid),
               scores=[score("PHQ-9", "pre", [0] * 8 + [2])]).alerts[0].id


def status() -> tuple:
    with read_session() as session:
        alert = session.exec(select(SafetyAlert)).one()
        return alert.status, alert.action, alert.action_note, alert.closed_by_id


def test_open_alerts_are_listed_with_patient_date_and_item9(app, alert_id):
    go(sign_in(app, "clin"), "pages/safety.py")
    assert "1 open suicide-risk alert(s)" in joined(app.error)  # the banner
    assert app.header[0].value == "Open alerts (1)"
    table = table_with(app, "Item 9")
    assert list(table["Patient code"]) == ["P-1"]
    assert list(table["Item 9"]) == ["2 · More than half the days"]
    assert list(table["Timepoint"]) == ["pre"]


@pytest.mark.parametrize(("action", "note", "message"), [
    (None, "", "action: choose the action taken"),
    ("other", "", "note: required when the action is 'other'"),
])
def test_closing_needs_the_action_and_a_note_for_other(app, alert_id, action, note, message):
    go(sign_in(app, "clin"), "pages/safety.py")
    app.selectbox(key="alert_to_close").set_value(alert_id)
    if action:
        app.selectbox(key="alert_action").set_value(action)
    app.text_area(key="alert_note").input(note)
    app.button(key="close_alert").click().run()
    assert message in joined(app.error)
    assert status()[0] == "open"


def test_the_alert_to_close_is_chosen_explicitly(app, alert_id):
    go(sign_in(app, "clin"), "pages/safety.py")
    assert app.selectbox(key="alert_to_close").value is None
    app.selectbox(key="alert_action").set_value("safety_plan")
    app.button(key="close_alert").click().run()
    assert "alert: choose the alert to close" in joined(app.error)
    assert status()[0] == "open"


def test_closing_an_alert_records_the_action_and_clears_the_banner(app, alert_id, clin):
    go(sign_in(app, "clin"), "pages/safety.py")
    app.selectbox(key="alert_to_close").set_value(alert_id)
    app.selectbox(key="alert_action").set_value("escalated")
    app.text_area(key="alert_note").input("Dr Who informed by phone")
    app.button(key="close_alert").click().run()
    assert "Alert closed (Escalated to the prescriber)." in joined(app.success)
    assert status() == ("closed", "escalated", "Dr Who informed by phone", clin.user_id)
    assert "open suicide-risk alert" not in joined(app.error)
    assert "No open alert in your clinics." in values(app.success)
    closed = table_with(app, "Closed by")
    assert list(closed["Closed by"]) == ["clin"]


def test_the_banner_shows_on_every_page_of_the_clinic_only(app, alert_id):
    sign_in(app, "clin")
    assert "1 open suicide-risk alert(s)" in joined(app.error)  # Home
    go(app, "pages/patients.py")
    assert "1 open suicide-risk alert(s)" in joined(app.error)
    app2 = app.__class__.from_file(app._script_path, default_timeout=60)
    make_user("clin2", "clinician", ("CL2",))
    sign_in(app2, "clin2")
    assert "open suicide-risk alert" not in joined(app2.error)


def test_every_setting_has_a_human_label(app, store_url):
    from data.clinic.protocol import PROTOCOL_FIELDS

    make_user("boss", "director", ("CL1",))
    go(sign_in(app, "boss"), "pages/settings.py")
    labels = {w.key.removeprefix("setting_"): w.label
              for w in [*app.number_input, *app.checkbox, *app.selectbox]
              if w.key and w.key.startswith("setting_")}
    assert set(labels) == {f.name for f in PROTOCOL_FIELDS}
    for name, label in labels.items():
        assert "_" not in label and label.lower() != name.replace("_", " "), (name, label)
    assert labels["booster_overdue_days"] == "Booster interval (days)"
    assert app.selectbox(key="setting_timepoint_rule").value == "post"
    assert "The post score of infusion N" in app.selectbox(key="setting_timepoint_rule").options
    assert app.selectbox(key="clinic_time_zone_CL1").value == "UTC"
    assert "None" not in joined(app.caption) + joined(app.markdown)


def test_a_director_changes_the_protocol(app, store_url):
    make_user("boss", "director", ("CL1",))
    go(sign_in(app, "boss"), "pages/settings.py")
    assert app.title[0].value == "Protocol settings"
    assert app.number_input(key="setting_induction_length").value == 6
    app.number_input(key="setting_induction_length").set_value(8)
    app.number_input(key="setting_dose_max_mg_per_kg").set_value(1.5)
    app.button(key="save_settings").click().run()
    assert ("Saved: Infusions in an induction (N), Highest dose accepted (mg/kg)."
            in joined(app.success))
    with read_session() as session:
        protocol = load_protocol(session)
    assert (protocol["induction_length"], protocol["dose_max_mg_per_kg"]) == (8, 1.5)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("setting_dose_warn_mg_per_kg", 2.5, "dose_warn_mg_per_kg: must not exceed"),
    ("setting_induction_length", 0, "induction_length: must be between 1 and 20"),
    ("setting_small_cell_threshold", 101, "small_cell_threshold: must be between 1 and 100"),
])
def test_bad_settings_are_refused_with_the_rule(app, store_url, key, value, message):
    make_user("boss", "director", ("CL1",))
    go(sign_in(app, "boss"), "pages/settings.py")
    app.number_input(key=key).set_value(value)
    app.button(key="save_settings").click().run()
    assert message in joined(app.error)
    with read_session() as session:
        assert load_protocol(session)["induction_length"] == 6


def test_clinicians_do_not_get_the_settings_page(app, clin):
    sign_in(app, "clin")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/settings.py")
