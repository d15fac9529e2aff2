"""Self-report data quality for the Outcomes page (data/selfreport/completion.py),
counted by hand from the invitations and scores made here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from data.selfreport.completion import selfreport_quality
from data.selfreport.tokens import new_token, token_hash
from data.store import audit
from data.store.db import read_session, write_session
from models.tables import Course, Invitation, Patient
from tests.clinical_factories import PHQ9_POST, clinic_id, log, make_course, make_patient, score
from tests.factories import make_user

NOW = datetime(2025, 4, 1, tzinfo=UTC)
PAST, FUTURE = NOW - timedelta(days=1), NOW + timedelta(days=1)


def invite(course_id: int, channel: str = "link", **states) -> None:
    with write_session() as session:
        course = session.get(Course, course_id)
        patient = session.get(Patient, course.patient_id)
        session.add(Invitation(**{
            "token_hash": token_hash(new_token()), "patient_id": patient.id,
            "clinic_id": patient.clinic_id, "course_id": course_id, "infusion_number": 1,
            "occasion": "followup", "instruments": ["PHQ-9"], "channel": channel,
            "created_at": audit.utcnow(), "expires_at": FUTURE, **states}))


def quality(actor, **filters):
    with read_session() as session:
        return selfreport_quality(session, actor=actor, now=NOW, **filters)


def test_completion_rate_and_scores_by_source(store_url):
    clin = make_user("clin", "clinician", ("CL1", "CL2"))
    one = make_course(clin, make_patient(clin, "P-1"))
    two = make_course(clin, make_patient(clin, "P-2", clinic="CL2"))
    log(clin, one, 1, [score("PHQ-9", "post", PHQ9_POST)])
    # CL1: 3 completed, 1 expired, 1 open, 1 revoked-and-expired, 1 kiosk (not a link)
    for _ in range(3):
        invite(one, completed_at=NOW)
    invite(one, expires_at=PAST)
    invite(one)
    invite(one, revoked_at=NOW, expires_at=PAST)
    invite(one, channel="kiosk", completed_at=NOW)
    # CL2: 1 expired
    invite(two, expires_at=PAST)
    both = quality(clin)
    assert (both["created"], both["completed"], both["expired"]) == (7, 3, 2)
    assert both["completion_rate"] == 3 / 5
    assert both["scores_by_source"] == {"clinician": 1, "patient_kiosk": 0,
                                        "patient_remote": 0, "import": 0}
    cl1 = quality(clin, clinic_ids=(clinic_id("CL1"),))
    assert (cl1["created"], cl1["completed"], cl1["expired"]) == (6, 3, 1)
    assert cl1["completion_rate"] == 3 / 4
    # the course start date filter (courses start on 10 March 2025)
    assert quality(clin, start=date(2025, 3, 11))["created"] == 0
    assert quality(clin, end=date(2025, 3, 10))["created"] == 7
    # scope: a CL2 clinician sees CL2's only
    other = make_user("clin2", "clinician", ("CL2",))
    assert quality(other)["created"] == 1
    assert quality(other)["completion_rate"] == 0.0
    assert quality(other)["scores_by_source"]["clinician"] == 0


def test_no_links_no_rate(store_url):
    assert quality(make_user("clin", "clinician"))["completion_rate"] is None


def test_phq9_with_item9_not_answered_is_counted(store_url):
    """Section 1: a PHQ-9 with answers but item 9 missing is a data-quality count; a
    complete PHQ-9, a GAD-7 and an incomplete PHQ-9 with item 9 answered are not."""
    clin = make_user("clin", "clinician")
    course = make_course(clin, make_patient(clin, "P-1"))
    log(clin, course, 1, [score("PHQ-9", "pre", [1] * 8 + [None], item9_declined=True),
                          score("PHQ-9", "post", PHQ9_POST),
                          score("GAD-7", "pre", [1] * 7)])
    log(clin, course, 2, [score("PHQ-9", "pre", [None, None, None, 1, 1, 1, 1, 1, 0]),
                          score("PHQ-9", "post", [None] * 3 + [0] * 5 + [None],
                                item9_declined=True)])
    assert quality(clin)["phq9_item9_not_answered"] == 2  # pre 1 and post 2
