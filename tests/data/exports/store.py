"""A small store seeded with distinctive identifiers and formula-injection strings, built
with the models directly (hand-checked figures below).

Clinic CL1 (6 patients, one course each) and CL2 (2 patients: a small cell).
PHQ-9 baseline (pre of infusion 1) -> post of infusion 6:

    P1 20 -> 10  response (2x10 <= 20), improvement (10 >= 6), no remission
    P2 21 -> 11  no response (22 > 21), improvement
    P3 15 -> 4   response, remission, improvement
    P4 12 -> 12  nothing
    P5 18 -> 3   response, remission, improvement
    P6 10 -> (3 infusions only: not evaluable after 6, no latest)
    P7 16 -> 8   response (CL2)       P8 14 -> 14 (CL2)

CL1 after 6: 6 courses, 6 with baseline, 5 evaluable, 3 responders, 2 remitters.
All after 6: 8 courses, 8 with baseline, 7 evaluable, 4 responders, 2 remitters.
GAD-7 (pre 1 -> post 6): every patient 15 -> 6 except P6 (no post 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from data.store import audit
from data.store.db import write_session
from data.store.outcome_queue import mark_courses_stale
from data.store.pseudonyms import new_study_id
from models.access import SYSTEM, Actor
from models.tables import (
    AdverseEvent,
    Assessment,
    Clinic,
    Course,
    Infusion,
    Patient,
    SafetyAlert,
)
from outcomes.instruments import get_instrument
from outcomes.scoring import score_items
from tests.factories import get_user, make_user

INJECTIONS = ('=1+2', '+1+2', '-1+2', '@SUM(A1)', '=HYPERLINK("http://x","y")',
              "\tTabbed", "\rCarriage")
IDENTIFIERS = ("Zyxwvut", "Qqqq", "MRN-998877", "1931-02-03", "Wallaby", "Jjjkkk",
               "Qwertyuiop", "Vomitedxx", "dr.kplmnq", "nurse.vbnmz", "MRN-555001",
               "Plainperson", "HYPERLINK", "SUM(A1)", "Carriage", "Tabbed", "Actionnotexx")


@dataclass(frozen=True)
class PatientSpec:
    code: str
    name: str
    birth: date | None
    start: date
    phq: tuple[int, int | None]
    notes: str = ""
    clinic: str = "CL1"
    n_infusions: int = 6


PATIENTS = (
    PatientSpec("MRN-998877", "Zyxwvut Qqqq", date(1931, 2, 3), date(2024, 3, 4), (20, 10),
                "Lives at 42 Wallaby Way; daughter Jjjkkk"),
    PatientSpec("=1+2", '=HYPERLINK("http://x","y")', date(1980, 6, 15), date(2024, 3, 11),
                (21, 11), "@SUM(A1)"),
    PatientSpec("+1+2", "-1+2", date(1990, 1, 1), date(2024, 4, 1), (15, 4), "\tTabbed note"),
    PatientSpec("@SUM(A1)", "\rCarriage Name", None, date(2024, 4, 8), (12, 12), "=1+2"),
    PatientSpec("MRN-555001", "Plainperson One", date(1934, 12, 31), date(2024, 5, 1),
                (18, 3)),  # 89 on the course start (birthday not reached)
    PatientSpec("MRN-555002", "Plainperson Two", date(1934, 5, 1), date(2024, 5, 1),
                (10, None), n_infusions=3),  # 90 exactly on the course start
    PatientSpec("MRN-777001", "Plainperson Three", date(1970, 1, 1), date(2024, 6, 3),
                (16, 8), clinic="CL2"),
    PatientSpec("MRN-777002", "Plainperson Four", date(1975, 1, 1), date(2024, 6, 10),
                (14, 14), clinic="CL2"),
)


def items_for(instrument: str, total: int) -> list[int]:
    """Answers summing to `total`, filled from item 1 (item 9 stays 0 up to 24)."""
    inst = get_instrument(instrument)
    answers = []
    for _ in range(inst.n_items):
        answers.append(min(inst.item_max, total))
        total -= answers[-1]
    return answers


def _assessment(course: Course, infusion: Infusion, timepoint: str, instrument: str,
                total: int, entered_by: int | None, day: date) -> Assessment:
    result = score_items(instrument, items_for(instrument, total))
    return Assessment(course_id=course.id, infusion_id=infusion.id, timepoint=timepoint,
                      instrument=instrument, administered_on=day, items=list(result.items),
                      functional_difficulty=1 if instrument == "PHQ-9" else None,
                      total=result.total, severity=result.severity, complete=result.complete,
                      item9=result.items[8] if instrument == "PHQ-9" else None,
                      source="clinician", entered_by_id=entered_by, entered_at=audit.utcnow())


def _add_patient(session, spec: PatientSpec, clinics: dict[str, Clinic],
                 clinician_ids: dict[str, int]) -> Patient:
    clinician = "dr.kplmnq" if spec.clinic == "CL1" else "nurse.vbnmz"
    patient = Patient(clinic_id=clinics[spec.clinic].id, patient_code=spec.code,
                      study_id=new_study_id(), name=spec.name, birth_date=spec.birth,
                      sex="female", indication="TRD", failed_trials=3, notes=spec.notes,
                      created_at=audit.utcnow())
    session.add(patient)
    session.flush()
    audit.record(session, actor=SYSTEM, action="create", entity="patient", entity_id=patient.id,
                 patient_id=patient.id, new={"name": spec.name, "patient_code": spec.code})
    course = Course(patient_id=patient.id, number=1, start_date=spec.start,
                    created_at=audit.utcnow())
    session.add(course)
    session.flush()
    for k in range(1, spec.n_infusions + 1):
        day = spec.start + timedelta(days=3 * (k - 1))
        infusion = Infusion(
            course_id=course.id, number=k, administered_on=day,
            started_at=datetime.combine(day, time(9), UTC),
            route="IV", dose_mg_per_kg=0.5, weight_kg=-1.5 if k == 2 else 70.0,
            bp_sys_before=120, hr_before=70, side_effects=["nausea"] if k == 1 else [],
            side_effect_other="Qwertyuiop dizziness" if k == 1 else "",
            adverse_event="Vomitedxx near Mr Zyxwvut" if k == 2 else "",
            bp_decision="proceeded" if k == 3 else None,
            bp_decision_reason="Kkkvvv pressure reason" if k == 3 else "",
            sedation_moaas=4 if k == 3 else None, dissociation="mild" if k == 3 else None,
            clinician_id=clinician_ids[clinician], created_at=audit.utcnow())
        session.add(infusion)
        session.flush()
        if k == 3:  # a structured adverse event with free text (dropped when de-identified)
            session.add(AdverseEvent(infusion_id=infusion.id, category="other",
                                     description="Kkkvvv fainted", severity="moderate",
                                     action_taken="Kkkvvv action", recorded_at=audit.utcnow()))
        pre, post = spec.phq
        if k == 1:
            session.add(_assessment(course, infusion, "pre", "PHQ-9", pre,
                                    clinician_ids[clinician], day))
            session.add(_assessment(course, infusion, "pre", "GAD-7", 15,
                                    clinician_ids[clinician], day))
        if k == 6 and post is not None:
            session.add(_assessment(course, infusion, "post", "PHQ-9", post,
                                    clinician_ids[clinician], day))
            session.add(_assessment(course, infusion, "post", "GAD-7", 6,
                                    clinician_ids[clinician], day))
    return patient


def seed_identifier_store() -> dict[str, Actor]:
    """The store above; returns the actors: director, auditor, clinician, admin."""
    actors = {
        "director": make_user("boss.director", "director", ("CL1", "CL2"), all_clinics=True),
        "auditor": make_user("audit.person", "auditor", ("CL1", "CL2"), all_clinics=True),
        "clinician": make_user("dr.kplmnq", "clinician", ("CL1",)),
        "admin": make_user("it.admin", "admin"),
    }
    make_user("nurse.vbnmz", "clinician", ("CL2",))
    ids = {name: get_user(name).id for name in ("dr.kplmnq", "nurse.vbnmz")}
    with write_session() as session:
        from sqlmodel import select

        clinics = {c.code: c for c in session.exec(select(Clinic)).all()}
        patients = [_add_patient(session, spec, clinics, ids) for spec in PATIENTS]
        session.flush()
        first = session.exec(select(Assessment).where(Assessment.instrument == "PHQ-9")).first()
        session.add(SafetyAlert(assessment_id=first.id, patient_id=patients[0].id,
                                clinic_id=clinics["CL1"].id, item9_value=1,
                                observed_on=date(2024, 3, 4), status="closed",
                                opened_at=audit.utcnow(), closed_at=audit.utcnow(),
                                action="called", action_note="Actionnotexx called daughter"))
        audit.record(session, actor=actors["clinician"], action="close", entity="alert",
                     entity_id=1, patient_id=patients[0].id, field="action_note",
                     new="Actionnotexx called daughter", reason="Zyxwvut safe")
        # rows written here directly, not through the services: queue their courses' stored
        # outcomes as every write path does (data.analytics.course_outcomes, issue 13)
        mark_courses_stale(session, session.exec(select(Course.id)).all())
    return actors
