"""The clinic quality report (PDF): it renders (first page not blank), carries the hand-
computed headline figures, the suppressed small cell, the filters and who made it."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest
from PIL import Image

from data.exports import ExportRequest, run_export
from figures import render as report_figures
from tests.data.exports.conftest import searchable_text


def _first_page_png(pdf: bytes, tmp_path) -> Image.Image:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(tmp_path / "page")], check=True)
    return Image.open(tmp_path / "page.png").convert("L")


def _text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True)
    return " ".join(done.stdout.decode("utf-8").split())


@pytest.fixture
def report(actors):
    return run_export(actor=actors["auditor"], request=ExportRequest("report", "pdf"))


def test_report_renders_with_charts(report, tmp_path):
    assert report.content.startswith(b"%PDF") and report.mime == "application/pdf"
    page = _first_page_png(report.content, tmp_path)
    low, high = page.getextrema()
    assert low < 100 and high == 255  # ink on paper, not a blank page
    dark = sum(page.histogram()[:200])
    assert dark > 0.02 * page.width * page.height
    assert report.content.count(b"/Subtype /Image") >= 4  # rates, KM, trajectories, clinics


def test_report_headline_figures(report):
    text = _text(report.content)
    assert "Ketamine infusion outcomes" in text and "Clinic quality report" in text
    # PHQ-9 after infusion 6: 8 courses with baseline, 7 evaluable, 4 responders, 2 remitters.
    assert "PHQ-9 8 8 7 4/7 (57.1%) 4/8 (50.0%) 2/7 (28.6%) 2/8 (25.0%)" in text
    # GAD-7: 15 -> 6 for the 7 evaluable courses: all respond (12 <= 15), none remit (6 > 4).
    assert "GAD-7 8 8 7 7/7 (100.0%) 7/8 (87.5%) 0/7 (0.0%) 0/8 (0.0%)" in text
    # Latest = after 6 here; reliable improvement P1 P2 P3 P5 P7 (>= 6 points), none worse.
    assert "PHQ-9 7 4/7 (57.1%) 2/7 (28.6%) 5 0" in text
    # NHS paired: 7 cases, recovered P3 P5 P7 (PHQ < 10, GAD 6 < 8), all GAD drops >= 4.
    assert "Recovered (of cases) 3 42.9%" in text
    assert "Reliable improvement (of paired) 7 100.0%" in text
    assert "Positive (>= 1) at baseline 0" in text
    # By clinic: CL2 (2 courses) suppressed, and CL1 with it (issue 15: the overall block
    # minus CL1's would give CL2's outcome): course counts only.
    assert "CL1 6 6 5 suppressed (with a smaller clinic, so neither can be derived)" in text
    assert "CL2 2 2 2 suppressed (fewer than 5 courses)" in text
    assert "audit.person" not in text and "by an auditor" in text  # no staff names
    assert "Definitions" in text and "2 x score <= baseline" in text
    assert "each patient's index (first) course" in text and "after infusion 6" in text


def test_report_states_its_filters(actors):
    result = run_export(actor=actors["director"], request=ExportRequest(
        "report", "pdf", start=date(2024, 4, 1), end=date(2024, 6, 30), after_n=3,
        timepoint_rule="next_pre"))
    text = _text(result.content)
    assert "from 2024-04-01 to 2024-06-30" in text
    assert "after infusion 3 (next pre-infusion score)" in text
    assert result.manifest["filters"]["course_start_from"] == "2024-04-01"


def test_report_without_charts_keeps_its_tables(actors, monkeypatch):
    def broken(figures, **kw):
        raise report_figures.ChartsUnavailable("no browser")

    monkeypatch.setattr(report_figures, "figures_to_png", broken)
    result = run_export(actor=actors["auditor"], request=ExportRequest("report", "pdf"))
    text = _text(result.content)
    assert "Charts could not be drawn on this server (no browser)" in text
    assert "4/7 (57.1%)" in text
    assert b"/Subtype /Image" not in result.content
    assert "Zyxwvut" not in searchable_text(result.content, "pdf")
