"""The PDF report's figures (the progress report and the clinic report): response and
remission bars, time to response, response by clinic and the median trajectory. Same
palette and template as the screen (figures.theme): response green, remission blue;
the intention-to-treat bars in the lighter shade of the same colour."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from figures.charts import km_axes, km_trace
from figures.theme import (
    INSTRUMENT_DASH,
    NEUTRAL,
    POST,
    PRE,
    REMISSION,
    REMISSION_ITT,
    RESPONSE,
    RESPONSE_ITT,
)

COLOURS = {"response": RESPONSE, "response_itt": RESPONSE_ITT, "remission": REMISSION,
           "remission_itt": REMISSION_ITT, "pre": PRE, "post": POST, "grey": NEUTRAL}


def _layout(fig: go.Figure, title: str, y_title: str, x_title: str = "") -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=16)),
        margin=dict(l=60, r=20, t=60, b=50), legend=dict(orientation="h", y=-0.18, x=0),
        yaxis_title=y_title, xaxis_title=x_title, bargap=0.25,
    )
    return fig


def _percent(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else round(100 * float(v), 1) for v in values]


def rates_figure(headline: pd.DataFrame, after_n: int) -> go.Figure:
    """Response and remission after infusion N, observed and ITT, per instrument (O7)."""
    fig = go.Figure()
    bars = (("response_rate_observed", "Response, observed", "response"),
            ("response_rate_itt", "Response, ITT", "response_itt"),
            ("remission_rate_observed", "Remission, observed", "remission"),
            ("remission_rate_itt", "Remission, ITT", "remission_itt"))
    for column, label, colour in bars:
        values = _percent(headline[column]) if not headline.empty else []
        fig.add_bar(x=list(headline.get("instrument", [])), y=values, name=label,
                    marker_color=COLOURS[colour],
                    text=[f"{v:.0f}%" if v is not None else "n/a" for v in values],
                    textposition="outside", cliponaxis=False)
    fig.update_yaxes(range=[0, 105], ticksuffix="%")
    return _layout(fig, f"Response and remission after infusion {after_n}", "Share of courses")


def km_figure(km: pd.DataFrame, after_n: int) -> go.Figure:
    """Kaplan-Meier cumulative probability of first response / remission (O8), every
    instrument (dash per instrument), built from the screen's curve (figures.charts)."""
    fig = go.Figure()
    for (instrument, event), points in km.groupby(["instrument", "event"], sort=False):
        points = points.sort_values("infusions")
        fig.add_trace(km_trace(points["infusions"].tolist(), points["cumulative"].tolist(),
                               name=f"{instrument} {event}", colour=COLOURS[event],
                               dash=INSTRUMENT_DASH.get(instrument, "solid")))
    last = max([after_n, *km["infusions"].tolist()]) if not km.empty else after_n
    km_axes(fig, after_n, last)
    return _layout(fig, "Time to first response and remission (Kaplan-Meier)",
                   "Cumulative probability", "Infusions received")


def clinic_figure(by_clinic: pd.DataFrame, instrument: str, after_n: int,
                  small_cell: int) -> go.Figure:
    """Response after N by clinic; small cells shown as 'suppressed' without a bar (O11)."""
    frame = by_clinic.sort_values("clinic", ascending=False) if not by_clinic.empty else by_clinic
    clinics = list(frame.get("clinic", []))
    fig = go.Figure()
    for column, label, colour in (("response_rate_observed", "Response, observed", "response"),
                                  ("response_rate_itt", "Response, ITT", "response_itt")):
        values = _percent(frame[column]) if not frame.empty else []
        fig.add_bar(y=clinics, x=values, orientation="h", name=label,
                    marker_color=COLOURS[colour], cliponaxis=False, textposition="outside",
                    text=[f"{v:.0f}%" if v is not None else "" for v in values])
    for clinic, suppressed, n in zip(clinics, frame.get("suppressed", []),
                                     frame.get("n_courses", []), strict=False):
        if suppressed:
            fig.add_annotation(y=clinic, x=2, xanchor="left", showarrow=False,
                               text=f"suppressed: {n} course(s), fewer than {small_cell}",
                               font=dict(color=COLOURS["grey"], size=12))
    fig.update_xaxes(range=[0, 110], ticksuffix="%")
    fig.update_layout(barmode="group")
    return _layout(fig, f"{instrument} response after infusion {after_n} by clinic", "")


def median_trajectory_figure(trajectory: pd.DataFrame, instrument: str) -> go.Figure:
    """Median total (and interquartile range) by infusion, before and after each infusion."""
    fig = go.Figure()
    frame = trajectory[trajectory["instrument"] == instrument]
    for timepoint, label in (("pre", "Before infusion"), ("post", "After infusion")):
        points = frame[frame["timepoint"] == timepoint].sort_values("infusion_number")
        if points.empty:
            continue
        x = points["infusion_number"].tolist()
        colour = COLOURS[timepoint]
        fig.add_scatter(x=x + x[::-1], y=points["q3"].tolist() + points["q1"].tolist()[::-1],
                        fill="toself", fillcolor=colour, opacity=0.12, line=dict(width=0),
                        hoverinfo="skip", showlegend=False)
        fig.add_scatter(x=x, y=points["median"].tolist(), mode="lines+markers",
                        name=f"{label} (median, IQR shaded)", line=dict(color=colour, width=2.5))
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, f"{instrument} total by infusion", "Total score", "Infusion number")
