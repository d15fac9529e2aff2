"""Corrections and item-9 alerts (issue 12 item 7, found): raising item 9 in a correction
says what happened to alerts, and the form never promises a new alert when the score
already has an open one."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.store.db import read_session
from models.tables import SafetyAlert
from tests.clinical_factories import make_patient
from tests.factories import make_user
from tests.pages.conftest import joined
from tests.pages.test_infusion_page import answer, fill_infusion, open_infusion_page, save

OPENS = "saving opens a suicide-risk alert"


@pytest.fixture
def patient_id(store_url):
    clin = make_user("clin", "clinician", ("CL1",))
    return make_patient(clin, code="P-1")


def saved_pre_phq9(app, patient_id, item9: int):
    open_infusion_page(app, patient_id)
    fill_infusion(app)
    answer(app, "pre", "PHQ-9", [1] * 8 + [item9])
    save(app)
    app.radio(key="entry_mode").set_value("Correct a score").run()
    return app


def alerts() -> list[tuple[int | None, str]]:
    with read_session() as session:
        return [(a.item9_value, a.status) for a in session.exec(select(SafetyAlert)).all()]


def correct_item9(app, value: int):
    app.radio(key="fix_pre_PHQ-9_item_9").set_value(value)
    app.text_input(key="fix_score_reason").input("item 9 misheard").run()
    return app


def test_raising_item9_without_an_alert_says_one_was_opened(app, patient_id):
    saved_pre_phq9(app, patient_id, item9=0)
    assert "a correction that makes item 9 positive opens an alert" in joined(app.caption)
    correct_item9(app, 2)
    assert OPENS in joined(app.error)  # the promise is true here
    app.button(key="save_score_fix").click().run()
    assert "Item 9 is now 2: a suicide-risk alert was opened." in joined(app.error)
    assert alerts() == [(2, "open")]


def test_raising_item9_with_an_open_alert_says_it_covers_it(app, patient_id):
    saved_pre_phq9(app, patient_id, item9=1)
    assert "this score's item-9 alert is kept as it is" in joined(app.caption)
    correct_item9(app, 3)
    assert OPENS not in joined(app.error)  # no promise of a second alert
    assert "this score's suicide-risk alert is already open and covers it" in joined(app.error)
    app.button(key="save_score_fix").click().run()
    assert ("Item 9 is now 3: this score's alert (opened for item 9 = 1) is still open and "
            "covers it; no second alert was opened.") in joined(app.warning)
    assert alerts() == [(1, "open")]  # the original alert, with the value that raised it


def test_lowering_item9_adds_no_alert_message(app, patient_id):
    saved_pre_phq9(app, patient_id, item9=2)
    correct_item9(app, 0)
    app.button(key="save_score_fix").click().run()
    assert "Score corrected" in joined(app.success)
    assert "Item 9 is now" not in joined(app.warning) + joined(app.error)
    assert alerts() == [(2, "open")]
