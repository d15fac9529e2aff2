"""Item-by-item questionnaire entry with the instrument's wording and answer labels, and
the total and severity band shown live (OUTCOMES.md S1-S3: the app computes totals).

Widget keys: f"{prefix}{timepoint}_{instrument}_item_{n}" and
f"{prefix}{timepoint}_PHQ-9_functional_difficulty"."""

from __future__ import annotations

from typing import Any

import streamlit as st

from outcomes.instruments import (
    INSTRUMENT_NAMES,
    PHQ9_FUNCTIONAL_DIFFICULTY,
    PHQ9_FUNCTIONAL_DIFFICULTY_LABELS,
    SUICIDAL_IDEATION_ITEM,
    Instrument,
    get_instrument,
)
from outcomes.scoring import ScoringError, missing_rule, score_items

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


def score_form(timepoint: str, instrument: str, *, prefix: str = "",
               alert_status: str | None = None) -> dict[str, Any]:
    """Radios for every item of one instrument; returns the ScoreIn input. `alert_status`:
    the status of the alert the saved score already has (a correction form), if any."""
    inst = get_instrument(instrument)
    st.markdown(f"**{inst.name}** · {inst.title} · {inst.respondent}-rated, "
                f"recall: {inst.recall}")
    if note := recall_note(timepoint, inst):
        st.caption(note)
    items = []
    declined = False
    options = list(range(inst.item_min, inst.item_max + 1))
    for item in inst.items:
        items.append(st.radio(
            f"{item.number}. {item.text}", options, index=None, horizontal=True,
            format_func=lambda v, i=inst: _answer_label(i, v),
            key=item_key(timepoint, inst.name, item.number, prefix)))
        if inst.name == "PHQ-9" and item.number == SUICIDAL_IDEATION_ITEM:
            declined = st.checkbox(
                "The patient prefers not to answer item 9 (opens an 'item 9 not answered' "
                "alert)", key=declined_key(timepoint, prefix),
                disabled=items[-1] is not None)
    functional = None
    if inst.name == "PHQ-9":
        functional = st.radio(
            f"10. {PHQ9_FUNCTIONAL_DIFFICULTY.text} (not scored)", [0, 1, 2, 3], index=None,
            horizontal=True, format_func=lambda v: f"{v} · {PHQ9_FUNCTIONAL_DIFFICULTY_LABELS[v]}",
            key=fd_key(timepoint, prefix))
    kind, text = live_summary(inst, items)
    getattr(st, kind)(text)
    if inst.name == "PHQ-9":
        item9_notice(items, declined=declined, alert_status=alert_status)
    return {"instrument": inst.name, "timepoint": timepoint, "items": items,
            "functional_difficulty": functional,
            "item9_declined": bool(declined) and items[SUICIDAL_IDEATION_ITEM - 1] is None}


def item9_notice(items: list[int | None], *, declined: bool,
                 alert_status: str | None = None) -> None:
    """What saving will do about item 9 (OUTCOMES.md section 1): never silent. A score that
    already has an alert (a correction) opens no second one: say so, not "opens"."""
    value = items[SUICIDAL_IDEATION_ITEM - 1]
    if (value or 0) >= 1 and alert_status == "open":
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


def score_column(timepoint: str, *, prefix: str = "") -> list[dict[str, Any]]:
    """The instrument picker and forms for one timepoint (PHQ-9 and GAD-7 by default)."""
    st.subheader(TIMEPOINT_TITLES[timepoint])
    chosen = st.multiselect("Questionnaires", list(INSTRUMENT_NAMES),
                            default=list(DEFAULT_INSTRUMENTS),
                            key=f"{prefix}{timepoint}_instruments")
    forms = []
    for name in chosen:
        with st.container(border=True):
            forms.append(score_form(timepoint, name, prefix=prefix))
    return forms


def score_columns(*, prefix: str = "") -> list[dict[str, Any]]:
    """Pre and post forms side by side."""
    left, right = st.columns(2)
    with left:
        pre = score_column("pre", prefix=prefix)
    with right:
        post = score_column("post", prefix=prefix)
    return pre + post
