"""Courses, infusions and their scores: one transaction, validation first, double saves
caught by the unique slots. Expected totals are computed by hand (OUTCOMES.md S1, S2)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

import data.clinic.scores
from data.clinic.infusions import (
    add_scores,
    default_infusion_type,
    infusion_screen,
    log_infusion,
    scores_of,
    start_course,
)
from data.clinic.protocol import update_protocol
from data.store.db import read_session, write_session
from models.access import PermissionDenied
from models.schemas import AlreadySaved, InputError
from models.tables import Assessment, AuditEvent, Course, Infusion, SafetyAlert
from tests.clinical_factories import (
    GAD7_PRE,
    PHQ9_POST,
    PHQ9_PRE,
    TODAY,
    infusion_input,
    log,
    make_course,
    make_patient,
    score,
)
from tests.factories import make_user


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def course_id(clin):
    return make_course(clin, make_patient(clin))


def count(model) -> int:
    with read_session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_an_infusion_with_pre_and_post_scores_saves_together(clin, course_id):
    saved = log(clin, course_id, scores=[
        score("PHQ-9", "pre", PHQ9_PRE, functional_difficulty=2), score("GAD-7", "pre", GAD7_PRE),
        score("PHQ-9", "post", PHQ9_POST), score("GAD-7", "post", [None] * 7)],
        weight_kg=82.6, dose_mg_per_kg=0.75, duration_min=40, bp_sys_before=128,
        bp_dia_before=84, hr_before=72, spo2_before=98, side_effects=["dissociation", "nausea"])
    inf = saved.infusion
    assert (inf.number, inf.administered_on, inf.total_dose_mg) == (1, TODAY, 62.0)  # 61.95
    assert inf.side_effects == ["nausea", "dissociation"]
    assert inf.clinician_code == "clin"
    got = {(a.timepoint, a.instrument): (a.total, a.severity, a.complete, a.item9)
           for a in saved.assessments}
    assert got == {("pre", "PHQ-9"): (17, "moderately severe", True, 1),
                   ("pre", "GAD-7"): (12, "moderate", True, None),
                   ("post", "PHQ-9"): (8, "mild", True, 0)}
    assert saved.skipped == ["post GAD-7"]  # a blank form is not recorded
    assert [a.item9_value for a in saved.alerts] == [1]
    assert (count(Infusion), count(Assessment), count(SafetyAlert)) == (1, 3, 1)


def test_missing_items_are_prorated_or_stored_incomplete(clin, course_id):
    saved = log(clin, course_id, scores=[
        score("PHQ-9", "pre", [2, 1, 2, 1, 2, 1, 2, None, 0]),  # 11 x 9 / 8 = 12.375 -> 12
        score("PHQ-9", "post", [1, 1, 1, 1, 1, 1, None, None, None],  # 3 missing: no total
              item9_declined=True),
        score("GAD-7", "pre", [1, 1, 1, 1, 1, None, 0])])  # 5 x 7 / 6 = 5.83 -> 6
    got = {(a.timepoint, a.instrument): (a.total, a.severity, a.complete)
           for a in saved.assessments}
    assert got == {("pre", "PHQ-9"): (12, "moderate", True),
                   ("post", "PHQ-9"): (None, None, False),
                   ("pre", "GAD-7"): (6, "mild", True)}


def test_a_bad_score_writes_nothing_not_even_the_infusion(clin, course_id):
    with pytest.raises(InputError) as caught:
        log(clin, course_id, scores=[score("PHQ-9", "pre", [0, 0, 4, 0, 0, 0, 0, 0, 1])])
    assert caught.value.problems == [("pre PHQ-9 item_3",
                                      "4 is out of range; answers are integers 0-3")]
    assert (count(Infusion), count(Assessment), count(SafetyAlert)) == (0, 0, 0)


def test_every_problem_of_infusion_and_scores_is_reported_at_once(clin, course_id):
    with pytest.raises(InputError) as caught:
        log(clin, course_id, administered_on=date(2025, 3, 11), dose_mg_per_kg=2.5,
            hr_peak=250, scores=[score("GAD-7", "pre", [0] * 6 + [9]),
                                 score("PHQ-9", "pre", [0] * 9), score("PHQ-9", "pre", [1] * 9)])
    assert caught.value.fields == ["administered_on", "dose_mg_per_kg", "hr_peak",
                                   "pre GAD-7 item_7", "pre PHQ-9"]
    assert "entered twice" in caught.value.problems[-1][1]
    assert count(Infusion) == 0


@pytest.mark.parametrize("dose", [0, -1, 2.01])
def test_doses_outside_the_limits_are_refused(clin, course_id, dose):
    with pytest.raises(InputError) as caught:
        log(clin, course_id, dose_mg_per_kg=dose)
    assert caught.value.fields == ["dose_mg_per_kg"]
    assert count(Infusion) == 0


def test_dose_limits_are_protocol_settings(clin, course_id):
    director = make_user("boss", "director", ("CL1",))
    with write_session() as session:
        update_protocol(session, actor=director,
                        changes={"dose_warn_mg_per_kg": 0.6, "dose_max_mg_per_kg": 1.2})
    with pytest.raises(InputError, match=r"at most 1\.2 mg/kg"):
        log(clin, course_id, dose_mg_per_kg=1.3)
    saved = log(clin, course_id, dose_mg_per_kg=0.7)
    assert saved.warnings == ["dose_mg_per_kg: 0.7 mg/kg is above the protocol's warning "
                              "level of 0.6 mg/kg; check the prescription"]


def test_a_second_save_of_the_same_infusion_is_already_saved(clin, course_id):
    log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    with pytest.raises(AlreadySaved) as caught:  # a double click sends the same number
        log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    assert "infusion 1 of course 1 is already saved" in str(caught.value)
    assert (count(Infusion), count(Assessment), count(SafetyAlert)) == (1, 1, 1)


def test_an_integrity_error_at_insert_is_reported_as_already_saved(clin, course_id,
                                                                   monkeypatch):
    saved = log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    monkeypatch.setattr(data.clinic.scores, "_check_free_slots", lambda *args: None)  # a race
    with pytest.raises(AlreadySaved, match="already saved"), write_session() as session:
        add_scores(session, actor=clin, infusion_id=saved.infusion.id,
                   scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    assert count(Assessment) == 1


def test_scores_for_a_saved_infusion_and_a_second_score_in_a_slot(clin, course_id):
    saved = log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    with write_session() as session:
        later = add_scores(session, actor=clin, infusion_id=saved.infusion.id,
                           scores=[score("PHQ-9", "post", PHQ9_POST)])
    assert [(a.timepoint, a.total, a.administered_on) for a in later.assessments] == \
        [("post", 8, TODAY)]
    with pytest.raises(AlreadySaved) as caught, write_session() as session:
        add_scores(session, actor=clin, infusion_id=saved.infusion.id,
                   scores=[score("PHQ-9", "pre", [0] * 9)])
    assert caught.value.problems == [("pre PHQ-9", "infusion 1 already has a pre-infusion "
                                      "PHQ-9; correct the saved score instead of entering a "
                                      "second one")]
    assert count(Assessment) == 2


@pytest.mark.parametrize("infusion_id", [None, 999])
def test_a_post_score_needs_its_infusion(clin, course_id, infusion_id):
    with pytest.raises(InputError) as caught, write_session() as session:
        add_scores(session, actor=clin, infusion_id=infusion_id,
                   scores=[score("PHQ-9", "post", PHQ9_POST)])
    assert caught.value.fields == ["infusion"]
    assert "log the infusion first" in str(caught.value)
    assert count(Assessment) == 0


def test_blank_scores_only_is_refused(clin, course_id):
    saved = log(clin, course_id)
    with pytest.raises(InputError, match="no answers entered"), write_session() as session:
        add_scores(session, actor=clin, infusion_id=saved.infusion.id,
                   scores=[score("GAD-7", "post", [None] * 7)])


def test_a_patient_outside_the_clinic_is_refused_and_nothing_written(clin, course_id):
    outsider = make_user("clin2", "clinician", ("CL2",))
    with pytest.raises(PermissionDenied):
        log(outsider, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    auditor = make_user("aud", "auditor", ("CL1",))
    with pytest.raises(PermissionDenied):
        log(auditor, course_id)
    assert count(Infusion) == 0
    with read_session() as session:
        denied = session.exec(select(AuditEvent.username).where(AuditEvent.action == "denied")
                              .order_by(AuditEvent.id)).all()
    assert denied == ["clin2", "aud"]


def test_courses_are_numbered_and_a_repeated_start_is_already_saved(clin):
    pid = make_patient(clin)
    first = make_course(clin, pid)
    with write_session() as session:
        second = start_course(session, actor=clin, patient_id=pid, course_type="maintenance",
                              number=2, start_date=TODAY, today=TODAY)
        assert (second.number, second.course_type, second.status) == (2, "maintenance", "active")
    with pytest.raises(AlreadySaved), write_session() as session:
        start_course(session, actor=clin, patient_id=pid, number=2, today=TODAY)
    with pytest.raises(InputError) as caught, write_session() as session:
        start_course(session, actor=clin, patient_id=pid, start_date=date(2025, 3, 11),
                     today=TODAY)
    assert caught.value.fields == ["start_date"]
    assert count(Course) == 2 and first


@pytest.mark.parametrize(("course_type", "number", "expected"), [
    ("induction", 1, "induction"), ("induction", 6, "induction"), ("induction", 7, "booster"),
    ("maintenance", 1, "maintenance"),
])
def test_default_infusion_type(course_type, number, expected):
    assert default_infusion_type(Course(course_type=course_type), number, 6) == expected


def test_a_number_gap_is_a_warning_and_the_screen_context(clin, course_id):
    log(clin, course_id, number=1, weight_kg=71.5)
    saved = log(clin, course_id, number=3, weight_kg=72.0)
    assert saved.warnings == ["number: infusion 3 leaves a gap (the next number was 2)"]
    with read_session() as session:
        course = session.get(Course, course_id)
        screen = infusion_screen(session, actor=clin, patient_id=course.patient_id)
        ordered = scores_of(session, actor=clin, course_id=course_id)
    assert [i.number for i in screen.infusions[course_id]] == [1, 3]
    assert screen.last_weight == 72.0 and screen.clinic == "CL1" and ordered == []
    assert screen.protocol["induction_length"] == 6


def test_the_infusion_and_its_scores_are_audited(clin, course_id):
    log(clin, course_id, scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    with read_session() as session:
        trail = session.exec(select(AuditEvent.action, AuditEvent.entity)
                             .where(AuditEvent.entity.in_(["infusion", "assessment", "alert"]))
                             .order_by(AuditEvent.id)).all()
    assert trail == [("create", "infusion"), ("create", "assessment"), ("open", "alert")]


def test_log_infusion_accepts_an_explicit_today(clin, course_id):
    with write_session() as session:
        saved = log_infusion(session, actor=clin, course_id=course_id,
                             infusion=infusion_input(administered_on=date(2025, 3, 11)),
                             today=date(2025, 3, 11))
    assert saved.infusion.administered_on == date(2025, 3, 11)
