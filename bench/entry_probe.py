"""Fast entry (issue 12 item 2): server time of one radio tap on the infusion screen, where
each questionnaire is an `st.fragment` so a tap reruns only that questionnaire.

AppTest always reruns the whole script; a browser tap inside a fragment asks for a
fragment-scoped rerun (RerunData.fragment_id_queue). `FragmentTaps` makes AppTest send
the same request, so the timed run is what the server does for a tap. The floor, in the
same run and alternating: the same fragment-scoped tap on a bare page holding one
fragment with ten radios and a live total (bench/floor_fragment.py). For reference the
note gives a full rerun of the infusion page (what every tap cost before).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-password"  # data.seed.seed.seed_demo's default
TIMEOUT = 120


@contextlib.contextmanager
def fragment_scoped(fragment_id: str | None) -> Iterator[None]:
    """Runs of AppTest inside this block are fragment-scoped reruns of `fragment_id` (the
    request a browser sends for a widget inside that fragment)."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    if fragment_id is None:
        yield
        return
    original = ScriptRunner._run_script

    def run_script(self, rerun_data):
        return original(self, dataclasses.replace(rerun_data,
                                                  fragment_id_queue=[fragment_id]))

    ScriptRunner._run_script = run_script
    try:
        yield
    finally:
        ScriptRunner._run_script = original


def _fragment_of(at, key: str) -> str:
    """The id of the fragment that draws the widget `key` (each fragment run alone once:
    its run's elements are its own only)."""
    for fragment_id in list(at._fragment_storage._fragments):
        with fragment_scoped(fragment_id):
            at.run()
        if any(getattr(w, "key", None) == key for w in at.radio) and not at.title:
            return fragment_id
    raise RuntimeError(f"no fragment draws {key}")


def _taps(at, key_of, fragment_id: str, n: int, check) -> list[float]:
    """Seconds per tap: answer items 1..n in turn (values cycling), fragment-scoped."""
    samples = []
    for tap in range(n):
        item = tap % 9 + 1
        at.radio(key=key_of(item)).set_value(tap % 4)
        with fragment_scoped(fragment_id):
            start = time.perf_counter()
            at.run()
            samples.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"the page raised: {at.exception}")
        check(at)
    return samples


def _infusion_page(patient_id: int):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.run()
    at.text_input(key="sign_in_username").input("demo.director")
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    at.session_state["patient_id"] = patient_id
    at.switch_page("pages/infusion.py").run()
    if at.exception or not at.tabs:
        raise RuntimeError(f"the infusion form did not open: {at.exception}")
    return at


def _new_patient() -> int:
    """A patient with an active course and no infusion (the form opens, no course question)."""
    from datetime import UTC, date, datetime

    from sqlmodel import select

    from bench.figures import director
    from data.clinic.infusions import start_course
    from data.clinic.patients import register_patient
    from data.store.db import read_session, write_session
    from models.tables import Clinic

    actor = director()
    with read_session() as session:
        clinic_id = session.exec(select(Clinic.id).order_by(Clinic.id)).first()
    with write_session() as session:
        patient = register_patient(session, actor=actor, today=datetime.now(UTC).date(), patient={
            "clinic_id": clinic_id, "patient_code": f"BENCH-ENTRY-{time.time_ns()}",
            "birth_date": date(1980, 1, 1)})
        start_course(session, actor=actor, patient_id=patient.id)
        return patient.id


def fast_entry(taps: int) -> list:
    from streamlit.testing.v1 import AppTest

    from bench.report import Figure, Target, median, percentile

    at = _infusion_page(_new_patient())
    page_fragment = _fragment_of(at, "pre_PHQ-9_item_1")
    floor = AppTest.from_file(str(ROOT / "bench" / "floor_fragment.py"),
                              default_timeout=TIMEOUT)
    floor.run()
    floor_fragment = _fragment_of(floor, "floor_item_1")

    def page_check(app) -> None:
        if not any("PHQ-9" in s.value for s in [*app.success, *app.warning, *app.info]):
            raise RuntimeError("the tap did not redraw the live total")

    page, bare = [], []
    for _ in range(max(taps // 9, 1)):  # alternating blocks of 9 taps: floor, page
        bare += _taps(floor, lambda n: f"floor_item_{n}", floor_fragment, 9, lambda app: None)
        page += _taps(at, lambda n: f"pre_PHQ-9_item_{n}", page_fragment, 9, page_check)
    full = []
    for _ in range(5):
        start = time.perf_counter()
        at.run()  # a full rerun of the page (no fragment): what a tap cost before
        full.append(time.perf_counter() - start)
    ms = [s * 1000 for s in page]
    floor_ms = [s * 1000 for s in bare]
    label = "fast entry: server time of one radio tap (fragment rerun, AppTest)"
    floor_label = "the same tap on a bare page: one fragment, 10 radios, a live total"
    note = (f"{len(ms)} taps of the pre PHQ-9; a full rerun of the page: "
            f"{median([s * 1000 for s in full]):.0f} ms median")
    return [
        Figure("entry_tap_p50", f"{label}: p50", "ms", median(ms), median(floor_ms),
               floor_label, samples=ms, floor_samples=floor_ms),
        Figure("entry_tap_p90", f"{label}: p90", "ms", percentile(ms, 90),
               percentile(floor_ms, 90), floor_label,
               Target("max", 150, "p90 at most 150 ms"), note=note),
    ]
