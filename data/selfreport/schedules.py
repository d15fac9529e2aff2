"""Per-clinic self-report schedules and what they make due (`manage.py invitations --due`).

A clinic's schedule is a protocol setting (table ProtocolSetting) under the key
``selfreport_schedule:<clinic code>``, valued ``{rule: [instrument, ...]}`` in compact JSON
(the column holds 200 characters; every rule with every self-report instrument fits).
No row, or an empty mapping, means **off**: a clinic asks its patients to answer at home
only once a medical director has chosen the rules (issue 10). The rules themselves are
pure functions in outcomes/schedule.py.

Listing what is due names patients (their codes): an identified read, audited as 'read'
on entity 'invitations_due' (date, clinic filter and number of rows; no codes).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from data.clinic.protocol import load_protocol
from data.files.safe_csv import write_csv
from data.selfreport.clinic_settings import ClinicSettingError, clinic_by_code
from data.selfreport.invitations import link_state
from data.store import audit
from data.store.clinic_time import today_in
from models.access import Actor, require, require_clinic
from models.tables import (
    Clinic,
    Course,
    CourseStatus,
    Infusion,
    Invitation,
    Patient,
    ProtocolSetting,
)
from outcomes.schedule import InfusionDay, ScheduleError, due_on, validate_schedule

KEY_PREFIX = "selfreport_schedule:"
VALUE_MAX = 200  # ProtocolSetting.value
DUE_COLUMNS = ("patient_id", "clinic", "course", "occasion", "infusion", "instruments",
               "rule", "due_on", "link")


def schedule_key(code: str) -> str:
    return f"{KEY_PREFIX}{code}"


def encode_schedule(schedule: dict[str, list[str]]) -> str:
    return json.dumps(schedule, separators=(",", ":"))


def load_schedule(session: Session, clinic: Clinic) -> dict[str, list[str]]:
    """The clinic's schedule; {} (off) when none is stored."""
    row = session.get(ProtocolSetting, schedule_key(clinic.code))
    return json.loads(row.value) if row else {}


def update_schedule(session: Session, *, actor: Actor, code: str,
                    schedule: object) -> dict[str, list[str]]:
    """Validate, then store one clinic's schedule (directors, clinics in scope); audited."""
    require(actor, "edit_settings", entity="protocol", entity_id=schedule_key(code),
            message="Only a medical director can change a clinic's schedule.")
    clinic = clinic_by_code(session, code)
    require_clinic(actor, clinic.id, entity="clinic", entity_id=clinic.id)
    checked = validate_schedule(schedule)
    value = encode_schedule(checked)
    if len(value) > VALUE_MAX:
        raise ScheduleError(f"schedule: too long to store ({len(value)} > {VALUE_MAX} "
                            "characters)")
    current = load_schedule(session, clinic)
    if current == checked:
        return checked
    key = schedule_key(code)
    row = session.get(ProtocolSetting, key) or ProtocolSetting(key=key, value="",
                                                              updated_at=audit.utcnow())
    row.value, row.updated_at, row.updated_by_id = value, audit.utcnow(), actor.user_id
    session.add(row)
    audit.record(session, actor=actor, action="update", entity="protocol", entity_id=key,
                 field=key, old=current, new=checked)
    return checked


def _clinics(session: Session, actor: Actor, code: str | None) -> list[Clinic]:
    if code:
        clinic = clinic_by_code(session, code)
        require_clinic(actor, clinic.id, entity="clinic", entity_id=clinic.id)
        return [clinic]
    stmt = select(Clinic).order_by(Clinic.code)
    if not actor.all_clinics:
        stmt = stmt.where(Clinic.id.in_(sorted(actor.clinic_ids)))
    return list(session.exec(stmt).all())


def _clinic_due(session: Session, clinic: Clinic, schedule: dict, day: date,
                induction_length: int, now: datetime) -> list[dict[str, Any]]:
    courses = session.exec(
        select(Course, Patient.patient_code).join(Patient, Course.patient_id == Patient.id)
        .where(Patient.clinic_id == clinic.id, Course.status == CourseStatus.ACTIVE)
        .order_by(Patient.patient_code, Course.number)).all()
    if not courses:
        return []
    infusions: dict[int, list[InfusionDay]] = defaultdict(list)
    for course_id, number, on, kind in session.exec(
            select(Infusion.course_id, Infusion.number, Infusion.administered_on,
                   Infusion.infusion_type)
            .where(Infusion.course_id.in_([c.id for c, _ in courses]))).all():
        infusions[course_id].append(InfusionDay(number, on, kind))
    invitations = {(i.course_id, i.infusion_number): i for i in session.exec(
        select(Invitation).where(Invitation.clinic_id == clinic.id,
                                 Invitation.occasion == "followup",
                                 Invitation.due_on == day)
        .order_by(Invitation.created_at, Invitation.id)).all()}  # the latest wins
    rows = []
    for course, code in courses:
        due = due_on(infusions[course.id], schedule, day, induction_length=induction_length)
        if due is None:
            continue
        rows.append({"patient_id": code, "clinic": clinic.code, "course": course.number,
                     "occasion": due.occasion, "infusion": due.after_infusion,
                     "instruments": list(due.instruments), "rule": due.rule,
                     "due_on": day.isoformat(),
                     "link": link_state(invitations.get((course.id, due.after_infusion)), now)})
    return rows


def due_invitations(session: Session, *, actor: Actor, day: date | None,
                    clinic_code: str | None = None,
                    now: datetime | None = None) -> list[dict[str, Any]]:
    """What each in-scope clinic's schedule makes due on `day` (None: each clinic's
    today, in its time zone), with its link state.
    Needs a write session: the identified read is audited."""
    require(actor, "view_patients", entity="invitations_due",
            message="This role does not see patients.")
    now = now or audit.utcnow()
    induction_length = load_protocol(session)["induction_length"]
    rows: list[dict[str, Any]] = []
    for clinic in _clinics(session, actor, clinic_code):
        schedule = load_schedule(session, clinic)
        if schedule:
            rows += _clinic_due(session, clinic, schedule, day or today_in(clinic, now=now),
                                induction_length, now)
    audit.record(session, actor=actor, action="read", entity="invitations_due",
                 new={"date": day.isoformat() if day else "each clinic's today",
                      "clinic": clinic_code, "rows": len(rows)})
    return rows


def format_due(rows: list[dict[str, Any]], fmt: str) -> str:
    """JSON (a list of objects) or CSV (instruments joined by ';'; formula-safe)."""
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    if fmt != "csv":
        raise ClinicSettingError(f"--format: '{fmt}' is not available; json or csv")
    return write_csv(DUE_COLUMNS, ([";".join(r[c]) if c == "instruments" else r[c]
                                    for c in DUE_COLUMNS] for r in rows)).decode("utf-8")
