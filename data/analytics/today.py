"""What a clinician's day holds: the Today list, and the patient list's status columns.

"Today" is each clinic's own calendar day (data/store/clinic_time.py). A patient is on the
Today list for one or more of these reasons (one row per patient):

- ``infusion today``: an infusion of any of their courses is dated today; the row shows
  whether a pre and a post score (any instrument) is saved for it.
- ``booster due``: an active course whose induction is over (``induction_length``
  induction infusions, or any booster or maintenance infusion, as outcomes/schedule.py)
  and whose last infusion is at least ``booster_overdue_days`` (protocol setting) days
  old, and at most ``attention_window_days`` old: a patient not seen for longer has left
  care and is not listed (the needs-attention list uses the same window).
- ``questionnaire due``: the clinic's self-report schedule makes a follow-up due today
  (outcomes.schedule.due_on) for an active course whose last infusion is within the
  attention window, and not every instrument of it has been answered today.

Each row also shows the patient's open suicide-risk alerts. The patient list adds, per
patient: last infusion, latest PHQ-9 with its band, open alerts, and what is next due
(the earliest of the next scheduled questionnaire within a week and the booster date).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, func, or_, select

from data.analytics.overview import clinics_in_scope
from data.clinic.protocol import load_protocol
from data.selfreport.schedules import load_schedule
from data.store.clinic_time import format_date, today_in
from models.access import Actor, require
from models.tables import Assessment, Clinic, Course, Infusion, Patient, SafetyAlert
from outcomes.instruments import severity
from outcomes.schedule import WEEK_DAYS, InfusionDay, due_on

INFUSION_TODAY = "infusion today"
BOOSTER_DUE = "booster due"
QUESTIONNAIRE_DUE = "questionnaire due"
REASONS = (INFUSION_TODAY, BOOSTER_DUE, QUESTIONNAIRE_DUE)
TODAY_COLUMNS = ("patient_id", "patient_code", "name", "clinic", "reasons", "infusion",
                 "pre_done", "post_done", "open_alerts", "questionnaires_due", "last_infusion")


@dataclass
class _Course:
    id: int
    patient_id: int
    infusions: list[InfusionDay]


def _induction_over(infusions: list[InfusionDay], induction_length: int) -> bool:
    n_induction = sum(1 for i in infusions if i.infusion_type == "induction")
    return n_induction >= induction_length or any(
        i.infusion_type != "induction" for i in infusions)


def _active_courses(session: Session, patient_ids: list[int] | None,
                    clinic_id: int | None = None, since: date | None = None) -> list[_Course]:
    """Active courses (of the patients, or of the clinic; with `since`, only those with an
    infusion on or after that day) with their infusions by date."""
    stmt = select(Course.id, Course.patient_id).where(Course.status == "active")
    if since is not None:
        recent = (select(Infusion.course_id).where(Infusion.administered_on >= since)
                  .distinct())
        stmt = stmt.where(Course.id.in_(recent))
    if clinic_id is not None:
        stmt = stmt.join(Patient, Patient.id == Course.patient_id).where(
            Patient.clinic_id == clinic_id)
    if patient_ids is not None:
        stmt = stmt.where(Course.patient_id.in_(patient_ids))
    courses = {cid: _Course(cid, pid, []) for cid, pid in session.exec(stmt).all()}
    if not courses:
        return []
    for course_id, number, on, kind in session.exec(
            select(Infusion.course_id, Infusion.number, Infusion.administered_on,
                   Infusion.infusion_type)
            .where(Infusion.course_id.in_(sorted(courses)))).all():
        courses[course_id].infusions.append(InfusionDay(number, on, kind))
    for course in courses.values():
        course.infusions.sort(key=lambda i: (i.on, i.number))
    return list(courses.values())


def _answered_today(session: Session, course_ids: list[int], day: date) -> dict[int, set[str]]:
    """Follow-up instruments answered on `day`, per course."""
    answered: dict[int, set[str]] = defaultdict(set)
    if course_ids:
        for course_id, instrument in session.exec(
                select(Assessment.course_id, Assessment.instrument)
                .where(Assessment.course_id.in_(course_ids), Assessment.timepoint == "followup",
                       Assessment.administered_on == day)).all():
            answered[course_id].add(instrument)
    return answered


def _open_alerts(session: Session, patient_ids: list[int]) -> dict[int, int]:
    if not patient_ids:
        return {}
    return dict(session.exec(
        select(SafetyAlert.patient_id, func.count(SafetyAlert.id))
        .where(SafetyAlert.status == "open", SafetyAlert.patient_id.in_(patient_ids))
        .group_by(SafetyAlert.patient_id)).all())


def _booster_date(course: _Course, protocol: dict) -> date | None:
    """The day a booster falls due (last infusion + interval), or None during induction."""
    if not course.infusions or not _induction_over(course.infusions,
                                                   protocol["induction_length"]):
        return None
    return course.infusions[-1].on + timedelta(days=protocol["booster_overdue_days"])


def _booster_due(course: _Course, protocol: dict, day: date) -> bool:
    due = _booster_date(course, protocol)
    if due is None or due > day:
        return False
    return (day - course.infusions[-1].on).days <= protocol["attention_window_days"]


def _still_due(course: _Course, schedule: dict, day: date, protocol: dict,
               answered: set[str]) -> list[str]:
    due = due_on(course.infusions, schedule, day, induction_length=protocol["induction_length"])
    return [] if due is None else [name for name in due.instruments if name not in answered]


def _clinic_rows(session: Session, clinic: Clinic, day: date, protocol: dict) -> list[dict]:
    """The Today rows of one clinic, on its own `day`."""
    rows: dict[int, dict[str, Any]] = {}

    def row(patient_id: int) -> dict[str, Any]:
        return rows.setdefault(patient_id, {
            "patient_id": patient_id, "reasons": [], "infusion": None, "pre_done": None,
            "post_done": None, "questionnaires_due": []})

    todays = session.exec(
        select(Infusion.id, Infusion.number, Course.patient_id)
        .join(Course, Course.id == Infusion.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .where(Patient.clinic_id == clinic.id, Infusion.administered_on == day)
        .order_by(Infusion.number)).all()
    scored = {(infusion_id, timepoint) for infusion_id, timepoint in session.exec(
        select(Assessment.infusion_id, Assessment.timepoint)
        .where(Assessment.infusion_id.in_([i for i, _, _ in todays]))).all()} if todays else set()
    for infusion_id, number, patient_id in todays:
        r = row(patient_id)
        if INFUSION_TODAY not in r["reasons"]:
            r["reasons"].append(INFUSION_TODAY)
        r["infusion"] = number
        r["pre_done"] = (infusion_id, "pre") in scored
        r["post_done"] = (infusion_id, "post") in scored

    # a course last infused before the attention window has nothing due (data/analytics/today.py)
    courses = _active_courses(session, None, clinic_id=clinic.id,
                              since=day - timedelta(days=protocol["attention_window_days"]))
    schedule = load_schedule(session, clinic)
    answered = _answered_today(session, [c.id for c in courses], day) if schedule else {}
    for course in courses:
        infused_today = any(i.on == day for i in course.infusions)
        if not infused_today and _booster_due(course, protocol, day):
            r = row(course.patient_id)
            if BOOSTER_DUE not in r["reasons"]:
                r["reasons"].append(BOOSTER_DUE)
        if schedule:
            due = _still_due(course, schedule, day, protocol, answered.get(course.id, set()))
            if due:
                r = row(course.patient_id)
                if QUESTIONNAIRE_DUE not in r["reasons"]:
                    r["reasons"].append(QUESTIONNAIRE_DUE)
                r["questionnaires_due"] += [n for n in due if n not in r["questionnaires_due"]]
    return list(rows.values())


def today_list(session: Session, *, actor: Actor, now: datetime | None = None
               ) -> list[dict[str, Any]]:
    """The Today rows of every clinic in the actor's scope (TODAY_COLUMNS), each clinic on
    its own calendar day; ordered by clinic, then open alerts first, then patient code."""
    require(actor, "view_patients", entity="patient",
            message="This role does not see patient records.")
    protocol = load_protocol(session)
    found: list[dict[str, Any]] = []
    for clinic in clinics_in_scope(session, actor=actor):
        day = today_in(clinic, now=now)
        for r in _clinic_rows(session, clinic, day, protocol):
            found.append({**r, "clinic": clinic.code, "day": day})
    ids = [r["patient_id"] for r in found]
    if not ids:
        return []
    people = {p.id: p for p in session.exec(select(Patient).where(Patient.id.in_(ids))).all()}
    alerts = _open_alerts(session, ids)
    last = _last_infusions(session, ids)
    out = []
    for r in found:
        patient = people[r["patient_id"]]
        out.append({
            "patient_id": patient.id, "patient_code": patient.patient_code, "name": patient.name,
            "clinic": r["clinic"],
            "reasons": [reason for reason in REASONS if reason in r["reasons"]],
            "infusion": r["infusion"], "pre_done": r["pre_done"], "post_done": r["post_done"],
            "open_alerts": alerts.get(patient.id, 0),
            "questionnaires_due": r["questionnaires_due"],
            "last_infusion": last.get(patient.id)})
    return sorted(out, key=lambda r: (r["clinic"], r["open_alerts"] == 0, r["patient_code"]))


def _last_infusions(session: Session, patient_ids: list[int]) -> dict[int, date]:
    return dict(session.exec(
        select(Course.patient_id, func.max(Infusion.administered_on))
        .join(Infusion, Infusion.course_id == Course.id)
        .where(Course.patient_id.in_(patient_ids)).group_by(Course.patient_id)).all())


def _latest_phq9(session: Session, patient_ids: list[int]) -> dict[int, tuple[int, date]]:
    """Each patient's latest PHQ-9 with a total: (total, date); the latest date wins, then
    post over pre, a follow-up last on its day (C2), then the later entry."""
    order = {"pre": 0, "post": 1, "followup": 2}
    latest: dict[int, tuple] = {}
    for patient_id, total, on, timepoint, aid in session.exec(
            select(Course.patient_id, Assessment.total, Assessment.administered_on,
                   Assessment.timepoint, Assessment.id)
            .join(Course, Course.id == Assessment.course_id)
            .where(Course.patient_id.in_(patient_ids), Assessment.instrument == "PHQ-9",
                   Assessment.total.is_not(None))).all():
        key = (on, order.get(timepoint, 0), aid)
        if patient_id not in latest or key > latest[patient_id][0]:
            latest[patient_id] = (key, total, on)
    return {pid: (total, on) for pid, (_key, total, on) in latest.items()}


def _next_due(courses: list[_Course], schedule: dict, protocol: dict, day: date,
              answered: dict[int, set[str]]) -> tuple[date, str] | None:
    """The earliest of: a scheduled questionnaire from today to a week ahead (today's only
    when still unanswered), a booster date (past ones only within the attention window)."""
    candidates: list[tuple[date, str]] = []
    for course in courses:
        booster = _booster_date(course, protocol)
        if booster is not None and (booster > day or _booster_due(course, protocol, day)):
            candidates.append((booster, "booster"))
        if (not schedule or not course.infusions or (day - course.infusions[-1].on).days
                > protocol["attention_window_days"]):
            continue
        for ahead in range(WEEK_DAYS + 1):
            on = day + timedelta(days=ahead)
            seen = answered.get(course.id, set()) if ahead == 0 else set()
            due = _still_due(course, schedule, on, protocol, seen)
            if due:
                candidates.append((on, ", ".join(due)))
                break
    return min(candidates, key=lambda c: (c[0], c[1] != "booster"), default=None)


def patient_status(session: Session, *, actor: Actor, patient_ids: list[int],
                   now: datetime | None = None) -> dict[int, dict[str, Any]]:
    """The patient list's columns per patient: last_infusion, latest_phq9 ("14 (moderate)"),
    open_alerts, next_due ("booster from 7 Jan 2027", "PHQ-9 on 7 Dec 2026")."""
    require(actor, "view_patients", entity="patient",
            message="This role does not see patient records.")
    if not patient_ids:
        return {}
    protocol = load_protocol(session)
    clinics = {c.id: c for c in session.exec(
        select(Clinic).join(Patient, Patient.clinic_id == Clinic.id)
        .where(Patient.id.in_(patient_ids))).all()}
    clinic_of = dict(session.exec(select(Patient.id, Patient.clinic_id)
                                  .where(Patient.id.in_(patient_ids))).all())
    days = {cid: today_in(c, now=now) for cid, c in clinics.items()}
    schedules = {cid: load_schedule(session, c) for cid, c in clinics.items()}
    courses: dict[int, list[_Course]] = defaultdict(list)
    for course in _active_courses(session, patient_ids):
        courses[course.patient_id].append(course)
    answered: dict[int, set[str]] = defaultdict(set)
    if courses:
        for course_id, instrument, on, clinic_id in session.exec(
                select(Assessment.course_id, Assessment.instrument, Assessment.administered_on,
                       Patient.clinic_id)
                .join(Course, Course.id == Assessment.course_id)
                .join(Patient, Patient.id == Course.patient_id)
                .where(Course.patient_id.in_(list(courses)), Assessment.timepoint == "followup",
                       or_(*[Assessment.administered_on == d for d in set(days.values())]))
        ).all():
            if on == days[clinic_id]:
                answered[course_id].add(instrument)
    last = _last_infusions(session, patient_ids)
    phq9 = _latest_phq9(session, patient_ids)
    alerts = _open_alerts(session, patient_ids)
    out = {}
    for pid in patient_ids:
        clinic_id = clinic_of.get(pid)
        nxt = _next_due(courses.get(pid, []), schedules.get(clinic_id, {}), protocol,
                        days.get(clinic_id, today_in(None, now=now)), answered)
        total = phq9.get(pid)
        out[pid] = {
            "last_infusion": last.get(pid),
            "latest_phq9": None if total is None else f"{total[0]} ({severity('PHQ-9', total[0])})",
            "open_alerts": alerts.get(pid, 0),
            "next_due": None if nxt is None else _due_text(nxt, days.get(clinic_id)),
        }
    return out


def _due_text(due: tuple[date, str], day: date | None) -> str:
    on, what = due
    if what == "booster":
        return (f"booster due since {format_date(on)}" if day and on <= day
                else f"booster from {format_date(on)}")
    return f"{what} on {format_date(on)}" + (" (today)" if on == day else "")
