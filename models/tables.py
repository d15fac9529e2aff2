"""The store's tables (SQLModel). `table=True` classes do not validate on construction:
services validate with the input schemas of `models/schemas.py` before building a row.

A column a form also writes is declared once, in a `...Fields` base shared by the table
and its input schema (`Patient(PatientFields, table=True)`, `PatientIn(PatientFields)`):
its name, type, default and column size. Column sizes are given as the column's type
(`sa_type`), not as pydantic `max_length`, so the input's own rules word every refusal
(`models/validation.py`); the limits themselves are the input rules' constants.

Indexes serve the read paths and nothing twice (migration 0003, docs/PERFORMANCE.md): one
patient's record (patient -> course -> infusion -> assessment) walks the unique
constraints uq_course_number (patient_id, number), uq_infusion_number (course_id,
number) and ix_assessment_course_instrument (course_id, instrument); the clinic-wide
observation frame reads every score of the scope, so it scans rather than seeks.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON as SA_JSON
from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import AutoString, Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from models.validation import (
    CLINIC_CODE_MAX,
    CLINICIAN_CODE_MAX,
    CODE_MAX,
    COURSE_LABEL_MAX,
    INDICATION_MAX,
    NAME_MAX,
    SIDE_EFFECT_OTHER_MAX,
)


class Role(StrEnum):
    CLINICIAN = "clinician"
    DIRECTOR = "director"
    AUDITOR = "auditor"
    ADMIN = "admin"


class CourseType(StrEnum):
    INDUCTION = "induction"
    MAINTENANCE = "maintenance"


class CourseStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DISCONTINUED = "discontinued"


class InfusionType(StrEnum):
    INDUCTION = "induction"
    BOOSTER = "booster"
    MAINTENANCE = "maintenance"


class Route(StrEnum):
    IV = "IV"
    IM = "IM"
    INTRANASAL = "intranasal"
    ORAL = "oral"


class Timepoint(StrEnum):
    PRE = "pre"
    POST = "post"
    FOLLOWUP = "followup"  # between visits (OUTCOMES.md C4)


class AlertStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    HISTORICAL = "historical"


# The allowed values as plain strings (widget options, CHECK constraints, validation),
# one place each, from the enums above.
ROLES = tuple(r.value for r in Role)
SEXES = ("female", "male", "other", "unknown")
COURSE_TYPES = tuple(t.value for t in CourseType)
COURSE_STATUSES = tuple(s.value for s in CourseStatus)
INFUSION_TYPES = tuple(t.value for t in InfusionType)
ROUTES = tuple(r.value for r in Route)
TIMEPOINTS = tuple(t.value for t in Timepoint)
SCORE_SOURCES = ("clinician", "patient_kiosk", "patient_remote", "import")
PATIENT_SOURCES = ("patient_kiosk", "patient_remote")  # answered by the patient
SOURCE_LABELS = {"clinician": "Clinician", "patient_kiosk": "Patient (kiosk)",
                 "patient_remote": "Patient (link)", "import": "Import"}
ALERT_STATUSES = tuple(s.value for s in AlertStatus)
ALERT_KINDS = ("positive", "not_answered")  # item 9 >= 1, or item 9 declined (section 1)
INVITATION_OCCASIONS = ("pre", "post", "followup")
# Monitoring (issue 12 item 5): the decision when the pre-infusion blood pressure is above
# the protocol's hold rule; 'held' and 'rescheduled' give no ketamine (a HeldVisit row).
BP_DECISIONS = ("proceeded", "held", "rescheduled")
DISSOCIATION_LEVELS = ("none", "mild", "moderate", "severe")
AE_SEVERITIES = ("mild", "moderate", "severe", "serious")

# The config of the input schemas built on the `...Fields` bases: unknown fields refused,
# and only a dict or an instance validated (SQLModel's default reads any object's
# attributes, as pydantic's BaseModel does not).
INPUT_CONFIG = SQLModelConfig(extra="forbid", from_attributes=False)


class Clinic(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=CLINIC_CODE_MAX, unique=True, index=True)
    name: str = Field(max_length=NAME_MAX)
    created_at: datetime
    # What a patient sees after a positive or unanswered item 9 ("" = the default text),
    # and where the clinic's on-call hears of an alert a patient's answer opened.
    crisis_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    oncall_email: str = Field(default="", max_length=254)
    oncall_webhook: str = Field(default="", max_length=500)
    # IANA zone name: "today" and the times shown for this clinic (data/store/clinic_time.py)
    time_zone: str = Field(default="UTC", max_length=64)


class User(SQLModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved on PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80, unique=True, index=True)
    full_name: str = Field(default="", max_length=NAME_MAX)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=20)
    all_clinics: bool = Field(default=False)
    active: bool = Field(default=True)
    must_change_password: bool = Field(default=False)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = None
    created_at: datetime
    password_changed_at: datetime | None = None


class UserClinic(SQLModel, table=True):
    """A user's clinic scope (ignored when the user has all_clinics)."""

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id", primary_key=True)


