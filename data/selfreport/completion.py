"""Self-report data quality for the Outcomes page: how many questionnaire links were
answered, and how many scores each source gave, for the courses in the actor's scope and
the page's filters (clinics; course start date between start and end, as for the other
figures). Counts only, no identifiers.

- created: links made (channel 'link'; kiosk hand-overs are answered at the chair).
- completed: answered; expired: past expires_at unanswered and not revoked (revoked links
  count in neither).
- completion rate = completed / (completed + expired): links still open are left out,
  since they may yet be answered. None when there is neither.
- scores by source: clinician | patient_kiosk | patient_remote | import.
- PHQ-9 item 9 not answered (OUTCOMES.md section 1, a data-quality count always): PHQ-9
  scores with item answers but item 9 missing ("prefers not to answer" in the app, blank
  in an import); a legacy total-only row (no items) is not counted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, select

from data.store import audit
from models.access import Actor, require
from models.tables import SCORE_SOURCES, Assessment, Course, Invitation, Patient


def _course_scope(actor: Actor, clinic_ids: tuple[int, ...] | None, start: date | None,
                  end: date | None) -> list:
    conditions = []
    if not actor.all_clinics:
        conditions.append(Patient.clinic_id.in_(sorted(actor.clinic_ids)))
    if clinic_ids:
        conditions.append(Patient.clinic_id.in_(sorted(clinic_ids)))
    if start:
        conditions.append(Course.start_date >= start)
    if end:
        conditions.append(Course.start_date <= end)
    return conditions


def selfreport_quality(session: Session, *, actor: Actor,
                       clinic_ids: tuple[int, ...] | None = None, start: date | None = None,
                       end: date | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Invitation completion and scores by source (see the module docstring)."""
    require(actor, "view_outcomes", entity="outcomes")
    now = now or audit.utcnow()
    scope = _course_scope(actor, clinic_ids, start, end)
    unanswered = and_(Invitation.completed_at.is_(None), Invitation.revoked_at.is_(None))
    created, completed, expired = session.exec(
        select(func.count(Invitation.id),
               func.count(Invitation.completed_at),
               func.coalesce(func.sum(case((and_(unanswered, Invitation.expires_at <= now),
                                               1), else_=0)), 0))
        .join(Course, Invitation.course_id == Course.id)
        .join(Patient, Course.patient_id == Patient.id)
        .where(Invitation.channel == "link", *scope)).one()
    by_source = dict.fromkeys(SCORE_SOURCES, 0)
    for source, n in session.exec(
            select(Assessment.source, func.count(Assessment.id))
            .join(Course, Assessment.course_id == Course.id)
            .join(Patient, Course.patient_id == Patient.id)
            .where(*scope).group_by(Assessment.source)).all():
        by_source[source] = n
    decided = completed + expired
    return {"created": created, "completed": completed, "expired": int(expired),
            "completion_rate": completed / decided if decided else None,
            "scores_by_source": by_source,
            "phq9_item9_not_answered": _item9_not_answered(session, scope)}


def _item9_not_answered(session: Session, scope: list) -> int:
    """PHQ-9 scores with answers whose item 9 is missing (few rows: counted in Python, the
    same on SQLite and PostgreSQL whatever JSON type holds the items)."""
    rows = session.exec(
        select(Assessment.items).join(Course, Assessment.course_id == Course.id)
        .join(Patient, Course.patient_id == Patient.id)
        .where(Assessment.instrument == "PHQ-9", Assessment.item9.is_(None), *scope)).all()
    return sum(any(v is not None for v in items or []) for items in rows)
