"""Import (directors and administrators): a score or patient CSV, checked first by a dry
run that lists every refused row (line, field, reason), then imported on confirmation,
all or nothing in one transaction, with the rules and the audit event of
`manage.py import-scores` / `import-patients` (data/imports/import_runs.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.imports.import_csv import MAX_IMPORT_BYTES
from data.imports.import_runs import COLUMNS, KINDS, ImportOutcome, digest, run_import
from ui.layout import page_setup
from ui.text import markdown_safe

CHECKED_KEY = "import_checked"  # the last dry run's ImportOutcome
DONE_KEY = "import_done"  # the last import's ImportOutcome

actor = page_setup("import_data")
st.title("Import")
st.caption("Upload a CSV file saved from the spreadsheet as 'CSV UTF-8 (comma delimited)'. "
           "A dry run checks every row with the same rules as the forms and writes nothing; "
           "a clean file can then be imported, all rows in one go or none. Every import is "
           "recorded in the audit trail with the file's SHA-256 and its counts.")

kind = st.radio("What the file holds", list(KINDS), format_func=KINDS.get, horizontal=True,
                key="import_kind")
required, optional = COLUMNS[kind]
with st.expander("Columns of the file", expanded=False):
    st.markdown("Required: " + ", ".join(f"`{c}`" for c in required))
    st.markdown("Optional: " + ", ".join(f"`{c}`" for c in optional)
                + (", `item_1` ... `item_20`" if kind == "scores" else ""))
    st.caption("The first line names the columns (exact, lower-case). Dates are written "
               "YYYY-MM-DD. Unknown columns are ignored with a warning. See OUTCOMES.md "
               "section 5 for the score file.")

upload = st.file_uploader(f"CSV file (at most {MAX_IMPORT_BYTES // 1024 // 1024} MB)",
                          type=["csv"], key="import_file")
raw = upload.getvalue() if upload is not None else None
sha = digest(raw) if raw is not None else None


def _progress_bar(label: str):
    bar = st.progress(0.0, text=label)
    return lambda done, text: bar.progress(min(max(done, 0.0), 1.0), text=text)


def _show_problems(outcome: ImportOutcome) -> None:
    table = outcome.table()
    if table:
        st.dataframe(pd.DataFrame(table, columns=["Line", "Field", "Reason"]),
                     hide_index=True, width="stretch", key="import_problems")
    if not outcome.all_listed:
        st.caption(f"{outcome.total_errors} problems in all; the first 20 of each column are "
                   "listed. Counts by column and rule:")
        st.text("\n".join(outcome.summary[1:]))


def _show_warnings(outcome: ImportOutcome) -> None:
    for warning in outcome.warnings:
        st.warning(markdown_safe(warning))


def show_dry_run(outcome: ImportOutcome) -> None:
    if outcome.file_error:
        st.error(markdown_safe(f"The file cannot be imported: {outcome.file_error}. "
                               "Nothing was written."))
        return
    read, refused, would = st.columns(3)
    read.metric("Rows read", outcome.rows)
    refused.metric("Rows refused", outcome.refused_rows
                   if outcome.all_listed else f"{outcome.refused_rows}+")
    would.metric("Would import", outcome.rows if outcome.ok else 0)
    if outcome.ok:
        st.success(f"Dry run: all {outcome.rows} rows pass. Importing would create "
                   f"{outcome.created_text()}. Nothing has been written yet.")
    else:
        st.error("Dry run: the file cannot be imported as it is (all or nothing). Correct "
                 "the rows below in the spreadsheet, save it again and upload it.")
    _show_problems(outcome)
    _show_warnings(outcome)


checked: ImportOutcome | None = st.session_state.get(CHECKED_KEY)
if checked is not None and (checked.kind != kind or checked.sha256 != sha):
    checked = None  # another file or kind: its dry run says nothing about this one

left, right = st.columns(2)
if left.button("Dry run (check, write nothing)", key="import_dry_run", disabled=raw is None,
               width="stretch"):
    st.session_state.pop(DONE_KEY, None)
    bar = _progress_bar("Checking the file")
    checked = run_import(kind, raw, actor=actor, dry_run=True, progress=bar)
    st.session_state[CHECKED_KEY] = checked

ready = checked is not None and checked.ok
label = f"Import {checked.rows} rows" if ready else "Import"
if right.button(label, key="import_confirm", type="primary", disabled=not ready,
                width="stretch",
                help=None if ready else "Run a clean dry run of this file first."):
    bar = _progress_bar("Importing")
    done = run_import(kind, raw, actor=actor, dry_run=False, progress=bar)
    st.session_state.pop(CHECKED_KEY, None)
    st.session_state[DONE_KEY] = done
    st.rerun()  # the Import button disabled: this file's dry run is used up

done: ImportOutcome | None = st.session_state.get(DONE_KEY)
if done is not None and (done.kind, done.sha256) == (kind, sha):
    if done.ok:
        st.success(f"Imported {done.rows} rows: created {done.created_text()}. Recorded in "
                   f"the audit trail (file SHA-256 {done.sha256[:12]}…).")
    else:
        st.error("The import was refused and nothing was written: the store changed since "
                 "the dry run. Run the dry run again to see why.")
        _show_problems(done)
    _show_warnings(done)
elif checked is not None:
    show_dry_run(checked)
elif raw is None:
    st.info("Choose the kind of file, upload it, then run the dry run.")
