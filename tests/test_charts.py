"""figures: one registered template (figures.theme) on every figure, screen and paper,
and one meaning per colour."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from figures import charts, report, review, theme


def _figure() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b"], y=[3, 4], name="bars"))


def test_the_clinic_template_is_registered_and_the_default():
    assert pio.templates.default == "clinic"
    template = pio.templates["clinic"]
    assert template.layout.paper_bgcolor == "white"  # plotly_white underneath
    assert template.layout.font.family.startswith("Inter")
    assert list(template.layout.colorway) == list(theme.COURSE_COLOURS)


def test_every_figure_carries_the_clinic_template_from_birth():
    fig = charts.base_layout(_figure(), height=300, title="T")
    assert fig.to_plotly_json()["layout"]["template"] == pio.templates["clinic"].to_plotly_json()
    layout = fig.to_plotly_json()["layout"]
    assert (layout["height"], layout["margin"]["t"], layout["title"]["text"]) == (300, 70, "T")


def test_a_figure_changing_its_template_leaves_the_others_alone():
    first = charts.base_layout(_figure(), height=300)
    first.layout.template.layout.paper_bgcolor = "red"
    second = charts.base_layout(_figure(), height=300)
    assert second.layout.template.layout.paper_bgcolor == "white"
    assert pio.templates["clinic"].layout.paper_bgcolor == "white"


def test_response_and_remission_have_one_colour_on_screen_and_on_paper():
    import pandas as pd

    curve = [{"infusions": 2, "cumulative": 0.25}, {"infusions": 4, "cumulative": 0.5}]
    screen = charts.km_figure(curve, curve, 6)
    assert [t.line.color for t in screen.data] == ["#16a34a", "#1d4ed8"]
    km = pd.DataFrame({"instrument": ["PHQ-9", "PHQ-9"], "event": ["response", "remission"],
                       "infusions": [3, 5], "cumulative": [0.4, 0.2]})
    paper = report.km_figure(km, 6)
    assert [t.line.color for t in paper.data] == ["#16a34a", "#1d4ed8"]
    assert list(paper.data[0].y) == [0.0, 40.0] and list(paper.data[0].x) == [0, 3]
    headline = pd.DataFrame({"instrument": ["PHQ-9"], "response_rate_observed": [0.5],
                             "response_rate_itt": [0.4], "remission_rate_observed": [0.3],
                             "remission_rate_itt": [0.2]})
    bars = report.rates_figure(headline, 6)
    assert [b.marker.color for b in bars.data] == [theme.RESPONSE, theme.RESPONSE_ITT,
                                                   theme.REMISSION, theme.REMISSION_ITT]
    assert review.SIGNAL_COLOURS == {"above": "#16a34a", "below": "#dc2626"}


def test_waterfall_hover_data_per_bar():
    import pandas as pd

    frame = pd.DataFrame({
        "course_key": [1, 2, 3], "clinic": ["NORTH", "SOUTH", "NORTH"],
        "baseline": [20.0, 10.0, 12.0], "latest": [24.0, 5.0, 2.0],
        "pct_change": [20.0, -50.0, -83.333], "response": [False, True, True],
        "remission": [False, False, True], "rank": [1, 2, 3],
    })
    fig = charts.waterfall_figure(frame)
    bar = fig.data[0]
    assert list(bar.x) == [1, 2, 3] and list(bar.y) == [20.0, -50.0, -83.3]
    assert list(bar.marker.color) == [charts.WORSE, charts.RESPONSE, charts.REMISSION]
    assert bar.customdata.tolist() == [[20.0, 24.0], [10.0, 5.0], [12.0, 2.0]]
    assert list(bar.hovertext) == ["NORTH", "SOUTH", "NORTH"]
    assert bar.hovertemplate.startswith("%{hovertext}: %{customdata[0]:.0f} → "
                                        "%{customdata[1]:.0f}")
    # the scores travel as one typed array, not value by value
    spec = json.loads(fig.to_json())
    assert "bdata" in spec["data"][0]["customdata"]


@pytest.mark.parametrize(("infusion_type", "timepoint", "source", "expected"), [
    ("induction", "pre", "clinician", "circle"),
    ("induction", "post", "clinician", "circle-open"),
    ("booster", "pre", "import", "star"),
    ("induction", "followup", "patient_remote", "diamond-open-dot"),
    ("induction", "pre", "patient_kiosk", "circle-dot"),
    ("booster", "post", "patient_kiosk", "star-open-dot"),
])
def test_each_score_marker_says_when_and_who_answered(infusion_type, timepoint, source,
                                                      expected):
    assert charts.score_symbol(infusion_type, timepoint, source) == expected


def _checked(fig: go.Figure) -> go.Figure:
    """The same figure built again with plotly's checks on (raises on a property plotly
    does not know or a value it refuses)."""
    return go.Figure(fig.to_dict())


def _outcome_figures() -> list[go.Figure]:
    import pandas as pd

    curve = [{"infusions": 2, "cumulative": 0.25}, {"infusions": 4, "cumulative": float("nan")}]
    waterfall = pd.DataFrame({
        "course_key": range(3200), "clinic": ["NORTH", "SOUTH"] * 1600,
        "baseline": [20.0] * 3200, "latest": [10.0] * 3200,
        "pct_change": [20.0, -50.0, -83.3, 0.0] * 800,
        "response": pd.array([False, True, True, None] * 800, dtype="boolean"),
        "remission": pd.array([False, False, True, None] * 800, dtype="boolean"),
        "rank": range(1, 3201)})
    severity = pd.DataFrame({"band": ["minimal", "moderately severe"], "baseline": [3, 9],
                             "latest": [8, 4]})
    return [charts.km_figure(curve, curve, 6), charts.km_figure([], curve, 3),
            charts.waterfall_figure(waterfall), charts.waterfall_figure(waterfall.head(3)),
            charts.severity_figure(severity, "PHQ-9")]


@pytest.mark.parametrize("index", range(5))
def test_a_figure_written_as_dicts_is_what_plotly_checks_would_make(index):
    """from_spec takes its dicts unchecked: each builder's figure equals the same dicts
    built with every check on, the template included."""
    fig = _outcome_figures()[index]
    assert fig.to_plotly_json()["layout"]["template"] == pio.templates["clinic"].to_plotly_json()
    assert (json.loads(pio.to_json(_checked(fig), validate=False))
            == json.loads(pio.to_json(fig, validate=False)))


def test_an_unknown_property_in_a_spec_is_caught_by_the_check():
    fig = charts.from_spec([{"type": "bar", "x": [1], "y": [2], "colour": "red"}],
                           charts.house_layout(300))
    with pytest.raises(ValueError, match="colour"):
        _checked(fig)


def test_the_waterfall_draws_every_nth_course_above_its_bar_limit():
    fig = _outcome_figures()[2]
    # 3,200 courses, at most 1,500 bars: every ceil(3200 / 1500) = 3rd rank from the first
    assert len(fig.data[0].x) == 1067 and list(fig.data[0].x[:3]) == [1, 4, 7]
    assert fig.layout.xaxis.title.text == ("Courses, ordered by change (1 in 3 of 3,200 "
                                           "courses drawn)")
    assert [t.name for t in fig.data[1:]] == ["remission", "response", "no response", "worse"]
    assert fig.layout.shapes[0].y0 == -50 and fig.layout.annotations[0].text == "response: −50 %"


def test_the_waterfall_of_its_drawn_bars_is_the_waterfall_of_every_course():
    """The Outcomes page passes only the bars it draws (breakdowns.waterfall_bars) and the
    number of courses: the figure is the one the whole waterfall gives."""
    import pandas as pd

    from outcomes.breakdowns import waterfall, waterfall_bars, waterfall_order

    table = pd.DataFrame({
        "course_key": range(3200), "clinic": pd.Series(["NORTH", "SOUTH"] * 1600, dtype="str"),
        "baseline": [20.0] * 3200, "latest": [10.0] * 3200,
        "pct_change": [20.0, -50.0, -83.3, 0.0] * 800,
        "response": pd.array([False, True, True, None] * 800, dtype="boolean"),
        "remission": pd.array([False, False, True, None] * 800, dtype="boolean"),
        "evaluable": [True, True, True, False] * 800})
    bars = waterfall_bars(table, waterfall_order(table))
    assert len(bars) == 1200  # 2,400 evaluable courses, at most 1,500 bars: every 2nd
    whole = charts.waterfall_figure(waterfall(table))
    drawn = charts.waterfall_figure(bars, total=2400)
    assert json.loads(pio.to_json(drawn, validate=False)) == json.loads(
        pio.to_json(whole, validate=False))


def test_the_km_axis_ticks_at_most_eight_infusions():
    """A tick per infusion up to 8; above, every ceil((last + 1) / 8)-th: at a tablet's
    width, two charts side by side, 15 ticks were rotated on top of each other."""
    def dtick(last: float) -> int:
        curve = [{"infusions": 1, "cumulative": 0.2}, {"infusions": last, "cumulative": 0.5}]
        return charts.km_figure(curve, [], 6).layout.xaxis.dtick

    assert (dtick(6), dtick(7), dtick(14), dtick(20)) == (1, 1, 2, 3)  # 7 -> 8 ticks 0..7
    assert charts.km_figure([], [], 6).layout.xaxis.dtick == 1


def test_the_severity_bands_are_named_on_one_line_and_turned_when_they_would_touch():
    import pandas as pd

    severity = pd.DataFrame({"band": ["minimal", "mild", "moderate", "moderately severe",
                                      "severe"], "baseline": [0, 1, 23, 43, 53],
                             "latest": [34, 38, 28, 14, 6]})
    figure = charts.severity_figure(severity, "PHQ-9")
    assert list(figure.data[0].x) == ["minimal", "mild", "moderate", "moderately severe",
                                      "severe"]  # no <br>: turned, two lines read apart
    # no fixed angle (plotly.js's default "auto" turns labels that would touch)
    assert figure.layout.xaxis.tickangle is None and figure.layout.xaxis.automargin
    assert list(figure.data[1].y) == [34, 38, 28, 14, 6]
