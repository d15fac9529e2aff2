"""The floor of the fast-entry figure: a bare page with one fragment holding ten radios and
a live total (what a fragment-scoped tap costs in AppTest, whatever the app does)."""

import streamlit as st


@st.fragment
def questionnaire() -> None:
    answers = [st.radio(f"{n}. Question {n}", [0, 1, 2, 3], index=None, horizontal=True,
                        key=f"floor_item_{n}") for n in range(1, 11)]
    st.success(f"Total {sum(a or 0 for a in answers)} / 30")


st.title("Floor page")
questionnaire()
