"""The patient outcome view inside the patient record (AppTest) and its loader, on the
hand-built patient of tests/trajectory_cohort.py (figures worked out there by hand)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import streamlit as st
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from data.analytics.patient_view import load_patient_view
from data.store.db import read_session
from data.store.settings import PROJECT_ROOT
from models.access import PermissionDenied
from models.tables import AuditEvent
from tests.factories import PASSWORD, make_user
from tests.trajectory_cohort import import_cohort, patient_id
from ui.patient_outcomes import REPORT_KEY


@pytest.fixture
def cohort(store_url):
    import_cohort()
    st.cache_data.clear()
    st.cache_resource.clear()
    make_user("dr.north", "clinician", clinics=("NORTH",))
    make_user("auditor.a", "auditor", clinics=("NORTH",))
    yield
    st.cache_data.clear()


def open_patient(code: str, username: str = "dr.north") -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    at.session_state["patient_id"] = patient_id(code)
    at.switch_page("pages/patient.py").run()
    assert not at.exception, at.exception
    return at


def array(values) -> list:
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def trajectory(at: AppTest) -> dict:
    element = next(e for e in at.get("plotly_chart") if e.proto.id.endswith("-pv_trajectory_chart"))
    return json.loads(element.proto.spec)


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def show_course(at: AppTest, number: int) -> None:
    at.selectbox(key="pv_course").set_value(number).run()
    assert not at.exception, at.exception


def test_course_outcome_in_figures_and_words(cohort):
    at = open_patient("HV-01")
    assert at.selectbox(key="pv_course").value == 2  # the latest course first
    show_course(at, 1)
    values = metric_values(at)
    assert (values["Baseline"], values["Latest"], values["Change from baseline"]) == (
        "20", "8", "-60.0 %")
    assert (values["Responder"], values["In remission"],
            values["Infusions to first response"]) == ("yes", "no", "3")
    latest = next(m for m in at.metric if m.label == "Latest")
    assert latest.delta == "-12 vs baseline"
    words = [m.value for m in at.markdown]
    assert "- Baseline PHQ-9 20 (severe), from the pre score of infusion 1." in words
    assert ("- Responder at the latest score (response: at or below 10, half the baseline). "
            "First response after 3 infusion(s).") in words
    at.radio(key="pv_instrument").set_value("GAD-7").run()
    values = metric_values(at)
    assert (values["Baseline"], values["Latest"], values["Change from baseline"],
            values["Responder"]) == ("15", "7", "-53.3 %", "yes")


def test_trajectory_chart_draws_scores_bands_lines_boosters_and_gaps(cohort):
    at = open_patient("HV-01")
    show_course(at, 1)
    spec = trajectory(at)
    phq = {t.get("name"): t for t in spec["data"] if t.get("yaxis", "y") == "y"}
    gad = {t.get("name"): t for t in spec["data"] if t.get("yaxis") == "y2"}
    scores = phq["Course 1"]
    assert array(scores["y"]) == [20, 12, 16, 11, 9, 12, 8]
    assert [round(x, 1) for x in array(scores["x"])] == [0.8, 1.2, 1.8, 2.8, 3.2, 3.8, 4.2]
    assert array(phq["Course 1 baseline"]["y"]) == [20, 20]
    assert array(phq["Course 1 response line"]["y"]) == [10, 10]
    assert array(phq["remission line"]["y"]) == [4, 4]
    assert array(gad["Course 1"]["y"]) == [15, 10, 9, 7]
    assert array(gad["Course 1 response line"]["y"]) == [7.5, 7.5]
    shapes = spec["layout"]["shapes"]
    bands = [s for s in shapes if s["type"] == "rect" and s.get("xref", "").endswith("domain")]
    assert len(bands) == 5 + 4  # PHQ-9 and GAD-7 severity bands
    gaps = [s for s in shapes if s["type"] == "rect" and s.get("yref", "").endswith("domain")
            and not s.get("xref", "").endswith("domain")]
    # before infusions 2 and 4, drawn in both panels
    assert sorted(round(s["x1"], 2) for s in gaps) == [1.75, 1.75, 3.75, 3.75]
    boosters = [s for s in shapes if s["type"] == "line" and s.get("x0") == 4]
    assert boosters  # infusion 4 is a booster
    symbols = scores["marker"]["symbol"]
    assert symbols[-2:] == ["star", "star-open"] and symbols[:2] == ["circle", "circle-open"]
    hover = scores["customdata"][-1]
    assert hover[3] == "booster" and hover[4] == "0.5 mg/kg" and hover[5] == "IM"


def test_date_axis_and_several_courses(cohort):
    at = open_patient("HV-01")
    at.selectbox(key="pv_course").set_value(0).run()  # all courses
    at.radio(key="pv_axis").set_value("date").run()
    assert not at.exception
    names = {t.get("name") for t in trajectory(at)["data"]}
    assert {"Course 1", "Course 2"} <= names
    course2 = next(t for t in trajectory(at)["data"] if t.get("name") == "Course 2")
    assert array(course2["x"])[0].startswith("2024-06-01")


def test_progress_report_is_built_and_audited(cohort):
    at = open_patient("HV-01")
    at.button(key="pv_report_build").click().run()
    assert not at.exception, at.exception
    key, pdf = at.session_state[REPORT_KEY]
    assert key == (patient_id("HV-01"), 2) and pdf.startswith(b"%PDF")
    with read_session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.entity == "patient_report")
                             ).one()
    assert (event.action, event.username, event.patient_id) == (
        "export", "dr.north", patient_id("HV-01"))


def test_out_of_scope_patient_is_refused_and_audited(cohort):
    at = open_patient("HV-02")  # clinic SOUTH, dr.north works at NORTH
    assert not any(e.proto.id.endswith("-pv_trajectory_chart") for e in at.get("plotly_chart"))
    assert at.error
    from tests.factories import get_user

    with pytest.raises(PermissionDenied):
        load_patient_view(actor=_actor("dr.north"), patient_id=patient_id("HV-02"))
    with pytest.raises(PermissionDenied):
        load_patient_view(actor=_actor("auditor.a"), patient_id=patient_id("HV-01"))
    with read_session() as session:
        denied = session.exec(select(AuditEvent).where(AuditEvent.action == "denied")).all()
    assert {e.user_id for e in denied} >= {get_user("dr.north").id, get_user("auditor.a").id}


def _actor(username: str):
    from data.accounts.users import actor_for
    from tests.factories import get_user

    with read_session() as session:
        return actor_for(session, session.merge(get_user(username)))
