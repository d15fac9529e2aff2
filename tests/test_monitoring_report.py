"""The progress report (PDF) carries each infusion's monitoring in its sessions table and
the visits held for blood pressure under it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from data.analytics.patient_view import load_patient_view
from models.access import SYSTEM
from outcomes.trajectory import course_outcomes
from tests.clinical_factories import PHQ9_POST, PHQ9_PRE, log, make_course, make_patient, score
from tests.factories import make_user
from tests.screenshots import SHOTS
from ui.patient_outcomes import progress_report_pdf
from ui.progress_report import monitoring_summary

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="needs poppler-utils (pdftotext)")


def test_monitoring_summary_words_only_what_was_recorded():
    dash = "—"
    assert monitoring_summary({"sedation (MOAA/S)": dash, "dissociation": dash,
                               "ready for discharge (min)": dash, "BP decision": dash,
                               "adverse events": "none recorded"}) == ""
    assert monitoring_summary({"sedation (MOAA/S)": "0", "dissociation": "severe",
                               "ready for discharge (min)": dash, "BP decision": dash,
                               "adverse events": "x (serious); action: y"}) == (
        "MOAA/S 0 · dissociation severe · AE: x (serious); action: y")


def test_the_report_shows_monitoring_and_held_visits(store_url, tmp_path):
    clin = make_user("clin", "clinician", ("CL1",))
    pid = make_patient(clin, code="P-9")
    course = make_course(clin, pid)
    log(clin, course, 1, bp_sys_before=172, bp_dia_before=96, bp_decision="rescheduled",
        bp_decision_reason="stays above 170", dose_mg_per_kg=None)
    log(clin, course, 1, scores=[score("PHQ-9", "pre", PHQ9_PRE),
                                 score("PHQ-9", "post", PHQ9_POST)],
        sedation_moaas=4, dissociation="moderate", discharge_ready_minutes=50,
        adverse_events=[{"category": "nausea or vomiting", "severity": "mild",
                         "action_taken": "ondansetron"}])
    view = load_patient_view(actor=SYSTEM, patient_id=pid)
    outcomes = course_outcomes(view.observations, after_n=6, remission_max={"MADRS": 10})
    path = tmp_path / "report.pdf"
    path.write_bytes(progress_report_pdf(view, 1, outcomes, generated_by="clin"))
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    for expected in ("MOAA/S 4", "dissociation moderate", "discharge 50 min",
                     "nausea or vomiting (mild)", "Held for blood pressure (no ketamine given)",
                     "rescheduled before infusion 1, BP 172/96, stays above 170"):
        assert expected in text, expected
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "110", "-singlefile", str(path),
                        str(SHOTS / "progress-report-monitoring")], check=True)
