"""The screen's figures: the patient trajectory and the Outcomes page's clinic charts.

Colours and template from figures.theme (response green, remission blue, worse red).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.theme import (
    BAND_RAMP,
    BOOSTER,
    COURSE_COLOURS,
    NEUTRAL,
    REMISSION,
    RESPONSE,
    WORSE,
    band_colours,
    course_colour,
)
from outcomes.engine import FOLLOWUP
from outcomes.instruments import get_instrument
from outcomes.trajectory import timepoint_offsets

__all__ = ["BAND_RAMP", "BOOSTER", "COURSE_COLOURS", "NEUTRAL", "REMISSION", "RESPONSE", "WORSE",
           "band_colours", "base_layout", "course_colour"]



def base_layout(fig: go.Figure, *, height: int, title: str | None = None) -> go.Figure:
    """The house layout: legend on top, tight margins (colours and font come from the
    registered template, figures.theme)."""
    fig.update_layout(
        height=height, hovermode="closest",
        margin=dict(l=60, r=30, t=70 if title else 40, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        title=dict(text=title, x=0, font=dict(size=16)) if title else None,
    )
    return fig


# --- patient trajectory ------------------------------------------------------------------


def trajectory_figure(
    points: pd.DataFrame,
    outcomes: pd.DataFrame,
    infusions: pd.DataFrame,
    *,
    axis: str = "infusion",
    remission_max: dict[str, int | None] | None = None,
    gaps: pd.DataFrame | None = None,
    height_per_instrument: int = 300,
) -> go.Figure:
    """Every instrument's scores over the course(s), one panel per instrument.

    ``points``: ``outcomes.trajectory.trajectory_points``; ``outcomes``: course-table
    rows (course_key, instrument, baseline, baseline_infusion); ``infusions``: one row
    per infusion (course_key, course_number, infusion_number, date, infusion_type).
    ``axis`` is 'infusion' (pre at k - 0.2, post at k + 0.2) or 'date'.
    """
    instruments = list(_instrument_order(points["instrument"].unique()))
    if not instruments:
        return base_layout(go.Figure(), height=200)
    fig = make_subplots(rows=len(instruments), cols=1, shared_xaxes=True,
                        vertical_spacing=0.09 if len(instruments) > 1 else 0.0,
                        subplot_titles=[f"{get_instrument(n).title} ({n})" for n in instruments])
    courses = sorted(points["course_key"].unique(), key=lambda k: _course_number(infusions, k))
    colours = {key: course_colour(i) for i, key in enumerate(courses)}
    limits = remission_max or {}
    for row, name in enumerate(instruments, start=1):
        spec = get_instrument(name)
        _add_bands(fig, spec, row)
        panel = points[points["instrument"] == name]
        for key in courses:
            course_points = panel[panel["course_key"] == key]
            if course_points.empty:
                continue
            label = f"Course {_course_number(infusions, key)}"
            _add_scores(fig, course_points, label, colours[key], axis, row)
            match = outcomes[(outcomes["course_key"] == key) & (outcomes["instrument"] == name)]
            if not match.empty:
                _add_reference_lines(fig, match.iloc[0], course_points, label, colours[key],
                                     axis, row)
        limit = limits.get(name, spec.remission_max)
        if limit is not None:
            _add_remission_line(fig, panel, limit, axis, row)
        fig.update_yaxes(title_text=name, range=[spec.total_min - 0.5, spec.total_max + 0.5],
                         row=row, col=1)
    _add_boosters(fig, infusions, axis)
    if gaps is not None and not gaps.empty:
        _add_gaps(fig, gaps, axis)
    _style_x_axis(fig, points, axis, len(instruments))
    base_layout(fig, height=90 + height_per_instrument * len(instruments))
    fig.update_layout(legend=dict(y=1.0 + 40 / (90 + height_per_instrument * len(instruments))))
    return fig


def _instrument_order(names) -> list[str]:
    from outcomes.instruments import INSTRUMENT_NAMES

    return [name for name in INSTRUMENT_NAMES if name in set(names)]


def _course_number(infusions: pd.DataFrame, course_key) -> int:
    match = infusions.loc[infusions["course_key"] == course_key, "course_number"]
    return int(match.iloc[0]) if len(match) else 0


def _add_bands(fig: go.Figure, spec, row: int) -> None:
    for band, colour in zip(spec.bands, band_colours(len(spec.bands)), strict=True):
        fig.add_hrect(y0=band.low - 0.5, y1=band.high + 0.5, fillcolor=colour, opacity=0.09,
                      line_width=0, layer="below", row=row, col=1, exclude_empty_subplots=False,
                      annotation_text=band.label, annotation_position="top right",
                      annotation_font=dict(size=10, color="#6b7280"))


def _x(frame: pd.DataFrame, axis: str) -> pd.Series:
    return frame["date"] if axis == "date" else frame["x"]


ANSWERED_BY = {"patient_kiosk": "answered by the patient at the chair",
               "patient_remote": "answered by the patient through a link",
               "import": "imported", "clinician": "entered by a clinician"}


def score_symbol(infusion_type: str | None, timepoint: str, source: str | None) -> str:
    """Marker of one score: star for a booster, diamond for a follow-up (C4), else circle;
    filled before the infusion, open after it; a centre dot when the patient answered."""
    shape = "star" if infusion_type == "booster" else "diamond" if timepoint == FOLLOWUP \
        else "circle"
    patient = "-dot" if source in ("patient_kiosk", "patient_remote") else ""
    return shape + ("" if timepoint == "pre" else "-open") + patient


def _add_scores(fig: go.Figure, points: pd.DataFrame, label: str, colour: str, axis: str,
                row: int) -> None:
    sources = points["source"] if "source" in points else pd.Series("", index=points.index)
    symbols = [score_symbol(kind, tp, source) for kind, tp, source in zip(
        points["infusion_type"], points["timepoint"], sources, strict=True)]
    custom = pd.DataFrame({
        "infusion": points["infusion_number"].astype(int),
        "timepoint": points["timepoint"],
        "date": pd.to_datetime(points["date"]).dt.strftime("%Y-%m-%d"),
        "type": points["infusion_type"].fillna("infusion"),
        "dose": points["dose_mg_per_kg"].map(lambda d: "dose not recorded" if pd.isna(d)
                                              else f"{d:g} mg/kg"),
        "route": points["route"].fillna("route not recorded"),
        "severity": points["severity"],
        "by": sources.map(lambda v: ANSWERED_BY.get(v, "clinician")),
    })
    fig.add_trace(go.Scatter(
        x=_x(points, axis), y=points["total"], mode="lines+markers", name=label,
        legendgroup=label, showlegend=row == 1,
        line=dict(color=colour, width=2), marker=dict(size=9, symbol=symbols, color=colour,
                                                       line=dict(width=2, color=colour)),
        customdata=custom.to_numpy(),
        hovertemplate=(f"<b>{label}</b> · infusion %{{customdata[0]}} (%{{customdata[3]}})<br>"
                       "%{customdata[1]} score %{y} (%{customdata[6]}) · %{customdata[7]}<br>"
                       "%{customdata[2]} · %{customdata[4]} · %{customdata[5]}<extra></extra>"),
    ), row=row, col=1)


def _add_reference_lines(fig: go.Figure, outcome: pd.Series, points: pd.DataFrame, label: str,
                         colour: str, axis: str, row: int) -> None:
    """The course's baseline (dashed) and response line at half the baseline (dotted)."""
    if pd.isna(outcome["baseline"]):
        return
    xs = _x(points, axis)
    x = [xs.min(), xs.max()]
    baseline = float(outcome["baseline"])
    where = f"pre {int(outcome['baseline_infusion'])}"
    fig.add_trace(go.Scatter(
        x=x, y=[baseline, baseline], mode="lines", name=f"{label} baseline",
        legendgroup=label, showlegend=False, line=dict(color=colour, width=1.5, dash="dash"),
        hovertemplate=f"{label} baseline {baseline:g} ({where})<extra></extra>",
    ), row=row, col=1)
    fig.add_trace(go.Scatter(
        x=x, y=[baseline / 2, baseline / 2], mode="lines", name=f"{label} response line",
        legendgroup=label, showlegend=False, line=dict(color=RESPONSE, width=1.5, dash="dot"),
        hovertemplate=f"{label} response: at or below {baseline / 2:g} "
                      "(half the baseline)<extra></extra>",
    ), row=row, col=1)
    fig.add_annotation(x=x[0], y=baseline, text=f"baseline {baseline:g}", showarrow=False,
                       xanchor="left", yanchor="bottom", font=dict(size=10, color=colour),
                       row=row, col=1)
    fig.add_annotation(x=x[0], y=baseline / 2, text=f"response ≤ {baseline / 2:g}",
                       showarrow=False, xanchor="left", yanchor="bottom",
                       font=dict(size=10, color=RESPONSE), row=row, col=1)


