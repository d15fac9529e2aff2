"""Frames the Outcomes page needs beside the observation frame, within the actor's scope:
infusions (safety, completeness, boosters, needs-attention), open alerts, patient labels,
and the store's data version (a cache key part that changes with every clinical write)."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
from sqlalchemy import String, cast, select
from sqlalchemy.engine import Engine

from data.analytics.observations import chosen_courses, dose_band
from data.analytics.outcome_report import OutcomeFilters
from data.store.arrow_read import Kind, days, floats, ints, read_table, texts
from data.store.db import get_engine, read_session
from models.access import Actor, require, scope_filter
from models.tables import (
    AdverseEvent,
    AuditEvent,
    Clinic,
    Course,
    HeldVisit,
    Infusion,
    Patient,
    SafetyAlert,
    User,
)

# Audit actions that read or sign in: they change no figure, so they leave the version alone.
READ_ACTIONS = ("view", "sign_in", "sign_in_failed", "sign_out", "denied", "export", "backup")


def data_version(engine: Engine | None = None) -> int:
    """The id of the latest audit event that records a write (every write is audited)."""
    stmt = (select(AuditEvent.id).where(AuditEvent.action.not_in(READ_ACTIONS))
            .order_by(AuditEvent.id.desc()).limit(1))
    with (engine or get_engine()).connect() as conn:
        return int(conn.execute(stmt).scalar() or 0)


def version_mark(version: int, engine: Engine | None = None) -> str | None:
    """The audit hash of the event at ``version``: the chain's hash names the whole history
    up to it, so a frame read at ``version`` belongs to this store while it is unchanged
    (another store or a restored backup with the same version number has another hash)."""
    stmt = select(AuditEvent.hash).where(AuditEvent.id == version)
    with (engine or get_engine()).connect() as conn:
        return conn.execute(stmt).scalar()


def written_patients(since: int, until: int, *, most: int = 2000,
                     engine: Engine | None = None) -> list[int] | None:
    """The patients of the audited writes after data version ``since`` up to ``until``
    (``data_version`` values): what a cached per-patient frame must read again to equal a
    fresh read. None when one of those writes names no patient (a clinic, user or setting:
    it can change every row) or more than ``most`` patients were written (read it all)."""
    if until <= since:
        return []
    stmt = (select(AuditEvent.patient_id)
            .where(AuditEvent.id > since, AuditEvent.id <= until,
                   AuditEvent.action.not_in(READ_ACTIONS))
            .group_by(AuditEvent.patient_id).limit(most + 1))
    with (engine or get_engine()).connect() as conn:
        patients = list(conn.execute(stmt).scalars())
    if None in patients or len(patients) > most:
        return None
    return sorted(int(p) for p in patients)


def load_infusions(*, actor: Actor, filters: OutcomeFilters,
                   engine: Engine | None = None) -> pd.DataFrame:
    """One row per infusion of the courses in the filters' clinics and date range (all
    courses, not only index courses; ``clinic_outcomes.narrow`` applies the rest).

    Course-level columns follow data.analytics.observations: ``clinician`` and ``route`` of the
    course's first infusion, ``dose_mg_per_kg``/``dose_band`` of the course's median dose
    over its infusions with a dose, the patient's ``indication``; ``infusion_dose`` and
    ``infusion_dose_band`` are each infusion's own.
    """
    with read_session():
        require(actor, "view_outcomes", entity="outcomes",
                message="This role does not see clinical outcomes.")
    stmt = (
        select(
            Infusion.course_id.label("course_key"), Course.patient_id.label("patient_key"),
            Clinic.code.label("clinic"), Course.number.label("course_number"),
            Course.start_date.label("course_start"), Course.status.label("course_status"),
            Infusion.number.label("infusion_number"), Infusion.administered_on.label("date"),
            Infusion.infusion_type, Infusion.route.label("infusion_route"),
            Infusion.dose_mg_per_kg.label("infusion_dose"),
            cast(Infusion.side_effects, String).label("side_effects"),
            Infusion.side_effect_other, Infusion.adverse_event,
            User.username, Infusion.clinician_code, Patient.indication,
            Infusion.bp_decision, Infusion.sedation_moaas, Infusion.dissociation,
            Infusion.discharge_ready_minutes, Infusion.id.label("infusion_id"),
        )
        .join(Course, Course.id == Infusion.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .outerjoin(User, User.id == Infusion.clinician_id)
        .where(*chosen_courses(actor, list(filters.clinic_ids) if filters.clinic_ids else None,
                               filters.start, filters.end))
    )
    with (engine or get_engine()).connect() as conn:
        table = read_table(conn, stmt, _INFUSION_SCHEMA)
        severities = _severities(conn, stmt)
    ae_severities = ["|".join(severities.get(i, [])) for i in table["infusion_id"].to_pylist()]
    return _typed_infusions(table, ae_severities)


_INFUSION_SCHEMA: dict[str, Kind] = {
    **dict.fromkeys(("course_key", "patient_key", "course_number", "infusion_number",
                     "infusion_id"), "int"),
    **dict.fromkeys(("clinic", "course_status", "infusion_type", "infusion_route",
                     "username", "clinician_code", "indication", "side_effects",
                     "side_effect_other", "adverse_event", "bp_decision", "dissociation"),
                    "text"),
    "course_start": "date", "date": "date",
    **dict.fromkeys(("infusion_dose", "sedation_moaas", "discharge_ready_minutes"), "float"),
}


def _severities(conn, infusions) -> dict[int, list[str]]:
    """The adverse events' severities of each infusion the statement selects."""
    chosen = infusions.with_only_columns(Infusion.id).subquery()
    rows = conn.execute(select(AdverseEvent.infusion_id, AdverseEvent.severity)
                        .where(AdverseEvent.infusion_id.in_(select(chosen.c.id)))
                        .order_by(AdverseEvent.id)).all()
    result: dict[int, list[str]] = {}
    for infusion_id, severity in rows:
        result.setdefault(int(infusion_id), []).append(severity)
    return result


