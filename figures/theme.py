"""The clinic's chart style: one meaning per colour, one registered plotly template.

Importing this module registers the template "clinic" (plotly_white with the house font,
colour way and hover labels) and makes it plotly's default, so every figure built after
it carries the template from birth: plotly applies its default template when a figure is
created without revalidating it (no per-figure template cost, no private switches).
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

# One meaning per colour, on screen and on paper.
RESPONSE = "#16a34a"        # response (>= 50 % reduction), "better"
RESPONSE_ITT = "#86efac"    # the same, intention to treat
REMISSION = "#1d4ed8"       # remission (at or below the cut-off)
REMISSION_ITT = "#93c5fd"   # the same, intention to treat
WORSE = "#dc2626"           # worse, deterioration, positive item 9
NEUTRAL = "#94a3b8"         # no reliable change, reference lines, suppressed cells
LIMIT = "#64748b"           # control and funnel limits
PRE = "#2563eb"             # before the infusion
POST = "#ea580c"            # after the infusion
BOOSTER = "#a855f7"         # boosters
COURSE_COLOURS = ("#2563eb", "#7c3aed", "#0f766e", "#db2777", "#ea580c", "#4b5563")
BAND_RAMP = ("#16a34a", "#84cc16", "#eab308", "#f97316", "#dc2626")  # none .. severe
INSTRUMENT_DASH = {"PHQ-9": "solid", "GAD-7": "dash", "MADRS": "dot", "QIDS-SR16": "dashdot",
                   "PCL-5": "longdash"}
FONT = dict(family="Inter, 'Source Sans Pro', Helvetica, Arial, sans-serif", size=13,
            color="#1f2937")

NAME = "clinic"


def _template() -> go.layout.Template:
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.font = FONT
    template.layout.colorway = list(COURSE_COLOURS)
    template.layout.hoverlabel = dict(font=dict(family=FONT["family"], size=12))
    return template


pio.templates[NAME] = TEMPLATE = _template()
pio.templates.default = NAME


def band_colours(n: int) -> list[str]:
    """n colours from the green-to-red severity ramp, ends always included."""
    if n == 1:
        return [BAND_RAMP[0]]
    step = (len(BAND_RAMP) - 1) / (n - 1)
    return [BAND_RAMP[round(i * step)] for i in range(n)]


def course_colour(position: int) -> str:
    return COURSE_COLOURS[position % len(COURSE_COLOURS)]
