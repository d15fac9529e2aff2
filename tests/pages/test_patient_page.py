"""Patient record page: header, course table, item-9 history, correction history, the
audited 'view' (once per opening), edits with a reason, and scope."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from data.store.db import read_session
from models.tables import AuditEvent, Patient
from tests.clinical_factories import PHQ9_POST, PHQ9_PRE, log, make_course, make_patient, score
from tests.factories import make_user
from tests.pages.conftest import go, joined, sign_in, table_with, values

LINK = "[x](javascript:alert(1))"


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def patient_id(clin):
    pid = make_patient(clin, code="P-1", name=f"<script>alert(1)</script> {LINK}",
                       birth_date=date(1980, 5, 17), notes="*note* <b>bold?</b>")
    log(clin, make_course(clin, pid), scores=[score("PHQ-9", "pre", PHQ9_PRE),
                                              score("PHQ-9", "post", PHQ9_POST)])
    return pid


def views() -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == "view")).all())


def open_record(app, patient_id: int):
    app.session_state["patient_id"] = patient_id
    return go(app, "pages/patient.py")


def test_the_record_shows_header_courses_item9_as_plain_text(app, patient_id):
    open_record(sign_in(app, "clin"), patient_id)
    assert app.title[0].value == "Patient record"
    texts = values(app.text)
    assert f"Name: <script>alert(1)</script> {LINK}" in texts
    assert "Patient code: P-1" in texts and "Clinic: CL1" in texts
    assert any(t.startswith("Age: ") and "(born 17 May 1980)" in t for t in texts)
    assert "Notes:\n*note* <b>bold?</b>" in texts
    assert "javascript:" not in joined(app.markdown) and "<b>" not in joined(app.markdown)
    course = table_with(app, "PHQ-9 post-infusion")
    assert list(course["PHQ-9 pre"]) == ["17 (moderately severe)"]
    assert list(course["PHQ-9 post-infusion"]) == ["8 (mild)"]
    assert list(course["total mg"]) == [35.0]
    item9 = table_with(app, "Item 9")
    assert list(item9["Item 9"]) == [1, 0] and list(item9["Alert"]) == ["open", "—"]
    assert "labelled as such" in joined(app.caption)


def test_opening_a_record_is_audited_once_per_opening(app, patient_id):
    open_record(sign_in(app, "clin"), patient_id)
    app.run()  # a rerun while reading the record is not a new opening
    assert len(views()) == 1
    go(app, "pages/patients.py")
    go(app, "pages/patient.py")
    assert [(v.entity, v.patient_id, v.username) for v in views()] == \
        [("patient", patient_id, "clin")] * 2


def test_edit_details_needs_a_reason_and_shows_in_the_history(app, patient_id):
    open_record(sign_in(app, "clin"), patient_id)
    prefix = f"edit_{patient_id}_"
    app.selectbox(key=f"{prefix}indication").set_value("PTSD")
    app.button(key="save_patient_edit").click().run()
    assert "reason: required" in joined(app.error)
    app.text_input(key=f"{prefix}reason").input("referral letter says PTSD")
    app.button(key="save_patient_edit").click().run()
    assert "Saved: indication." in joined(app.success)
    with read_session() as session:
        assert session.get(Patient, patient_id).indication == "PTSD"
    history = table_with(app, "Reason")
    assert list(history[["Field", "Old value", "New value", "Reason"]].iloc[0]) == \
        ["indication", "—", "PTSD", "referral letter says PTSD"]
    assert "+00:00" not in history["When"].iloc[0] and "None" not in history.to_string()


def test_a_record_outside_the_clinic_is_refused_and_audited(app, patient_id):
    make_user("clin2", "clinician", ("CL2",))
    open_record(sign_in(app, "clin2"), patient_id)
    assert "outside your scope" in joined(app.error)
    assert "Patient record" not in values(app.title)
    assert "P-1" not in joined(app.text)
    assert views() == []
    with read_session() as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.action == "denied")).one()
    assert denied.username == "clin2"


def test_log_infusion_button_leads_to_the_infusion_page(app, patient_id):
    open_record(sign_in(app, "clin"), patient_id)
    app.button(key="log_infusion").click().run()
    assert app.title[0].value == "Log infusion"


def test_a_director_sees_the_record_too(app, patient_id):
    make_user("boss", "director", ("CL1",))
    open_record(sign_in(app, "boss"), patient_id)
    assert app.title[0].value == "Patient record"
    assert not app.exception


def _save_status(app, course_id: int, status: str, reason: str):
    app.selectbox(key=f"course_status_{course_id}").set_value(status)
    app.text_area(key=f"course_status_reason_{course_id}").input(reason)
    next(b for b in app.button if b.label == "Save status").click().run()
    assert not app.exception, app.exception
    return app


def test_a_course_is_discontinued_with_a_reason_shown_in_the_history(app, patient_id):
    open_record(sign_in(app, "clin"), patient_id)
    _save_status(app, 1, "discontinued", "")
    assert any("reason: required; say why course 1 is now discontinued" in str(e.value)
               for e in app.error)
    assert any(s.value.endswith("· active") for s in app.subheader)
    _save_status(app, 1, "discontinued", "stopped: raised blood pressure")
    assert any(s.value.endswith("· discontinued") for s in app.subheader)
    history = table_with(app, "Reason")
    assert list(zip(history["Record"], history["Old value"], history["New value"],
                    history["Reason"],
                    strict=True)) == [("course 1", "active", "discontinued",
                                       "stopped: raised blood pressure")]


def test_a_director_may_complete_a_course_too(app, patient_id):
    make_user("dir", "director", ("CL1",))
    open_record(sign_in(app, "dir"), patient_id)
    _save_status(app, 1, "completed", "induction complete; boosters as needed")
    assert any(s.value.endswith("· completed") for s in app.subheader)
