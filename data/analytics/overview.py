"""Read services for the home page and the patient list, always within the actor's scope."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, func, or_, select

from data.store.clinic_time import actor_today
from models.access import Actor, require, scope_filter
from models.tables import Clinic, Course, Infusion, Patient, SafetyAlert


def clinics_in_scope(session: Session, *, actor: Actor) -> list[Clinic]:
    stmt = select(Clinic).order_by(Clinic.code)
    if not actor.all_clinics:
        stmt = stmt.where(Clinic.id.in_(sorted(actor.clinic_ids)))
    return list(session.exec(stmt).all())


def home_counts(session: Session, *, actor: Actor, today: date | None = None) -> dict[str, int]:
    """Patients, courses, infusions this month and open safety alerts in scope."""
    today = today or actor_today(session, actor)
    in_scope = scope_filter(actor, Patient.clinic_id)
    patients = session.exec(select(func.count()).select_from(Patient).where(in_scope)).one()
    courses = session.exec(
        select(func.count()).select_from(Course).join(Patient).where(in_scope)).one()
    month_start = today.replace(day=1)
    infusions = session.exec(
        select(func.count()).select_from(Infusion).join(Course).join(Patient)
        .where(in_scope, Infusion.administered_on >= month_start,
               Infusion.administered_on <= today)).one()
    alerts = count_open_alerts(session, actor=actor)
    return {"patients": patients, "courses": courses, "infusions_this_month": infusions,
            "open_alerts": alerts}


def count_open_alerts(session: Session, *, actor: Actor) -> int:
    if not actor.can("view_alerts"):
        return 0
    return session.exec(
        select(func.count()).select_from(SafetyAlert)
        .where(SafetyAlert.status == "open", scope_filter(actor, SafetyAlert.clinic_id))).one()


def search_patients(
    session: Session, *, actor: Actor, query: str = "", clinic_id: int | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Patients whose code or name contains `query` (case-insensitive), newest first."""
    require(actor, "view_patients", entity="patient",
            message="This role does not see patient records.")
    courses = (select(Course.patient_id, func.count(Course.id).label("n_courses"))
               .group_by(Course.patient_id).subquery())
    stmt = (
        select(Patient, Clinic.code, func.coalesce(courses.c.n_courses, 0))
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .outerjoin(courses, courses.c.patient_id == Patient.id)
        .where(scope_filter(actor, Patient.clinic_id, [clinic_id] if clinic_id else None))
        .order_by(Patient.created_at.desc(), Patient.id.desc())
        .limit(limit)
    )
    query = query.strip()
    if query:
        # '%' and '_' typed by the user are literal characters, not LIKE wildcards.
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        stmt = stmt.where(or_(func.lower(Patient.patient_code).like(pattern, escape="\\"),
                              func.lower(Patient.name).like(pattern, escape="\\")))
    return [
        {"id": p.id, "patient_code": p.patient_code, "name": p.name, "clinic": code,
         "birth_date": p.birth_date, "indication": p.indication or "", "courses": n}
        for p, code, n in session.exec(stmt).all()
    ]
