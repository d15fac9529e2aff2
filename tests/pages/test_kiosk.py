"""The kiosk at the chair in AppTest: the clinician hands over a saved infusion's
questionnaires; the tab then shows only the questionnaire, the thank-you with the crisis
text, and a lock screen that only the clinician's password opens (a wrong one is audited
and stays locked). The answers are saved as patient_kiosk with the clinician as actor."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.store.db import read_session
from models.access import SYSTEM
from models.tables import Assessment, AuditEvent, Invitation, SafetyAlert
from tests.clinical_factories import log, make_course, make_patient
from tests.factories import PASSWORD, make_user
from tests.pages.conftest import go, joined, sign_in

Q = "kiosk_q_"


@pytest.fixture
def patient_id(store_url):
    make_user("clin", "clinician", ("CL1",))
    pid = make_patient(SYSTEM, "P-1", name="Ann Smith")
    log(SYSTEM, make_course(SYSTEM, pid), 1)
    return pid


def hand_over(app, patient_id: int, instruments=("PHQ-9",)):
    sign_in(app, "clin")
    app.session_state["patient_id"] = patient_id
    go(app, "pages/infusion.py")
    app.radio(key="entry_mode").set_value("Scores for a saved infusion").run()
    app.radio(key="kiosk_occasion").set_value("post")
    app.multiselect(key="kiosk_instruments").set_value(list(instruments))
    app.button(key="kiosk_start").click().run()
    go(app, "dashboard.py")  # AppTest reruns the last page script itself; a browser does not
    return app


def events(action: str) -> int:
    with read_session() as session:
        return len(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def staff_content_shown(app) -> bool:
    text = joined(app.markdown) + joined(app.caption) + joined(app.title)
    return "Ann" in text or "P-1" in text or "dose" in text.lower() or len(app.sidebar) > 0


def test_the_whole_kiosk_round(app, patient_id):
    hand_over(app, patient_id)
    assert app.title[0].value == "Your questionnaire"
    assert not staff_content_shown(app)
    with pytest.raises(ValueError):  # nothing else is in this tab's navigation
        app.switch_page("pages/patient.py").run()
    app.run()
    assert app.title[0].value == "Your questionnaire"
    for step in range(8):
        app.button(key=f"{Q}answer_{step}_0").click().run()
    app.button(key=f"{Q}answer_8_2").click().run()  # item 9 = 2
    app.button(key=f"{Q}answer_9_0").click().run()
    app.button(key=f"{Q}submit").click().run()
    assert app.title[0].value == "Thank you"
    assert "988" in app.error[0].value
    with read_session() as session:
        score = session.exec(select(Assessment)).one()
        alert = session.exec(select(SafetyAlert)).one()
        inv = session.exec(select(Invitation)).one()
    assert (score.source, score.timepoint, score.total, alert.item9_value) == (
        "patient_kiosk", "post", 2, 2)
    assert score.entered_by_id is not None and inv.completed_at is not None
    app.button(key="kiosk_done").click().run()
    assert app.title[0].value == "Locked" and not staff_content_shown(app)
    app.text_input(key="kiosk_password").input("not-the-password")
    app.button[0].click().run()
    assert app.title[0].value == "Locked"
    assert "Wrong password" in app.error[0].value
    assert events("kiosk_unlock_failed") == 1 and events("sign_in_failed") == 1
    app.text_input(key="kiosk_password").input(PASSWORD)
    app.button[0].click().run()
    assert events("kiosk_unlock") == 1
    shown = joined(app.success)  # dashboard.py switched to the infusion page (not sticky here)
    go(app, "pages/infusion.py")
    assert app.title[0].value == "Log infusion"
    assert "patient's answers were saved (1 score(s)" in shown + joined(app.success)


def test_handing_back_unanswered_revokes_the_hand_over(app, patient_id):
    hand_over(app, patient_id, ("GAD-7",))
    app.button(key="kiosk_abandon").click().run()
    assert app.title[0].value == "Locked"
    app.text_input(key="kiosk_password").input(PASSWORD)
    app.button[0].click().run()
    with read_session() as session:
        inv = session.exec(select(Invitation)).one()
        assert session.exec(select(Assessment)).all() == []
    assert inv.revoked_at is not None and inv.channel == "kiosk"