def _add_remission_line(fig: go.Figure, panel: pd.DataFrame, limit: int, axis: str,
                        row: int) -> None:
    xs = _x(panel, axis)
    fig.add_trace(go.Scatter(
        x=[xs.min(), xs.max()], y=[limit, limit], mode="lines", name="remission line",
        showlegend=False, line=dict(color=REMISSION, width=1.5, dash="dashdot"),
        hovertemplate=f"remission: {limit} or below<extra></extra>",
    ), row=row, col=1)
    fig.add_annotation(x=xs.min(), y=limit, text=f"remission ≤ {limit}", showarrow=False,
                       xanchor="left", yanchor="top", font=dict(size=10, color=REMISSION),
                       row=row, col=1)


def _add_boosters(fig: go.Figure, infusions: pd.DataFrame, axis: str) -> None:
    boosters = infusions[infusions["infusion_type"] == "booster"]
    for _, infusion in boosters.iterrows():
        x = infusion["date"] if axis == "date" else infusion["infusion_number"]
        fig.add_vline(x=x, line=dict(color=BOOSTER, width=1, dash="dot"), opacity=0.7)
    if not boosters.empty:  # one legend entry for every booster line
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="booster infusion",
                                 line=dict(color=BOOSTER, dash="dot")), row=1, col=1)


