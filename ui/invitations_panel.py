"""The record's "Invitations" section: the patient's questionnaire links with their state,
a form to make one (the link and its QR code are shown once, since only the token's hash
is stored), and Revoke."""

from __future__ import annotations

import io

import pandas as pd
import segno
import streamlit as st

from data.selfreport.invitations import (
    EXPIRES_HOURS_DEFAULT,
    EXPIRES_HOURS_MAX,
    SELF_REPORT_INSTRUMENTS,
    create_invitation,
    invitation_url,
    list_invitations,
    revoke_invitation,
)
from data.selfreport.mailer import MailError, email_invitation
from data.store.clinic_time import patient_zone
from data.store.db import read_session, write_session
from data.store.settings import get_settings
from models.access import Actor, PermissionDenied
from models.schemas import InputError
from models.tables import INVITATION_OCCASIONS
from ui.text import flash, human_table, show_problems

LINK_KEY = "invitation_link"
OCCASION_LABELS = {"pre": "Before infusion N (pre)", "post": "After infusion N (post)",
                   "followup": "Follow-up after infusion N"}

INVITATION_LABELS = {"id": "Link no.", "state": "State", "occasion": "Occasion",
                     "instruments": "Questionnaires", "channel": "Channel",
                     "created": "Created", "expires": "Expires", "completed": "Completed"}


def qr_png(url: str) -> bytes:
    """The link as a QR code (PNG bytes) to print or show on a screen."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def invitations_section(actor: Actor, patient_id: int, next_infusion: int | None) -> None:
    st.header("Invitations")
    st.caption("Questionnaire links the patient answers on their own phone or computer. A "
               "link works once, until it expires or is revoked.")
    try:
        with write_session() as session:  # an expiry seen first here is audited
            rows = list_invitations(session, actor=actor, patient_id=patient_id)
    except (InputError, PermissionDenied) as exc:
        show_problems(exc)
        return
    if rows:
        table = pd.DataFrame(rows)[list(INVITATION_LABELS)]
        with read_session() as session:
            zone = patient_zone(session, patient_id)  # times in the clinic's zone
        st.dataframe(human_table(table, INVITATION_LABELS, zone), hide_index=True,
                     key="invitations_table")
    else:
        st.caption("No invitation yet.")
    if not actor.can("record_infusions"):
        return
    _show_new_link(actor, patient_id)
    revocable = [r["id"] for r in rows if r["state"] in ("pending", "sent", "opened")]
    if revocable:
        cols = st.columns([2, 1], vertical_alignment="bottom")
        chosen = cols[0].selectbox("Invitation to revoke", revocable, key="revoke_choice",
                                   format_func=lambda i: f"Invitation {i}")
        if cols[1].button("Revoke", key="revoke_invitation"):
            _revoke(actor, chosen)
    with st.expander("Send questionnaires to the patient"):
        _create_form(actor, patient_id, next_infusion)


def _create_form(actor: Actor, patient_id: int, next_infusion: int | None) -> None:
    instruments = st.multiselect("Questionnaires", SELF_REPORT_INSTRUMENTS,
                                 default=["PHQ-9", "GAD-7"], key="invite_instruments")
    cols = st.columns(3)
    occasion = cols[0].selectbox("Occasion", INVITATION_OCCASIONS, key="invite_occasion",
                                 format_func=OCCASION_LABELS.get)
    number = cols[1].number_input("Infusion N", min_value=1, step=1,
                                  value=next_infusion or 1, key="invite_infusion")
    hours = cols[2].number_input("Expires after (hours)", min_value=1,
                                 max_value=EXPIRES_HOURS_MAX, value=EXPIRES_HOURS_DEFAULT,
                                 step=1, key="invite_hours")
    if st.button("Create the link", type="primary", key="create_invitation"):
        try:
            with write_session() as session:
                inv, token = create_invitation(
                    session, actor=actor, patient_id=patient_id, instruments=instruments,
                    occasion=occasion, infusion_number=int(number), expires_hours=int(hours))
        except (InputError, PermissionDenied) as exc:
            show_problems(exc)
            return
        st.session_state[LINK_KEY] = {"patient_id": patient_id, "id": inv.id,
                                      "url": invitation_url(token)}
        st.rerun()


def _show_new_link(actor: Actor, patient_id: int) -> None:
    link = st.session_state.get(LINK_KEY)
    if not link or link["patient_id"] != patient_id:
        st.session_state.pop(LINK_KEY, None)
        return
    with st.container(border=True):
        st.success(f"Invitation {link['id']} created. Give the patient this link or let them "
                   "scan the code; it is shown only now.")
        st.code(link["url"], language=None)
        st.image(qr_png(link["url"]), width=220, caption="Scan with the phone's camera")
        if get_settings().smtp_configured:
            _email_form(actor, link)
        else:
            st.caption("E-mail is not set up on this server (SMTP settings): hand the link "
                       "or the code over, or send it with the clinic's own messaging.")
        if st.button("Done", key="hide_invitation_link"):
            st.session_state.pop(LINK_KEY, None)
            st.rerun()


def _email_form(actor: Actor, link: dict) -> None:
    """E-mail the new link to the patient (the address is masked in the audit trail)."""
    cols = st.columns([2, 1], vertical_alignment="bottom")
    address = cols[0].text_input("Patient's e-mail address", key="invite_email")
    if not cols[1].button("E-mail the link", key="email_invitation"):
        return
    try:
        with write_session() as session:
            email_invitation(session, actor=actor, invitation_id=link["id"],
                             to=address, url=link["url"])
    except MailError as exc:
        st.error(f"Not sent: {exc}")
        return
    except (ValueError, PermissionDenied) as exc:
        show_problems(exc)
        return
    st.success(f"Invitation {link['id']} e-mailed; its state is now 'sent'.")


def _revoke(actor: Actor, invitation_id: int) -> None:
    try:
        with write_session() as session:
            revoke_invitation(session, actor=actor, invitation_id=invitation_id)
    except (InputError, PermissionDenied) as exc:
        show_problems(exc)
        return
    flash("success", f"Invitation {invitation_id} revoked: its link no longer works.")
    st.rerun()
