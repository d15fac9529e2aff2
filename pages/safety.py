"""Safety: open suicide-risk alerts (PHQ-9 item 9 >= 1, or item 9 not answered) and closing
one with the action taken. An alert never closes by itself."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.access import PermissionDenied
from data.alerts import close_alert, list_alerts
from data.db import read_session, write_session
from models.schemas import ALERT_ACTIONS, InputError
from models.tables import SOURCE_LABELS
from outcomes.instruments import PHQ9
from ui.layout import page_setup
from ui.text import flash, reset_widgets, show_flash, show_problems

OPEN_COLUMNS = {"patient_code": "Patient code", "name": "Name", "clinic": "Clinic",
                "date": "Date", "instrument": "Instrument", "timepoint": "Timepoint",
                "course": "Course", "infusion": "Infusion", "item9": "Item 9",
                "answered_by": "Answered by", "opened_at": "Opened"}
DONE_COLUMNS = {"patient_code": "Patient code", "clinic": "Clinic", "date": "Date",
                "item9": "Item 9", "status": "Status", "closed_at": "Closed",
                "closed_by": "Closed by", "action_label": "Action", "note": "Note"}

actor = page_setup("view_alerts")
st.title("Safety alerts")
show_flash()
st.caption("A positive answer (1 or more) to PHQ-9 item 9 — \"" + PHQ9.items[8].text + "\" — "
           "opens an alert, and so does item 9 left unanswered (\"prefers not to answer\"). "
           "It stays open until a clinician records the action taken.")


def item9_text(value: int | None) -> str:
    if value is None:
        return "not answered"
    return f"{value} · {PHQ9.answer_labels[value]}"


def table(rows: list[dict], columns: dict[str, str], key: str) -> None:
    frame = pd.DataFrame([{**r, "item9": item9_text(r["item9_value"]),
                           "answered_by": SOURCE_LABELS.get(r.get("source"), r.get("source"))}
                          for r in rows])
    st.dataframe(frame[list(columns)].rename(columns=columns), hide_index=True, key=key)


def close_form(open_alerts: list[dict]) -> None:
    by_id = {a["id"]: a for a in open_alerts}
    if st.session_state.get("alert_to_close") not in by_id:
        st.session_state.pop("alert_to_close", None)
    alert_id = st.selectbox(  # no default: the clinician picks the alert they acted on
        "Alert", list(by_id), index=None, key="alert_to_close", placeholder="Choose the alert",
        format_func=lambda i: (f"{by_id[i]['patient_code']} · {by_id[i]['date']} · "
                               f"{by_id[i]['timepoint']} · item 9 {item9_text(by_id[i]['item9_value'])} · "
                               f"{by_id[i]['clinic']}"))
    action = st.selectbox("Action taken", list(ALERT_ACTIONS), index=None, key="alert_action",
                          format_func=ALERT_ACTIONS.get, placeholder="Choose the action taken")
    note = st.text_area("Note (required for 'other')", key="alert_note")
    left, right = st.columns(2)
    if right.button("Open the patient record", key="alert_open_record",
                    disabled=alert_id is None):
        st.session_state["patient_id"] = by_id[alert_id]["patient_db_id"]
        st.switch_page("pages/patient.py")
    if not left.button("Close alert", type="primary", key="close_alert"):
        return
    try:
        with write_session() as session:
            close_alert(session, actor=actor, alert_id=alert_id or 0, action=action or "",
                        note=note)
    except (InputError, PermissionDenied) as exc:
        show_problems(exc)
        return
    flash("success", f"Alert closed ({ALERT_ACTIONS[action]}). Your name and the time are "
                     "recorded.")
    reset_widgets("alert_to_close", "alert_action", "alert_note")
    st.rerun()


with read_session() as session:
    alerts = list_alerts(session, actor=actor)
open_alerts = [a for a in alerts if a["status"] == "open"]

st.header(f"Open alerts ({len(open_alerts)})")
if open_alerts:
    table(open_alerts, OPEN_COLUMNS, "open_alerts_table")
    if actor.can("close_alerts"):
        st.subheader("Close an alert")
        close_form(open_alerts)
else:
    st.success("No open alert in your clinics.")

done = [a for a in alerts if a["status"] != "open"]
with st.expander(f"Closed and historical alerts ({len(done)})"):
    st.caption("'historical': imported scores older than the protocol's alert window; they "
               "opened no alert to act on.")
    if done:
        table(done, DONE_COLUMNS, "closed_alerts_table")
