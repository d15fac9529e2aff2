"""E-mail through the clinic's SMTP server (data/store/settings.py: SMTP_HOST, SMTP_PORT,
SMTP_SENDER, SMTP_USERNAME, SMTP_PASSWORD, SMTP_STARTTLS; docs/OPERATIONS.md).

Two uses: a patient's questionnaire link (`email_invitation`) and on-call notifications
(data/selfreport/delivery.py). Neither message names the patient.

The audit trail keeps no full e-mail address of a patient: `email_invitation` records the
address masked (first character and domain: ``j***@example.org``), enough to answer "which
address did we use?" against the patient record, not enough to read one off the trail.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from sqlmodel import Session

from data.store import audit
from data.store.settings import Settings, get_settings
from models.access import Actor, require, require_clinic
from models.tables import Clinic, Invitation

SMTP_TIMEOUT_SECONDS = 10


class MailError(RuntimeError):
    """The message could not be sent (the text says why, without the message's content)."""


class MailNotConfigured(MailError):
    """SMTP_HOST / SMTP_SENDER are not set: the app does not e-mail."""

    def __init__(self) -> None:
        super().__init__("E-mail is not configured: set SMTP_HOST and SMTP_SENDER "
                         "(docs/OPERATIONS.md).")


def mask_address(address: str) -> str:
    """``jane@example.org`` -> ``j***@example.org`` (for the audit trail)."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def send_mail(to: str, subject: str, body: str, settings: Settings | None = None) -> None:
    """Send one plain-text message; STARTTLS and login when the settings ask for them."""
    settings = settings or get_settings()
    if not settings.smtp_configured:
        raise MailNotConfigured()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_sender, to, subject
    message.set_content(body)
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP {where}: login refused ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused:
        raise MailError(f"SMTP {where}: recipient refused") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP {where}: server answered {exc.smtp_code}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"SMTP {where}: {type(exc).__name__}: {exc}") from None


def invitation_message(clinic: Clinic, url: str) -> tuple[str, str]:
    """Subject and body of a questionnaire link: the clinic's name, never the patient's."""
    subject = f"{clinic.name}: your questionnaire"
    body = (f"{clinic.name} asks you to answer a short questionnaire about how you have "
            f"been feeling.\n\nOpen this link to answer it:\n{url}\n\n"
            "The link is personal: please do not forward it. If you did not expect this "
            "message, tell the clinic.\n\nIf you are in crisis, do not wait for the clinic: "
            "call or text 988 (US) or your local emergency number.\n")
    return subject, body


def email_invitation(session: Session, *, actor: Actor, invitation_id: int, to: str,
                     url: str) -> Invitation:
    """E-mail an invitation's link, then mark it sent and audit 'email' (address masked).

    Sent before the transaction commits: if the send fails nothing is written and the
    caller sees the MailError; if the commit fails after a send, the link works anyway."""
    require(actor, "record_infusions", entity="invitation", entity_id=invitation_id)
    settings = get_settings()
    if not settings.smtp_configured:
        raise MailNotConfigured()
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise ValueError(f"invitation: no invitation {invitation_id}")
    require_clinic(actor, invitation.clinic_id, entity="invitation", entity_id=invitation_id)
    if invitation.revoked_at or invitation.completed_at:
        raise ValueError("invitation: already " + ("revoked" if invitation.revoked_at
                                                   else "completed") + "; nothing to send")
    to = (to or "").strip()
    if "@" not in to or any(ch.isspace() for ch in to):
        raise ValueError("to: not an e-mail address")
    subject, body = invitation_message(session.get(Clinic, invitation.clinic_id), url)
    send_mail(to, subject, body, settings)
    invitation.sent_at = audit.utcnow()
    session.add(invitation)
    audit.record(session, actor=actor, action="email", entity="invitation",
                 entity_id=invitation.id, patient_id=invitation.patient_id,
                 new={"to": mask_address(to), "sent_at": invitation.sent_at})
    return invitation
