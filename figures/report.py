"""Outcome charts as plain functions: a DataFrame in, a plotly Figure out (no Streamlit),
so the Outcomes page can show them and the PDF report can print them.

`figures_to_png` renders figures with plotly's image export (kaleido, which drives the
machine's Chromium, /usr/bin/chromium, offline). It was chosen over matplotlib after a
trial: it works offline here, one chart library serves the screen and the report, and a
Chromium kept open for the process renders each chart in ~0.2 s after a 3-8 s start.
When Chromium is missing or fails twice, `ChartsUnavailable` is raised and the report
prints its tables and a note instead of the charts.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import warnings

import pandas as pd
import plotly.graph_objects as go

COLOURS = {"response": "#1F4E79", "response_itt": "#7DA7D9", "remission": "#2E7D32",
           "remission_itt": "#9CCC9C", "pre": "#1F4E79", "post": "#C0504D", "grey": "#9E9E9E"}
INSTRUMENT_DASH = {"PHQ-9": "solid", "GAD-7": "dash", "MADRS": "dot", "QIDS-SR16": "dashdot",
                   "PCL-5": "longdash"}
_FONT = dict(family="Helvetica, Arial, sans-serif", size=13, color="#222222")
_RENDER_LOCK = threading.Lock()


class ChartsUnavailable(RuntimeError):
    """Charts could not be rendered to images (no Chromium, or it failed)."""


def _layout(fig: go.Figure, title: str, y_title: str, x_title: str = "") -> go.Figure:
    fig.update_layout(
        template="plotly_white", font=_FONT, title=dict(text=title, x=0.01, font=dict(size=16)),
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
    """Kaplan-Meier cumulative probability of first response / remission (O8)."""
    fig = go.Figure()
    for (instrument, event), points in km.groupby(["instrument", "event"], sort=False):
        points = points.sort_values("infusions")
        x = [0, *points["infusions"].tolist()]
        y = [0.0, *(100 * points["cumulative"]).round(1).tolist()]
        fig.add_scatter(x=x, y=y, mode="lines+markers", line_shape="hv",
                        name=f"{instrument} {event}", marker=dict(size=6),
                        line=dict(color=COLOURS[event], width=2.5,
                                  dash=INSTRUMENT_DASH.get(instrument, "solid")))
    fig.add_vline(x=after_n, line=dict(color=COLOURS["grey"], dash="dot"),
                  annotation_text=f"N = {after_n}", annotation_position="top right")
    fig.update_yaxes(range=[0, 100], ticksuffix="%")
    last = max([after_n, *km["infusions"].tolist()]) if not km.empty else after_n
    fig.update_xaxes(dtick=1, range=[0, last + 1])
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


def trajectory_figure(trajectory: pd.DataFrame, instrument: str) -> go.Figure:
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


_server = {"running": False}


def _start_server() -> None:
    """One Chromium kept open for the process (closed at exit): later charts take ~0.2 s."""
    import kaleido

    if not _server["running"]:
        kaleido.start_sync_server(silence_warnings=True)
        _server["running"] = True
        atexit.register(_stop_server)


def _stop_server() -> None:
    import kaleido

    if _server["running"]:
        _server["running"] = False
        kaleido.stop_sync_server(silence_warnings=True)


def figures_to_png(figures: list[go.Figure], *, width: int = 900, height: int = 380,
                   scale: float = 2.0) -> list[bytes]:
    """PNG bytes of each figure; ChartsUnavailable when Chromium cannot draw them."""
    if not figures:
        return []
    with _RENDER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kaleido warns that per-call options are unused
        for attempt in (1, 2):  # a browser that died, or failed to start: start afresh once
            try:
                _start_server()
                return [fig.to_image(format="png", width=width, height=height, scale=scale)
                        for fig in figures]
            except Exception as exc:  # noqa: BLE001  (any browser failure means no charts)
                with contextlib.suppress(Exception):  # the browser may be gone already
                    _stop_server()
                if attempt == 2:
                    raise ChartsUnavailable(f"{type(exc).__name__}: {exc}") from exc
    raise ChartsUnavailable("unreachable")  # pragma: no cover
