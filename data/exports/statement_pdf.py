"""'Our outcomes, honestly' as a one-page PDF (reportlab, the quality report's fonts and
table style): the rows of `outcomes.statement.build_statement`, printed as they are."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from data.exports.report_pdf import BODY_W, MARGIN, _fonts, _styles, _table
from outcomes.statement import percent

TITLE = "Our outcomes, honestly"


def _cap(text: str) -> str:
    """The first letter upper case, the rest as written ('ITT' stays 'ITT')."""
    return text[:1].upper() + text[1:]


def figure_text(row: dict[str, Any]) -> str:
    """'55 of 105', '52.4 %' and '95 % CI 42.9-61.7 %' as one cell's text."""
    if row["denominator"] is None:
        return str(row["count"])
    counts = f"{row['count']} of {row['denominator']}"
    if row["rate"] is None:
        return counts
    ci = (f"; 95 % CI {percent(row['ci95_low'])} to {percent(row['ci95_high'])}"
          if row["ci95_low"] is not None else "")
    return f"{percent(row['rate'])} ({counts}{ci})"


def build_statement_pdf(rows: list[dict[str, Any]], *, generated_by: str,
                        generated_at: datetime) -> bytes:
    """The statement's PDF bytes."""
    font, bold = _fonts()
    st = _styles(font, bold)
    about = {r["measure"]: r["text"] for r in rows if r["section"] == "about"}
    story: list[Any] = [Paragraph(TITLE, st["title"]), Spacer(1, 2 * mm)]
    for name in ("period", "clinics", "instrument", "counting"):
        story.append(Paragraph(f"<b>{escape(_cap(name))}:</b> {escape(about[name])}",
                               st["body"]))
    story.append(Spacer(1, 4 * mm))
    figures = [["Measure", "Result", "What it means"]] + [
        [_cap(r["measure"]), figure_text(r), r["text"]]
        for r in rows if r["section"] == "outcomes"]
    story.append(_table(figures, [0.28 * BODY_W, 0.34 * BODY_W, 0.38 * BODY_W], st))
    story += [Spacer(1, 3 * mm), Paragraph(escape(about["method"]), st["small"]),
              Paragraph("Definitions", st["h2"])]
    story += [Paragraph(f"<b>{escape(_cap(r['measure']))}:</b> {escape(r['text'])}",
                        st["body"]) for r in rows if r["section"] == "definition"]
    story += [Spacer(1, 4 * mm), Paragraph(
        escape(f"Aggregate counts only; no patient is identified. Generated "
               f"{generated_at:%Y-%m-%d %H:%M} UTC by {generated_by}."), st["small"])]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=16 * mm, bottomMargin=14 * mm, title=TITLE,
                            author=generated_by, subject="Ketamine infusion outcomes")
    doc.build(story)
    return buffer.getvalue()
