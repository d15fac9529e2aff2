"""Item-by-item questionnaire entry with the instrument's wording and answer labels, and
the total and severity band shown live (OUTCOMES.md S1-S3: the app computes totals).

Widget keys: f"{prefix}{timepoint}_{instrument}_item_{n}" and
f"{prefix}{timepoint}_PHQ-9_functional_difficulty"."""

from __future__ import annotations

from typing import Any

import streamlit as st

from models.labels import score_field
from models.tables import AlertStatus
from outcomes.instruments import (
    INSTRUMENT_NAMES,
    PHQ9_FUNCTIONAL_DIFFICULTY,
    PHQ9_FUNCTIONAL_DIFFICULTY_LABELS,
    SUICIDAL_IDEATION_ITEM,
    Instrument,
    get_instrument,
)
from outcomes.scoring import ScoringError, missing_rule, score_items
from ui.drafts import DRAFTED_FORM, keep_current_draft
from ui.field_errors import field_problem

DEFAULT_INSTRUMENTS = ("PHQ-9", "GAD-7")
TIMEPOINT_TITLES = {"pre": "Before the infusion (pre)", "post": "After the infusion (post)"}


def item_key(timepoint: str, instrument: str, number: int, prefix: str = "") -> str:
    return f"{prefix}{timepoint}_{instrument}_item_{number}"


def declined_key(timepoint: str, prefix: str = "") -> str:
    return f"{prefix}{timepoint}_PHQ-9_item9_declined"


def fd_key(timepoint: str, prefix: str = "") -> str:
    return f"{prefix}{timepoint}_PHQ-9_functional_difficulty"


def _answer_label(inst: Instrument, value: int) -> str:
    label = inst.answer_labels[value - inst.item_min]
    return label if label.startswith(str(value)) else f"{value} · {label}"


def recall_note(timepoint: str, inst: Instrument) -> str | None:
    """Why a post-infusion PHQ-9/GAD-7 is a different measurement (two-week recall)."""
    if timepoint != "post" or inst.recall != "last 2 weeks":
        return None
    return (f"Post-infusion {inst.name}: its questions ask about the last 2 weeks, so a score "
            "taken just after an infusion is a different measurement from the pre-infusion "
            "score. It is saved and reported as a post-infusion score.")


def live_summary(inst: Instrument, items: list[int | None]) -> tuple[str, str]:
    """(kind, text): the running total and band, or why there is no total yet."""
    answered = sum(v is not None for v in items)
    if answered == 0:
        return "info", f"{inst.name}: no answers yet (a blank form is not saved)."
    try:
        result = score_items(inst, items)
    except ScoringError as exc:
        return "error", str(exc)
    if result.total is None:
        return "warning", (f"{inst.name}: {result.n_missing} of {inst.n_items} items missing; no "
                           f"total ({missing_rule(inst)}). It will be saved "
                           "as incomplete.")
    prorated = f", prorated for {result.n_missing} missing" if result.prorated else ""
    return "success", (f"{inst.name} total {result.total} / {inst.total_max}: "
                       f"{result.severity}{prorated}")


def score_values(timepoint: str, instrument: str, *, prefix: str = "") -> dict[str, Any]:
    """One questionnaire's ScoreIn input, read from st.session_state (the widgets' keys):
    what a Save outside the questionnaire's fragment sends."""
    inst = get_instrument(instrument)
    state = st.session_state
    items = [state.get(item_key(timepoint, inst.name, i.number, prefix)) for i in inst.items]
    declined = inst.name == "PHQ-9" and bool(state.get(declined_key(timepoint, prefix)))
    return {"instrument": inst.name, "timepoint": timepoint, "items": items,
            "functional_difficulty": (state.get(fd_key(timepoint, prefix))
                                      if inst.name == "PHQ-9" else None),
            "item9_declined": declined and items[SUICIDAL_IDEATION_ITEM - 1] is None}


def score_problem_keys(field: str, prefix: str = "") -> tuple[str, ...]:
    """The widget keys a score problem's field ('pre PHQ-9 item_9') is about."""
    parsed = score_field(field)
    if parsed is None:
        return ()
    timepoint, instrument, part = parsed
    if part is None:
        return ()
    if part.startswith("item_") and part[5:].isdigit():
        keys = (item_key(timepoint, instrument, int(part[5:]), prefix),)
        if instrument == "PHQ-9" and int(part[5:]) == SUICIDAL_IDEATION_ITEM:
            keys += (declined_key(timepoint, prefix),)
        return keys
    if part == "functional_difficulty":
        return (fd_key(timepoint, prefix),)
    return ()


