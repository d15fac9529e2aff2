"""A clinic's self-report settings: the crisis text patients see, and where on-call
notifications go (e-mail, webhook), and the clinic's time zone (data/store/clinic_time.py). A medical director edits the clinics in their scope
(pages/settings.py); `manage.py clinic CODE` does the same from the command line.

Each change is audited as 'update' on entity 'clinic' with the field's old and new value
(on-call addresses are staff contacts, not patient data)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, select

from data.store import audit
from data.store.clinic_time import ClinicTimeError, check_time_zone
from models.access import Actor, require, require_clinic
from models.tables import Clinic

DEFAULT_CRISIS_TEXT = ("If you are thinking about suicide or hurting yourself, call or text "
                       "988 (Suicide & Crisis Lifeline, US) now, or call your local "
                       "emergency number.")
CRISIS_TEXT_MAX = 1000
EMAIL_MAX, WEBHOOK_MAX = 254, 500
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
FIELDS = ("oncall_email", "oncall_webhook", "crisis_text", "time_zone")


class ClinicSettingError(ValueError):
    """A clinic setting that breaks its rule (the message names the field)."""


def crisis_text_for(clinic: Clinic) -> str:
    """What patients see when they answer: the clinic's own text, or the default."""
    return (clinic.crisis_text or "").strip() or DEFAULT_CRISIS_TEXT


def check_email(value: str) -> str:
    value = (value or "").strip()
    if value and (len(value) > EMAIL_MAX or not _EMAIL.match(value)):
        raise ClinicSettingError(f"oncall_email: {value!r} is not an e-mail address "
                                 f"(name@domain, at most {EMAIL_MAX} characters)")
    return value


def check_webhook(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return value
    parts = urlsplit(value)
    if (parts.scheme not in ("http", "https") or not parts.hostname
            or re.search(r"\s", value) or len(value) > WEBHOOK_MAX):
        raise ClinicSettingError(f"oncall_webhook: must be an http:// or https:// URL with a "
                                 f"host, at most {WEBHOOK_MAX} characters")
    return value


def check_crisis_text(value: str) -> str:
    value = (value or "").strip().replace("\r\n", "\n")
    if len(value) > CRISIS_TEXT_MAX:
        raise ClinicSettingError(f"crisis_text: at most {CRISIS_TEXT_MAX} characters "
                                 f"(got {len(value)})")
    if any(not (ch.isprintable() or ch == "\n") for ch in value):
        raise ClinicSettingError("crisis_text: only printable characters and line breaks")
    return value


def check_zone(value: str) -> str:
    try:
        return check_time_zone(value)
    except ClinicTimeError as exc:
        raise ClinicSettingError(str(exc)) from None


CHECKS = {"oncall_email": check_email, "oncall_webhook": check_webhook,
          "crisis_text": check_crisis_text, "time_zone": check_zone}


def clinic_by_code(session: Session, code: str) -> Clinic:
    clinic = session.exec(select(Clinic).where(Clinic.code == code)).first()
    if clinic is None:
        raise ClinicSettingError(f"clinic: no clinic with code {code!r}")
    return clinic


def settings_view(clinic: Clinic) -> dict[str, Any]:
    """The clinic's settings as shown: stored values and what patients see."""
    return {"clinic": clinic.code, "name": clinic.name, "oncall_email": clinic.oncall_email,
            "oncall_webhook": clinic.oncall_webhook, "crisis_text": clinic.crisis_text,
            "crisis_text_shown": crisis_text_for(clinic), "time_zone": clinic.time_zone,
            "crisis_text_is_default": not (clinic.crisis_text or "").strip()}


def _allowed_clinic(session: Session, actor: Actor, code: str) -> Clinic:
    require(actor, "edit_settings", entity="clinic", entity_id=code,
            message="Only a medical director can change a clinic's self-report settings.")
    clinic = clinic_by_code(session, code)
    require_clinic(actor, clinic.id, entity="clinic", entity_id=clinic.id)
    return clinic


def get_clinic_settings(session: Session, *, actor: Actor, code: str) -> dict[str, Any]:
    """One clinic's settings (directors, for the clinics in their scope)."""
    return settings_view(_allowed_clinic(session, actor, code))


def update_clinic_settings(session: Session, *, actor: Actor, code: str,
                           changes: dict[str, str]) -> dict[str, Any]:
    """Validate every change first, then write the changed fields, each audited."""
    clinic = _allowed_clinic(session, actor, code)
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ClinicSettingError(f"{unknown[0]}: not a clinic setting ({', '.join(FIELDS)})")
    checked = {name: CHECKS[name](value) for name, value in changes.items()}
    for name, value in checked.items():
        old = getattr(clinic, name)
        if old == value:
            continue
        setattr(clinic, name, value)
        audit.record(session, actor=actor, action="update", entity="clinic",
                     entity_id=clinic.id, field=name, old=old, new=value)
    session.add(clinic)
    session.flush()
    return settings_view(clinic)
