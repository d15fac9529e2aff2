"""Issue 6.5 (AppTest): names, notes and free text are shown as typed and stay inert.

A patient whose name, notes, indication, adverse event, side effect and alert note hold
`<script>alert(1)</script>`, `<img src=x onerror=alert(1)>` and `[x](javascript:alert(1))`
is shown on the patient list, the patient record, the infusion page, the safety page
and the audit trail. On every page, each string appears exactly in a text or dataframe
element, and no element Streamlit renders as markdown (markdown, captions, headings,
alerts, widget labels) carries it outside a code span, so none becomes HTML or a link.
The browser test (tests/browser/test_untrusted_text.py) checks the same in Chromium.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import (
    AlertBase,
    HeadingBase,
    Markdown,
    Toast,
    UnknownElement,
    Widget,
)

from data.clinic.alerts import close_alert
from data.store.db import write_session
from tests.apptest import fresh_app, submit_sign_in
from tests.clinical_factories import (
    PHQ9_POST,
    PHQ9_PRE,
    log,
    make_course,
    make_patient,
    score,
)
from tests.factories import make_user

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[x](javascript:alert(1))"
PAYLOADS = (SCRIPT, IMG, LINK)
NOTES = f"Notes line 1 {SCRIPT}\n{IMG}\n{LINK}"
ADVERSE = f"{SCRIPT} {IMG} {LINK}"
ALERT_NOTE = f"called back {LINK} {IMG}"
# What markdown or HTML would act on, outside a code span
DANGER = re.compile(r"<script|<img|onerror|\]\(javascript:|javascript:", re.IGNORECASE)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)*?\1", re.DOTALL)


def make_untrusted_record() -> int:
    """Three patients named with the strings; the first has every free-text field, a
    closed alert whose note holds them and an open alert. Returns the first's id."""
    clin = make_user("dr.inert", "clinician", ("CL1",))
    make_user("dr.boss", "director", ("CL1",))
    first = make_patient(clin, "UT-1", name=SCRIPT, notes=NOTES, indication=LINK,
                         birth_date=date(1970, 1, 2))
    make_patient(clin, "UT-2", name=IMG)
    make_patient(clin, "UT-3", name=LINK)
    saved = log(clin, make_course(clin, first), adverse_event=ADVERSE,
                side_effects=["other"], side_effect_other=IMG,
                scores=[score("PHQ-9", "pre", PHQ9_PRE), score("PHQ-9", "post", PHQ9_POST)])
    with write_session() as session:
        close_alert(session, actor=clin, alert_id=saved.alerts[0].id, action="other",
                    note=ALERT_NOTE)
    log(clin, saved.infusion.course_id, number=2, scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    return first


@pytest.fixture
def record(store_url):
    return make_untrusted_record()


@pytest.fixture
def app(record):
    with fresh_app() as at:
        yield at


def walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def markdown_texts(at: AppTest) -> list[str]:
    """Every string Streamlit renders as markdown: bodies and widget labels."""
    texts = []
    for node in walk(at._tree):
        if isinstance(node, (Markdown, HeadingBase, AlertBase, Toast)):
            texts.append(str(node.value))
        if isinstance(node, Widget) and getattr(node, "label", None):
            texts.append(str(node.label))
        if isinstance(node, UnknownElement) and node.type == "plotly_chart":
            texts.append(json.loads(node.proto.spec).__repr__())
    return texts


def inert_texts(at: AppTest) -> list[str]:
    """What is shown literally: text elements, dataframe cells, code, select options."""
    texts = [str(t.value) for t in at.text] + [str(c.value) for c in at.code]
    for frame in at.dataframe:
        texts += [str(v) for v in frame.value.astype(str).to_numpy().ravel()]
    for box in at.selectbox:
        texts += [str(o) for o in box.options]  # already formatted, shown as plain text
    return texts


def assert_inert(at: AppTest, expected: list[str]) -> None:
    assert not at.exception, at.exception
    for text in markdown_texts(at):
        assert not DANGER.search(CODE_SPAN.sub("", text)), text
    shown = inert_texts(at)
    for value in expected:
        assert any(value in text for text in shown), (value, shown[:40])


def signed_in(at: AppTest, username: str) -> AppTest:
    return submit_sign_in(at, username)


def test_the_patient_list_shows_the_names_as_text(app):
    signed_in(app, "dr.inert").switch_page("pages/patients.py").run()
    assert_inert(app, list(PAYLOADS))
    names = next(f.value for f in app.dataframe if "Name" in f.value.columns)["Name"]
    assert set(PAYLOADS) <= set(names)  # the exact strings, unchanged


def test_the_patient_record_shows_name_notes_and_adverse_event_as_text(app, record):
    signed_in(app, "dr.inert")
    app.session_state["patient_id"] = record
    app.switch_page("pages/patient.py").run()
    assert_inert(app, [SCRIPT, IMG, LINK, ADVERSE])
    texts = [t.value for t in app.text]
    assert f"Name: {SCRIPT}" in texts
    assert f"Notes:\n{NOTES}" in texts
    assert f"Indication: {LINK}" in texts
    cells = {str(v) for f in app.dataframe for v in f.value.astype(str).to_numpy().ravel()}
    assert ADVERSE in cells


def test_the_infusion_page_shows_the_patient_as_text(app, record):
    signed_in(app, "dr.inert")
    app.session_state["patient_id"] = record
    app.switch_page("pages/infusion.py").run()
    assert_inert(app, [SCRIPT])


def test_the_safety_page_shows_names_and_alert_notes_as_text(app):
    signed_in(app, "dr.inert").switch_page("pages/safety.py").run()
    assert_inert(app, [SCRIPT])
    cells = {str(v) for f in app.dataframe for v in f.value.astype(str).to_numpy().ravel()}
    assert ALERT_NOTE in cells


def test_the_audit_trail_shows_the_values_as_text(app):
    signed_in(app, "dr.boss").switch_page("pages/audit.py").run()
    assert_inert(app, [])
    cells = " ".join(str(v) for f in app.dataframe
                     for v in f.value.astype(str).to_numpy().ravel())
    assert ALERT_NOTE in cells  # the close event's reason: shown verbatim, in a table


def _page_with_one_unsafe_element() -> None:
    import streamlit as st  # AppTest.from_function runs the function's source alone

    st.markdown("<script>alert(1)</script>")  # what the check must catch
    st.caption("`[x](javascript:alert(1))`")  # a code span: shown literally
    st.text("<img src=x onerror=alert(1)>")
    st.selectbox("Pick [x](javascript:alert(1))", ["a"], key="pick")


def test_the_check_itself():
    at = AppTest.from_function(_page_with_one_unsafe_element).run()
    flagged = [t for t in markdown_texts(at) if DANGER.search(CODE_SPAN.sub("", t))]
    assert flagged == ["<script>alert(1)</script>", "Pick [x](javascript:alert(1))"]
    assert "<img src=x onerror=alert(1)>" in inert_texts(at)
