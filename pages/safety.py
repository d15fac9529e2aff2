"""Safety: open suicide-risk alerts (PHQ-9 item 9 >= 1, or item 9 not answered) and closing
them with the action taken. An alert never closes by itself.

Open alerts are listed oldest first; those open longer than the protocol setting
alert_overdue_hours are marked. One visit's alerts (pre and post of one infusion) are
closed together with one action (each alert closed and audited). Time to acknowledge per
clinic: outcomes.alert_times (median and 90th percentile, linear interpolation)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.clinic.alerts import close_alerts, list_alerts
from data.clinic.alerts import item9_text as item9_short
from data.clinic.protocol import load_protocol
from data.store.audit import utcnow
from data.store.clinic_time import actor_zone
from data.store.db import read_session, write_session
from models.access import PermissionDenied
from models.schemas import ALERT_ACTIONS, InputError
from models.tables import SOURCE_LABELS, AlertStatus
from outcomes.alert_times import (
    acknowledge_times,
    as_utc,
    duration_text,
    is_overdue,
    minutes_between,
)
from outcomes.instruments import PHQ9
from ui.layout import page_setup
from ui.text import flash, human_table, reset_widgets, show_flash, show_problems

OPEN_COLUMNS = {"overdue": "Overdue", "patient_code": "Patient code", "name": "Name",
                "clinic": "Clinic", "date": "Date", "instrument": "Instrument",
                "timepoint": "Timepoint", "course": "Course", "infusion": "Infusion",
                "item9": "Item 9", "answered_by": "Answered by", "opened_at": "Opened",
                "open_for": "Open for"}
DONE_COLUMNS = {"patient_code": "Patient code", "clinic": "Clinic", "date": "Date",
                "item9": "Item 9", "status": "Status", "closed_at": "Closed",
                "closed_by": "Closed by", "acknowledged": "Time to acknowledge",
                "action_label": "Action", "note": "Note"}
CLOSE_KEY = "alert_to_close"

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
    # dates and times in the clinic's zone ("6 Dec 2026 14:05"), '—' for a missing value
    st.dataframe(human_table(frame[list(columns)], columns, zone), hide_index=True, key=key)


def visits(open_alerts: list[dict]) -> dict[int, list[dict]]:
    """One visit's alerts together (oldest first), keyed by the visit's first alert id."""
    groups: dict[str, list[dict]] = {}
    for alert in open_alerts:
        groups.setdefault(alert["visit"], []).append(alert)
    return {group[0]["id"]: group for group in groups.values()}


def visit_label(group: list[dict]) -> str:
    """A stable label (no age: the browser keeps the chosen option's text)."""
    first = group[0]
    answers = ", ".join(f"{a['timepoint']} item 9 {item9_short(a['item9_value'])}"
                        for a in group)
    return (f"{first['patient_code']} · {first['date']} · infusion {first['infusion']} · "
            f"{answers} · {first['clinic']}")


def close_form(open_alerts: list[dict]) -> None:
    by_id = visits(open_alerts)
    if st.session_state.get(CLOSE_KEY) is not None and st.session_state[CLOSE_KEY] not in by_id:
        # closed meanwhile: set (not delete) the value, so the browser drops its text too
        st.session_state[CLOSE_KEY] = None
    alert_id = st.selectbox(  # no default: the clinician picks the alert they acted on
        "Alert (one visit's pre and post alerts are closed together)", list(by_id),
        index=None, key=CLOSE_KEY, placeholder="Choose the alert",
        format_func=lambda i: visit_label(by_id[i]))
    if alert_id is not None and len(by_id[alert_id]) > 1:
        st.caption(f"Closes {len(by_id[alert_id])} alerts of this visit with the same action; "
                   "each is recorded on its own.")
    action = st.selectbox("Action taken", list(ALERT_ACTIONS), index=None, key="alert_action",
                          format_func=ALERT_ACTIONS.get, placeholder="Choose the action taken")
    note = st.text_area("Note (required for 'other')", key="alert_note")
    left, right = st.columns(2)
    if right.button("Open the patient record", key="alert_open_record",
                    disabled=alert_id is None):
        st.session_state["patient_id"] = by_id[alert_id][0]["patient_db_id"]
        st.switch_page("pages/patient.py")
    if not left.button("Close alert", type="primary", key="close_alert"):
        return
    ids = [a["id"] for a in by_id[alert_id]] if alert_id is not None else []
    try:
        with write_session() as session:
            closed = close_alerts(session, actor=actor, alert_ids=ids, action=action or "",
                                  note=note)
    except (InputError, PermissionDenied) as exc:
        show_problems(exc)
        return
    what = "Alert closed" if len(closed) == 1 else f"{len(closed)} alerts of this visit closed"
    flash("success", f"{what} ({ALERT_ACTIONS[action]}). Your name and the time are recorded.")
    reset_widgets(CLOSE_KEY, "alert_action", "alert_note")
    st.rerun()


def acknowledge_table(alerts: list[dict]) -> None:
    """Median and 90th percentile of the minutes from opening to closing, per clinic."""
    rows = acknowledge_times(alerts)
    st.subheader("Time to acknowledge")
    if not rows:
        st.caption("No closed alert yet.")
        return
    st.dataframe(pd.DataFrame({
        "Clinic": [r["clinic"] for r in rows],
        "Closed alerts": [r["n_closed"] for r in rows],
        "Median": [duration_text(r["median_minutes"]) for r in rows],
        "90th percentile": [duration_text(r["p90_minutes"]) for r in rows],
    }), hide_index=True, key="acknowledge_table")
    st.caption("From the alert opening to its closing with the action taken, over closed "
               "alerts (open and historical ones are not counted). Percentiles by linear "
               "interpolation between the sorted times (as numpy, pandas and Excel's "
               "PERCENTILE.INC); the median of an even count is the mean of the middle two.")


with read_session() as session:
    alerts = list_alerts(session, actor=actor)
    overdue_hours = load_protocol(session)["alert_overdue_hours"]
    zone = actor_zone(session, actor)
now = utcnow()
open_alerts = sorted((a for a in alerts if a["status"] == AlertStatus.OPEN),
                     key=lambda a: (as_utc(a["opened_at"]), a["id"]))  # oldest first
for a in open_alerts:
    a["open_for"] = duration_text(minutes_between(a["opened_at"], now))
    a["overdue"] = (f"⚠ over {overdue_hours} h" if is_overdue(a["opened_at"], now, overdue_hours)
                    else "")

st.header(f"Open alerts ({len(open_alerts)})")
if open_alerts:
    late = sum(1 for a in open_alerts if a["overdue"])
    if late:
        st.warning(f"{late} alert(s) open longer than {overdue_hours} hours (protocol setting "
                   "alert_overdue_hours).", icon=":material/schedule:")
    st.caption("Oldest first.")
    table(open_alerts, OPEN_COLUMNS, "open_alerts_table")
    if actor.can("close_alerts"):
        st.subheader("Close an alert")
        close_form(open_alerts)
else:
    st.success("No open alert in your clinics.")

acknowledge_table(alerts)

done = [a for a in alerts if a["status"] != AlertStatus.OPEN]
for a in done:
    a["acknowledged"] = (duration_text(minutes_between(a["opened_at"], a["closed_at"]))
                         if a["closed_at"] else "")
with st.expander(f"Closed and historical alerts ({len(done)})"):
    st.caption("'historical': imported scores older than the protocol's alert window; they "
               "opened no alert to act on.")
    if done:
        table(done, DONE_COLUMNS, "closed_alerts_table")
