"""Issue 13 in a real browser: a clinician saves an infusion, the medical director opens
Outcomes. The test reports how long the headline took (the threshold, 1 s, lives in the
benchmark: `python bench/run.py --only browser`), and checks that what the page shows
after the save is the store's new state: the headline equals `manage.py export
outcomes` run after the save."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.browser_probe import headline_metric, measure
from data.store.settings import PROJECT_ROOT
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, app_server, require_playwright

pytestmark = pytest.mark.browser


def _manage(url: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT,
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _save_one(url: str, folder, index: int) -> None:
    """A new patient's first infusion with PHQ-9 pre 20 and post 8 (a responder, in
    remission), written by the score import in its own process, as a save on another
    server would be: one more course with a baseline, evaluable at the latest score."""
    csv = folder / f"save-{index}.csv"
    head = "patient_id,clinic,infusion_number,timepoint,date,instrument,total\n"
    csv.write_text(head + f"AFTER-SAVE-{index},DEMO-N,1,pre,2026-11-30,PHQ-9,20\n"
                   f"AFTER-SAVE-{index},DEMO-N,1,post,2026-11-30,PHQ-9,8\n", encoding="utf-8")
    _manage(url, "import-scores", str(csv))


def test_outcomes_after_one_save_shows_the_new_headline_and_reports_its_time(tmp_path):
    sync_playwright = require_playwright()
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    _manage(url, "init-db")
    _manage(url, "seed-demo", "--patients", "120", "--seed", "42")
    before = json.loads(_manage(url, "export", "outcomes"))["PHQ-9"]["overall_latest"]

    with app_server(url) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        figures = measure(server, page, 1, save=lambda index: _save_one(url, tmp_path, index))
        shown = headline_metric(page).inner_text().strip()
        caption = page.get_by_text("course(s) with PHQ-9 scores").first.inner_text()
        latest = page.locator('[data-testid="stVerticalBlock"]').filter(
            has=page.get_by_text("At the latest score", exact=True)).last.locator(
            '[data-testid="stMetric"]').filter(has_text="Response · observed").first.locator(
            '[data-testid="stMetricValue"]').inner_text().strip()
        browser.close()

    print(f"\nOutcomes headline in a browser (demo store, 120 patients): first open "
          f"{figures['first_open_ms']:.0f} ms, warm {figures['warm_ms'][0]:.0f} ms, "
          f"after one save {figures['after_save_ms'][0]:.0f} ms")
    after = json.loads(_manage(url, "export", "outcomes"))["PHQ-9"]
    assert after["overall_latest"]["n_courses"] == before["n_courses"] + 1  # the save counts
    assert caption.startswith(f"{after['after_infusion_6']['n_courses']} course(s)")
    assert f"{after['overall_latest']['n_evaluable']} at the latest score" in caption
    assert shown == f"{100 * after['after_infusion_6']['response_rate_observed']:.1f} %"
    assert latest == f"{100 * after['overall_latest']['response_rate_observed']:.1f} %"
    assert len(figures["after_save_ms"]) == 1 and figures["after_save_ms"][0] > 0