class PatientFields(SQLModel):
    """A patient's details as the registration form writes them (`PatientIn`)."""

    clinic_id: int = Field(foreign_key="clinic.id")  # uq_patient_code indexes it first
    patient_code: str = Field(sa_type=AutoString(length=CODE_MAX),
                              description="the clinic's patient code (MRN)")
    name: str = Field(default="", sa_type=AutoString(length=NAME_MAX))
    birth_date: date | None = None
    sex: str | None = Field(default=None, sa_type=AutoString(length=10),
                            description="one of SEXES")
    indication: str | None = Field(default=None, sa_type=AutoString(length=INDICATION_MAX))
    failed_trials: int | None = Field(default=None,
                                      description="failed antidepressant trials")
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Patient(PatientFields, table=True):
    __table_args__ = (UniqueConstraint("clinic_id", "patient_code", name="uq_patient_code"),)

    id: int | None = Field(default=None, primary_key=True)
    study_id: str = Field(max_length=32, unique=True)  # random pseudonym for de-identified exports
    created_at: datetime


class CourseFields(SQLModel):
    """What the new-course form writes (`CourseIn`; it requires a start date, which older
    courses may lack)."""

    course_type: str = Field(default="induction", sa_type=AutoString(length=20),
                             description="one of COURSE_TYPES")


