"""Run in a subprocess by bench/run.py: the app's heaviest read path (the clinic-wide
outcome summary, then the Outcomes page rendered in AppTest, cold and warm), beside the
bare floor page, and the process's peak memory (max RSS). Prints one JSON object.

    python bench/app_probe.py --database-url URL --repeat N
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "demo-password"  # data.seed.seed.seed_demo's default
TIMEOUT = 900


def _run(at) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"the page raised: {at.exception}")
    return elapsed


def _outcomes_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.run()
    at.text_input(key="sign_in_username").input("demo.director")
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    at.switch_page("pages/outcomes.py")
    return at


def _save_one(index: int) -> None:
    """One infusion with PHQ-9 and GAD-7 pre and post scores on an existing course."""
    from sqlalchemy import func, select

    from bench.figures import GAD7_POST, GAD7_PRE, PHQ9_POST, PHQ9_PRE, TODAY, director
    from data.clinic.infusions import log_infusion
    from data.store.db import read_session, write_session
    from models.tables import Infusion

    with read_session() as session:
        courses = session.exec(select(func.count(func.distinct(Infusion.course_id)))).one()[0]
        course_id, number = session.exec(
            select(Infusion.course_id, func.max(Infusion.number))
            .group_by(Infusion.course_id).order_by(Infusion.course_id)
            .offset(97 * (index + 1) % courses).limit(1)).one()
    scores = [{"instrument": name, "timepoint": timepoint, "items": items}
              for name, timepoint, items in (("PHQ-9", "pre", PHQ9_PRE), ("GAD-7", "pre", GAD7_PRE),
                                             ("PHQ-9", "post", PHQ9_POST),
                                             ("GAD-7", "post", GAD7_POST))]
    with write_session() as session:
        log_infusion(session, actor=director(), course_id=course_id, today=TODAY,
                     infusion={"number": number + 1, "administered_on": TODAY,
                               "infusion_type": "booster", "route": "IV",
                               "dose_mg_per_kg": 0.5, "weight_kg": 70.0},
                     scores=scores)


def probe(url: str, repeat: int, warm_runs: int) -> dict:
    from bench.figures import director
    from bench.stores import use_store

    use_store(url)
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from data.analytics.outcome_report import OutcomeFilters, outcome_summary
    from ui.outcome_cache import forget_store_facts

    floor = AppTest.from_file(str(ROOT / "bench" / "floor_page.py"), default_timeout=TIMEOUT)
    floor_cold = _run(floor)  # first run: imports plotly and the page
    outcome_summary(actor=director(), filters=OutcomeFilters())
    page = _outcomes_page()
    first = _run(page)  # the first render also imports the page's modules
    cold, floors_cold = [], []
    for _ in range(repeat):
        st.cache_data.clear()
        forget_store_facts()  # the facts kept across versions (ui.outcome_cache) too
        floors_cold.append(_run(AppTest.from_file(str(ROOT / "bench" / "floor_page.py"),
                                                  default_timeout=TIMEOUT)))
        cold.append(_run(page))
    warm, floors = [], []
    for _ in range(warm_runs):
        floors.append(_run(floor))
        warm.append(_run(page))
    from ui.outcome_cache import UPDATE_SECONDS, start_updates, stop_updates, wait_for_updates

    start_updates()  # as dashboard.py does in the app (its run above did it already)
    saved, floors_saved, updates = [], [], []
    for index in range(repeat):  # a clinician saves one infusion, then the page reruns
        UPDATE_SECONDS.clear()
        _save_one(index)
        wait_for_updates()  # the worker's patch of the kept frames, timed apart
        updates.extend(UPDATE_SECONDS)
        floors_saved.append(_run(floor))
        saved.append(_run(page))
    stop_updates()  # the save of another server process: the render patches the frames
    self_patched = []
    for index in range(repeat):
        _save_one(repeat + index)
        _run(floor)
        self_patched.append(_run(page))
    n_charts = len(page.get("plotly_chart"))
    n_tables = len(page.dataframe)
    from bench.export_probe import peak_rss  # VmHWM: ru_maxrss carries the parent's peak

    peak = peak_rss()
    return {"first_render_s": first, "cold_s": cold, "floor_cold_s": floors_cold,
            "floor_first_s": floor_cold, "warm_s": warm, "floor_warm_s": floors,
            "after_save_s": saved, "floor_after_save_s": floors_saved,
            "update_after_save_s": updates, "after_save_self_patched_s": self_patched,
            "charts": n_charts, "tables": n_tables, "peak_rss_bytes": peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=7)
    args = parser.parse_args()
    result = probe(args.database_url, args.repeat, args.warm_runs)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
