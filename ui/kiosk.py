"""The kiosk at the chair. The clinician picks pre or post and the questionnaires of a
saved infusion and presses "Hand the tablet to the patient"; from then on this tab shows
only the patient's questionnaire (dashboard.py routes every run here while KIOSK_KEY is
set), then a thank-you (with the crisis text when item 9 needs it), then a lock screen
that only the signed-in clinician's password opens."""

from __future__ import annotations

import streamlit as st

from data.selfreport.invitations import SELF_REPORT_INSTRUMENTS, InvalidLink, submit_link
from data.selfreport.kiosk import start_kiosk, unlock_kiosk
from data.store.db import write_session
from models.access import Actor, PermissionDenied
from models.schemas import InputError
from models.tables import Infusion
from ui.questionnaire import Questionnaire, hide_chrome
from ui.session import clear_cookie_in_browser
from ui.text import flash, show_problems

KIOSK_KEY = "kiosk"
BACK_FROM_KIOSK = "back_from_kiosk"  # dashboard.py opens the infusion page after an unlock
PREFIX = "kiosk_q_"


def in_kiosk_mode() -> bool:
    return KIOSK_KEY in st.session_state


def kiosk_start_form(actor: Actor, patient_id: int, infusion: Infusion | None) -> None:
    """On the staff page: choose what the patient answers, then hand the tablet over."""
    st.subheader("Or let the patient answer on this tablet")
    if infusion is None:
        st.caption("Save the infusion first: the patient's answers are recorded against it.")
        return
    cols = st.columns(2)
    occasion = cols[0].radio("Occasion", ("pre", "post"), horizontal=True,
                             key="kiosk_occasion",
                             format_func=lambda o: {"pre": "Before (pre)",
                                                    "post": "After (post)"}[o])
    chosen = cols[1].multiselect("Questionnaires", SELF_REPORT_INSTRUMENTS,
                                 default=["PHQ-9", "GAD-7"], key="kiosk_instruments")
    if st.button("Hand the tablet to the patient", key="kiosk_start", type="primary",
                 icon=":material/tablet:"):
        try:
            with write_session() as session:
                inv, token = start_kiosk(session, actor=actor, patient_id=patient_id,
                                         instruments=chosen, occasion=occasion,
                                         infusion_number=infusion.number)
        except (InputError, PermissionDenied) as exc:
            show_problems(exc)
            return
        st.session_state[KIOSK_KEY] = {
            "token": token, "invitation_id": inv.id, "instruments": list(inv.instruments),
            "what": f"{'Before' if occasion == 'pre' else 'After'} your infusion",
            "stage": "answer"}
        st.rerun()


def kiosk_screen() -> None:
    """The only screen of this tab while the kiosk is on."""
    hide_chrome()
    clear_cookie_in_browser()  # a reload on the patient's side shows the sign-in form
    state = st.session_state[KIOSK_KEY]
    if state["stage"] == "answer":
        st.title("Your questionnaire")
        st.caption(state["what"])
        Questionnaire(PREFIX, state["instruments"]).render(_submit)
        if st.button("Hand back to the clinic without answering", key="kiosk_abandon",
                     type="tertiary"):
            state["stage"] = "locked"
            st.rerun()
    elif state["stage"] == "thanks":
        if state.get("crisis"):
            st.error(state["crisis"], icon=":material/emergency:")
        st.title("Thank you")
        st.write("Your answers are saved. Please hand the tablet back to your clinician.")
        if st.button("Done", key="kiosk_done", type="primary", width="stretch"):
            state["stage"] = "locked"
            st.rerun()
    else:
        lock_screen(state)


def _submit(answers: list[dict]) -> bool:
    state = st.session_state[KIOSK_KEY]
    actor = st.session_state.get("actor")
    try:
        done = submit_link(token=state["token"], answers=answers, clinician=actor,
                           channel="kiosk")
    except InvalidLink:
        st.error("This hand-over has expired. Please hand the tablet back to your clinician.")
        state["stage"] = "locked"
        return False
    except (InputError, PermissionDenied) as exc:
        st.error(f"Your answers could not be saved: {exc}")
        return False
    state.update(stage="thanks", crisis=done.crisis_text if done.alert_opened else None,
                 saved=len(done.saved.assessments), alerts=len(done.saved.alerts))
    st.rerun()
    return True  # not reached


def lock_screen(state: dict) -> None:
    st.title("Locked")
    actor = st.session_state.get("actor")
    st.write(f"Staff: enter the password of {actor.username if actor else 'the clinician'} "
             "to return to the clinic's screens.")
    with st.form("kiosk_unlock", clear_on_submit=True):
        password = st.text_input("Password", type="password", key="kiosk_password")
        unlock = st.form_submit_button("Unlock", type="primary")
    if unlock:
        if actor is None or not unlock_kiosk(actor=actor, password=password,
                                             invitation_id=state.get("invitation_id")):
            st.error("Wrong password: still locked.")
            return
        _report(state)
        for key in [k for k in st.session_state if k.startswith(PREFIX)]:
            del st.session_state[key]
        del st.session_state[KIOSK_KEY]
        st.session_state[BACK_FROM_KIOSK] = True
        st.rerun()


def _report(state: dict) -> None:
    """What the clinician sees back on the staff page."""
    if state.get("saved"):
        flash("success", f"The patient's answers were saved ({state['saved']} score(s), "
                         "patient-reported at the chair).")
    else:
        flash("info", "The patient did not send answers; the hand-over was closed.")
    if state.get("alerts"):
        flash("error", "Suicide-risk alert opened from the patient's PHQ-9 item 9. Assess the "
                       "risk, then close the alert on the Safety page with the action taken.")
