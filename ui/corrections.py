"""Correction forms: one field of a saved infusion, or the items of a saved score, each
with a required reason. The services keep the previous values in the record's history."""

from __future__ import annotations

from typing import Any

import streamlit as st

from data.clinic.alerts import item9_text, score_alert
from data.clinic.corrections import correct_infusion, correct_score
from data.clinic.infusions import scores_of
from data.clinic.records import score_column, score_label
from data.store.db import read_session, write_session
from models.access import Actor, PermissionDenied
from models.schemas import SIDE_EFFECTS, InfusionIn, InputError
from models.tables import (
    DISSOCIATION_LEVELS,
    INFUSION_TYPES,
    ROUTES,
    AlertStatus,
    Assessment,
    Course,
    Infusion,
)
from models.validation import EARLIEST_VISIT_DATE
from ui.score_form import fd_key, item_key, score_form
from ui.text import clear_keys, code_span, flash, reset_widgets, show_problems

FIELD_LABELS = {
    "administered_on": "Date", "infusion_type": "Type", "route": "Route",
    "dose_mg_per_kg": "Dose (mg/kg)", "weight_kg": "Weight (kg)",
    "duration_min": "Duration (min)", "side_effects": "Side effects",
    "side_effect_other": "Other side effect (text)", "adverse_event": "Adverse event (note)",
    "bp_decision": "Blood-pressure decision",
    "bp_decision_reason": "Blood-pressure decision reason",
    "sedation_moaas": "Sedation at peak (MOAA/S 0-5)", "dissociation": "Dissociation",
    "discharge_ready_minutes": "Minutes until ready for discharge",
}
FIX_PREFIX = "fix_"


def keep_valid(key: str, options: list[Any]) -> None:
    """Forget a remembered choice that is not among `options` (another patient's record)."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def field_label(name: str) -> str:
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    kind, moment = name.rsplit("_", 1)
    return f"{kind.replace('bp_sys', 'systolic BP').replace('bp_dia', 'diastolic BP')} {moment}"


def _new_value(name: str, current: Any, infusion_id: int) -> Any:
    key = f"fix_value_{infusion_id}_{name}"
    if name == "administered_on":
        return st.date_input("Corrected date", value=current, min_value=EARLIEST_VISIT_DATE, key=key)
    if name in ("infusion_type", "route"):
        options = INFUSION_TYPES if name == "infusion_type" else ROUTES
        return st.selectbox("Corrected value", options, key=key,
                            index=options.index(current) if current in options else 0)
    if name == "side_effects":
        return st.multiselect("Corrected side effects", SIDE_EFFECTS, default=current or [],
                              key=key)
    if name in ("bp_decision", "dissociation"):
        options = [None, *(("proceeded",) if name == "bp_decision" else DISSOCIATION_LEVELS)]
        return st.selectbox("Corrected value", options, key=key,
                            index=options.index(current) if current in options else 0,
                            format_func=lambda v: "not recorded" if v is None else v)
    if name in ("side_effect_other", "adverse_event", "bp_decision_reason"):
        return st.text_area("Corrected text", value=current or "", key=key)
    if name in ("dose_mg_per_kg", "weight_kg"):
        return st.number_input("Corrected value", value=current, step=0.05, format="%.2f",
                               key=key)
    return st.number_input("Corrected value", value=current, step=1, key=key)


def _apply(write, message: str, after=None) -> None:
    """Run `write` in one unit of work; `after(result)` may add flash messages."""
    try:
        with write_session() as session:
            result = write(session)
    except (InputError, PermissionDenied) as exc:
        show_problems(exc)
        return
    if not (result[0] if isinstance(result, tuple) else result):  # the changed fields
        st.info("Nothing to save: the corrected value equals the saved one.")
        return
    flash("success", message)
    if after is not None:
        after(result)
    reset_widgets("fix_reason", "fix_score_reason")
    st.session_state.pop("fix_loaded", None)  # reload the corrected answers
    st.rerun()


def infusion_correction(actor: Actor, infusions: list[Infusion]) -> None:
    """Correct one field of a saved infusion, with a reason."""
    if not infusions:
        st.info("No infusion is saved in this course yet.")
        return
    by_id = {i.id: i for i in infusions}
    keep_valid("fix_infusion", list(by_id))
    infusion_id = st.selectbox("Infusion", list(by_id), index=len(by_id) - 1, key="fix_infusion",
                               format_func=lambda i: f"Infusion {by_id[i].number} · "
                                                     f"{by_id[i].administered_on}")
    row = by_id[infusion_id]
    name = st.selectbox("Field", InfusionIn.CORRECTABLE, format_func=field_label,
                        key="fix_field")
    current = getattr(row, name)
    st.text(f"Saved value: {'' if current is None else current}")
    value = _new_value(name, current, row.id)
    reason = st.text_input("Reason for the correction (required)", key="fix_reason")
    if st.button("Save correction", type="primary", key="save_fix"):
        changes = {name: value}
        if name == "side_effects" and "other" not in (value or []):
            changes["side_effect_other"] = ""
        _apply(lambda s: correct_infusion(s, actor=actor, infusion_id=row.id, changes=changes,
                                          reason=reason),
               f"Infusion {row.number}: {field_label(name)} corrected; the previous value is "
               "kept in the record's history.")


def _load_answers(row: Assessment) -> None:
    """Put a saved score's answers into the correction widgets (once per chosen score)."""
    if st.session_state.get("fix_loaded") == row.id:
        return
    clear_keys(f"{FIX_PREFIX}pre_", f"{FIX_PREFIX}post_")
    for number, value in enumerate(row.items or [], 1):
        st.session_state[item_key(row.timepoint, row.instrument, number, FIX_PREFIX)] = value
    if row.instrument == "PHQ-9":
        st.session_state[fd_key(row.timepoint, FIX_PREFIX)] = row.functional_difficulty
    st.session_state["fix_loaded"] = row.id


