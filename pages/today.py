"""Today (the clinician's start page): the patients of the user's clinics with an infusion
today, a booster due or a questionnaire due, each with pre done, post done, open alerts
and questionnaires due; one tap on a row opens the infusion screen for that patient.
The rules: data/analytics/today.py; "today" is each clinic's own day (its time zone)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.analytics.overview import clinics_in_scope
from data.analytics.today import today_list
from data.clinic.protocol import load_protocol
from data.store.clinic_time import today_in
from data.store.db import read_session
from ui.drafts import drafts_notice
from ui.layout import page_setup
from ui.text import human_table, show_flash

# What a clinician scans first comes first (a phone shows the first four or five columns).
LABELS = {"patient_code": "Patient", "reasons": "Listed because", "pre_done": "Pre score",
          "post_done": "Post score", "open_alerts": "Open alerts",
          "questionnaires_due": "Questionnaires due", "name": "Name",
          "infusion": "Infusion no.", "last_infusion": "Last infusion", "clinic": "Clinic"}

actor = page_setup("record_infusions")
st.title("Today")
drafts_notice(actor)  # unsaved infusions kept for this user (ui.drafts)
show_flash()

with read_session() as session:
    clinics = clinics_in_scope(session, actor=actor)
    protocol = load_protocol(session)
    rows = today_list(session, actor=actor)
days = sorted({(today_in(c), c.time_zone) for c in clinics})
st.caption(" · ".join(f"{day:%A} {day.day} {day:%B %Y} ({zone})" for day, zone in days)
           or "No clinic assigned to you.")

if not rows:
    st.info("No patient has an infusion, a booster or a questionnaire due today.")
else:
    frame = pd.DataFrame(rows).astype({"infusion": "Int64"})
    columns = [c for c in LABELS if c != "clinic" or len(clinics) > 1]
    table = human_table(frame[columns], LABELS)
    st.caption(f"{len(rows)} patient(s). Tap a row to open the infusion screen.")
    event = st.dataframe(table, hide_index=True, key="today_table", on_select="rerun",
                         selection_mode="single-row", width="stretch")
    picked = list(event.selection.rows) if event is not None else []
    if picked and 0 <= picked[0] < len(rows):
        st.session_state["patient_id"] = int(rows[picked[0]]["patient_id"])
        st.switch_page("pages/infusion.py")

st.caption(f"Listed: an infusion dated today; a booster due (induction over, last infusion "
           f"{protocol['booster_overdue_days']} or more days ago, and at most "
           f"{protocol['attention_window_days']} days ago: the attention window); a follow-up "
           "questionnaire the clinic's self-report schedule makes due today and not yet "
           "answered. Pre and post score: any instrument saved for today's infusion.")
