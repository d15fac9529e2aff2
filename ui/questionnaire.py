"""The patient's own questionnaire, one question per screen (the link page and the kiosk
share it): big answer buttons, "Question 3 of 10", Back, a review step with a Change
button per answer, then Submit once.

Rules (docs/SELF_REPORT.md): every question needs an answer (no skipping: a patient's
form is complete, so no proration is needed); PHQ-9 item 9 offers "Prefer not to answer"
as an explicit button (item9_declined). The PHQ-9's unscored 10th question is asked too.
No score is shown to the patient. State lives in st.session_state under `prefix`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from outcomes.instruments import (
    PHQ9_FUNCTIONAL_DIFFICULTY,
    PHQ9_FUNCTIONAL_DIFFICULTY_LABELS,
    SUICIDAL_IDEATION_ITEM,
    get_instrument,
)

DECLINED = "declined"
FD = 0  # the question number used for PHQ-9 question 10 (functional difficulty) in a step
STEMS = {"last 2 weeks": "Over the last 2 weeks, how often have you been bothered by:",
         "last 7 days": "Thinking about the last 7 days, rate:",
         "past month": "In the past month, how much were you bothered by:"}


def hide_chrome() -> None:
    """No sidebar, menu or toolbar (a constant style sheet; no user text)."""
    # Phone first: full-width buttons with room for a thumb; no toolbar or menu to wander into.
    st.markdown("""
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stHeader"],
#MainMenu {display: none;}
.block-container {max-width: 40rem; padding-top: 1.5rem;}
.stButton button {min-height: 3.2rem; font-size: 1.1rem;}
</style>
""", unsafe_allow_html=True)


def steps_for(instruments: Sequence[str]) -> list[tuple[str, int]]:
    """(instrument, item number) per screen; PHQ-9's question 10 as (PHQ-9, FD)."""
    steps = []
    for name in instruments:
        inst = get_instrument(name)
        steps += [(inst.name, item.number) for item in inst.items]
        if inst.name == "PHQ-9":
            steps.append((inst.name, FD))
    return steps


def _question(instrument: str, number: int) -> tuple[str, list[tuple[int, str]]]:
    """(wording, [(value, label)]) of one step."""
    inst = get_instrument(instrument)
    if number == FD:
        return (PHQ9_FUNCTIONAL_DIFFICULTY.text,
                list(enumerate(PHQ9_FUNCTIONAL_DIFFICULTY_LABELS)))
    labels = [(inst.item_min + i, label) for i, label in enumerate(inst.answer_labels)]
    return inst.items[number - 1].text, labels


def _label(instrument: str, number: int, value: Any) -> str:
    if value == DECLINED:
        return "Prefer not to answer"
    return dict(_question(instrument, number)[1]).get(value, "not answered")


class Questionnaire:
    """One questionnaire run in this tab, kept in st.session_state under `prefix`."""

    def __init__(self, prefix: str, instruments: Sequence[str]) -> None:
        self.prefix = prefix
        self.steps = steps_for(instruments)
        self.instruments = list(instruments)
        st.session_state.setdefault(self._key("answers"), {})
        st.session_state.setdefault(self._key("step"), 0)

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @property
    def answers(self) -> dict[str, Any]:
        return st.session_state[self._key("answers")]

    @property
    def step(self) -> int:
        return st.session_state[self._key("step")]

    def _go(self, step: int) -> None:
        st.session_state[self._key("step")] = step

    def _answer(self, index: int, value: Any) -> None:
        instrument, number = self.steps[index]
        self.answers[f"{instrument}:{number}"] = value
        reviewing = st.session_state.pop(self._key("reviewing"), False)
        self._go(len(self.steps) if reviewing else index + 1)

    def _change(self, index: int) -> None:
        st.session_state[self._key("reviewing")] = True
        self._go(index)

    def reset(self) -> None:
        for name in ("answers", "step", "reviewing", "submitted"):
            st.session_state.pop(self._key(name), None)

    def result(self) -> list[dict[str, Any]]:
        """The answers as ScoreIn inputs (timepoint added by the service)."""
        out = []
        for name in self.instruments:
            inst = get_instrument(name)
            values = [self.answers.get(f"{inst.name}:{item.number}") for item in inst.items]
            form: dict[str, Any] = {"instrument": inst.name,
                                    "items": [None if v == DECLINED else v for v in values]}
            if inst.name == "PHQ-9":
                form["item9_declined"] = values[SUICIDAL_IDEATION_ITEM - 1] == DECLINED
                form["functional_difficulty"] = self.answers.get(f"{inst.name}:{FD}")
            out.append(form)
        return out

    def render(self, on_submit: Callable[[list[dict[str, Any]]], bool]) -> None:
        """The current screen: a question, or the review with Submit (`on_submit` returns
        False when the answers were refused and may be sent again)."""
        if self.step >= len(self.steps):
            self._review(on_submit)
        else:
            self._screen(self.step)

    def _screen(self, index: int) -> None:
        instrument, number = self.steps[index]
        inst = get_instrument(instrument)
        position = [s for s in self.steps if s[0] == instrument].index((instrument, number)) + 1
        of = sum(1 for s in self.steps if s[0] == instrument)
        st.progress(index / len(self.steps))
        st.caption(f"{inst.name} · Question {position} of {of}")
        text, options = _question(instrument, number)
        if number != FD:
            st.write(STEMS.get(inst.recall, ""))
        st.subheader(text)
        chosen = self.answers.get(f"{instrument}:{number}")
        for value, label in options:
            st.button(label, key=self._key(f"answer_{index}_{value}"), width="stretch",
                      type="primary" if chosen == value else "secondary",
                      on_click=self._answer, args=(index, value))
        if inst.name == "PHQ-9" and number == SUICIDAL_IDEATION_ITEM:
            st.button("Prefer not to answer", key=self._key(f"answer_{index}_declined"),
                      width="stretch", type="primary" if chosen == DECLINED else "tertiary",
                      on_click=self._answer, args=(index, DECLINED))
        if index > 0:
            st.button("Back", key=self._key("back"), icon=":material/arrow_back:",
                      on_click=self._go, args=(index - 1,))

    def _review(self, on_submit: Callable[[list[dict[str, Any]]], bool]) -> None:
        st.progress(1.0)
        st.subheader("Check your answers")
        st.caption("Tap Change to correct an answer, then send them to your clinic.")
        for index, (instrument, number) in enumerate(self.steps):
            text = _question(instrument, number)[0]
            value = self.answers.get(f"{instrument}:{number}")
            with st.container(border=True):
                shown = "10" if number == FD else str(number)
                st.caption(f"{instrument} · {shown}. {text}")
                cols = st.columns([3, 1], vertical_alignment="center")
                cols[0].write(f"**{_label(instrument, number, value)}**")
                cols[1].button("Change", key=self._key(f"change_{index}"),
                               on_click=self._change, args=(index,))
        missing = [i for i, (ins, n) in enumerate(self.steps)
                   if f"{ins}:{n}" not in self.answers]
        if missing:
            st.warning("Some questions are not answered yet.")
            st.button("Answer them", key=self._key("to_missing"), on_click=self._go,
                      args=(missing[0],))
            return
        sent = st.session_state.get(self._key("submitted"), False)
        if st.button("Submit", key=self._key("submit"), type="primary", width="stretch",
                     disabled=sent):
            st.session_state[self._key("submitted")] = True  # Submit once
            if not on_submit(self.result()):  # refused: the patient may correct and retry
                st.session_state.pop(self._key("submitted"), None)
