"""Today page and the patient list's status columns, on a hand-built store.

The clock is 23:30 UTC on Sunday 6 Dec 2026; clinic CL1 is in Europe/Berlin (UTC+1 in
December), so its "today" is Monday 7 Dec 2026 (in UTC it would still be the 6th).
Protocol defaults: induction length 6, booster interval 42 days, attention window 90.
CL1's self-report schedule: PHQ-9 the day after infusion 1, and weekly in maintenance
(every 7 days after the latest infusion once the induction is over).

- P-A: infusion 1 today, PHQ-9 pre saved (17, item 9 = 1: an open alert), no post.
- P-B: infusion 1 on 1 Oct, a booster on 20 Oct: 48 days ago >= 42, <= 90: booster due;
  its booster date is 20 Oct + 42 days = 1 Dec.
- P-C: the same, last infusion 20 Aug 2024 (839 days ago): outside the window, not listed.
- P-D: infusion 1 yesterday (6 Dec): PHQ-9 follow-up due today (the schedule's rule).
- P-E: a booster on 27 Oct: 41 days < 42, not due; booster date 27 Oct + 42 = 8 Dec (the
  weekly PHQ-9 falls on 8 Dec too, day 42: the booster is named first).
- P-F: a booster on 31 Aug: 98 days = 14 weeks, a weekly PHQ-9 day, but 98 > 90 (the
  attention window): not listed. P-G: a booster on 23 Nov: 14 days, weekly PHQ-9 due.
(P-B's 48 days, P-E's 41 and P-C's 839 are not multiples of 7: no weekly PHQ-9 today.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from data.clinic.infusions import log_infusion
from data.selfreport.clinic_settings import update_clinic_settings
from data.selfreport.schedules import update_schedule
from data.store import clinic_time
from data.store.db import write_session
from models.access import SYSTEM
from tests.apptest import fresh_app
from tests.clinical_factories import PHQ9_PRE, infusion_input, make_patient, score
from tests.factories import make_user
from tests.pages.conftest import go, sign_in, table_with

NOW = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
BERLIN_TODAY = date(2026, 12, 7)


def course_with(actor, code: str, *infusions: tuple[date, str], scores=()) -> int:
    from data.clinic.infusions import start_course

    patient = make_patient(actor, code)
    with write_session() as session:
        course = start_course(session, actor=actor, patient_id=patient,
                              start_date=infusions[0][0], today=BERLIN_TODAY)
        for number, (on, kind) in enumerate(infusions, start=1):
            last = number == len(infusions)
            log_infusion(session, actor=actor, course_id=course.id,
                         infusion=infusion_input(number, administered_on=on, infusion_type=kind),
                         scores=list(scores) if last else [], today=BERLIN_TODAY)
    return patient


@pytest.fixture
def day(store_url, monkeypatch):
    monkeypatch.setattr(clinic_time, "utc_now", lambda: NOW)
    clin = make_user("clin", "clinician", ("CL1",))
    with write_session() as session:
        update_clinic_settings(session, actor=SYSTEM, code="CL1",
                               changes={"time_zone": "Europe/Berlin"})
        update_schedule(session, actor=SYSTEM, code="CL1", schedule={"after_first": ["PHQ-9"],
                                                         "weekly_maintenance": ["PHQ-9"]})
    course_with(clin, "P-A", (BERLIN_TODAY, "induction"), scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    course_with(clin, "P-B", (date(2026, 10, 1), "induction"), (date(2026, 10, 20), "booster"))
    course_with(clin, "P-C", (date(2024, 8, 1), "induction"), (date(2024, 8, 20), "booster"))
    course_with(clin, "P-D", (date(2026, 12, 6), "induction"))
    course_with(clin, "P-E", (date(2026, 10, 1), "induction"), (date(2026, 10, 27), "booster"))
    course_with(clin, "P-F", (date(2026, 8, 21), "induction"), (date(2026, 8, 31), "booster"))
    course_with(clin, "P-G", (date(2026, 11, 13), "induction"), (date(2026, 11, 23), "booster"))
    return clin


def test_today_lists_the_day_of_the_clinic(app, day):
    go(sign_in(app, "clin"), "pages/today.py")
    assert app.title[0].value == "Today"
    assert "Monday 7 December 2026 (Europe/Berlin)" in app.caption[0].value
    table = table_with(app, "Listed because")
    rows = {r["Patient"]: r for r in table.to_dict("records")}
    assert list(table["Patient"]) == ["P-A", "P-B", "P-D", "P-G"]  # open alert first
    assert rows["P-A"]["Listed because"] == "infusion today"
    assert (rows["P-A"]["Pre score"], rows["P-A"]["Post score"]) == ("Yes", "No")
    assert rows["P-A"]["Open alerts"] == 1 and rows["P-A"]["Infusion no."] == "1"
    assert rows["P-A"]["Questionnaires due"] == "—"  # none on an infusion day
    assert rows["P-B"]["Listed because"] == "booster due"
    assert (rows["P-B"]["Pre score"], rows["P-B"]["Post score"]) == ("—", "—")
    assert rows["P-B"]["Last infusion"] == "20 Oct 2026" and rows["P-B"]["Open alerts"] == 0
    assert rows["P-D"]["Listed because"] == "questionnaire due"
    assert rows["P-D"]["Questionnaires due"] == "PHQ-9"
    assert rows["P-G"]["Listed because"] == "questionnaire due"
    assert rows["P-G"]["Questionnaires due"] == "PHQ-9"
    assert "None" not in table.astype(str).to_string() and "nan" not in table.astype(str).to_string()


def test_one_tap_on_a_row_opens_the_infusion_screen(app, day):
    go(sign_in(app, "clin"), "pages/today.py")
    codes = list(table_with(app, "Listed because")["Patient"])
    app.session_state["today_table"] = {"selection": {"rows": [codes.index("P-D")],
                                                      "columns": [], "cells": []}}
    app.run()
    assert not app.exception
    assert app.title[0].value == "Log infusion"
    assert "Patient code: P-D" in [t.value for t in app.text]


def test_clinicians_start_on_today_auditors_on_home(app, day):
    assert sign_in(app, "clin").title[0].value == "Today"
    make_user("aud", "auditor", ("CL1",))
    with fresh_app() as other:
        assert sign_in(other, "aud").title[0].value == "Home"
        with pytest.raises(ValueError, match=r"today\.py"):  # not in the auditor's navigation
            other.switch_page("pages/today.py")


def test_the_patient_list_shows_last_infusion_phq9_alert_and_next_due(app, day):
    go(sign_in(app, "clin"), "pages/patients.py")
    table = table_with(app, "Next due")
    rows = {r["Patient code"]: r for r in table.to_dict("records")}
    assert rows["P-A"]["Last infusion"] == "7 Dec 2026"
    assert rows["P-A"]["Latest PHQ-9"] == "17 (moderately severe)"  # 8 x 2 + 1
    assert rows["P-A"]["Open alerts"] == 1
    assert rows["P-A"]["Next due"] == "PHQ-9 on 8 Dec 2026"  # the day after infusion 1
    assert rows["P-B"]["Latest PHQ-9"] == "—"
    assert rows["P-B"]["Next due"] == "booster due since 1 Dec 2026"
    assert rows["P-C"]["Next due"] == "—"  # last seen long ago: outside the window
    assert rows["P-D"]["Next due"] == "PHQ-9 on 7 Dec 2026 (today)"
    assert rows["P-E"]["Next due"] == "booster from 8 Dec 2026"
    assert rows["P-F"]["Next due"] == "—"  # 98 days: outside the window
    assert rows["P-G"]["Next due"] == "PHQ-9 on 7 Dec 2026 (today)"
    assert "None" not in table.astype(str).to_string()


def test_one_tap_on_a_patient_row_opens_the_record(app, day):
    go(sign_in(app, "clin"), "pages/patients.py")
    codes = list(table_with(app, "Next due")["Patient code"])
    app.session_state["patient_table"] = {"selection": {"rows": [codes.index("P-B")],
                                                        "columns": [], "cells": []}}
    app.run()
    assert not app.exception
    assert app.title[0].value == "Patient record"
    assert "Patient code: P-B" in [t.value for t in app.text]
