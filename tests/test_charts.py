"""ui.charts' house template: applied without revalidation, it gives the figure exactly the
JSON that `update_layout(template="plotly_white")` gives, and figures never share it."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from ui import charts


def _figure() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b"], y=[3, 4], name="bars"))


def test_base_layout_gives_the_json_of_update_layout_with_plotly_white():
    fig = charts.base_layout(_figure(), height=300, title="T")
    reference = _figure()
    reference.update_layout(
        template="plotly_white", height=300, font=charts.FONT, hovermode="closest",
        margin=dict(l=60, r=30, t=70, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        title=dict(text="T", x=0, font=dict(size=16)),
    )
    assert fig.to_plotly_json() == reference.to_plotly_json()
    assert fig.to_plotly_json()["layout"]["template"] == \
        pio.templates["plotly_white"].to_plotly_json()


def test_a_figure_changing_its_template_leaves_the_others_alone():
    first = charts.base_layout(_figure(), height=300)
    first.layout.template.layout.paper_bgcolor = "red"
    second = charts.base_layout(_figure(), height=300)
    assert second.layout.template.layout.paper_bgcolor == "white"
    assert charts.TEMPLATE.layout.paper_bgcolor == "white"


def test_waterfall_hover_data_per_bar():
    import json

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


@pytest.mark.parametrize("infusion_type, timepoint, source, expected", [
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