@st.fragment
def _questionnaire(timepoint: str, instrument: str, prefix: str, form: str | None,
                   alert_status: str | None = None) -> None:
    """One questionnaire in its own fragment: a radio tap reruns only this function, which
    redraws its live total and band (issue 12 item 2). Values are read at save time from
    st.session_state (`score_values`)."""
    inst = get_instrument(instrument)
    st.markdown(f"**{inst.name}** · {inst.title} · {inst.respondent}-rated, "
                f"recall: {inst.recall}")
    if note := recall_note(timepoint, inst):
        st.caption(note)
    label = f"{timepoint} {inst.name}"
    items = []
    declined = False
    options = list(range(inst.item_min, inst.item_max + 1))
    for item in inst.items:
        items.append(st.radio(
            f"{item.number}. {item.text}", options, index=None, horizontal=True,
            format_func=lambda v, i=inst: _answer_label(i, v),
            key=item_key(timepoint, inst.name, item.number, prefix)))
        if form:
            field_problem(form, f"{label} item_{item.number}")
        if inst.name == "PHQ-9" and item.number == SUICIDAL_IDEATION_ITEM:
            declined = st.checkbox(
                "The patient prefers not to answer item 9 (opens an 'item 9 not answered' "
                "alert)", key=declined_key(timepoint, prefix),
                disabled=items[-1] is not None)
            # at the field, never silent
            item9_notice(items, declined=declined, alert_status=alert_status)
    if inst.name == "PHQ-9":
        st.radio(
            f"10. {PHQ9_FUNCTIONAL_DIFFICULTY.text} (not scored)", [0, 1, 2, 3], index=None,
            horizontal=True, format_func=lambda v: f"{v} · {PHQ9_FUNCTIONAL_DIFFICULTY_LABELS[v]}",
            key=fd_key(timepoint, prefix))
        if form:
            field_problem(form, f"{label} functional_difficulty")
    if form:
        field_problem(form, label, f"{label} items", f"{label} total")
    kind, text = live_summary(inst, items)
    getattr(st, kind)(text)
    if form == DRAFTED_FORM:  # a tap reruns only this fragment: keep the draft current
        keep_current_draft()


def score_form(timepoint: str, instrument: str, *, prefix: str = "",
               form: str | None = None, alert_status: str | None = None) -> dict[str, Any]:
    """One instrument's questionnaire (a fragment); returns its ScoreIn input as it stands.
    `form` names the form whose refused save's problems are shown at the fields;
    `alert_status`: the status of the alert the saved score already has (a correction)."""
    _questionnaire(timepoint, instrument, prefix, form, alert_status)
    return score_values(timepoint, instrument, prefix=prefix)


def item9_notice(items: list[int | None], *, declined: bool,
                 alert_status: str | None = None) -> None:
    """What saving will do about item 9 (OUTCOMES.md section 1): never silent. A score that
    already has an alert (a correction) opens no second one: say so, not "opens"."""
    value = items[SUICIDAL_IDEATION_ITEM - 1]
    if (value or 0) >= 1 and alert_status == AlertStatus.OPEN:
        st.error("Item 9 is positive: this score's suicide-risk alert is already open and "
                 "covers it (saving opens no second alert). Assess the risk, then close it on "
                 "the Safety page with the action taken.", icon=":material/emergency:")
    elif (value or 0) >= 1 and alert_status is not None:
        st.warning(f"Item 9 is positive: this score's alert is already {alert_status}, so "
                   "saving opens no new alert. Assess the risk in person.",
                   icon=":material/emergency:")
    elif (value or 0) >= 1:
        st.error("Item 9 is positive (thoughts of being better off dead or of self-harm): "
                 "saving opens a suicide-risk alert. Assess the risk before the patient leaves.",
                 icon=":material/emergency:")
    elif value is None and declined:
        st.warning("Item 9 not answered (the patient prefers not to answer): saving opens an "
                   "'item 9 not answered' alert. Ask about suicidal thoughts in person.",
                   icon=":material/emergency:")
    elif value is None and any(v is not None for v in items):
        st.warning("Item 9 is required: answer it, or tick 'prefers not to answer'.")


def instruments_key(timepoint: str, prefix: str = "") -> str:
    return f"{prefix}{timepoint}_instruments"


def chosen_instruments(timepoint: str, prefix: str = "") -> list[str]:
    return list(st.session_state.get(instruments_key(timepoint, prefix), DEFAULT_INSTRUMENTS))


def score_column(timepoint: str, *, prefix: str = "", form: str | None = None,
                 title: bool = True) -> list[dict[str, Any]]:
    """The instrument picker and forms for one timepoint (PHQ-9 and GAD-7 by default)."""
    if title:
        st.subheader(TIMEPOINT_TITLES[timepoint])
    chosen = st.multiselect("Questionnaires", list(INSTRUMENT_NAMES),
                            default=list(DEFAULT_INSTRUMENTS),
                            key=instruments_key(timepoint, prefix))
    forms = []
    for name in chosen:
        with st.container(border=True):
            forms.append(score_form(timepoint, name, prefix=prefix, form=form))
    return forms


def score_inputs(timepoints: tuple[str, ...] = ("pre", "post"), *,
                 prefix: str = "") -> list[dict[str, Any]]:
    """Every chosen questionnaire's ScoreIn input, read from st.session_state."""
    return [score_values(tp, name, prefix=prefix) for tp in timepoints
            for name in chosen_instruments(tp, prefix)]


def score_columns(*, prefix: str = "", form: str | None = None) -> list[dict[str, Any]]:
    """Pre, then post (one above the other: two columns of radios are too narrow on a
    tablet in portrait)."""
    pre = score_column("pre", prefix=prefix, form=form)
    post = score_column("post", prefix=prefix, form=form)
    return pre + post
