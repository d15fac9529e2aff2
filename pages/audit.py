"""Audit trail (directors and auditors): filter the events, rebuild one record's history,
export the filtered events as CSV (the export is itself audited), verify the chain."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.audit.audit_queries import (
    AuditFilter,
    export_events_csv,
    filter_choices,
    rebuilt_values,
    record_history,
    search_events,
    sees_identifiers,
    verify_trail,
)
from data.files.readback import ExportReadBackError
from data.store.clinic_time import actor_zone
from data.store.db import read_session, write_session
from ui.layout import page_setup
from ui.text import human_table

ANY = "(any)"


def shown_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Events for the screen: times (stored UTC, given as 'YYYY-MM-DD HH:MM:SS UTC') in the
    user's clinic zone, human column names, '—' for a missing value."""
    when = pd.to_datetime(frame["occurred_at"].str.removesuffix(" UTC"), utc=True)
    return human_table(frame.assign(occurred_at=when.astype("object")), LABELS, zone)

LABELS = {"id": "Event", "event_id": "Event", "occurred_at": "When", "username": "User",
          "action": "Action", "entity": "Record type", "entity_id": "Record id",
          "patient_id": "Patient (internal id)", "study_id": "Study id",
          "patient_code": "Patient code", "field": "Field", "old_value": "Old value",
          "new_value": "New value", "reason": "Reason", "session_id": "Session"}

actor = page_setup("view_audit")
st.title("Audit trail")
if not sees_identifiers(actor):
    st.caption("Patients appear by internal id and study id only; values of identifying "
               "fields (name, patient code, birth date, notes, free text) read [redacted].")

with read_session() as session:
    choices = filter_choices(session, actor=actor)
    zone = actor_zone(session, actor)  # times shown in the user's (first) clinic's zone

cols = st.columns(5)
user = cols[0].selectbox("User", [ANY, *choices["users"]], key="audit_user")
patient = cols[1].text_input(
    "Patient", key="audit_patient",
    placeholder="internal id or study id" + (" or code" if sees_identifiers(actor) else ""))
action = cols[2].selectbox("Action", [ANY, *choices["actions"]], key="audit_action")
start = cols[3].date_input("From (UTC)", value=None, key="audit_from")
end = cols[4].date_input("To (UTC)", value=None, key="audit_to")
filters = AuditFilter(username=None if user == ANY else user, patient=patient or None,
                      action=None if action == ANY else action, start=start, end=end)

with read_session() as session:
    page = search_events(session, actor=actor, filters=filters)
st.caption(f"{page.total} matching event(s)"
           + (f"; the latest {len(page.frame)} shown" if page.total > len(page.frame) else ""))
st.caption(f"Times in {zone.key}; the date filters are UTC days.")
st.dataframe(shown_events(page.frame), hide_index=True, key="audit_events")

if st.button("Prepare CSV export of these events", key="audit_export_prepare"):
    try:
        with write_session() as session:
            st.session_state["audit_export"] = export_events_csv(session, actor=actor,
                                                                 filters=filters)
    except ExportReadBackError as exc:  # the file did not read back: not handed over
        st.error(str(exc))
export = st.session_state.get("audit_export")
if export is not None and export.filters == filters:
    st.download_button(f"Download CSV ({export.rows} events)", data=export.data,
                       file_name=export.filename, mime="text/csv", key="audit_export_download")
    st.caption(f"SHA-256 of the file: `{export.sha256}` (recorded in the audit trail)")

st.subheader("History of one record")
left, right = st.columns(2)
entity = left.selectbox("Entity", choices["entities"], index=None, key="audit_entity")
entity_id = right.text_input("Record id", key="audit_entity_id")
if entity and entity_id.strip():
    with read_session() as session:
        history = record_history(session, actor=actor, entity=entity, entity_id=entity_id)
    if history.empty:
        st.info("No event about this record in your scope.")
    else:
        st.dataframe(shown_events(history), hide_index=True, key="audit_history")
        st.caption("Values as rebuilt from the trail")
        st.json(rebuilt_values(history), expanded=False)

st.subheader("Integrity")
if st.button("Verify the hash chain", key="audit_verify"):
    with read_session() as session:
        check = verify_trail(session, actor=actor)
    if check.ok:
        st.success(f"{check.chain.message}; head hash `{check.chain.head_hash}`")
    else:
        st.error(check.chain.message if not check.chain.intact else
                 "Append-only triggers missing or altered: " + "; ".join(check.missing_triggers))
