"""Corrections: a reason is required, previous values stay in the history, scores are
re-scored (totals by hand), and the record page's history shows it all."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from data.clinic.corrections import correct_infusion, correct_score
from data.clinic.records import patient_record
from data.store.db import read_session, write_session
from models.schemas import InputError
from models.tables import Assessment, AuditEvent, Infusion
from tests.clinical_factories import (
    PHQ9_POST,
    PHQ9_PRE,
    TODAY,
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
def saved(clin):
    pid = make_patient(clin)
    return log(clin, make_course(clin, pid), scores=[score("PHQ-9", "pre", PHQ9_PRE),
                                                     score("PHQ-9", "post", PHQ9_POST)])


def corrections() -> list[tuple]:
    with read_session() as session:
        return [(e.entity, e.field, e.old_value, e.new_value, e.reason) for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "correct").order_by(AuditEvent.id))]


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_correction_without_a_reason_changes_nothing(clin, saved, reason):
    with pytest.raises(InputError) as caught, write_session() as session:
        correct_infusion(session, actor=clin, infusion_id=saved.infusion.id,
                         changes={"dose_mg_per_kg": 0.6}, reason=reason, today=TODAY)
    assert caught.value.fields == ["reason"]
    with pytest.raises(InputError), write_session() as session:
        correct_score(session, actor=clin, assessment_id=saved.assessments[0].id,
                      items=[0] * 9, reason=reason)
    assert corrections() == []


def test_infusion_correction_recomputes_the_total_dose_and_keeps_the_old_values(clin, saved):
    with write_session() as session:
        changed = correct_infusion(session, actor=clin, infusion_id=saved.infusion.id,
                                   changes={"dose_mg_per_kg": 0.6, "hr_peak": 96},
                                   reason="dose misread from the pump", today=TODAY)
    assert changed == ["dose_mg_per_kg", "hr_peak", "total_dose_mg"]
    with read_session() as session:
        row = session.get(Infusion, saved.infusion.id)
    assert (row.dose_mg_per_kg, row.total_dose_mg, row.hr_peak) == (0.6, 42.0, 96)  # 0.6 x 70
    why = "dose misread from the pump"
    assert corrections() == [("infusion", "dose_mg_per_kg", "0.5", "0.6", why),
                             ("infusion", "hr_peak", None, "96", why),
                             ("infusion", "total_dose_mg", "35.0", "42.0", why)]


def test_infusion_corrections_are_validated(clin, saved):
    for changes, field in [({"dose_mg_per_kg": 2.5}, "dose_mg_per_kg"),
                           ({"administered_on": date(2025, 3, 11)}, "administered_on"),
                           ({"number": 4}, "number"), ({"spo2_before": 101}, "spo2_before")]:
        with pytest.raises(InputError) as caught, write_session() as session:
            correct_infusion(session, actor=clin, infusion_id=saved.infusion.id,
                             changes=changes, reason="fix", today=TODAY)
        assert caught.value.fields == [field]
    assert corrections() == []


def test_a_corrected_date_moves_the_scores_with_it(clin, saved):
    with write_session() as session:
        correct_infusion(session, actor=clin, infusion_id=saved.infusion.id,
                         changes={"administered_on": date(2025, 3, 9)}, reason="entered late",
                         today=TODAY)
    with read_session() as session:
        dates = session.exec(select(Assessment.administered_on)).all()
    assert dates == [date(2025, 3, 9)] * 2
    assert [c[:2] for c in corrections()] == [("infusion", "administered_on"),
                                              ("assessment", "administered_on"),
                                              ("assessment", "administered_on")]


def test_score_correction_rescores_and_records_each_change(clin, saved):
    pre = saved.assessments[0]
    new_items = [2, 2, 2, 2, 2, 2, 0, 0, 1]  # 6 x 2 + 1 = 13, moderate
    with write_session() as session:
        changed, alert = correct_score(session, actor=clin, assessment_id=pre.id,
                                       items=new_items, reason="items 7-8 mis-keyed")
    assert changed == ["item_7", "item_8", "total", "severity"]
    assert alert is None  # the original alert already exists
    with read_session() as session:
        row = session.get(Assessment, pre.id)
    assert (row.items, row.total, row.severity, row.complete, row.item9) == \
        (new_items, 13, "moderate", True, 1)
    why = "items 7-8 mis-keyed"
    assert corrections() == [("assessment", "item_7", "2", "0", why),
                             ("assessment", "item_8", "2", "0", why),
                             ("assessment", "total", "17", "13", why),
                             ("assessment", "severity", "moderately severe", "moderate", why)]


def test_a_correction_can_make_a_score_incomplete_but_not_blank(clin, saved):
    post = saved.assessments[1]
    with write_session() as session:
        changed, _ = correct_score(session, actor=clin, assessment_id=post.id,
                                   items=[1, 1, 1, 1, 1, None, None, None, 0],
                                   reason="items 6-8 were not asked")
    assert changed == ["item_6", "item_7", "item_8", "total", "severity", "complete"]
    with pytest.raises(InputError) as caught, write_session() as session:  # section 1
        correct_score(session, actor=clin, assessment_id=post.id,
                      items=[1] * 8 + [None], reason="item 9 was not asked")
    assert caught.value.fields == ["post PHQ-9 item_9"]
    with pytest.raises(InputError, match="cannot blank every answer"), \
            write_session() as session:
        correct_score(session, actor=clin, assessment_id=post.id, items=[None] * 9,
                      reason="x")
    with pytest.raises(InputError) as caught, write_session() as session:
        correct_score(session, actor=clin, assessment_id=post.id, items=[5] + [0] * 8,
                      reason="x")
    assert caught.value.fields == ["post PHQ-9 item_1"]


def test_nothing_changed_records_nothing(clin, saved):
    with write_session() as session:
        assert correct_infusion(session, actor=clin, infusion_id=saved.infusion.id,
                                changes={"route": "IV"}, reason="checked", today=TODAY) == []
    assert corrections() == []


def test_the_record_shows_courses_item9_and_the_correction_history(clin, saved):
    with write_session() as session:
        correct_score(session, actor=clin, assessment_id=saved.assessments[1].id,
                      items=[1] * 8 + [1], reason="patient clarified item 9")
    with read_session() as session:
        record = patient_record(session, actor=clin, patient_id=saved.alerts[0].patient_id,
                                today=TODAY)
    assert (record.clinic, record.age, record.age_warning) == ("CL1", 44, None)
    [course] = record.courses
    [row] = course["rows"]
    assert (row["infusion"], row["total mg"], row["PHQ-9 pre"], row["PHQ-9 post-infusion"]) == \
        (1, 35.0, "17 (moderately severe)", "9 (mild)")
    assert [(r["timepoint"], r["item 9"], r["alert"]) for r in record.item9] == \
        [("pre", 1, "open"), ("post-infusion", 1, "open")]
    assert [(h["record"], h["field"], h["old"], h["new"], h["reason"], h["by"])
            for h in record.history][-1] == (
        "PHQ-9 post-infusion, infusion 1 (course 1)", "item_9", "0", "1",
        "patient clarified item 9", "clin")
