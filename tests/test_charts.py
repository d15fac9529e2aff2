"""ui.charts' house template: applied without revalidation, it gives the figure exactly the
JSON that `update_layout(template="plotly_white")` gives, and figures never share it."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

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
