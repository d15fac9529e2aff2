"""Scores taken before and after an infusion: checked with the instrument catalogue
(OUTCOMES.md S1-S3), written with their alert in the caller's transaction.

- A score form left entirely blank is not recorded (it is reported as skipped).
- Too many missing items: the score is stored incomplete, without a total (S2); its
  item 9, when answered, still raises an alert.
- One infusion holds at most one score per (timepoint, instrument): twice in one
  submission is refused; a score already saved in that slot is "already saved".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from data.clinic.alerts import open_item9_alert
from data.store import audit
from data.store.outcome_queue import mark_courses_stale
from models.access import Actor
from models.schemas import AlreadySaved, InputError, ScoreIn, parse_score
from models.tables import Assessment, Course, Infusion, Patient, SafetyAlert

TIMEPOINT_LABELS = {"pre": "pre-infusion", "post": "post-infusion", "followup": "follow-up"}


def check_scores(scores: Sequence[ScoreIn | dict[str, Any]]
                 ) -> tuple[list[ScoreIn], list[str], list[tuple[str, str]]]:
    """(answered scores, labels of blank forms, every problem) for a submission."""
    checked: list[ScoreIn] = []
    skipped: list[str] = []
    problems: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for raw in scores:
        try:
            score = parse_score(raw)
        except InputError as exc:
            problems += exc.problems
            continue
        if not score.answered:
            skipped.append(score.label)
            continue
        slot = (score.timepoint, score.instrument)
        if slot in seen:
            problems.append((score.label, f"entered twice; one infusion has one "
                             f"{TIMEPOINT_LABELS[score.timepoint]} {score.instrument}"))
            continue
        seen.add(slot)
        checked.append(score)
    return checked, skipped, problems


def _check_free_slots(session: Session, infusion: Infusion, scores: list[ScoreIn],
                      followup_on: date | None) -> None:
    """'Already saved' for a slot taken: one pre and one post score per (infusion,
    instrument); one follow-up per (course, instrument, date) (OUTCOMES.md C4)."""
    stmt = select(Assessment.timepoint, Assessment.instrument)
    if followup_on is None:
        stmt = stmt.where(Assessment.infusion_id == infusion.id)
    else:
        stmt = stmt.where(Assessment.course_id == infusion.course_id,
                          Assessment.timepoint == "followup",
                          Assessment.administered_on == followup_on)
    saved = set(session.exec(stmt).all())
    taken = [s for s in scores if (s.timepoint, s.instrument) in saved]
    if taken and followup_on is not None:
        raise AlreadySaved([(s.label, f"a follow-up {s.instrument} dated {followup_on} is "
                             "already saved in this course") for s in taken])
    if taken:
        raise AlreadySaved([(s.label, f"infusion {infusion.number} already has a "
                             f"{TIMEPOINT_LABELS[s.timepoint]} {s.instrument}; correct the "
                             "saved score instead of entering a second one") for s in taken])


def assessment_from(score: ScoreIn, *, infusion: Infusion, course: Course,
                    entered_by_id: int | None, source: str = "clinician",
                    completed_at: datetime | None = None,
                    administered_on: date | None = None) -> Assessment:
    """An Assessment row scored from the answers (total, severity, completeness, item 9).
    A pre or post score is dated by its infusion; a follow-up by `administered_on`."""
    result = score.scored()
    now = audit.utcnow()
    return Assessment(
        course_id=course.id, infusion_id=infusion.id, timepoint=score.timepoint,
        instrument=score.instrument, administered_on=administered_on or infusion.administered_on,
        items=list(result.items), functional_difficulty=score.functional_difficulty,
        total=result.total, severity=result.severity, complete=result.complete,
        item9=score.item9, source=source, entered_by_id=entered_by_id,
        entered_at=now, completed_at=completed_at or now)


def write_scores(session: Session, *, actor: Actor, infusion: Infusion, course: Course,
                 patient: Patient, scores: list[ScoreIn], source: str = "clinician",
                 completed_at: datetime | None = None, administered_on: date | None = None,
                 ) -> tuple[list[Assessment], list[SafetyAlert]]:
    """Insert checked scores and their alerts (audited) in the caller's transaction."""
    _check_free_slots(session, infusion, scores, administered_on)
    rows = [assessment_from(s, infusion=infusion, course=course, entered_by_id=actor.user_id,
                            source=source, completed_at=completed_at,
                            administered_on=administered_on)
            for s in scores]
    number = infusion.number  # read now: a failed flush expires the loaded rows
    session.add_all(rows)
    try:
        session.flush()
    except IntegrityError:
        raise AlreadySaved([("scores", f"a score of infusion {number} is already saved; "
                             "nothing new was written")]) from None
    mark_courses_stale(session, [course.id], after_commit=True)
    alerts = []
    for row in rows:
        audit.record(session, actor=actor, action="create", entity="assessment",
                     entity_id=row.id, patient_id=patient.id,
                     new={"infusion": infusion.number, "timepoint": row.timepoint,
                          "instrument": row.instrument, "items": row.items,
                          "total": row.total, "complete": row.complete,
                          "source": row.source, "date": row.administered_on})
        alert = open_item9_alert(session, actor=actor, assessment=row, patient=patient)
        if alert is not None:
            alerts.append(alert)
    return rows, alerts