def load_held_visits(*, actor: Actor, filters: OutcomeFilters,
                     engine: Engine | None = None) -> pd.DataFrame:
    """Visits held or rescheduled for blood pressure in scope (course_key, decision), with
    the same clinic and course-start filters as ``load_infusions``."""
    stmt = (select(HeldVisit.course_id, HeldVisit.decision)
            .join(Course, Course.id == HeldVisit.course_id)
            .join(Patient, Patient.id == Course.patient_id)
            .where(*chosen_courses(actor, list(filters.clinic_ids) if filters.clinic_ids
                                   else None, filters.start, filters.end)))
    with (engine or get_engine()).connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame([(int(c), d) for c, d in rows], columns=["course_key", "decision"])


def _typed_infusions(table: pa.Table, ae_severities: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({
        **{k: ints(table[k]) for k in ("course_key", "patient_key", "course_number",
                                        "infusion_number")},
        **{k: texts(table[k]) for k in ("clinic", "course_status", "infusion_type",
                                         "infusion_route", "username", "clinician_code",
                                         "indication")},
        "course_start": days(table["course_start"]), "date": days(table["date"]),
        "infusion_dose": floats(table["infusion_dose"]),
        # an adverse event: a recorded event (AdverseEvent) or the note of an older record
        "adverse_note": [bool(a and str(a).strip()) for a in table["adverse_event"].to_pylist()],
        "ae_severities": pd.array(ae_severities, dtype="str"),
        "bp_decision": texts(table["bp_decision"]),
        "sedation_moaas": floats(table["sedation_moaas"]),
        "dissociation": texts(table["dissociation"]),
        "discharge_ready_minutes": floats(table["discharge_ready_minutes"]),
        "side_effects": pd.array([_effects(listed, other) for listed, other in
                                  zip(table["side_effects"].to_pylist(),
                                      table["side_effect_other"].to_pylist(), strict=True)],
                                 dtype="str"),
    })
    frame = frame.assign(
        adverse_event=frame["adverse_note"] | (frame["ae_severities"].str.len() > 0),
        infusion_clinician=frame["username"].fillna(frame["clinician_code"]).fillna("unknown"),
        indication=frame["indication"].fillna("unspecified"),
    ).sort_values(["course_key", "infusion_number"], kind="stable")
    first = frame.drop_duplicates("course_key").set_index("course_key")
    dims = pd.DataFrame({
        "clinician": first["infusion_clinician"],
        "route": first["infusion_route"].fillna("unknown"),
        "dose_mg_per_kg": frame.groupby("course_key")["infusion_dose"].median()
        .astype("float64"),
    })
    dims["dose_band"] = dose_band(dims["dose_mg_per_kg"])
    frame = frame.drop(columns=["username", "clinician_code"])
    frame["infusion_dose_band"] = dose_band(frame["infusion_dose"].astype("float64"))
    return frame.merge(dims, left_on="course_key", right_index=True, how="left").reset_index(
        drop=True)


def _effects(listed, other) -> str:
    """The infusion's side effects (JSON text on SQLite, a list on PostgreSQL), once each,
    '|'-separated (text pickles fast in the cache); 'other' when the free text is filled."""
    if isinstance(listed, str):
        listed = json.loads(listed)
    listed = [] if listed is None else list(listed)  # PostgreSQL's driver may give an array
    effects = dict.fromkeys(str(e).replace("|", "/") for e in listed if e)
    if other and str(other).strip():
        effects["other"] = None
    return "|".join(effects)


def load_open_alerts(*, actor: Actor, filters: OutcomeFilters,
                     engine: Engine | None = None) -> pd.DataFrame:
    """Open suicide-risk alerts in scope (patient_key, clinic, observed_on), if the role sees them."""
    columns = ["patient_key", "clinic", "observed_on"]
    if not actor.can("view_alerts"):
        return pd.DataFrame(columns=columns)
    stmt = (
        select(SafetyAlert.patient_id.label("patient_key"), Clinic.code.label("clinic"),
               SafetyAlert.observed_on)
        .join(Clinic, Clinic.id == SafetyAlert.clinic_id)
        .where(SafetyAlert.status == "open",
               scope_filter(actor, SafetyAlert.clinic_id,
                            list(filters.clinic_ids) if filters.clinic_ids else None))
    )
    with (engine or get_engine()).connect() as conn:
        return pd.read_sql(stmt, conn)


def patient_labels(*, actor: Actor, patient_keys: list[int],
                   engine: Engine | None = None) -> pd.DataFrame:
    """patient_key -> patient code (roles that see patients) or study id (others)."""
    identified = actor.can("view_patients")
    label = Patient.patient_code if identified else Patient.study_id
    rows = []
    with (engine or get_engine()).connect() as conn:
        for start in range(0, len(patient_keys), 5000):
            chunk = patient_keys[start:start + 5000]
            stmt = (select(Patient.id.label("patient_key"), label.label("patient"))
                    .where(Patient.id.in_(chunk), scope_filter(actor, Patient.clinic_id)))
            rows += conn.execute(stmt).all()
    return pd.DataFrame(rows, columns=["patient_key", "patient"])