def _add_gaps(fig: go.Figure, gaps: pd.DataFrame, axis: str) -> None:
    for _, gap in gaps.iterrows():
        if axis == "date":
            x0, x1 = gap["previous_date"], gap["date"]
        else:
            x0, x1 = gap["infusion_number"] - 0.75, gap["infusion_number"] - 0.25
        fig.add_vrect(x0=x0, x1=x1, fillcolor="#9ca3af", opacity=0.18, line_width=0,
                      layer="below", annotation_text=f"{int(gap['days'])}-day gap",
                      annotation_position="top", annotation_font=dict(size=10, color="#4b5563"))


def _style_x_axis(fig: go.Figure, points: pd.DataFrame, axis: str, rows: int) -> None:
    if axis == "date":
        fig.update_xaxes(title_text="Date", row=rows, col=1)
        return
    last = int(points["infusion_number"].max())
    fig.update_xaxes(tickmode="array", tickvals=list(range(1, last + 1)), range=[0.4, last + 0.6])
    fig.update_xaxes(title_text="Infusion number (● pre-infusion score, ○ post-infusion score, "
                                "◇ follow-up, ★ booster)", row=rows, col=1)


def item9_figure(history: pd.DataFrame) -> go.Figure:
    """PHQ-9 item 9 answers (0-3) by infusion, positive answers (>= 1) in red."""
    single = history["course_number"].nunique() == 1
    offset = timepoint_offsets(history)
    x = (history["infusion_number"] + offset if single else
         [f"C{c}·{i} {t}" for c, i, t in zip(history["course_number"], history["infusion_number"],
                                             history["timepoint"], strict=True)])
    custom = history[["infusion_number", "timepoint"]].assign(
        date=pd.to_datetime(history["date"]).dt.strftime("%Y-%m-%d")).to_numpy()
    fig = go.Figure(go.Bar(
        x=x, y=history["item9"].clip(lower=0.06), width=0.35 if single else None,
        marker_color=[WORSE if p else NEUTRAL for p in history["positive"]], name="item 9",
        customdata=custom, hovertemplate=("infusion %{customdata[0]} %{customdata[1]} "
                                          "(%{customdata[2]}): item 9 = %{y:.0f}<extra></extra>"),
    ))
    fig.update_yaxes(range=[0, 3.2], tickvals=[0, 1, 2, 3], title_text="Item 9 answer")
    if single:
        fig.update_xaxes(title_text="Infusion number (left bar pre, right bar post, then "
                                    "follow-ups)", dtick=1)
    else:
        fig.update_xaxes(title_text="Course · infusion · timepoint", type="category")
    fig = base_layout(fig, height=240)
    fig.update_layout(showlegend=False, margin=dict(t=20))
    return fig


