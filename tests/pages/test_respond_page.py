"""The patient's link page in AppTest: reached signed out through ?token= only, one
question per screen, item 9 not skippable, review and Submit once, crisis text after a
positive item 9, the neutral message for a bad or used link, and no staff chrome."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.selfreport.clinic_settings import DEFAULT_CRISIS_TEXT
from data.selfreport.invitations import INVALID_LINK_TEXT, create_invitation
from data.store.db import read_session, write_session
from models.access import SYSTEM
from models.tables import Assessment, AuditEvent, SafetyAlert
from tests.apptest import submit_sign_in
from tests.clinical_factories import log, make_course, make_patient
from tests.factories import make_user
from tests.pages.conftest import count, joined

PREFIX = "respond_"


@pytest.fixture
def token(store_url):
    make_user("dr.a", "clinician", ("CL1",))
    patient = make_patient(SYSTEM, "P-A", name="Alice Example")
    log(SYSTEM, make_course(SYSTEM, patient), 1)
    with write_session() as session:
        _, token = create_invitation(session, actor=SYSTEM, patient_id=patient,
                                     instruments=["PHQ-9"], occasion="post", infusion_number=1)
    return token


def opened(app, token: str):
    app.query_params["token"] = token
    app.run()
    assert not app.exception, app.exception
    return app


def tap(app, step: int, value: object):
    app.button(key=f"{PREFIX}answer_{step}_{value}").click().run()
    assert not app.exception, app.exception
    return app


def answer_phq9(app, item9: object):
    for step in range(8):
        assert f"Question {step + 1} of 10" in joined(app.caption)
        tap(app, step, 0)
    tap(app, 8, item9)
    return tap(app, 9, 0)  # question 10 (functional difficulty)


def test_the_link_opens_signed_out_and_shows_no_identifiers(app, token):
    opened(app, token)
    assert app.title[0].value == "CL1"
    text = joined(app.caption) + joined(app.markdown) + joined(app.subheader)
    assert "For A." in text and "after infusion 1" in text
    assert "Alice" not in text and "P-A" not in text
    assert "Little interest or pleasure in doing things" in joined(app.subheader)
    assert len(app.sidebar) == 0 and "token" not in app.query_params
    assert not [b for b in app.button if b.key == "sign_out"]


def test_item_9_has_prefer_not_to_answer_and_back_returns(app, token):
    opened(app, token)
    for step in range(8):
        tap(app, step, 1)
    keys = [b.key for b in app.button]
    assert f"{PREFIX}answer_8_declined" in keys and f"{PREFIX}back" in keys
    app.button(key=f"{PREFIX}back").click().run()
    assert "Question 8 of 10" in joined(app.caption)


def test_positive_item_9_shows_the_crisis_text_and_no_score(app, token):
    opened(app, token)
    answer_phq9(app, 1)
    assert "Check your answers" in joined(app.subheader)
    app.button(key=f"{PREFIX}submit").click().run()
    assert not app.exception
    assert app.title[0].value == "Thank you"
    assert app.error[0].value == DEFAULT_CRISIS_TEXT
    shown = "\n".join(m.value for m in app.markdown if "<style>" not in m.value)
    shown = shown.replace("CL1", "")  # the clinic name (its code in the tests)
    assert not any(ch.isdigit() for ch in shown) and "minimal" not in shown  # no score
    with read_session() as session:
        score = session.exec(select(Assessment)).one()
        alert = session.exec(select(SafetyAlert)).one()
    assert (score.total, score.source, alert.kind) == (1, "patient_remote", "positive")


def test_declining_item_9_shows_the_crisis_text(app, token):
    opened(app, token)
    answer_phq9(app, "declined")
    assert "Prefer not to answer" in joined(app.markdown)
    app.button(key=f"{PREFIX}submit").click().run()
    assert app.error[0].value == DEFAULT_CRISIS_TEXT
    with read_session() as session:
        assert session.exec(select(SafetyAlert.kind)).one() == "not_answered"


def test_change_from_the_review_returns_to_the_review(app, token):
    opened(app, token)
    answer_phq9(app, 0)
    app.button(key=f"{PREFIX}change_2").click().run()
    assert "Question 3 of 10" in joined(app.caption)
    tap(app, 2, 3)
    assert "Check your answers" in joined(app.subheader)
    app.button(key=f"{PREFIX}submit").click().run()
    assert app.title[0].value == "Thank you" and not app.error
    with read_session() as session:
        assert session.exec(select(Assessment.total)).one() == 3


def test_a_bad_or_used_link_gets_the_neutral_message(app, token):
    opened(app, token[:-2] + "zz")
    assert [e.value for e in app.error] == [INVALID_LINK_TEXT]
    assert count(Assessment) == 0


def test_a_used_link_opened_again_is_neutral(store_url, token):
    from tests.apptest import fresh_app

    with fresh_app() as first:
        opened(first, token)
        answer_phq9(first, 0)
        first.button(key=f"{PREFIX}submit").click().run()
    with fresh_app() as again:
        opened(again, token)
        assert [e.value for e in again.error] == [INVALID_LINK_TEXT]
    assert count(Assessment) == 1


def test_a_signed_in_staff_tab_shows_only_the_patient_page(app, token):
    import time

    app.session_state["actor"] = make_user("dr.b", "clinician", ("CL1",))
    app.session_state["signed_in_at"] = app.session_state["last_seen"] = time.time()
    opened(app, token)
    assert app.title[0].value == "CL1"
    assert len(app.sidebar) == 0
    assert not [b for b in app.button if b.key in ("sign_out", "log_infusion")]
    with pytest.raises(ValueError):  # no other page is in this tab's navigation
        app.switch_page("pages/patients.py").run()


def test_a_staff_page_already_open_stops_when_a_token_arrives(app, token):
    """AppTest reruns the page script itself (Streamlit's v1 mode): page_setup stops it."""
    submit_sign_in(app, "dr.a")
    assert app.title[0].value == "Today"  # a clinician's start page
    opened(app, token)
    assert not app.title and len(app.sidebar) == 0
    with read_session() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "open")).all() == []