class Course(CourseFields, table=True):
    __table_args__ = (UniqueConstraint("patient_id", "number", name="uq_course_number"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")  # uq_course_number indexes it first
    number: int
    label: str | None = Field(default=None, max_length=COURSE_LABEL_MAX)  # the import's course_id
    start_date: date | None = None
    status: str = Field(default=CourseStatus.ACTIVE, max_length=20)
    created_at: datetime


class InfusionFields(SQLModel):
    """One infusion as the infusion form records it (`InfusionIn`, which also takes its
    adverse events and requires the infusion type)."""

    number: int
    administered_on: date = Field(index=True)
    infusion_type: str = Field(default="induction", sa_type=AutoString(length=20),
                               description="one of INFUSION_TYPES")
    route: str | None = Field(default=None, sa_type=AutoString(length=20),
                              description="one of ROUTES")
    dose_mg_per_kg: float | None = None
    weight_kg: float | None = None
    duration_min: int | None = None
    bp_sys_before: int | None = None
    bp_dia_before: int | None = None
    hr_before: int | None = None
    spo2_before: int | None = None
    bp_sys_peak: int | None = None
    bp_dia_peak: int | None = None
    hr_peak: int | None = None
    spo2_peak: int | None = None
    bp_sys_discharge: int | None = None
    bp_dia_discharge: int | None = None
    hr_discharge: int | None = None
    spo2_discharge: int | None = None
    side_effects: list[str] = Field(default_factory=list, sa_column=Column(SA_JSON, nullable=False))
    side_effect_other: str = Field(default="", sa_type=AutoString(length=SIDE_EFFECT_OTHER_MAX))
    # The adverse-event note of older records; new events are AdverseEvent rows.
    adverse_event: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    bp_decision: str | None = Field(
        default=None, sa_type=AutoString(length=12),
        description="above the hold rule: proceeded | held | rescheduled (a saved infusion: "
                    "'proceeded' or None)")
    bp_decision_reason: str = Field(default="", sa_column=Column(Text, nullable=False,
                                                                 default=""))
    sedation_moaas: int | None = Field(
        default=None, description="MOAA/S at peak, 0 (unresponsive) - 5 (alert)")
    dissociation: str | None = Field(default=None, sa_type=AutoString(length=10),
                                     description="one of DISSOCIATION_LEVELS")
    discharge_ready_minutes: int | None = Field(default=None,
                                                description="from the infusion's end")


class Infusion(InfusionFields, table=True):
    __table_args__ = (
        UniqueConstraint("course_id", "number", name="uq_infusion_number"),
        # each course's last infusion and its date from the index alone (D1 retention on
        # SQLite: data/analytics/course_progress.with_last_infusion; migration 0010)
        Index("ix_infusion_course_number_date", "course_id", "number", "administered_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id")  # uq_infusion_number indexes it first
    started_at: datetime | None = None
    total_dose_mg: float | None = None
    clinician_id: int | None = Field(default=None, foreign_key="app_user.id")
    clinician_code: str | None = Field(default=None, max_length=CLINICIAN_CODE_MAX)
    created_at: datetime


class ScoreFields(SQLModel):
    """One questionnaire as a form or a file gives it (`ScoreIn`; its answers are raw there,
    scored here)."""

    instrument: str = Field(sa_type=AutoString(length=12))
    timepoint: str = Field(sa_type=AutoString(length=8), description="one of TIMEPOINTS")
    functional_difficulty: int | None = Field(default=None, description="PHQ-9 question 10")


class Assessment(ScoreFields, table=True):
    """One administration of one instrument at one timepoint of one infusion."""

    __table_args__ = (
        # One pre and one post score per (infusion, instrument); follow-ups (C4) are one
        # per (course, instrument, date). Partial unique indexes (migration 0004).
        Index("uq_assessment_slot", "infusion_id", "timepoint", "instrument", unique=True,
              sqlite_where=text("timepoint <> 'followup'"),
              postgresql_where=text("timepoint <> 'followup'")),
        Index("uq_assessment_followup", "course_id", "instrument", "administered_on",
              unique=True, sqlite_where=text("timepoint = 'followup'"),
              postgresql_where=text("timepoint = 'followup'")),
        Index("ix_assessment_course_instrument", "course_id", "instrument"),
        # Lookups by infusion alone (the partial index above cannot serve them; 0009).
        Index("ix_assessment_infusion_id", "infusion_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id")
    infusion_id: int = Field(foreign_key="infusion.id")  # uq_assessment_slot indexes it first
    administered_on: date
    items: list[int | None] = Field(default_factory=list, sa_column=Column(SA_JSON, nullable=False))
    total: int | None = None
    severity: str | None = Field(default=None, max_length=40)
    complete: bool = Field(default=False)
    item9: int | None = None  # PHQ-9 item 9, kept in a column for alerts and outcome reads
    source: str = Field(default="clinician", max_length=16)  # SCORE_SOURCES
    entered_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    entered_at: datetime
    completed_at: datetime | None = None  # when the questionnaire was answered, if known


class SafetyAlert(SQLModel, table=True):
    """A positive PHQ-9 item 9 (>= 1), or item 9 not answered ("prefers not to answer",
    OUTCOMES.md section 1). Never closes by itself."""

    __table_args__ = (Index("ix_alert_clinic_status", "clinic_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", unique=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    clinic_id: int = Field(foreign_key="clinic.id")
    kind: str = Field(default="positive", max_length=16)  # ALERT_KINDS
    item9_value: int | None = None  # None when item 9 was not answered
    observed_on: date
    status: str = Field(default=AlertStatus.OPEN, max_length=12)
    opened_at: datetime
    closed_at: datetime | None = None
    closed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    action: str | None = Field(default=None, max_length=40)
    action_note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class AdverseEventFields(SQLModel):
    """An adverse event as the infusion form records it (`AdverseEventIn`)."""

    category: str = Field(sa_type=AutoString(length=40),
                          description="one of models.monitoring_schema.AE_CATEGORIES")
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    severity: str = Field(sa_type=AutoString(length=10), description="one of AE_SEVERITIES")
    action_taken: str = Field(sa_column=Column(Text, nullable=False))


class AdverseEvent(AdverseEventFields, table=True):
    """An adverse event of one infusion: what, how severe, what was done (0..n per infusion)."""

    id: int | None = Field(default=None, primary_key=True)
    infusion_id: int = Field(foreign_key="infusion.id", index=True)
    recorded_at: datetime
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class HeldVisit(SQLModel, table=True):
    """A visit where no ketamine was given because the pre-infusion blood pressure was above
    the hold rule (decision held or rescheduled). Not an infusion: it takes no infusion
    number and counts in no outcome (OUTCOMES.md counts infusions received)."""

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    planned_number: int  # the infusion number the visit was meant to be
    visit_on: date
    bp_sys: int | None = None
    bp_dia: int | None = None
    hr: int | None = None
    spo2: int | None = None
    decision: str = Field(max_length=12)  # held | rescheduled
    reason: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime
    recorded_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class ProtocolSetting(SQLModel, table=True):
    """A director-editable protocol setting (value JSON-encoded)."""

    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(max_length=200)
    updated_at: datetime
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained trail (`data/store/audit.py` writes it; triggers refuse edits)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(index=True)
    user_id: int | None = None
    username: str | None = Field(default=None, max_length=80)
    action: str = Field(max_length=40, index=True)
    entity: str | None = Field(default=None, max_length=40)
    entity_id: str | None = Field(default=None, max_length=64)
    patient_id: int | None = Field(default=None, index=True)
    field: str | None = Field(default=None, max_length=60)
    old_value: str | None = Field(default=None, sa_column=Column(Text))
    new_value: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    session_id: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class Invitation(SQLModel, table=True):
    """A link for one patient to answer named questionnaires for one occasion, or a kiosk
    hand-over at the chair. The token is never stored: only its SHA-256 (token_hash)."""

    __table_args__ = (Index("ix_invitation_patient", "patient_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    patient_id: int = Field(foreign_key="patient.id")
    clinic_id: int = Field(foreign_key="clinic.id", index=True)
    course_id: int = Field(foreign_key="course.id")
    infusion_number: int  # pre/post: of this infusion; followup: after it
    occasion: str = Field(max_length=8)  # INVITATION_OCCASIONS
    instruments: list[str] = Field(default_factory=list, sa_column=Column(SA_JSON, nullable=False))
    channel: str = Field(default="link", max_length=8)  # link | kiosk
    due_on: date | None = None  # set when a schedule made it
    schedule_rule: str | None = Field(default=None, max_length=40)
    created_at: datetime
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    expires_at: datetime
    sent_at: datetime | None = None  # e-mailed by the app
    opened_at: datetime | None = None
    completed_at: datetime | None = None
    revoked_at: datetime | None = None


class Outbox(SQLModel, table=True):
    """A notification to deliver (on-call e-mail or webhook), queued in the transaction
    that opened the alert; `manage.py deliver` sends it with retries. No identifiers."""

    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinic.id")
    alert_id: int | None = Field(default=None, foreign_key="safetyalert.id")
    channel: str = Field(max_length=8)  # email | webhook
    target: str = Field(max_length=500)
    payload: dict[str, Any] = Field(default_factory=dict,
                                    sa_column=Column(SA_JSON, nullable=False))
    status: str = Field(default="pending", max_length=10)  # pending | delivered | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime
    last_error: str = Field(default="", max_length=500)
    created_at: datetime
    delivered_at: datetime | None = None


class UserSession(SQLModel, table=True):
    """A signed-in browser session (issue 12): the browser holds a random 256-bit token in a
    signed cookie; only its SHA-256 (hex) is stored, as the id. Ended by sign-out, the idle
    or the absolute limit, or an account change (`ended_at`, `ended_reason`)."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user", "user_id", "ended_at"),)

    id: str = Field(primary_key=True, max_length=64)  # sha256(token), hex
    user_id: int = Field(foreign_key="app_user.id")
    created_at: datetime
    last_seen_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    ended_at: datetime | None = None
    ended_reason: str | None = Field(default=None, max_length=40)
    # when the password this session holds was set (Actor.credentials): a resume refuses a
    # session whose password was changed since, elsewhere (as data.accounts.users.session_check does)
    password_set_at: datetime | None = None
    user_agent: str = Field(default="", max_length=120)  # a summary, for the user's own list


class Draft(SQLModel, table=True):
    """An unsaved form (issue 12), kept server-side per user, patient and kind ("infusion")
    and offered back to its author only; deleted on save or discard, and after
    DRAFT_DAYS (data/clinic/drafts.py). Holds PHI: never leaves the store."""

    __table_args__ = (UniqueConstraint("user_id", "patient_id", "kind",
                                       name="uq_draft_user_patient_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    patient_id: int = Field(foreign_key="patient.id", index=True)
    kind: str = Field(max_length=20)
    payload: dict[str, Any] = Field(default_factory=dict,
                                    sa_column=Column(SA_JSON, nullable=False))
    created_at: datetime
    updated_at: datetime


class CourseOutcome(SQLModel, table=True):
    """Per (course, instrument): the reduced facts the outcome rules need (migration 0008,
    data/analytics/course_outcomes.py, docs/PERFORMANCE.md). Derived from the scores: a write that
    can change them marks the course in ``course_outcome_stale`` in its own transaction
    and the next read recomputes the stale courses only. No foreign key: a derived cache,
    read through an inner join with ``course`` (a row of a vanished course is ignored)."""

    __tablename__ = "course_outcome"

    course_id: int = Field(primary_key=True)
    instrument: str = Field(primary_key=True, max_length=12)
    first_infusion_date: date | None = None  # D2: earliest infusion among all its scores
    baseline: float | None = None  # O1
    baseline_infusion: int | None = None
    baseline_date: date | None = None
    baseline_item9: float | None = None
    latest: float | None = None  # O2
    latest_infusion: int | None = None
    latest_timepoint: str | None = Field(default=None, max_length=8)
    latest_received: int | None = None
    latest_date: date | None = None
    last_received: float | None = None  # O8 censoring
    first_response_received: float | None = None  # O8
    first_remission_received: float | None = None  # O8 at the catalogue's remission maximum
    # O8 for another maximum: [[received, total], ...] each time the running minimum of the
    # scored totals after the baseline drops (the first total <= L is the first step <= L).
    remission_steps: list[list[float]] | None = Field(default=None, sa_column=Column(SA_JSON))
    # O7 for every N and timepoint rule: {"k": total} of the last scored post (pre) score of
    # infusion k after the baseline; and the same for the item-9 answer (answered, any total).
    post_totals: dict[str, float] | None = Field(default=None, sa_column=Column(SA_JSON))
    pre_totals: dict[str, float] | None = Field(default=None, sa_column=Column(SA_JSON))
    post_item9: dict[str, float] | None = Field(default=None, sa_column=Column(SA_JSON))
    pre_item9: dict[str, float] | None = Field(default=None, sa_column=Column(SA_JSON))
    any_item9_positive: bool = False  # O10
    later_item9_positive: bool = False
    day_after_checked: bool = False  # O12
    day_after_item9: float | None = None


class CourseOutcomePack(SQLModel, table=True):
    """Per course with ``course_outcome`` rows: their lean facts and after-N maps packed
    (migration 0010, data/analytics/fact_pack.py), written with the rows by the same
    refresh; the summary reads them with the course instead of the rows. NULL when a row
    does not fit the format (the reader then takes the rows' columns).

    With them (migration 0011), copied from the course's infusions by the same refresh
    (every write of an infusion queues its course): the first infusion's clinician and
    route (the breakdown dimensions) and the last infusion's number and date (D1), so the
    summary's read of the courses seeks no infusion."""

    __tablename__ = "course_outcome_pack"

    course_id: int = Field(primary_key=True)
    headers: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    maps: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    first_clinician_id: int | None = None
    first_clinician_code: str | None = Field(default=None, max_length=CLINICIAN_CODE_MAX)
    first_route: str | None = Field(default=None, sa_type=AutoString(length=20))
    last_infusion: int | None = None
    last_administered_on: date | None = None


class CourseOutcomeStale(SQLModel, table=True):
    """Courses whose ``course_outcome`` rows are out of date; ``generation`` goes up at each
    marking, so a refresh removes only the markings it has seen."""

    __tablename__ = "course_outcome_stale"

    course_id: int = Field(primary_key=True)
    generation: int = 1


class CourseOutcomeBlock(SQLModel, table=True):
    """The summary's read of the courses with their packs, kept per block of course ids
    (``block`` = course id // data.analytics.outcome_blocks.BLOCK_COURSES; migration 0012):
    ``body`` is that read of the block's courses (patient, clinic, number, start,
    indication, status and the ``course_outcome_pack`` columns) as one Arrow IPC stream, so
    a whole-scope read takes a row per block instead of a row per course from two tables.

    A trigger on ``course_outcome_pack``, ``course`` and ``patient`` (clinic, indication)
    marks the block ``stale`` in the writer's own transaction, whatever the writer; the
    refresh that writes packs builds their blocks again in the same transaction. A reader
    takes the blocks that are not stale and reads the others' courses from their tables."""

    __tablename__ = "course_outcome_block"

    block: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    stale: bool = True