# --- clinic view ---------------------------------------------------------------------------


def from_spec(data: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """A figure of plain trace and layout dicts, taken as written (with the registered
    template, figures.theme).

    plotly's checks walk every value: a 1,500-bar waterfall's colours one by one cost
    20 ms of its 28 ms, at every rebuild after a save (docs/PERFORMANCE.md, issue 13). The
    builders that use it write only what plotly accepts: tests/test_charts.py builds each
    one's dicts again with the checks on and compares the two."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def house_layout(height: int, **layout: Any) -> dict[str, Any]:
    """``base_layout``'s settings as a layout dict (for ``from_spec``), with ``layout``."""
    return {"height": height, "hovermode": "closest",
            "margin": {"l": 60, "r": 30, "t": 40, "b": 50},
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left",
                       "x": 0}, **layout}


def km_trace(infusions: list, cumulative: list, *, name: str, colour: str,
             dash: str = "solid") -> dict[str, Any]:
    """One Kaplan-Meier step curve from (0, 0 %): the screen's and the PDF's (O8)."""
    return {"type": "scatter", "x": [0, *infusions],
            "y": [0.0, *(None if c is None or c != c else round(100 * c, 2) for c in cumulative)],
            "mode": "lines", "line": {"color": colour, "width": 3, "dash": dash, "shape": "hv"},
            "name": name,
            "hovertemplate": f"{name} by %{{x}} infusions: %{{y:.1f}} %<extra></extra>"}


KM_TICKS = 8  # at most this many infusion ticks: a narrow chart (a tablet, two columns)
# rotated a tick per infusion on top of each other


def km_layout(after_n: int, last: int | None = None,
              furthest: float | None = None) -> dict[str, Any]:
    """The N line and the axes every Kaplan-Meier figure shares: a tick every
    ceil((furthest + 1) / KM_TICKS) infusions (every infusion up to KM_TICKS), where
    ``furthest`` is the last infusion the axis reaches (``last``, else the curves')."""
    grey = "#6b7280"
    reach = last if last is not None else furthest
    dtick = 1 if reach is None else max(1, math.ceil((reach + 1) / KM_TICKS))
    return {
        "shapes": [{"type": "line", "x0": after_n, "x1": after_n, "xref": "x", "y0": 0,
                    "y1": 1, "yref": "y domain", "line": {"color": grey, "dash": "dot"}}],
        "annotations": [{"text": f"infusion {after_n}", "x": after_n, "xref": "x", "y": 0,
                         "yref": "y domain", "xanchor": "left", "yanchor": "bottom",
                         "showarrow": False, "font": {"color": grey, "size": 11}}],
        "xaxis": {"title": {"text": "Infusions received"}, "dtick": dtick, "rangemode": "tozero",
                  **({} if last is None else {"range": [0, last + 1]})},
        "yaxis": {"title": {"text": "Cumulative % of courses"}, "range": [0, 100],
                  "ticksuffix": " %"},
    }


def km_axes(fig: go.Figure, after_n: int, last: int | None = None) -> go.Figure:
    """``km_layout`` on a figure (the PDF's)."""
    return fig.update_layout(km_layout(after_n, last))


def km_figure(response_curve: list[dict], remission_curve: list[dict], after_n: int) -> go.Figure:
    """Cumulative response and remission by infusions received (Kaplan-Meier, O8)."""
    traces = [km_trace([p["infusions"] for p in curve], [p["cumulative"] for p in curve],
                       name=name, colour=colour)
              for name, curve, colour in (("Response", response_curve, RESPONSE),
                                          ("Remission", remission_curve, REMISSION)) if curve]
    furthest = max((p["infusions"] for curve in (response_curve, remission_curve)
                    for p in curve), default=None)
    return from_spec(traces, house_layout(380, **km_layout(after_n, furthest=furthest)))


