"""Corrections of saved infusions and scores: a reason is required, and the previous
values stay in the record's history (one audit event per changed field, with old value,
new value and reason; the trail is append-only).

- An infusion is re-validated as a whole with the current protocol (dose limits) and its
  total dose recomputed. A corrected date moves its scores' dates with it.
- A score is re-scored from the corrected items: total, severity, completeness and item 9
  are recomputed and their changes recorded too. The original alert is kept; a corrected
  item 9 that becomes positive on a score without an alert opens one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from data.clinic.alerts import open_item9_alert
from data.clinic.infusions import course_in_scope
from data.clinic.protocol import load_protocol
from data.store import audit
from data.store.clinic_time import today_in
from data.store.outcome_queue import mark_courses_stale
from models.access import Actor, require
from models.schemas import InfusionIn, InputError, ScoreIn, check_reason, parse, parse_score
from models.tables import Assessment, Clinic, Infusion, SafetyAlert

UNCHANGED: Any = object()
_DERIVED = ("total", "severity", "complete")  # item9 mirrors item_9, audited as item_9


def _require_correcting(actor: Actor, entity: str, entity_id: object) -> None:
    require(actor, "record_infusions", entity=entity, entity_id=entity_id,
            message="This role may not correct infusions or scores.")


def infusion_values(row: Infusion) -> dict[str, Any]:
    """A saved infusion as InfusionIn takes it."""
    return {name: getattr(row, name) for name in InfusionIn.model_fields
            if name not in InfusionIn.NOT_COLUMNS}


def correct_infusion(session: Session, *, actor: Actor, infusion_id: int,
                     changes: dict[str, Any], reason: str,
                     today: date | None = None) -> list[str]:
    """Apply corrections to a saved infusion; return the changed fields (audited)."""
    _require_correcting(actor, "infusion", infusion_id)
    row = session.get(Infusion, infusion_id) if infusion_id else None
    if row is None:
        raise InputError([("infusion", f"no infusion with id {infusion_id}")])
    _course, patient = course_in_scope(session, actor=actor, course_id=row.course_id)
    unknown = sorted(set(changes) - set(InfusionIn.CORRECTABLE))
    if unknown:
        raise InputError([(name, "cannot be corrected; correctable: "
                           + ", ".join(InfusionIn.CORRECTABLE)) for name in unknown])
    reason = check_reason(reason)
    today = today or today_in(session.get(Clinic, patient.clinic_id))
    data = parse(InfusionIn, {**infusion_values(row), **changes}, today=today,
                 protocol=load_protocol(session))
    new_values = {**data.columns(), "total_dose_mg": data.total_dose_mg}
    changed = [(name, getattr(row, name), value) for name, value in new_values.items()
               if name != "number" and getattr(row, name) != value]
    for name, _old, value in changed:
        setattr(row, name, value)
    session.add(row)
    if changed:
        mark_courses_stale(session, [row.course_id], after_commit=True)
    audit.record_changes(session, actor=actor, action="correct", entity="infusion",
                         entity_id=row.id, patient_id=patient.id, changes=changed,
                         reason=reason)
    if any(name == "administered_on" for name, _, _ in changed):
        _move_score_dates(session, actor, row, patient.id, reason)
    return [name for name, _, _ in changed]


def _move_score_dates(session: Session, actor: Actor, row: Infusion, patient_id: int,
                      reason: str) -> None:
    for assessment in session.exec(select(Assessment).where(Assessment.infusion_id == row.id)):
        if assessment.administered_on == row.administered_on:
            continue
        audit.record(session, actor=actor, action="correct", entity="assessment",
                     entity_id=assessment.id, patient_id=patient_id, field="administered_on",
                     old=assessment.administered_on, new=row.administered_on, reason=reason)
        assessment.administered_on = row.administered_on
        session.add(assessment)


def _score_changes(row: Assessment, score: ScoreIn) -> list[tuple[str, Any, Any]]:
    result = score.scored()
    changes = [(f"item_{n}", old, new)
               for n, (old, new) in enumerate(zip(row.items or [None] * len(result.items),
                                                  result.items, strict=True), 1)
               if old != new]
    if row.functional_difficulty != score.functional_difficulty:
        changes.append(("functional_difficulty", row.functional_difficulty,
                        score.functional_difficulty))
    derived = {"total": result.total, "severity": result.severity, "complete": result.complete}
    changes += [(name, getattr(row, name), derived[name]) for name in _DERIVED
                if getattr(row, name) != derived[name]]
    return changes


def _item9_of(items: list[Any]) -> Any:
    return items[8] if len(items) > 8 else None


def correct_score(session: Session, *, actor: Actor, assessment_id: int,
                  items: list[Any], reason: str,
                  functional_difficulty: Any = UNCHANGED) -> tuple[list[str], SafetyAlert | None]:
    """Correct item answers and re-score; return (changed fields, alert opened or None)."""
    _require_correcting(actor, "assessment", assessment_id)
    row = session.get(Assessment, assessment_id) if assessment_id else None
    if row is None:
        raise InputError([("score", f"no score with id {assessment_id}")])
    _course, patient = course_in_scope(session, actor=actor, course_id=row.course_id)
    reason = check_reason(reason)
    fd = row.functional_difficulty if functional_difficulty is UNCHANGED else functional_difficulty
    # Item 9 left as it was saved (blank) needs no new "prefers not to answer" choice;
    # blanking an answered item 9 does (section 1), and a correction cannot make it.
    score = parse_score({"instrument": row.instrument, "timepoint": row.timepoint,
                         "items": items, "functional_difficulty": fd,
                         "item9_declined": row.instrument == "PHQ-9" and row.item9 is None
                         and _item9_of(items) is None})
    if not score.answered:
        raise InputError([(score.label, "a correction cannot blank every answer")])
    changes = _score_changes(row, score)
    for name, _old, new in changes:
        if not name.startswith("item_"):
            setattr(row, name, new)
    row.items, row.item9 = list(score.scored().items), score.item9
    session.add(row)
    mark_courses_stale(session, [row.course_id], after_commit=True)
    audit.record_changes(session, actor=actor, action="correct", entity="assessment",
                         entity_id=row.id, patient_id=patient.id, changes=changes,
                         reason=reason)
    session.flush()
    alert = open_item9_alert(session, actor=actor, assessment=row, patient=patient,
                             only_positive=True)
    return [name for name, _, _ in changes], alert
