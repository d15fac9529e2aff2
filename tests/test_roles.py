"""Role x action: what each role may do, enforced in the services (not only by hiding
pages), and every refusal audited as a 'denied' event naming the missing permission.

To cover a new service, write a function `action(actor)` calling it the way its page or
command does (inside `write_session()`/`read_session()`), and add a row to MATRIX with
the hand-decided answer for each role and the permission a refusal must name.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import func, select

from data.accounts.users import (
    change_own_password,
    change_role,
    create_user,
    deactivate_user,
    force_password_reset,
    list_users,
)
from data.analytics.dose_frame import load_dose_frame
from data.analytics.observations import load_observations
from data.analytics.outcome_report import OutcomeFilters
from data.analytics.overview import search_patients
from data.analytics.today import patient_status, today_list
from data.audit.audit_queries import (
    AuditFilter,
    export_events_csv,
    record_history,
    search_events,
    verify_trail,
)
from data.clinic.alerts import close_alert, close_alerts, list_alerts
from data.clinic.drafts import discard_draft, load_draft, save_draft
from data.clinic.infusions import log_infusion, reopen_course, set_course_status
from data.clinic.monitoring import add_adverse_events
from data.clinic.patients import record_view, register_patient
from data.clinic.protocol import update_protocol
from data.exports.service import ExportRequest, run_export
from data.imports.importer import import_scores
from data.imports.patient_import import import_patients
from data.selfreport.clinic_settings import update_clinic_settings
from data.selfreport.completion import selfreport_quality
from data.selfreport.invitations import create_invitation, list_invitations, revoke_invitation
from data.selfreport.kiosk import start_kiosk
from data.selfreport.schedules import due_invitations, update_schedule
from data.store.db import read_session, write_session
from models.access import SYSTEM, Actor, PermissionDenied
from models.tables import AuditEvent, Course, Infusion, Invitation, Patient, SafetyAlert
from tests.clinical_factories import (
    PHQ9_PRE,
    TODAY,
    clinic_id,
    infusion_input,
    log,
    make_course,
    make_patient,
    score,
)
from tests.factories import PASSWORD, make_user

ROLES = ("clinician", "director", "auditor", "admin")


def _write(service: Callable, **kwargs) -> Callable[[Actor], object]:
    def run(actor: Actor) -> object:
        with write_session() as session:
            return service(session, actor=actor, **kwargs)
    return run


def _read(service: Callable, **kwargs) -> Callable[[Actor], object]:
    def run(actor: Actor) -> object:
        with read_session() as session:
            return service(session, actor=actor, **kwargs)
    return run


def _the(model: type, **where: object) -> int:
    """The id of the one row of `model` the `actors` fixture made (looked up when run)."""
    with read_session() as session:
        stmt = select(model.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return session.exec(stmt).one()


def _patient_action(service: Callable, **kwargs) -> Callable[[Actor], object]:
    def run(actor: Actor) -> object:
        with write_session() as session:
            return service(session, actor=actor, patient_id=_the(Patient, patient_code="P-001"),
                           **kwargs)
    return run


def _log_second_infusion(actor: Actor) -> object:
    with write_session() as session:
        return log_infusion(session, actor=actor, course_id=_the(Course), today=TODAY,
                            infusion=infusion_input(2), scores=[])


def _add_an_adverse_event(actor: Actor) -> object:
    with write_session() as session:
        return add_adverse_events(session, actor=actor, infusion_id=_the(Infusion), events=[
            {"category": "nausea or vomiting", "severity": "mild", "action_taken": "observed"}])
def _reopen_the_course(actor: Actor) -> object:
    with write_session() as session:
        return reopen_course(session, actor=actor, course_id=_the(Course),
                             reason="boosters resume")


def _close_the_alert(actor: Actor) -> object:
    with write_session() as session:
        return close_alert(session, actor=actor, alert_id=_the(SafetyAlert),
                           action="risk_assessment", note="")


def _close_the_visits_alerts(actor: Actor) -> object:
    with write_session() as session:
        return close_alerts(session, actor=actor, alert_ids=[_the(SafetyAlert)],
                            action="risk_assessment", note="")


def _revoke_the_invitation(actor: Actor) -> object:
    with write_session() as session:
        return revoke_invitation(session, actor=actor, invitation_id=_the(Invitation))


def _export(deidentified: bool) -> Callable[[Actor], object]:
    return lambda actor: run_export(actor=actor, request=ExportRequest(
        "scores", "csv", deidentified=deidentified,
        reason="" if deidentified else "referral letter to the patient's psychiatrist"))


# the Import page's files: a new patient of CL1 (every role's user is of CL1; the
# administrator has no clinic and imports anywhere), written when allowed
SCORE_FILE = (b"patient_id,clinic,infusion_number,timepoint,date,instrument," +
              ",".join(f"item_{n}" for n in range(1, 8)).encode() +
              b"\nIMP-1,CL1,1,pre,2024-06-01,GAD-7,1,1,1,1,1,1,1\n")
PATIENT_FILE = b"patient_id,clinic,name\nIMP-2,CL1,Ann Lee\n"


def _imported(importer: Callable, raw: bytes) -> Callable[[Actor], object]:
    def run(actor: Actor) -> object:
        report = importer(raw, actor=actor, today=TODAY)
        assert report.ok, report.format()
        return report
    return run


ACTIONS: dict[str, Callable[[Actor], object]] = {
    "create user": _write(create_user, username="new.user", password=PASSWORD,
                          role="clinician", clinic_codes=("CL1",)),
    "list users": _read(list_users),
    "deactivate a user": _write(deactivate_user, username="target.user"),
    "change a role": _write(change_role, username="target.user", role="director",
                            clinic_codes=("CL1",)),
    "force a password reset": _write(force_password_reset, username="target.user"),
    "update protocol settings": _write(update_protocol, changes={"induction_length": 8}),
    "search patients": _read(search_patients),
    "list today's patients": _read(today_list),
    "patient list status": _read(patient_status, patient_ids=[1]),
    "register a patient": lambda actor: _write(register_patient, today=TODAY, patient={
        "clinic_id": clinic_id("CL1"), "patient_code": "P-002",
        "birth_date": TODAY.replace(year=1970)})(actor),
    "view a patient record": _patient_action(record_view),
    "log an infusion": _log_second_infusion,
    "add an adverse event": _add_an_adverse_event,
    "reopen a course": _reopen_the_course,
    "list safety alerts": _read(list_alerts),
    "close a safety alert": _close_the_alert,
    "close a visit's alerts": _close_the_visits_alerts,
    "export de-identified scores": _export(deidentified=True),
    "export identified scores": _export(deidentified=False),
    "load observations": lambda actor: load_observations(actor=actor),
    "load the dose frame": lambda actor: load_dose_frame(actor=actor, filters=OutcomeFilters()),
    "view the audit trail": _read(search_events, filters=AuditFilter()),
    "rebuild a record's history": _read(record_history, entity="user", entity_id="1"),
    "export the audit trail": _write(export_events_csv, filters=AuditFilter()),
    "verify the chain": _read(verify_trail),
    "change clinic on-call settings": _write(update_clinic_settings, code="CL1",
                                             changes={"oncall_email": "a@clinic.test"}),
    "change a clinic's schedule": _write(update_schedule, code="CL1",
                                         schedule={"after_first": ["PHQ-9"]}),
    "list due follow-ups": _write(due_invitations, day=TODAY),
    "self-report data quality": _read(selfreport_quality),
    "create an invitation link": _patient_action(
        create_invitation, instruments=["PHQ-9"], occasion="post", infusion_number=1),
    "hand the tablet over (kiosk)": _patient_action(
        start_kiosk, instruments=["PHQ-9"], occasion="post", infusion_number=1),
    "list a patient's invitations": _patient_action(list_invitations),
    "revoke an invitation": _revoke_the_invitation,
    "import scores": _imported(import_scores, SCORE_FILE),
    "import patients": _imported(import_patients, PATIENT_FILE),
    "keep an infusion draft": _patient_action(save_draft, kind="infusion",
                                              payload={"infusion_weight_kg": 70.0}),
    "read an infusion draft": _patient_action(load_draft, kind="infusion"),
    "discard an infusion draft": _patient_action(discard_draft, kind="infusion"),
    "change own password": lambda actor: change_own_password(
        actor=actor, old_password=PASSWORD, new_password="a-brand-new-password"),
}

Y, N = True, False
MATRIX = [
    # action                      clinician director auditor admin  permission refused
    ("create user",                 N, N, N, Y, "manage_users"),
    ("list users",                  N, N, N, Y, "manage_users"),
    ("deactivate a user",           N, N, N, Y, "manage_users"),
    ("change a role",               N, N, N, Y, "manage_users"),
    ("force a password reset",      N, N, N, Y, "manage_users"),
    ("update protocol settings",    N, Y, N, N, "edit_settings"),
    ("search patients",             Y, Y, N, N, "view_patients"),
    ("list today's patients",       Y, Y, N, N, "view_patients"),
    ("patient list status",         Y, Y, N, N, "view_patients"),
    ("register a patient",          Y, Y, N, N, "edit_patients"),
    ("view a patient record",       Y, Y, N, N, "view_patients"),
    ("log an infusion",             Y, Y, N, N, "record_infusions"),
    ("add an adverse event",        Y, Y, N, N, "record_infusions"),
    ("reopen a course",             Y, Y, N, N, "record_infusions"),
    ("list safety alerts",          Y, Y, N, N, "view_alerts"),
    ("close a safety alert",        Y, Y, N, N, "close_alerts"),
    ("close a visit's alerts",      Y, Y, N, N, "close_alerts"),
    ("export de-identified scores", N, Y, Y, N, "export_deidentified"),
    # the clinician and the admin may not export at all; the auditor de-identified only
    ("export identified scores",    N, Y, N, N, {"clinician": "export_deidentified",
                                                 "auditor": "export_identified",
                                                 "admin": "export_deidentified"}),
    ("load observations",           Y, Y, Y, N, "view_outcomes"),
    ("load the dose frame",         Y, Y, Y, N, "view_outcomes"),
    ("view the audit trail",        N, Y, Y, N, "view_audit"),
    ("rebuild a record's history",  N, Y, Y, N, "view_audit"),
    ("export the audit trail",      N, Y, Y, N, "view_audit"),
    ("verify the chain",            N, Y, Y, N, "view_audit"),
    ("change clinic on-call settings", N, Y, N, N, "edit_settings"),
    ("change a clinic's schedule",  N, Y, N, N, "edit_settings"),
    ("list due follow-ups",         Y, Y, N, N, "view_patients"),
    ("self-report data quality",    Y, Y, Y, N, "view_outcomes"),
    ("create an invitation link",   Y, Y, N, N, "record_infusions"),
    ("hand the tablet over (kiosk)", Y, Y, N, N, "record_infusions"),
    ("list a patient's invitations", Y, Y, N, N, "view_patients"),
    ("revoke an invitation",        Y, Y, N, N, "record_infusions"),
    ("import scores",               N, Y, N, Y, "import_data"),
    ("import patients",             N, Y, N, Y, "import_data"),
    ("keep an infusion draft",      Y, Y, N, N, "record_infusions"),
    ("read an infusion draft",      Y, Y, N, N, "record_infusions"),
    ("discard an infusion draft",   Y, Y, N, N, "record_infusions"),
    ("change own password",         Y, Y, Y, Y, None),
]
CASES = [
    pytest.param(action, role, allowed[i], permission, id=f"{role}-{action}")
    for action, *allowed, permission in MATRIX
    for i, role in enumerate(ROLES)
]


def test_every_action_has_a_row():
    assert sorted(ACTIONS) == sorted(row[0] for row in MATRIX)


def _events() -> list[AuditEvent]:
    with read_session() as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)).all())


@pytest.fixture
def actors(store_url) -> dict[str, Actor]:
    make_user("target.user", "clinician")
    made = {role: make_user(f"the.{role}", role) for role in ROLES}
    # one CL1 patient with a course, an infusion and an open item-9 alert (PHQ9_PRE: item 9 = 1)
    course_id = make_course(SYSTEM, make_patient(SYSTEM, "P-001"))
    log(SYSTEM, course_id, 1, [score("PHQ-9", "pre", PHQ9_PRE)])
    with write_session() as session:  # a closed course for the reopen row
        set_course_status(session, actor=SYSTEM, course_id=course_id, status="completed",
                          reason="induction complete")
    with write_session() as session:  # one invitation for the revoke row
        create_invitation(session, actor=SYSTEM, patient_id=_the(Patient, patient_code="P-001"),
                          instruments=["GAD-7"], occasion="pre", infusion_number=1)
    return made


@pytest.mark.parametrize(("action", "role", "allowed", "permission"), CASES)
def test_role_may_or_may_not(actors, action, role, allowed, permission):
    actor = actors[role]
    before = len(_events())
    if allowed:
        ACTIONS[action](actor)
        assert "denied" not in [e.action for e in _events()[before:]]
        return
    with pytest.raises(PermissionDenied):
        ACTIONS[action](actor)
    written = _events()[before:]
    assert len(written) == 1  # the refused unit of work rolled back; only its denial stays
    denied = written[0]
    named = permission[role] if isinstance(permission, dict) else permission
    assert (denied.action, denied.user_id, denied.username, denied.reason) == (
        "denied", actor.user_id, f"the.{role}", named)


def test_a_refused_change_changes_nothing(actors):
    with pytest.raises(PermissionDenied):
        ACTIONS["deactivate a user"](actors["director"])
    with read_session() as session:
        users = {u["username"]: u for u in list_users(session, actor=actors["admin"])}
        n_updates = session.exec(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "update",
                                        AuditEvent.entity == "user")).one()
    assert users["target.user"]["active"] is True
    assert n_updates == 0