def waterfall_figure(waterfall: pd.DataFrame, max_bars: int = 1500,
                     total: int | None = None) -> go.Figure:
    """Percent change per course at the latest score, largest rise to largest fall (O3).

    Above ``max_bars`` courses, evenly spaced ranks are drawn (the shape is kept; the
    axis title says how many courses each bar stands for). With ``total``, ``waterfall``
    is already the drawn bars of that many courses (``breakdowns.waterfall_bars``).
    """
    if total is None:
        total = len(waterfall)
        if total > max_bars:
            waterfall = waterfall.iloc[::-(-total // max_bars)]
    colours = [REMISSION if _is(rem) else RESPONSE if _is(resp) else
               (WORSE if pct > 0 else NEUTRAL)
               for resp, rem, pct in zip(waterfall["response"], waterfall["remission"],
                                         waterfall["pct_change"], strict=True)]
    # Scores as a float array (sent as one typed array) and the clinic as hover text: a
    # mixed object array would be serialised value by value on every render.
    bars = {
        "type": "bar", "x": waterfall["rank"].to_numpy(),
        "y": waterfall["pct_change"].round(1).to_numpy(dtype="float64"),
        "marker": {"color": colours, "line": {"width": 0}}, "name": "percent change",
        "showlegend": False,
        "customdata": waterfall[["baseline", "latest"]].to_numpy(dtype="float64"),
        "hovertext": waterfall["clinic"].astype(str).tolist(),
        "hovertemplate": ("%{hovertext}: %{customdata[0]:.0f} → %{customdata[1]:.0f} "
                          "(%{y:+.1f} %)<extra></extra>"),
    }
    legend = [{"type": "bar", "x": [None], "y": [None], "marker": {"color": colour},
               "name": name}
              for name, colour in (("remission", REMISSION), ("response", RESPONSE),
                                   ("no response", NEUTRAL), ("worse", WORSE))]
    shown = len(waterfall)
    title = "Courses, ordered by change" + (
        "" if shown == total else f" (1 in {-(-total // max_bars)} of {total:,} courses drawn)")
    return from_spec([bars, *legend], house_layout(
        380, bargap=0.05, barmode="overlay",
        shapes=[{"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": -50, "y1": -50,
                 "yref": "y", "line": {"color": RESPONSE, "dash": "dot"}}],
        annotations=[{"text": "response: −50 %", "x": 0, "xref": "x domain", "y": -50,
                      "yref": "y", "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                      "bgcolor": "white", "font": {"color": RESPONSE, "size": 11}}],
        xaxis={"title": {"text": title}, "showticklabels": False},
        yaxis={"title": {"text": "% change from baseline"}, "ticksuffix": " %"}))


def severity_figure(distribution: pd.DataFrame, instrument: str) -> go.Figure:
    """Courses per severity band at baseline and at the latest score (paired courses)."""
    bands = list(distribution["band"])  # one line each: plotly turns them when they would touch
    traces = [{"type": "bar", "x": bands, "y": distribution[column].tolist(), "name": name,
               "marker": {"color": colour}, "text": [str(v) for v in distribution[column]],
               "textposition": "outside",
               "hovertemplate": f"{name}: %{{y}} course(s) %{{x}}<extra></extra>"}
              for column, colour, name in (("baseline", "#94a3b8", "Baseline"),
                                           ("latest", "#2563eb", "Latest"))]
    return from_spec(traces, house_layout(
        360, barmode="group", xaxis={"title": {"text": f"{instrument} severity band"},
                                     # no tickangle: plotly.js's default ("auto") keeps
                                     # them level where they fit and turns them where
                                     # they would touch (two columns at 820 px)
                                     "automargin": True,
                                     "tickfont": {"size": 10}},
        yaxis={"title": {"text": "Courses"}}))


def breakdown_figure(table: pd.DataFrame, label: str, *, small_cell: int | None) -> go.Figure:
    """Response (observed, with its 95 % interval, and ITT) per group; suppressed cells
    drawn without bars and labelled."""
    rows = table.iloc[::-1]
    groups = rows["group"].astype(str)
    fig = go.Figure()
    for column, colour, name in (("response_rate_itt", "#86efac", "Response (ITT)"),
                                 ("response_rate_observed", RESPONSE, "Response (observed)")):
        values = (rows[column].astype("float64") * 100).round(1)
        observed = column == "response_rate_observed"
        bar = dict(
            y=groups, x=values.fillna(0), orientation="h", name=name, marker_color=colour,
            text=["" if s else f"{v:.0f} %" for v, s in
                  zip(values.fillna(0), rows["suppressed"], strict=True)],
            textposition="inside", insidetextanchor="start",
            textfont=dict(color="white" if observed else "#14532d"),
            customdata=rows[["n_courses", "n_evaluable"]].to_numpy(),
            hovertemplate=(f"%{{y}}: {name} %{{x:.1f}} %<br>%{{customdata[0]}} courses, "
                           "%{customdata[1]} evaluable<extra></extra>"),
        )
        if observed and "response_ci_low" in rows:
            low = (rows["response_ci_low"].astype("float64") * 100).round(1)
            high = (rows["response_ci_high"].astype("float64") * 100).round(1)
            bar["error_x"] = dict(type="data", symmetric=False, array=(high - values).fillna(0),
                                  arrayminus=(values - low).fillna(0), color="#166534",
                                  thickness=1.2, width=3)
        fig.add_trace(go.Bar(**bar))
    for group, suppressed, n in zip(groups, rows["suppressed"], rows["n_courses"], strict=True):
        if suppressed:
            fig.add_annotation(y=group, x=1, xanchor="left", showarrow=False,
                               text=f"suppressed: {n} course(s), under {small_cell}",
                               font=dict(size=11, color="#6b7280"))
    fig.update_layout(barmode="group", legend=dict(traceorder="reversed"))
    fig.update_xaxes(title_text="% of courses · whiskers: 95 % interval", range=[0, 105],
                     ticksuffix=" %")
    fig.update_yaxes(title_text=None, automargin=True)
    return base_layout(fig, height=max(240, 90 + 60 * len(rows)))


def durability_figure(km: pd.DataFrame | None) -> go.Figure:
    """Share of responders still in response by weeks since response (Kaplan-Meier)."""
    fig = go.Figure()
    if km is not None and not km.empty:
        xs = [0.0, *km["time"].round(2)]
        ys = [100.0, *(100 * km["survival"]).round(2)]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line_shape="hv", name="in response",
                                 line=dict(color=RESPONSE, width=3),
                                 hovertemplate="%{x:.1f} weeks: %{y:.1f} % still in "
                                               "response<extra></extra>"))
    fig.update_xaxes(title_text="Weeks since first response", rangemode="tozero")
    fig.update_yaxes(title_text="% still in response", range=[0, 102], ticksuffix=" %")
    return base_layout(fig, height=340)


def booster_figure(intervals: pd.DataFrame, overdue_days: int) -> go.Figure:
    """Histogram of booster intervals (days since the previous infusion)."""
    fig = go.Figure(go.Histogram(x=intervals["days_since_previous"], marker_color=BOOSTER,
                                 opacity=0.8, xbins=dict(start=0, size=7), name="boosters",
                                 hovertemplate="%{x} days: %{y} booster(s)<extra></extra>"))
    fig.add_vline(x=overdue_days, line=dict(color=WORSE, dash="dot"),
                  annotation_text=f"overdue after {overdue_days} d", annotation_position="top")
    fig.update_xaxes(title_text="Days since the previous infusion")
    fig.update_yaxes(title_text="Boosters")
    return base_layout(fig, height=340)


def side_effect_figure(table: pd.DataFrame) -> go.Figure:
    """Rate per infusion of each recorded side effect."""
    rows = table.iloc[::-1]
    fig = go.Figure(go.Bar(
        y=rows["side_effect"], x=(rows["rate"] * 100).round(1), orientation="h",
        marker_color="#f59e0b", text=[f"{v * 100:.1f} %" for v in rows["rate"]],
        textposition="outside", customdata=rows[["infusions"]].to_numpy(),
        hovertemplate="%{y}: %{customdata[0]} infusions (%{x:.1f} %)<extra></extra>",
    ))
    top = float(rows["rate"].max() or 0) * 100
    fig.update_xaxes(title_text="% of infusions", ticksuffix=" %", range=[0, top * 1.15 + 1])
    fig.update_yaxes(automargin=True)
    return base_layout(fig, height=max(220, 60 + 34 * len(rows)))


def _is(value) -> bool:
    return False if pd.isna(value) else bool(value)
