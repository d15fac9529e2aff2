"""The clinic quality report (PDF, reportlab): headline outcome figures, charts, tables
by clinic with small cells suppressed, definitions, filters, and who generated it when.

Aggregate only: no patient or staff identifiers appear, whoever generates it. Charts
come from `figures.report` (plotly, rendered by kaleido); when they cannot be
rendered the report says so and keeps its tables.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from data.exports import report_data as rd
from data.exports.glossary import report_definitions
from figures import render
from figures import report as figs

NAVY, LIGHT, GRID = colors.HexColor("#1F4E79"), colors.HexColor("#EAF1F8"), colors.HexColor("#B7C9DB")
MUTED = colors.HexColor("#666666")
PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
BODY_W = PAGE_W - 2 * MARGIN
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)


@dataclass(frozen=True)
class ReportContext:
    """What the report says about itself: filters, scope, settings, author and time."""

    generated_by: str
    generated_at: datetime
    clinics: str
    date_range: str
    data_years: str
    after_n: int
    timepoint_rule: str
    all_courses: bool
    small_cell: int
    madrs_remission_max: int


def _fonts() -> tuple[str, str]:
    """DejaVu Sans (any script) when the system has it, else Helvetica."""
    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            if "ReportSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("ReportSans", str(regular)))
                pdfmetrics.registerFont(TTFont("ReportSans-Bold", str(bold)))
                registerFontFamily("ReportSans", normal="ReportSans", bold="ReportSans-Bold",
                                   italic="ReportSans", boldItalic="ReportSans-Bold")
            return "ReportSans", "ReportSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _styles(font: str, bold: str) -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()["Normal"]
    def style(name: str, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base, fontName=kw.pop("fontName", font), **kw)
    return {
        "title": style("title", fontName=bold, fontSize=20, leading=24, textColor=NAVY),
        "subtitle": style("subtitle", fontSize=10.5, leading=14, textColor=MUTED),
        "h2": style("h2", fontName=bold, fontSize=13, leading=16, textColor=NAVY,
                    spaceBefore=10, spaceAfter=5),
        "body": style("body", fontSize=9, leading=12),
        "small": style("small", fontSize=7.5, leading=9.5, textColor=MUTED),
        "cell": style("cell", fontSize=7.8, leading=10, alignment=TA_LEFT),
        "cellb": style("cellb", fontName=bold, fontSize=7.5, leading=9.5, textColor=colors.white),
        "kpi": style("kpi", fontName=bold, fontSize=20, leading=24, textColor=NAVY),
        "kpilabel": style("kpilabel", fontName=bold, fontSize=8, leading=10),
        "kpinote": style("kpinote", fontSize=7.5, leading=9.5, textColor=MUTED),
        "term": style("term", fontName=bold, fontSize=8.5, leading=11),
    }


def _pct(count: Any, denominator: Any, rate: Any) -> str:
    """'k/n (x.x%)', or an en dash when undefined or suppressed (None or NaN: a table
    mixing suppressed and shown blocks reads None as NaN)."""
    if count is None or pd.isna(count) or denominator is None or pd.isna(denominator):
        return "\u2013"
    if rate is None or pd.isna(rate):
        return f"{int(count)}/{int(denominator)} (\u2013)"
    return f"{int(count)}/{int(denominator)} ({100 * float(rate):.1f}%)"


def _num(value: Any) -> str:
    """A count or a median: whole numbers without decimals, an en dash when undefined."""
    if value is None or pd.isna(value):
        return "\u2013"
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.1f}"


def _table(rows: list[list[Any]], widths: list[float], st: dict, zebra: bool = True) -> Table:
    """A report table: navy header row, light zebra rows, text wrapped in cells."""
    cells = [[Paragraph(escape(str(v)), st["cellb"] if r == 0 else st["cell"]) for v in row]
             for r, row in enumerate(rows)]
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    commands = [("BACKGROUND", (0, 0), (-1, 0), NAVY), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, GRID), ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3), ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3)]
    if zebra:
        commands += [("BACKGROUND", (0, r), (-1, r), LIGHT) for r in range(2, len(rows), 2)]
    table.setStyle(TableStyle(commands))
    return table


def _facts(ctx: ReportContext, summary: dict, st: dict) -> Table:
    rule = "post-infusion score" if ctx.timepoint_rule == "post" else "next pre-infusion score"
    instruments = ", ".join(rd.instruments_with_courses(summary)) or "none with data"
    facts = [
        ("Clinics", ctx.clinics),
        ("Course start dates", ctx.date_range),
        ("Courses start in", ctx.data_years),
        ("Courses counted", "all courses" if ctx.all_courses
         else "each patient's index (first) course"),
        ("Outcome point", f"after infusion {ctx.after_n} ({rule})"),
        ("Instruments", instruments),
        ("Small cells", f"fewer than {ctx.small_cell} courses: rates suppressed"),
        ("Generated", f"{ctx.generated_at:%Y-%m-%d %H:%M} UTC by {ctx.generated_by}"),
    ]
    rows = [[Paragraph(escape(k), st["term"]), Paragraph(escape(v), st["body"])]
            for k, v in facts]
    table = Table(rows, colWidths=[38 * mm, BODY_W - 38 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), LIGHT),
                               ("BOX", (0, 0), (-1, -1), 0.6, GRID),
                               ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]))
    return table


def _rate_text(rate: Any) -> str:
    return "\u2013" if rate is None or pd.isna(rate) else f"{100 * float(rate):.1f}%"


def _kpi_tiles(summary: dict, after_n: int, st: dict) -> Table | None:
    """Four headline figures of the primary instrument (PHQ-9 when present)."""
    names = rd.instruments_with_courses(summary)
    if not names:
        return None
    name = names[0]
    after, latest = summary[name][f"after_infusion_{after_n}"], summary[name]["overall_latest"]
    nhs = summary[rd.NHS_KEY]
    tiles = [
        (_rate_text(after["response_rate_observed"]), f"{name} response after infusion {after_n}",
         f"observed: {after['responders']} of {after['n_evaluable']} evaluable; ITT "
         f"{_rate_text(after['response_rate_itt'])} of {after['n_with_baseline']}"),
        (_rate_text(after["remission_rate_observed"]),
         f"{name} remission after infusion {after_n}",
         f"observed: {after['remitters']} of {after['n_evaluable']}; ITT "
         f"{_rate_text(after['remission_rate_itt'])} of {after['n_with_baseline']}"),
        (_rate_text(latest["reliable_improvement_rate"]), f"{name} reliable improvement",
         f"latest score: {latest['reliable_improvement']} of {latest['n_evaluable']}; "
         f"{latest['reliable_deterioration']} reliably deteriorated"),
        (_rate_text(nhs["reliable_recovery_rate"]), "NHS reliable recovery",
         f"PHQ-9 + GAD-7: {nhs['reliably_recovered']} of {nhs['n_case_at_baseline']} cases "
         "at baseline"),
    ]
    cells = [[[Paragraph(escape(big), st["kpi"]), Paragraph(escape(label), st["kpilabel"]),
               Paragraph(escape(note), st["kpinote"])] for big, label, note in tiles]]
    table = Table(cells, colWidths=[BODY_W / 4] * 4, hAlign="LEFT")
    table.setStyle(TableStyle([("BOX", (i, 0), (i, 0), 0.8, GRID) for i in range(4)]
                              + [("BACKGROUND", (0, 0), (-1, -1), colors.white),
                                 ("LINEABOVE", (0, 0), (-1, 0), 3, NAVY),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("TOPPADDING", (0, 0), (-1, -1), 6),
                                 ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return table


def _headline_tables(head: pd.DataFrame, after_n: int, st: dict) -> list:
    if head.empty:
        return [Paragraph("No course with a score matches the filters.", st["body"])]
    after = [["Instrument", "Courses", "With baseline", "Evaluable", "Response, observed",
              "Response, ITT", "Remission, observed", "Remission, ITT"]]
    latest = [["Instrument", "Evaluable", "Response, observed", "Remission, observed",
               "Reliable change: improved", "Reliable change: worse", "Median infusions "
               "to response", f"KM response by infusion {after_n}"]]
    for r in head.to_dict("records"):
        after.append([r["instrument"], r["n_courses"], r["n_with_baseline"], r["n_evaluable"],
                      _pct(r["responders"], r["n_evaluable"], r["response_rate_observed"]),
                      _pct(r["responders"], r["n_with_baseline"], r["response_rate_itt"]),
                      _pct(r["remitters"], r["n_evaluable"], r["remission_rate_observed"]),
                      _pct(r["remitters"], r["n_with_baseline"], r["remission_rate_itt"])])
        km = r["km_response_by_n"]
        latest.append([r["instrument"], r["latest_n_evaluable"],
                       _pct(r["latest_responders"], r["latest_n_evaluable"],
                            r["latest_response_rate_observed"]),
                       _pct(r["latest_remitters"], r["latest_n_evaluable"],
                            r["latest_remission_rate_observed"]),
                       _num(r["reliable_improvement"]), _num(r["reliable_deterioration"]),
                       _num(r["median_infusions_to_response"]),
                       "\u2013" if km is None or pd.isna(km) else f"{100 * km:.1f}%"])
    w = [20 * mm, 15 * mm, 17 * mm, 17 * mm] + [(BODY_W - 69 * mm) / 4] * 4
    w2 = [20 * mm, 18 * mm, 27 * mm, 27 * mm] + [(BODY_W - 92 * mm) / 4] * 4
    return [Paragraph(f"After infusion {after_n}", st["term"]), Spacer(1, 2),
            _table(after, w, st), Spacer(1, 8),
            Paragraph("Latest score of the course (change from baseline)", st["term"]),
            Spacer(1, 2), _table(latest, w2, st)]


def _clinic_table(cells: pd.DataFrame, small_cell: int, st: dict) -> Table:
    rows = [["Clinic", "Courses", "With baseline", "Evaluable", "Response, observed",
             "Response, ITT", "Remission, observed", "Remission, ITT"]]
    for c in cells.sort_values("clinic").to_dict("records"):
        if c["suppressed"]:
            note = (f"suppressed (fewer than {small_cell} courses)" if c["n_courses"] < small_cell
                    else "suppressed (with a smaller clinic, so neither can be derived)")
            rows.append([c["clinic"], c["n_courses"], c["n_with_baseline"], c["n_evaluable"],
                         note, "", "", ""])
            continue
        rows.append([c["clinic"], c["n_courses"], c["n_with_baseline"], c["n_evaluable"],
                     _pct(c["responders"], c["n_evaluable"], c["response_rate_observed"]),
                     _pct(c["responders"], c["n_with_baseline"], c["response_rate_itt"]),
                     _pct(c["remitters"], c["n_evaluable"], c["remission_rate_observed"]),
                     _pct(c["remitters"], c["n_with_baseline"], c["remission_rate_itt"])])
    table = _table(rows, [20 * mm, 15 * mm, 17 * mm, 17 * mm] + [(BODY_W - 69 * mm) / 4] * 4, st)
    spans = [("SPAN", (4, r), (7, r)) for r, c in enumerate(rows) if r and c[5] == "" and c[4]]
    table.setStyle(TableStyle(spans))
    return table


def _charts(summary: dict, trajectory: pd.DataFrame, ctx: ReportContext) -> dict[str, Any]:
    """The figures the report prints, by name (only those with data)."""
    head = rd.headline_frame(summary, ctx.after_n)
    out: dict[str, Any] = {}
    if not head.empty:
        out["rates"] = figs.rates_figure(head, ctx.after_n)
    km = rd.km_frame(summary)
    if not km.empty:
        out["km"] = figs.km_figure(km, ctx.after_n)
    for name in ("PHQ-9", "GAD-7"):
        if not trajectory.empty and (trajectory["instrument"] == name).any():
            out[f"trajectory {name}"] = figs.median_trajectory_figure(trajectory, name)
    if "PHQ-9" in rd.instruments_with_courses(summary):
        cells = rd.by_clinic_frame(summary, "PHQ-9", ctx.after_n)
        out["clinics PHQ-9"] = figs.clinic_figure(cells, "PHQ-9", ctx.after_n, ctx.small_cell)
    return out


def _images(charts: dict[str, Any]) -> tuple[dict[str, Image], str | None]:
    try:
        pngs = render.figures_to_png(list(charts.values()))
    except render.ChartsUnavailable as exc:
        return {}, str(exc)
    width = BODY_W
    return {name: Image(io.BytesIO(png), width=width, height=width * 380 / 900)
            for name, png in zip(charts, pngs, strict=True)}, None


def _headline_section(summary: dict, ctx: ReportContext, st: dict, images: dict,
                      chart_error: str | None) -> list:
    """Title, facts, headline tiles and tables, the rates chart."""
    story: list = [Paragraph("Ketamine infusion outcomes", st["title"]),
                   Paragraph("Clinic quality report \u00b7 aggregate figures, no patient "
                             "identifiers", st["subtitle"]), Spacer(1, 8),
                   _facts(ctx, summary, st), Paragraph("Headline outcomes", st["h2"])]
    tiles = _kpi_tiles(summary, ctx.after_n, st)
    story += [tiles, Spacer(1, 8)] if tiles is not None else []
    story += _headline_tables(rd.headline_frame(summary, ctx.after_n), ctx.after_n, st)
    if chart_error:
        story.append(Paragraph(escape(f"Charts could not be drawn on this server "
                                      f"({chart_error[:200]}); the tables hold every figure."),
                               st["small"]))
    return story + ([Spacer(1, 6), images["rates"]] if "rates" in images else [])


def _course_section(summary: dict, ctx: ReportContext, st: dict, images: dict) -> list:
    """Time to response, NHS paired measures, item 9, score trajectories."""
    story: list = [CondPageBreak(70 * mm), Paragraph("Time to response", st["h2"])]
    story += [images["km"]] if "km" in images else []
    nhs = [["NHS Talking Therapies paired PHQ-9 + GAD-7 (latest)", "Courses", "Rate"]]
    nhs += [[label, n, "\u2013" if rate is None else f"{100 * rate:.1f}%"]
            for label, n, rate in rd.nhs_rows(summary)]
    story += [KeepTogether([Paragraph("Recovery (NHS Talking Therapies)", st["h2"]),
                            _table(nhs, [BODY_W - 50 * mm, 25 * mm, 25 * mm], st)])]
    item9 = rd.item9_rows(summary, ctx.after_n)
    if item9:
        rows = [["PHQ-9 item 9 (suicidal ideation)", "Courses"], *[[a, b] for a, b in item9]]
        story += [KeepTogether([Paragraph("Safety: PHQ-9 item 9", st["h2"]),
                                _table(rows, [BODY_W - 25 * mm, 25 * mm], st)])]
    trajectories = [images[k] for k in images if k.startswith("trajectory")]
    if trajectories:
        story += [CondPageBreak(90 * mm), Paragraph("Scores across the course", st["h2"]),
                  *trajectories,
                  Paragraph(f"Points with fewer than {ctx.small_cell} courses are left out.",
                            st["small"])]
    return story


def _clinic_section(summary: dict, ctx: ReportContext, st: dict, images: dict) -> list:
    story: list = [CondPageBreak(60 * mm), Paragraph("By clinic", st["h2"])]
    for name in rd.instruments_with_courses(summary):
        cells = rd.by_clinic_frame(summary, name, ctx.after_n)
        story += [KeepTogether([Paragraph(f"{name}, after infusion {ctx.after_n}", st["term"]),
                                Spacer(1, 2), _clinic_table(cells, ctx.small_cell, st)]),
                  Spacer(1, 6)]
    return story + ([images["clinics PHQ-9"]] if "clinics PHQ-9" in images else [])


def _definitions_section(ctx: ReportContext, st: dict) -> list:
    story: list = [CondPageBreak(60 * mm), Paragraph("Definitions", st["h2"])]
    for term, text in report_definitions(ctx.after_n, ctx.timepoint_rule, ctx.small_cell,
                                         ctx.madrs_remission_max):
        story += [Paragraph(f"<b>{escape(term)}.</b> {escape(text)}", st["body"]), Spacer(1, 3)]
    story.append(Paragraph("Source: the clinical contract (OUTCOMES.md). Figures count "
                           "courses; rates are fractions of the stated denominators.",
                           st["small"]))
    return story


def _story(summary: dict, trajectory: pd.DataFrame, ctx: ReportContext, st: dict) -> list:
    images, chart_error = _images(_charts(summary, trajectory, ctx))
    return [*_headline_section(summary, ctx, st, images, chart_error),
            *_course_section(summary, ctx, st, images),
            *_clinic_section(summary, ctx, st, images), *_definitions_section(ctx, st)]


def _page_decorator(ctx: ReportContext, font: str, bold: str):
    class NumberedCanvas(Canvas):
        """Draws the header band and 'page n of m' once every page is known."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(len(self._pages))
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            self.setFillColor(NAVY)
            self.rect(0, PAGE_H - 12 * mm, PAGE_W, 12 * mm, stroke=0, fill=1)
            self.setFillColor(colors.white)
            self.setFont(bold, 10)
            self.drawString(MARGIN, PAGE_H - 7.7 * mm, "Ketamine outcome tracker")
            self.setFont(font, 9)
            self.drawRightString(PAGE_W - MARGIN, PAGE_H - 7.7 * mm, "Clinic quality report")
            self.setFillColor(MUTED)
            self.setFont(font, 7.5)
            footer = (f"Generated {ctx.generated_at:%Y-%m-%d %H:%M} UTC by "
                      f"{ctx.generated_by} \u00b7 aggregate figures; small cells suppressed")
            self.drawString(MARGIN, 10 * mm, footer[:150])
            self.drawRightString(PAGE_W - MARGIN, 10 * mm,
                                 f"Page {self._pageNumber} of {total}")

    return NumberedCanvas


def build_report(summary: dict, trajectory: pd.DataFrame, ctx: ReportContext) -> bytes:
    """The report's PDF bytes."""
    font, bold = _fonts()
    st = _styles(font, bold)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=18 * mm, bottomMargin=16 * mm,
                            title="Clinic quality report", author=ctx.generated_by,
                            subject="Ketamine infusion outcomes (aggregate)")
    doc.build(_story(summary, trajectory, ctx, st), canvasmaker=_page_decorator(ctx, font, bold))
    return buffer.getvalue()
