"""End to end in a real Chromium: the demo clinic's Outcomes page and a patient's outcome
view, against `streamlit run` on a temporary store seeded with the demo cohort.

Screenshots (outcomes-*.png, patient-trajectory.png) go to tests/screenshots.py's folder. Skipped
only when /usr/bin/chromium is missing and CI is not set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data.store.settings import PROJECT_ROOT
from tests.browser.helpers import app_server
from tests.screenshots import SHOTS

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason="needs /usr/bin/chromium (required in CI)"),
]


def _manage(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'clinic.db'}"
    _manage(url, "init-db")
    _manage(url, "seed-demo", "--patients", "120", "--seed", "42")
    return url


@pytest.fixture(scope="module")
def server(demo_url):
    with app_server(demo_url) as url:
        yield url


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists()
                                    else shutil.which("chromium"), args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                      accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server)
        yield page
        browser.close()


def sign_in(page, username: str) -> None:
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Today").wait_for()  # clinicians, directors


def open_outcomes(page) -> None:
    page.get_by_role("link", name="Outcomes").click()
    page.get_by_text("After infusion 6", exact=True).wait_for()
    page.wait_for_load_state("networkidle")
    page.locator(".js-plotly-plot").first.wait_for()


def metric_value(page, label: str, group: str | None = None) -> str:
    """The value of the metric whose label starts with ``label`` (inside ``group``'s box)."""
    scope = page
    if group:
        scope = page.locator('[data-testid="stVerticalBlock"]').filter(
            has=page.get_by_text(group, exact=True)).last
    metric = scope.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(200)  # a click's rerun starts
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for()
    page.wait_for_timeout(1200)  # plotly animates its first draw


def open_section(page, tab: str, shown: str) -> None:
    """Click a section's tab (a tab change reruns the page: only the open section runs)
    and wait for a text the section shows."""
    page.get_by_role("tab", name=tab).click()
    page.get_by_text(shown, exact=True).first.wait_for()


def shoot(page, name: str) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main section, so the
    viewport is stretched to the section's height first."""
    settle(page)
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]');"
                           " return m ? m.scrollHeight : document.body.scrollHeight; }")
    page.set_viewport_size({"width": 1440, "height": min(max(1000, height + 40), 7000)})
    settle(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_director_sees_clinic_outcomes_matching_the_command_line(page, demo_url):
    sign_in(page, "demo.director")
    open_outcomes(page)
    summary = json.loads(_manage(demo_url, "export", "outcomes").stdout)["PHQ-9"]
    after = summary["after_infusion_6"]
    for label, rate in (("Response · observed", "response_rate_observed"),
                        ("Response · ITT", "response_rate_itt"),
                        ("Remission · observed", "remission_rate_observed"),
                        ("Remission · ITT", "remission_rate_itt")):
        assert metric_value(page, label, "After infusion 6") == f"{100 * after[rate]:.1f} %"
    latest = summary["overall_latest"]["response_rate_observed"]
    assert metric_value(page, "Response · observed", "At the latest score") == (
        f"{100 * latest:.1f} %")
    shoot(page, "outcomes-headline")
    open_section(page, "Breakdowns", "By indication")
    shoot(page, "outcomes-breakdowns")
    for tab, shown, shot in (("Durability", "Staying in response", "outcomes-durability"),
                             ("Safety & data quality", "Side effects per infusion",
                              "outcomes-safety"),
                             ("Needs attention", "Open outcome view", "outcomes-attention"),
                             ("Retention & fair comparison", "Retention through the induction",
                              "outcomes-review")):
        open_section(page, tab, shown)
        shoot(page, shot)


def test_no_metric_is_cut_at_a_tablets_width(page):
    """At 820 px the sidebar leaves ~470 px to the page: the headline's metrics sit ~100 px
    wide, where a value was cut to "52...." and a label to "Response..." (ui/style.py)."""
    page.set_viewport_size({"width": 820, "height": 1100})
    sign_in(page, "demo.director")
    open_outcomes(page)
    settle(page)
    cut = page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stMetricValue"] .stMarkdownEllipsis,'
        + ' [data-testid="stMetricLabel"] .stMarkdownEllipsis')]
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""")
    shown = page.locator('[data-testid="stMetricValue"]').count()
    assert shown >= 8  # the headline's two boxes of four, and the change and safety rows
    assert cut == []


def test_clinician_opens_a_patient_trajectory_and_report(page, tmp_path):
    sign_in(page, "demo.clin1")
    open_outcomes(page)
    open_section(page, "Needs attention", "Open outcome view")
    page.get_by_role("button", name="Open outcome view").click()
    page.get_by_role("heading", name="Outcome trajectory").wait_for()
    page.get_by_text("is the patient better than at baseline?").wait_for()
    assert metric_value(page, "Baseline")
    page.locator(".js-plotly-plot").first.wait_for()
    shoot(page, "patient-trajectory")
    page.get_by_role("button", name="Prepare progress report (PDF)").click()
    with page.expect_download(timeout=90_000) as download:
        page.get_by_role("button", name="Download progress report (PDF)").click()
    target = tmp_path / "report.pdf"
    download.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")
