"""The app's own style rules, for every page: a constant style sheet (no user text: the
literal is the call's own argument, which tests/security/test_no_raw_html.py checks), sent
with ``st.html``, which puts a style-only body in the event container (no space taken)."""

from __future__ import annotations

import streamlit as st


def page_style() -> None:
    """Metrics at a tablet's width. At 820 px the sidebar leaves ~470 px to the page, and
    the Outcomes page's headline puts two metrics side by side in each of two boxes: ~100
    px per metric, where Streamlit's value (2.25rem) was cut to "52...." and its label to
    "Response...". Between the width where columns stack (640 px) and a desktop's, the
    value scales with the viewport, and labels wrap instead of being cut."""
    st.html("""
<style>
@media (min-width: 641px) and (max-width: 1280px) {
  [data-testid="stMetricValue"] { font-size: clamp(1.2rem, 2.4vw, 2.25rem); }
}
[data-testid="stMetricValue"] .stMarkdownEllipsis { overflow: visible; text-overflow: clip; }
[data-testid="stMetricLabel"] .stMarkdownEllipsis { overflow: visible; }
[data-testid="stMetricLabel"] .stMarkdownEllipsis p { white-space: normal; }
</style>
""")
