"""Monitoring an infusion (issue 12 item 5): the pre-infusion blood-pressure hold rule
(strictly above 160/100 by default, protocol settings), the decision and its reason,
held visits (no ketamine, no infusion number), bounded MOAA/S, dissociation and discharge
minutes, adverse events. Expected values are worked out from the rules by hand."""

from __future__ import annotations

import pytest
from sqlmodel import select

from data.clinic.infusions import log_infusion
from data.clinic.monitoring import add_adverse_events
from data.clinic.protocol import update_protocol
from data.store.db import read_session, write_session
from models.schemas import InfusionIn, InputError, bp_above_hold, parse
from models.tables import AdverseEvent, AuditEvent, HeldVisit, Infusion
from tests.clinical_factories import TODAY, infusion_input, make_course, make_patient, score
from tests.factories import make_user

PROTOCOL = {"bp_hold_systolic": 160, "bp_hold_diastolic": 100, "dose_max_mg_per_kg": 2.0}
AE = {"category": "raised blood pressure", "severity": "moderate",
      "action_taken": "labetalol 10 mg IV; observed 30 min"}


def check(**values):
    return parse(InfusionIn, infusion_input(**values), today=TODAY, protocol=PROTOCOL, new=True)


def fields(exc: InputError) -> list[str]:
    return exc.fields


@pytest.mark.parametrize(("sys_", "dia", "above"), [
    (160, 100, False),  # the rule is "> 160", "> 100": the limits themselves do not warn
    (161, 100, True), (160, 101, True), (159, 99, False), (250, 90, True),
    (None, 101, True), (161, None, True), (None, None, False),
])
def test_the_hold_rule_is_strictly_above(sys_, dia, above):
    assert bp_above_hold(sys_, dia, PROTOCOL) is above


def test_the_hold_rule_follows_the_protocol_settings():
    assert bp_above_hold(151, 80, {"bp_hold_systolic": 150, "bp_hold_diastolic": 100})
    assert not bp_above_hold(150, 80, {"bp_hold_systolic": 150, "bp_hold_diastolic": 100})


def test_a_systolic_of_250_before_needs_a_decision():
    with pytest.raises(InputError) as exc:
        check(bp_sys_before=250, bp_dia_before=90)
    assert fields(exc.value) == ["bp_decision"]
    assert "above the hold rule (systolic > 160 or diastolic > 100" in str(exc.value)


def test_160_over_100_needs_no_decision_and_refuses_one():
    assert check(bp_sys_before=160, bp_dia_before=100).bp_decision is None
    with pytest.raises(InputError) as exc:
        check(bp_sys_before=160, bp_dia_before=100, bp_decision="proceeded",
              bp_decision_reason="x")
    assert fields(exc.value) == ["bp_decision"]
    assert "only recorded when" in str(exc.value)


def test_a_decision_needs_its_reason():
    with pytest.raises(InputError) as exc:
        check(bp_sys_before=161, bp_dia_before=90, bp_decision="proceeded",
              bp_decision_reason="  ")
    assert fields(exc.value) == ["bp_decision_reason"]
    ok = check(bp_sys_before=161, bp_dia_before=90, bp_decision="proceeded",
               bp_decision_reason="repeat 155/92 after 10 min rest")
    assert ok.bp_decision == "proceeded" and not ok.held


def test_held_gives_no_ketamine():
    with pytest.raises(InputError) as exc:
        check(bp_sys_before=175, bp_dia_before=95, bp_decision="held",
              bp_decision_reason="stays above 170", sedation_moaas=4)
    assert fields(exc.value) == ["dose_mg_per_kg", "sedation_moaas"]
    held = check(bp_sys_before=175, bp_dia_before=95, bp_decision="held",
                 bp_decision_reason="stays above 170", dose_mg_per_kg=None, route=None)
    assert held.held  # route, dose and weight are not required for a held visit


