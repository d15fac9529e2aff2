"""The floor of the page-render figure: a bare Streamlit page with one plotly chart and a
table (what any page of this size costs in AppTest, whatever the app does)."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

frame = pd.DataFrame({"infusion": np.arange(1, 51), "score": np.linspace(20.0, 8.0, 50)})
st.title("Floor page")
figure = go.Figure(go.Scatter(x=frame["infusion"], y=frame["score"], mode="lines+markers"))
st.plotly_chart(figure, key="floor_chart")
st.dataframe(frame, hide_index=True, key="floor_table")
