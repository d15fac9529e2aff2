"""The clinic's time: "today" and the times shown on screen, in each clinic's time zone.

Stored datetimes stay timezone-aware UTC (`data.store.audit.utcnow()`); dates (infusion day,
score day) are the clinic's calendar days. Each clinic has an IANA time zone name
(`Clinic.time_zone`, e.g. "Europe/Berlin"; a new clinic gets the deployment setting
CLINIC_TIME_ZONE, "UTC" when unset). Nothing here reads the server's local zone:
`date.today()` and naive `datetime.now()` are not used in pages/, ui/ or data/.

- `today_in(clinic)`: the calendar day it is now in the clinic's zone (a UTC 23:30 is the
  next day in Europe/Berlin and the same day in America/Los_Angeles).
- `format_datetime(moment, clinic)`: "6 Dec 2026 14:05" in the clinic's zone, no offset.
- `actor_today(session, actor)`: "today" for a user: the zone of the first clinic of
  their scope (by code), UTC when they have none.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlmodel import Session, select

from models.access import Actor
from models.tables import Clinic, Course, Patient

DEFAULT_ZONE = "UTC"
MISSING = "—"
ZONE_MAX = 64  # Clinic.time_zone


class ClinicTimeError(ValueError):
    """A time zone name that is not an IANA zone (the message names the field)."""


def check_time_zone(value: object, field: str = "time_zone") -> str:
    """The IANA zone name, stripped; raise ClinicTimeError naming `field` otherwise."""
    name = str(value or "").strip()
    if not name:
        raise ClinicTimeError(f"{field}: required, an IANA time zone such as Europe/Berlin "
                              "or America/New_York (UTC for none)")
    if len(name) > ZONE_MAX or name.startswith(("/", ".")) or ".." in name:
        raise ClinicTimeError(f"{field}: {name!r} is not an IANA time zone name")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClinicTimeError(f"{field}: {name!r} is not an IANA time zone name (e.g. "
                              "Europe/Berlin, America/New_York, UTC)") from None
    return name


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """The IANA zone names this machine knows, UTC first (for a select box)."""
    names = sorted(n for n in available_timezones() if "/" in n and not n.startswith("Etc/"))
    return (DEFAULT_ZONE, *names)


def default_time_zone() -> str:
    """The deployment's default zone for new clinics (CLINIC_TIME_ZONE), UTC if unset or
    not a zone."""
    from data.store.settings import get_settings

    try:
        return check_time_zone(get_settings().clinic_time_zone or DEFAULT_ZONE)
    except ClinicTimeError:
        return DEFAULT_ZONE


def zone(where: Clinic | ZoneInfo | str | None) -> ZoneInfo:
    """The ZoneInfo of a clinic, a zone name or a ZoneInfo (UTC for none or an unknown
    stored name, which validation keeps out)."""
    if isinstance(where, ZoneInfo):
        return where
    name = getattr(where, "time_zone", where) or DEFAULT_ZONE
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def utc_now() -> datetime:
    return datetime.now(UTC)


def local(moment: datetime, where: Clinic | ZoneInfo | str | None) -> datetime:
    """An aware datetime in the clinic's zone (a naive one is read as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(where))


def today_in(where: Clinic | ZoneInfo | str | None, *, now: datetime | None = None) -> date:
    """The calendar day it is at `now` (default: now) in the clinic's zone."""
    return local(now or utc_now(), where).date()


def format_date(day: date | None) -> str:
    """'6 Dec 2026'; '—' when missing."""
    if day is None or day != day:  # None or NaT
        return MISSING
    return f"{day.day} {day:%b %Y}"


def format_datetime(moment: datetime | None, where: Clinic | ZoneInfo | str | None) -> str:
    """'6 Dec 2026 14:05' in the clinic's zone (no UTC offset shown); '—' when missing."""
    if moment is None or moment != moment:
        return MISSING
    at = local(moment, where)
    return f"{format_date(at.date())} {at:%H:%M}"


def actor_zone(session: Session, actor: Actor) -> ZoneInfo:
    """The zone of the first clinic (by code) of the actor's scope; UTC when none."""
    stmt = select(Clinic.time_zone).order_by(Clinic.code).limit(1)
    if not actor.all_clinics:
        if not actor.clinic_ids:
            return ZoneInfo(DEFAULT_ZONE)
        stmt = stmt.where(Clinic.id.in_(sorted(actor.clinic_ids)))
    return zone(session.exec(stmt).first())


def actor_today(session: Session, actor: Actor, *, now: datetime | None = None) -> date:
    """'Today' for a user (see actor_zone)."""
    return today_in(actor_zone(session, actor), now=now)


def clinic_today(session: Session, clinic_id: int, *, now: datetime | None = None) -> date:
    return today_in(session.get(Clinic, clinic_id), now=now)


def patient_today(session: Session, patient_id: int, *, now: datetime | None = None) -> date:
    """'Today' in the zone of the patient's clinic."""
    name = session.exec(select(Clinic.time_zone).join(Patient, Patient.clinic_id == Clinic.id)
                        .where(Patient.id == patient_id)).first()
    return today_in(name, now=now)


def patient_zone(session: Session, patient_id: int) -> ZoneInfo:
    """The zone of the patient's clinic."""
    return zone(session.exec(select(Clinic.time_zone).join(Patient, Patient.clinic_id == Clinic.id)
                             .where(Patient.id == patient_id)).first())


def course_today(session: Session, course_id: int, *, now: datetime | None = None) -> date:
    """'Today' in the zone of the clinic of the course's patient."""
    name = session.exec(select(Clinic.time_zone).join(Patient, Patient.clinic_id == Clinic.id)
                        .join(Course, Course.patient_id == Patient.id)
                        .where(Course.id == course_id)).first()
    return today_in(name, now=now)