@pytest.mark.parametrize(("name", "value", "ok"), [
    ("sedation_moaas", 0, True), ("sedation_moaas", 5, True), ("sedation_moaas", 6, False),
    ("sedation_moaas", -1, False), ("sedation_moaas", 2.5, False),
    ("discharge_ready_minutes", 0, True), ("discharge_ready_minutes", 1440, True),
    ("discharge_ready_minutes", 1441, False), ("discharge_ready_minutes", -1, False),
    ("dissociation", "severe", True), ("dissociation", "extreme", False),
    ("bp_decision", "postponed", False),
])
def test_monitoring_values_are_bounded(name, value, ok):
    if ok:
        assert getattr(check(**{name: value}), name) == value
        return
    with pytest.raises(InputError) as exc:
        check(**{name: value})
    assert fields(exc.value) == [name]


def test_adverse_event_problems_name_the_row_and_the_field():
    with pytest.raises(InputError) as exc:
        check(adverse_events=[AE, {"category": "other", "severity": "", "action_taken": ""}])
    assert sorted(fields(exc.value)) == ["adverse_event_2.action_taken",
                                         "adverse_event_2.severity"]
    with pytest.raises(InputError) as exc:
        check(adverse_events=[{**AE, "category": "other"}])
    assert fields(exc.value) == ["adverse_event_1.description"]
    with pytest.raises(InputError) as exc:
        check(adverse_events=[{**AE, "severity": "fatal"}])
    assert "one of mild, moderate, severe, serious" in str(exc.value)


@pytest.fixture
def clin(store_url):
    return make_user("clin", "clinician", ("CL1",))


@pytest.fixture
def course_id(clin):
    return make_course(clin, make_patient(clin))


def log(clin, course_id, scores=(), **values):
    with write_session() as session:
        return log_infusion(session, actor=clin, course_id=course_id,
                            infusion=infusion_input(**values), scores=scores, today=TODAY)


def test_an_infusion_saves_its_monitoring_and_adverse_events(clin, course_id):
    saved = log(clin, course_id, bp_sys_before=165, bp_dia_before=95, bp_decision="proceeded",
                bp_decision_reason="anxious; 158/94 after rest", sedation_moaas=4,
                dissociation="moderate", discharge_ready_minutes=45,
                adverse_events=[AE, {"category": "nausea or vomiting", "severity": "mild",
                                     "action_taken": "ondansetron 4 mg"}])
    assert len(saved.adverse_events) == 2
    with read_session() as session:
        row = session.exec(select(Infusion)).one()
        events = session.exec(select(AdverseEvent).order_by(AdverseEvent.id)).all()
        audited = session.exec(select(AuditEvent.entity_id).where(
            AuditEvent.entity == "adverse_event")).all()
    assert (row.bp_decision, row.sedation_moaas, row.dissociation,
            row.discharge_ready_minutes) == ("proceeded", 4, "moderate", 45)
    assert [(e.infusion_id, e.severity) for e in events] == [(row.id, "moderate"),
                                                            (row.id, "mild")]
    assert events[0].recorded_by_id == clin.user_id
    assert sorted(audited) == sorted(str(e.id) for e in events)


def test_a_refused_save_writes_nothing(clin, course_id):
    with pytest.raises(InputError) as exc:
        log(clin, course_id, bp_sys_before=250, bp_dia_before=90, adverse_events=[AE])
    assert "bp_decision" in exc.value.fields
    with read_session() as session:
        assert session.exec(select(Infusion)).all() == []
        assert session.exec(select(AdverseEvent)).all() == []


def test_a_held_visit_uses_no_infusion_number(clin, course_id):
    saved = log(clin, course_id, number=1, bp_sys_before=182, bp_dia_before=104, hr_before=88,
                bp_decision="held", bp_decision_reason="182/104 twice; GP review",
                dose_mg_per_kg=None, route=None)
    assert saved.held is not None and saved.infusion is None
    again = log(clin, course_id, number=1, bp_sys_before=138, bp_dia_before=86)
    assert again.infusion.number == 1  # the infusion given later is still number 1
    with read_session() as session:
        held = session.exec(select(HeldVisit)).one()
        infusions = session.exec(select(Infusion)).all()
        audit_row = session.exec(select(AuditEvent).where(
            AuditEvent.entity == "held_visit")).one()
    assert (held.planned_number, held.bp_sys, held.bp_dia, held.hr, held.decision) == (
        1, 182, 104, 88, "held")
    assert len(infusions) == 1 and audit_row.reason == "182/104 twice; GP review"


