"""Invitations: a one-use link for a patient to answer named questionnaires for one
occasion (pre / post of infusion N, or a follow-up after it), and the kiosk hand-over at
the chair (channel "kiosk", same lifecycle, the token never leaves the tab).

Rules (docs/SELF_REPORT.md):
- self-report instruments only (PHQ-9, GAD-7, QIDS-SR16, PCL-5; MADRS is clinician-rated);
- the course is the patient's latest; infusion N must be saved in it for every occasion
  (a pre or post score is recorded against its infusion; a follow-up is "after N");
- a link expires after 1..720 hours (72 by default), is used once, and can be revoked;
- whatever is wrong with a link (unknown, malformed, expired, used, revoked) the patient
  sees one neutral message; only an expiry while the form was open is said as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from data.clinic.infusions import Saved
from data.selfreport.answers import record_patient_answers
from data.selfreport.clinic_settings import crisis_text_for
from data.selfreport.throttle import LINKS, Throttle
from data.selfreport.tokens import new_token, token_hash, well_formed
from data.store import audit
from data.store.settings import get_settings
from models.access import Actor, require, require_clinic
from models.schemas import InputError
from models.tables import (
    INVITATION_OCCASIONS,
    AuditEvent,
    Clinic,
    Course,
    Infusion,
    Invitation,
    Patient,
)

SELF_REPORT_INSTRUMENTS = ("PHQ-9", "GAD-7", "QIDS-SR16", "PCL-5")
EXPIRES_HOURS_MIN, EXPIRES_HOURS_MAX, EXPIRES_HOURS_DEFAULT = 1, 720, 72
KIOSK_HOURS = 2  # a hand-over at the chair is answered then or not at all
CHANNELS = ("link", "kiosk")
INVALID_LINK_TEXT = "This link is no longer valid. Please contact your clinic."
EXPIRED_MID_FORM_TEXT = ("This link expired while you were answering, so your answers were "
                         "not saved. Please contact your clinic for a new link.")
OCCASION_TEXT = {"pre": "before infusion {n}", "post": "after infusion {n}",
                 "followup": "a follow-up since infusion {n}"}


class InvalidLink(Exception):
    """Unknown, malformed, expired, used or revoked: one neutral message for all."""

    def __init__(self, message: str = INVALID_LINK_TEXT) -> None:
        super().__init__(message)


class LinkExpired(InvalidLink):
    """The link expired after it was opened (while the patient was answering)."""

    def __init__(self) -> None:
        super().__init__(EXPIRED_MID_FORM_TEXT)


@dataclass(frozen=True)
class LinkView:
    """What the patient's page may show: nothing identifying beyond a first initial."""

    invitation_id: int
    clinic_name: str
    initial: str
    instruments: tuple[str, ...]
    occasion: str
    occasion_text: str
    expires_at: datetime
    crisis_text: str


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submission: whether an item-9 alert was opened (show crisis text)."""

    alert_opened: bool
    crisis_text: str
    saved: Saved


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the store keeps UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=audit.utcnow().tzinfo)


def link_state(inv: Invitation | None, now: datetime) -> str:
    """none | revoked | completed | expired | opened | sent | pending (first that applies)."""
    if inv is None:
        return "none"
    if inv.revoked_at:
        return "revoked"
    if inv.completed_at:
        return "completed"
    if _aware(inv.expires_at) <= now:
        return "expired"
    if inv.opened_at:
        return "opened"
    return "sent" if inv.sent_at else "pending"


def invitation_url(token: str, base_url: str | None = None) -> str:
    base = (base_url or get_settings().app_base_url).rstrip("/")
    return f"{base}/respond?token={token}"


def patient_actor(inv: Invitation) -> Actor:
    """The patient answering through this invitation (no account)."""
    return Actor(user_id=None, username=f"patient-link:{inv.id}", role="patient",
                 clinic_ids=frozenset({inv.clinic_id}))


# --- the clinic's side --------------------------------------------------------------


def _check_request(instruments: Sequence[str], occasion: str, infusion_number: object,
                   expires_hours: object, channel: str) -> list[tuple[str, str]]:
    problems = []
    names = list(instruments or [])
    unknown = [n for n in names if n not in SELF_REPORT_INSTRUMENTS]
    if not names:
        problems.append(("instruments", "choose at least one questionnaire"))
    elif unknown:
        problems.append(("instruments", f"{', '.join(map(str, unknown))} cannot be sent to a "
                         f"patient; self-report ones only: {', '.join(SELF_REPORT_INSTRUMENTS)}"
                         " (MADRS is clinician-rated)"))
    elif len(set(names)) != len(names):
        problems.append(("instruments", "each questionnaire once"))
    if occasion not in INVITATION_OCCASIONS:
        problems.append(("occasion", f"one of {', '.join(INVITATION_OCCASIONS)}"))
    if isinstance(infusion_number, bool) or not isinstance(infusion_number, int) \
            or infusion_number < 1:
        problems.append(("infusion_number", "a whole number, 1 or more"))
    if isinstance(expires_hours, bool) or not isinstance(expires_hours, int) or not (
            EXPIRES_HOURS_MIN <= expires_hours <= EXPIRES_HOURS_MAX):
        problems.append(("expires_hours", f"a whole number of hours from {EXPIRES_HOURS_MIN} "
                         f"to {EXPIRES_HOURS_MAX} (30 days)"))
    if channel not in CHANNELS:
        problems.append(("channel", f"one of {', '.join(CHANNELS)}"))
    return problems


def _latest_course(session: Session, patient: Patient) -> Course:
    course = session.exec(select(Course).where(Course.patient_id == patient.id)
                          .order_by(Course.number.desc())).first()
    if course is None:
        raise InputError([("course", "this patient has no treatment course yet; start one "
                           "before sending questionnaires")])
    return course


def create_invitation(session: Session, *, actor: Actor, patient_id: int,
                      instruments: Sequence[str], occasion: str, infusion_number: int,
                      expires_hours: int = EXPIRES_HOURS_DEFAULT, channel: str = "link",
                      due_on: Any = None, schedule_rule: str | None = None,
                      now: datetime | None = None) -> tuple[Invitation, str]:
    """Validate, then store an invitation (its token's hash only); returns it and the token."""
    require(actor, "record_infusions", entity="invitation")
    patient = session.get(Patient, patient_id) if isinstance(patient_id, int) else None
    if patient is None:
        raise InputError([("patient_id", f"no patient with id {patient_id}")])
    require_clinic(actor, patient.clinic_id, entity="patient", entity_id=patient.id)
    problems = _check_request(instruments, occasion, infusion_number, expires_hours, channel)
    if problems:
        raise InputError(problems)
    course = _latest_course(session, patient)
    if session.exec(select(Infusion.id).where(Infusion.course_id == course.id,
                                              Infusion.number == infusion_number)).first() is None:
        raise InputError([("infusion_number", f"infusion {infusion_number} is not saved in "
                           f"course {course.number} (the latest); a questionnaire is recorded "
                           "against a saved infusion")])
    now = now or audit.utcnow()
    token = new_token()
    inv = Invitation(token_hash=token_hash(token), patient_id=patient.id,
                     clinic_id=patient.clinic_id, course_id=course.id,
                     infusion_number=infusion_number, occasion=occasion,
                     instruments=list(instruments), channel=channel, due_on=due_on,
                     schedule_rule=schedule_rule, created_at=now, created_by_id=actor.user_id,
                     expires_at=now + timedelta(hours=expires_hours))
    session.add(inv)
    session.flush()
    audit.record(session, actor=actor, action="create", entity="invitation", entity_id=inv.id,
                 patient_id=patient.id, new={"instruments": inv.instruments,
                                             "occasion": occasion, "infusion": infusion_number,
                                             "channel": channel,
                                             "expires_at": inv.expires_at.isoformat()})
    return inv, token


def _own_invitation(session: Session, actor: Actor, invitation_id: int) -> Invitation:
    inv = session.get(Invitation, invitation_id) if isinstance(invitation_id, int) else None
    if inv is None:
        raise InputError([("invitation_id", f"no invitation with id {invitation_id}")])
    require_clinic(actor, inv.clinic_id, entity="invitation", entity_id=inv.id)
    return inv


def revoke_invitation(session: Session, *, actor: Actor, invitation_id: int,
                      now: datetime | None = None) -> Invitation:
    """Make a link unusable at once (a completed one has nothing left to revoke)."""
    require(actor, "record_infusions", entity="invitation", entity_id=invitation_id)
    inv = _own_invitation(session, actor, invitation_id)
    if inv.completed_at or inv.revoked_at:
        raise InputError([("invitation", f"already {link_state(inv, now or audit.utcnow())}; "
                           "nothing to revoke")])
    inv.revoked_at = now or audit.utcnow()
    session.add(inv)
    audit.record(session, actor=actor, action="revoke", entity="invitation", entity_id=inv.id,
                 patient_id=inv.patient_id, field="revoked_at",
                 new=inv.revoked_at.isoformat())
    return inv


def list_invitations(session: Session, *, actor: Actor, patient_id: int,
                     now: datetime | None = None) -> list[dict[str, Any]]:
    """The patient's invitations, newest first, with their state. Call it in a write
    session: an expiry seen here for the first time is audited ('expire')."""
    require(actor, "view_patients", entity="patient", entity_id=patient_id)
    patient = session.get(Patient, patient_id) if isinstance(patient_id, int) else None
    if patient is None:
        raise InputError([("patient_id", f"no patient with id {patient_id}")])
    require_clinic(actor, patient.clinic_id, entity="patient", entity_id=patient.id)
    now = now or audit.utcnow()
    rows = session.exec(select(Invitation).where(Invitation.patient_id == patient_id)
                        .order_by(Invitation.created_at.desc(), Invitation.id.desc())).all()
    for inv in rows:
        if link_state(inv, now) == "expired":
            _note_expired(session, inv, actor)
    return [{"id": inv.id, "state": link_state(inv, now), "channel": inv.channel,
             "occasion": OCCASION_TEXT[inv.occasion].format(n=inv.infusion_number),
             "instruments": ", ".join(inv.instruments), "created": _aware(inv.created_at),
             "expires": _aware(inv.expires_at), "opened": inv.opened_at,
             "completed": inv.completed_at, "revoked": inv.revoked_at}
            for inv in rows]


def _note_expired(session: Session, inv: Invitation, actor: Actor) -> None:
    """One 'expire' event per invitation, the first time anyone sees it expired."""
    seen = session.exec(select(AuditEvent.id).where(
        AuditEvent.entity == "invitation", AuditEvent.entity_id == str(inv.id),
        AuditEvent.action == "expire")).first()
    if seen is None:
        audit.record(session, actor=actor, action="expire", entity="invitation",
                     entity_id=inv.id, patient_id=inv.patient_id,
                     old=_aware(inv.expires_at).isoformat())


# --- the patient's side -------------------------------------------------------------


def _find(session: Session, token: object) -> Invitation | None:
    if not well_formed(token):
        return None
    return session.exec(select(Invitation).where(
        Invitation.token_hash == token_hash(token))).first()  # type: ignore[arg-type]


def _usable(session: Session, token: object, now: datetime, *,
            channel: str) -> Invitation:
    """The invitation behind the token, or InvalidLink (LinkExpired once opened)."""
    inv = _find(session, token)
    if inv is None or inv.channel != channel:
        raise InvalidLink()
    state = link_state(inv, now)
    if state == "expired":
        _note_expired(session, inv, patient_actor(inv))
        raise LinkExpired() if inv.opened_at and channel == "link" else InvalidLink()
    if state in ("completed", "revoked"):
        raise InvalidLink()
    return inv


def open_invitation(session: Session, *, token: object, now: datetime,
                    channel: str = "link") -> LinkView:
    """What the patient's page shows for a valid token; records the first opening."""
    inv = _usable(session, token, now, channel=channel)
    actor = patient_actor(inv)
    require(actor, "answer_questionnaires", entity="invitation", entity_id=inv.id)
    if inv.opened_at is None:
        inv.opened_at = now
        session.add(inv)
    audit.record(session, actor=actor, action="open", entity="invitation", entity_id=inv.id,
                 patient_id=inv.patient_id)
    patient = session.get(Patient, inv.patient_id)
    clinic = session.get(Clinic, inv.clinic_id)
    name = (patient.name or "").strip() if patient else ""
    return LinkView(invitation_id=inv.id, clinic_name=clinic.name if clinic else "",
                    initial=f"{name[0].upper()}." if name else "",
                    instruments=tuple(inv.instruments), occasion=inv.occasion,
                    occasion_text=OCCASION_TEXT[inv.occasion].format(n=inv.infusion_number),
                    expires_at=_aware(inv.expires_at), crisis_text=crisis_text_for(clinic))


def _check_answers(inv: Invitation, answers: object) -> list[dict[str, Any]]:
    """One answer set per invited questionnaire, no other (the items are checked by
    record_patient_answers through ScoreIn)."""
    if not isinstance(answers, list | tuple) or not all(isinstance(a, dict) for a in answers):
        raise InputError([("answers", "a list of questionnaires")])
    names = [a.get("instrument") for a in answers]
    if sorted(map(str, names)) != sorted(inv.instruments):
        raise InputError([("answers", f"exactly the invited questionnaires: "
                           f"{', '.join(inv.instruments)}")])
    return [{k: v for k, v in a.items() if k != "timepoint"} for a in answers]


def submit_invitation(session: Session, *, token: object, answers: object, now: datetime,
                      clinician: Actor | None = None, channel: str = "link") -> Submitted:
    """Re-check the link inside this write transaction, then write the answers (their
    alerts and on-call notifications) and mark the invitation completed."""
    inv = _usable(session, token, now, channel=channel)
    if inv.channel == "kiosk":  # at the chair: the signed-in clinician is the actor
        if clinician is None:
            raise InvalidLink()
        actor, source = clinician, "patient_kiosk"
        require(actor, "record_infusions", entity="invitation", entity_id=inv.id)
    else:
        actor, source = patient_actor(inv), "patient_remote"
        require(actor, "answer_questionnaires", entity="invitation", entity_id=inv.id)
    require_clinic(actor, inv.clinic_id, entity="invitation", entity_id=inv.id)
    scores = _check_answers(inv, answers)
    patient = session.get(Patient, inv.patient_id)
    course = session.get(Course, inv.course_id)
    saved = record_patient_answers(
        session, actor=actor, patient=patient, course=course, occasion=inv.occasion,
        infusion_number=inv.infusion_number, scores=scores, source=source,
        completed_at=now, on=now.date())
    inv.completed_at = now
    session.add(inv)
    audit.record(session, actor=actor, action="submit", entity="invitation", entity_id=inv.id,
                 patient_id=inv.patient_id,
                 new={"assessments": [a.id for a in saved.assessments],
                      "alerts": [a.id for a in saved.alerts], "source": source})
    return Submitted(alert_opened=bool(saved.alerts),
                     crisis_text=crisis_text_for(session.get(Clinic, inv.clinic_id)), saved=saved)


# --- units of work for the pages (a refused link's audit events still commit) ---------


def open_link(*, token: object, now: datetime | None = None, client: str = "unknown",
              throttle: Throttle = LINKS) -> LinkView:
    """open_invitation in its own transaction, behind the bad-token throttle."""
    from data.store.db import write_session

    throttle.wait(client)
    failure: InvalidLink | None = None
    with write_session() as session:
        try:
            view = open_invitation(session, token=token, now=now or audit.utcnow())
        except InvalidLink as exc:
            failure = exc
    if failure is not None:
        throttle.failed(client)
        raise failure
    throttle.succeeded(client)
    return view


def submit_link(*, token: object, answers: object, now: datetime | None = None,
                clinician: Actor | None = None, channel: str = "link") -> Submitted:
    """submit_invitation in its own transaction; a refused link writes only its audit."""
    from data.store.db import write_session

    failure: InvalidLink | None = None
    with write_session() as session:
        try:
            return submit_invitation(session, token=token, answers=answers,
                                     now=now or audit.utcnow(), clinician=clinician,
                                     channel=channel)
        except InvalidLink as exc:
            failure = exc
    raise failure
