"""The Outcomes page in a real browser, after one save (issue 13): how long a medical
director waits for the headline when a clinician has just saved an infusion.

A `streamlit run` server on the store, Debian's chromium through Playwright, the
director signed in. Each round: from Today, open Outcomes and time the click until the
headline's first metric shows (the warm figure); then one infusion with PHQ-9 and GAD-7
pre and post scores is saved through the service (bench/app_probe.py ``_save_one``, in
this process, on the same store), and the same click is timed again (the after-save
figure). The first open of the page (the server's cold caches) is reported too.

Run by bench/run.py (``--only browser``) and by tests/browser/test_outcomes_after_save.py,
which reports the figure and checks the headline after the save equals the command line's;
the threshold (1 s) lives in the benchmark, not in the test.

    python bench/browser_probe.py --database-url URL --repeat 3
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "demo-password"  # the demo and benchmark stores' accounts
HEADLINE = "After infusion 6"


def sign_in(page: Any, username: str) -> None:
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Today").wait_for()


def headline_metric(page: Any) -> Any:
    """The first headline metric's value (response, observed, after infusion N)."""
    return page.locator('[data-testid="stMetric"]').filter(
        has_text="Response · observed").first.locator('[data-testid="stMetricValue"]')


def open_outcomes_ms(page: Any) -> float:
    """From Today: click Outcomes, milliseconds until the headline's first metric shows."""
    if not page.get_by_role("heading", name="Today").is_visible():
        page.get_by_role("link", name="Today").click()
        page.get_by_role("heading", name="Today").wait_for()
        page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for()
    start = time.perf_counter()
    page.get_by_role("link", name="Outcomes").click()
    page.get_by_text(HEADLINE, exact=True).wait_for()
    headline_metric(page).wait_for()
    elapsed = (time.perf_counter() - start) * 1000
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for()
    return elapsed


def measure(url: str, page: Any, repeat: int, *, save: Any = None) -> dict[str, Any]:
    """Sign in as the director on ``url`` and time Outcomes: the first open, then per round
    the warm open and the open after one save. ``save(index)`` saves one infusion."""
    if save is None:
        from bench.app_probe import _save_one as save
    page.goto(url)
    sign_in(page, "demo.director")
    first = open_outcomes_ms(page)
    warm, after_save = [], []
    for index in range(repeat):
        warm.append(open_outcomes_ms(page))
        save(index)
        after_save.append(open_outcomes_ms(page))
    return {"first_open_ms": first, "warm_ms": warm, "after_save_ms": after_save}


def run(url: str, repeat: int) -> dict[str, Any]:
    """The whole probe on a store: server, browser, rounds."""
    from playwright.sync_api import sync_playwright

    from data.store.settings import get_settings
    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, app_server

    get_settings.cache_clear()
    with app_server(url, seconds=300) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        page.set_default_timeout(600_000)
        try:
            return measure(server, page, repeat)
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import os

    os.environ["DATABASE_URL"] = args.database_url
    print(json.dumps(run(args.database_url, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