def test_a_held_visit_refuses_scores(clin, course_id):
    with pytest.raises(InputError) as exc:
        log(clin, course_id, bp_sys_before=170, bp_dia_before=90, bp_decision="rescheduled",
            bp_decision_reason="come back Friday", dose_mg_per_kg=None,
            scores=[score("GAD-7", "pre", [1] * 7)])
    assert exc.value.fields == ["scores"]


def test_the_hold_rule_is_a_protocol_setting(clin, course_id):
    director = make_user("dir", "director", ("CL1",))
    with write_session() as session:
        update_protocol(session, actor=director, changes={"bp_hold_systolic": 180})
    log(clin, course_id, bp_sys_before=175, bp_dia_before=95)  # now within the rule
    with pytest.raises(InputError):
        log(clin, course_id, number=2, bp_sys_before=181, bp_dia_before=95)


def test_adverse_events_added_to_a_saved_infusion(clin, course_id):
    saved = log(clin, course_id)
    with write_session() as session:
        rows = add_adverse_events(session, actor=clin, infusion_id=saved.infusion.id,
                                  events=[{**AE, "severity": "serious"}])
    assert [r.severity for r in rows] == ["serious"]
    with pytest.raises(InputError) as exc, write_session() as session:
        add_adverse_events(session, actor=clin, infusion_id=saved.infusion.id, events=[])
    assert exc.value.fields == ["adverse_events"]


def test_a_saved_infusion_above_the_rule_without_a_decision_stays_correctable(clin, course_id):
    """Rows saved before the rule existed have no decision; a correction is not blocked."""
    from data.clinic.corrections import correct_infusion
    saved = log(clin, course_id)
    with write_session() as session:  # as an old row: 250/90 with no decision
        row = session.get(Infusion, saved.infusion.id)
        row.bp_sys_before, row.bp_dia_before = 250, 90
        session.add(row)
    with write_session() as session:
        changed = correct_infusion(session, actor=clin, infusion_id=saved.infusion.id,
                                   changes={"sedation_moaas": 3}, reason="charted late",
                                   today=TODAY)
    assert changed == ["sedation_moaas"]
    with pytest.raises(InputError) as exc, write_session() as session:
        correct_infusion(session, actor=clin, infusion_id=saved.infusion.id,
                         changes={"bp_decision": "held"}, reason="x", today=TODAY)
    assert exc.value.fields == ["bp_decision"]


def test_the_dose_frame_reads_one_sedation_and_one_dissociation_column(clin, course_id):
    """issue 14's tolerability: an adverse event is a recorded event (or an older note)."""
    from data.analytics.dose_frame import load_dose_frame
    from data.analytics.outcome_report import OutcomeFilters
    log(clin, course_id, number=1, sedation_moaas=3, dissociation="mild", adverse_events=[AE])
    log(clin, course_id, number=2, adverse_event="older free-text note")
    log(clin, course_id, number=3)
    director = make_user("boss", "director", ("CL1",))
    frame = load_dose_frame(actor=director, filters=OutcomeFilters())
    assert list(frame["adverse_event"]) == [True, True, False]
    assert frame["sedation_moaas"].iloc[0] == 3 and frame["sedation_moaas"].isna().sum() == 2
    assert frame["dissociation"].iloc[0] == "mild"
    assert [c for c in frame.columns if "sedation" in c or "dissociation" in c] == [
        "sedation_moaas", "dissociation"]


@pytest.mark.parametrize("value", [5, "nausea", {"category": "nausea"}, 2.5])
def test_adverse_events_that_are_not_a_list_are_refused_naming_the_field(value):
    with pytest.raises(InputError) as exc:  # was a TypeError from list(value)
        check(adverse_events=value)
    assert fields(exc.value) == ["adverse_events"]
    assert "must be a list of adverse events" in str(exc.value)
