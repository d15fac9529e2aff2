"""Figures of the director's review (OUTCOMES.md section 7): retention funnel (D1), p-chart
(D2) and funnel plot (D3). Plain data in, plotly Figure out, no Streamlit."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from figures.charts import base_layout
from figures.theme import LIMIT, NEUTRAL, RESPONSE, WORSE
from outcomes.control_limits import FUNNEL_Z

SIGNAL_COLOURS = {"above": RESPONSE, "below": WORSE}
LIMIT_COLOUR = LIMIT


def retention_figure(retention: dict) -> go.Figure:
    """Courses reaching each infusion (D1, in progress included), infusion 1 on top."""
    reached = retention["reached_infusion"]
    fig = go.Figure(go.Funnel(
        y=[f"Infusion {k}" for k in reached], x=list(reached.values()),
        name="Courses reaching infusion", textinfo="value+percent initial",
        marker={"color": RESPONSE}))
    fig.update_xaxes(visible=False)
    return base_layout(fig, height=340)


def p_chart_figure(blocks: dict, label: str) -> go.Figure:
    """D2: each period's response rate with the centre line and 3-sigma limits (steps);
    points outside the limits in colour; small periods have no point."""
    periods = list(blocks)
    rates = [_pct(b["rate"]) for b in blocks.values()]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=periods, y=[_pct(b["upper"]) for b in blocks.values()],
                             mode="lines", line={"shape": "hvh", "color": LIMIT_COLOUR,
                                                 "dash": "dot"}, name="Upper limit (3σ)"))
    fig.add_trace(go.Scatter(x=periods, y=[_pct(b["lower"]) for b in blocks.values()],
                             mode="lines", line={"shape": "hvh", "color": LIMIT_COLOUR,
                                                 "dash": "dot"}, name="Lower limit (3σ)"))
    centre = next((b["centre"] for b in blocks.values() if b["centre"] is not None), None)
    if centre is not None:
        fig.add_hline(y=100 * centre, line={"color": NEUTRAL}, annotation_text="centre")
    fig.add_trace(go.Scatter(
        x=periods, y=rates, mode="lines+markers", name="Response (observed)",
        line={"color": NEUTRAL}, customdata=[[b["responders"], b["n_evaluable"]]
                                             for b in blocks.values()],
        marker={"size": 9, "color": [SIGNAL_COLOURS.get(b["signal"], "#1d4ed8")
                                     for b in blocks.values()]},
        hovertemplate="%{x}: %{y:.1f} % (%{customdata[0]} of %{customdata[1]})<extra></extra>"))
    fig.update_layout(xaxis_title=label, yaxis_title="Response after N (%)",
                      yaxis_range=[0, 100], xaxis_type="category")
    return base_layout(fig, height=380)


def funnel_figure(blocks: dict, label: str) -> go.Figure:
    """D3: rate against evaluable courses with the 95 % and 99.8 % limit curves around the
    target; groups outside 99.8 % are named."""
    shown = {g: b for g, b in blocks.items() if b["rate"] is not None}
    target = next((b["target"] for b in blocks.values() if b["target"] is not None), None)
    fig = go.Figure()
    top = max([b["n_evaluable"] for b in blocks.values()] + [10])
    if target is not None:
        ns = list(range(1, top + 2))
        for key, z in FUNNEL_Z.items():
            name = "95 %" if key == "95" else "99.8 %"
            half = [z * math.sqrt(target * (1 - target) / n) for n in ns]
            for sign in (1, -1):
                fig.add_trace(go.Scatter(
                    x=ns, y=[100 * min(1.0, max(0.0, target + sign * h)) for h in half],
                    mode="lines", name=f"{name} limits", showlegend=sign == 1,
                    legendgroup=key, line={"color": LIMIT_COLOUR,
                                           "dash": "dash" if key == "95" else "solid"}))
        fig.add_hline(y=100 * target, line={"color": NEUTRAL}, annotation_text="target")
    fig.add_trace(go.Scatter(
        x=[b["n_evaluable"] for b in shown.values()], y=[_pct(b["rate"]) for b in shown.values()],
        mode="markers+text", name=label, customdata=list(shown),
        text=[g if b["signal"] else "" for g, b in shown.items()], textposition="top center",
        marker={"size": 10, "color": [SIGNAL_COLOURS.get(b["signal"], "#1d4ed8")
                                      for b in shown.values()]},
        hovertemplate="%{customdata}: %{y:.1f} % of %{x} evaluable<extra></extra>"))
    fig.update_layout(xaxis_title="Evaluable courses after N", yaxis_title="Response (%)",
                      yaxis_range=[0, 100])
    return base_layout(fig, height=400)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)
