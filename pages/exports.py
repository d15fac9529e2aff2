"""Exports (directors and auditors): choose what, in which format, which rows, and whether
identified; the file is built, its manifest written to the audit trail, then offered for
download. Auditors export de-identified data only; an identified export needs a reason."""

from __future__ import annotations

import streamlit as st

from data.analytics.overview import clinics_in_scope
from data.exports import (
    AGGREGATE_KINDS,
    FORMATS,
    ExportError,
    ExportReadBackError,
    ExportRequest,
    run_export,
)
from data.store.db import read_session
from models.access import PermissionDenied
from ui.export_files import discard, file_reader, new_file, sweep
from ui.layout import page_setup

KIND_LABELS = {
    "patients": "Patients (one row per patient)",
    "infusions": "Infusions (one row per infusion)",
    "scores": "Scores (one row per questionnaire, with items)",
    "outcomes": "Outcome summary (counts and rates)",
    "audit": "Audit trail (events)",
    "report": "Clinic quality report (PDF)",
    "fhir": "FHIR R4 bundle (PHQ-9 and GAD-7)",
    "statement": "Our outcomes, honestly (one page for the website or referrers)",
}
DATE_LABELS = {"year": "Year only", "days": "Days since the course start"}

actor = page_setup("export_deidentified")
sweep()
st.title("Exports")
st.caption("Every export is recorded in the audit trail with its filters, columns, row count "
           "and the SHA-256 of the file.")

kinds = [k for k in FORMATS if k != "audit" or actor.can("view_audit")]
left, right = st.columns([2, 1])
kind = left.selectbox("What", kinds, format_func=KIND_LABELS.get, key="export_kind")
fmt = right.selectbox("Format", FORMATS[kind], format_func=str.upper, key=f"export_format_{kind}")

identified_allowed = actor.can("export_identified")
deidentified, date_mode, reason = True, "year", ""
if kind in AGGREGATE_KINDS:
    st.info("Aggregate figures only (counts and rates by clinic); clinics with few courses "
            "show counts without rates. No patient or staff identifiers.")
else:
    deidentified = st.toggle(
        "De-identified (HIPAA Safe Harbor)", value=True, key="export_deidentified",
        disabled=not identified_allowed,
        help="No names, patient codes, birth dates, free text or staff names; patients by "
             "random study ID; ages 90 and over as '90+'.")
    if not identified_allowed:
        st.caption("Your role exports de-identified data only.")
        deidentified = True
    if deidentified and kind not in ("fhir", "audit"):  # FHIR and audit dates: years
        date_mode = st.radio("Dates", list(DATE_LABELS), format_func=DATE_LABELS.get,
                             horizontal=True, key="export_dates")
    if not deidentified:
        st.warning("Identified data: names, patient codes, birth dates and notes leave the "
                   "store. Say who receives the file and why.")
        reason = st.text_area("Reason (required, kept in the audit trail)", key="export_reason",
                              max_chars=1000)

with read_session() as session:
    clinics = {c.id: c.code for c in clinics_in_scope(session, actor=actor)}
cols = st.columns(3)
chosen = cols[0].multiselect("Clinics (none chosen: all in your scope)", list(clinics),
                             format_func=clinics.get, key="export_clinics")
start = cols[1].date_input("Courses starting from", value=None, key="export_start")
end = cols[2].date_input("Courses starting until", value=None, key="export_end")
if kind == "audit":
    st.caption("For the audit trail the dates select the events' days (UTC).")

request = ExportRequest(kind=kind, fmt=fmt, deidentified=deidentified, reason=reason,
                        date_mode=date_mode, clinic_ids=tuple(chosen) or None, start=start,
                        end=end)
if st.button("Generate the file", type="primary", key="export_generate"):
    previous = st.session_state.pop("export_result", None)
    if previous is not None:  # one file per session
        discard(previous[1].path)
    bar = st.progress(0.0, text="Building the file...")
    target = new_file(request.fmt)
    try:
        result = run_export(actor=actor, request=request, path=target,
                            progress=lambda fraction, text: bar.progress(fraction, text=text))
    except (ExportError, ExportReadBackError, PermissionDenied) as exc:
        discard(target)
        st.error(str(exc))
    else:
        st.session_state["export_result"] = (request, result)
    bar.empty()

kept = st.session_state.get("export_result")
if kept is not None and kept[0] == request and kept[1].path and kept[1].path.exists():
    result = kept[1]
    st.download_button(f"Download {result.filename}", data=file_reader(result.path),
                       file_name=result.filename, mime=result.mime, key="export_download",
                       on_click="ignore", type="primary")
    m = result.manifest
    if kind == "report":
        counted = ", ".join(f"{name} {n}" for name, n in
                            m["rows"]["courses_by_instrument"].items() if n)
        size = f"courses: {counted or 'none'}"
    else:
        size = f"{m['row_count']:,} rows, {m['bytes'] / 1e6:,.1f} MB"
    st.caption(f"{size} · SHA-256 `{m['sha256']}` · audit event {result.event_id}")