def score_correction(actor: Actor, course: Course) -> None:
    """Correct the item answers of a saved score (re-scored), with a reason."""
    with read_session() as session:
        rows = scores_of(session, actor=actor, course_id=course.id)
        alerts = {a.id: score_alert(session, actor=actor, assessment_id=a.id) for a, _ in rows}
    if not rows:
        st.info("No score is saved in this course yet.")
        return
    saved = {a.id: a for a, _ in rows}
    numbers = {a.id: number for a, number in rows}
    keep_valid("fix_score", list(saved))
    score_id = st.selectbox(  # a stable label: the browser keeps the chosen option's text
        "Score", list(saved), key="fix_score",
        format_func=lambda a: f"Infusion {numbers[a]} · "
                              f"{score_column(saved[a].timepoint, saved[a].instrument)}"
                              + (f" · {saved[a].administered_on}"
                                 if saved[a].timepoint == "followup" else ""))
    row = saved[score_id]
    st.caption(f"Saved total: {score_label(row)}")
    _load_answers(row)
    existing = alerts.get(row.id)
    st.caption("Saved answers are filled in: change the wrong ones. The total and band are "
               "recomputed; " + ("this score's item-9 alert is kept as it is (a correction "
                                 "opens no second alert)." if existing else
                                 "a correction that makes item 9 positive opens an alert."))
    form = score_form(row.timepoint, row.instrument, prefix=FIX_PREFIX,
                      alert_status=existing.status if existing else None)
    reason = st.text_input("Reason for the correction (required)", key="fix_score_reason")
    if st.button("Save corrected score", type="primary", key="save_score_fix"):
        _apply(lambda s: correct_score(s, actor=actor, assessment_id=row.id, items=form["items"],
                                       functional_difficulty=form["functional_difficulty"],
                                       reason=reason),
               f"Score corrected ({code_span(score_column(row.timepoint, row.instrument))}); "
               "the previous answers are kept in the record's history.",
               after=lambda result: _item9_outcome(form["items"][8] if len(form["items"]) > 8
                                                   else None, result, existing))


def _item9_outcome(new_item9: int | None, result: tuple, existing) -> None:
    """Say what a correction that changed item 9 to positive did about alerts: never silent."""
    changed, opened = result
    if "item_9" not in changed or (new_item9 or 0) < 1:
        return
    if opened is not None:
        flash("error", f"Item 9 is now {new_item9}: a suicide-risk alert was opened. Assess the "
                       "risk, then close the alert on the Safety page with the action taken.")
    elif existing is not None and existing.status == AlertStatus.OPEN:
        flash("warning", f"Item 9 is now {new_item9}: this score's alert (opened for item 9 "
                         f"{item9_text(existing.item9_value)}) is still open and covers it; "
                         "no second alert was opened.")
    elif existing is not None:
        flash("warning", f"Item 9 is now {new_item9}: this score's alert is already "
                         f"{existing.status}, so no new alert was opened. Assess the risk in "
                         "person.")
