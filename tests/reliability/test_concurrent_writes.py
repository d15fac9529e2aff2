"""Issue 6.1: no entered score is lost when many clinicians save at once.

16 processes each save 200 infusions through the service layer (log_infusion with a pre
and a post PHQ-9, one course per process so saves never conflict), while 8 `import-scores`
runs (distinct patients per file) write to the same SQLite file and a dashboard reader
loops over load_observations / home_counts. Every save must succeed (a 'database is
locked' is a failure), every row must be there (infusions, assessments, alerts, audit
events counted exactly), the audit chain must verify and the reader must never fail nor
see a half-written save. The figures go to tests/artifacts/concurrent_writes.json.

On PostgreSQL (TEST_DATABASE_URL) the same test runs with fewer saves per process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from data.store import db
from data.store.audit import verify_chain
from data.store.settings import PROJECT_ROOT
from tests.clinical_factories import (
    PHQ9_POST,
    PHQ9_PRE,
    TODAY,
    infusion_input,
    make_course,
    make_patient,
    score,
)
from tests.factories import make_user
from tests.reliability.helpers import (
    ON_POSTGRES,
    csv_bytes,
    integrity,
    score_rows,
    table_counts,
    write_summary,
)

SAVERS = 16
SAVES = 40 if ON_POSTGRES else 200
IMPORTS = 8
IMPORT_PATIENTS, IMPORT_INFUSIONS = 5, 3  # 30 rows per file
JOIN_SECONDS = 600


def _use_store(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    from data.store.settings import get_settings

    get_settings.cache_clear()
    db.dispose_engines()


def _saver(url: str, actor, course_id: int, saves: int, barrier, out: str) -> None:
    """One clinician's session: `saves` infusions, each with its pre and post PHQ-9."""
    from data.clinic.infusions import log_infusion

    _use_store(url)
    ok, failures = 0, []
    barrier.wait(JOIN_SECONDS)
    for number in range(1, saves + 1):
        try:
            with db.write_session() as session:
                saved = log_infusion(
                    session, actor=actor, course_id=course_id, infusion=infusion_input(number),
                    scores=[score("PHQ-9", "pre", PHQ9_PRE), score("PHQ-9", "post", PHQ9_POST)],
                    today=TODAY)
            if saved.infusion is None or len(saved.assessments) != 2 or len(saved.alerts) != 1:
                failures.append(f"infusion {number}: incomplete save {saved}")
            else:
                ok += 1
        except Exception as exc:
            failures.append(f"infusion {number}: {type(exc).__name__}: {exc}")
    Path(out).write_text(f"{ok}\n" + "\n".join(failures), encoding="utf-8")


def _reader(url: str, actor, stop, out: str) -> None:
    """A dashboard: reload the outcome frame and the home counts until told to stop."""
    from data.analytics.observations import load_observations
    from data.analytics.overview import home_counts

    _use_store(url)
    loops, errors, last, odd = 0, [], 0, 0
    while not stop.is_set() or loops == 0:
        try:
            frame = load_observations(actor=actor)
            with db.read_session() as session:
                home_counts(session, actor=actor, today=TODAY)
            odd += len(frame) % 2  # every save and every file writes scores in pre/post pairs
            if len(frame) < last:
                errors.append(f"loop {loops}: {len(frame)} scores after {last}")
            last = len(frame)
        except Exception:
            errors.append(traceback.format_exc(limit=3))
        loops += 1
        time.sleep(0.05)  # a dashboard rerun, not a busy loop stealing the writers' CPU
    Path(out).write_text(f"{loops}\n{odd}\n" + "\n".join(errors), encoding="utf-8")


def _import(url: str, path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "manage.py", "import-scores", str(path)],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_savers(barrier, savers: list) -> None:
    """Join the savers' barrier, failing at once (not after JOIN_SECONDS) if one dies first."""
    deadline = time.monotonic() + JOIN_SECONDS
    while barrier.n_waiting < len(savers):
        dead = [i for i, p in enumerate(savers) if p.exitcode is not None]
        if dead or time.monotonic() > deadline:
            barrier.abort()
            for process in savers:
                process.join(30)
            pytest.fail(f"saver(s) {dead} exited before the start (exit codes "
                        f"{[savers[i].exitcode for i in dead]})" if dead
                        else f"the savers were not ready after {JOIN_SECONDS} s")
        time.sleep(0.1)
    barrier.wait(JOIN_SECONDS)


@pytest.mark.slow
def test_concurrent_saves_and_imports_lose_nothing(store_url, engine, tmp_path):
    clinician = make_user("dr.busy", "clinician", ("CL1",))
    director = make_user("dr.reads", "director", ("CL1",))
    courses = [make_course(clinician, make_patient(clinician, f"LOAD-{i:02d}"))
               for i in range(SAVERS)]
    files = []
    for k in range(IMPORTS):
        files.append(tmp_path / f"import{k}.csv")
        files[-1].write_bytes(csv_bytes(score_rows(f"IMP{k}-", IMPORT_PATIENTS,
                                                   IMPORT_INFUSIONS)))
    before = table_counts(engine)
    db.dispose_engines()  # the children open their own connections

    ctx = mp.get_context("spawn")
    barrier, stop = ctx.Barrier(SAVERS + 1), ctx.Event()
    savers = [ctx.Process(target=_saver, args=(store_url, clinician, course, SAVES, barrier,
                                               str(tmp_path / f"saver{i}.txt")))
              for i, course in enumerate(courses)]
    reader = ctx.Process(target=_reader, args=(store_url, director, stop,
                                               str(tmp_path / "reader.txt")))
    started = time.monotonic()
    for process in [reader, *savers]:
        process.start()
    _wait_for_savers(barrier, savers)  # every saver is ready: the writes start together
    imports = [_import(store_url, path) for path in files]
    results = [(*p.communicate(timeout=JOIN_SECONDS), p.returncode) for p in imports]
    for process in savers:
        process.join(JOIN_SECONDS)
    stop.set()
    reader.join(120)
    seconds = time.monotonic() - started

    saved, failures = 0, []
    for i, process in enumerate(savers):
        text = (tmp_path / f"saver{i}.txt").read_text(encoding="utf-8").splitlines()
        saved += int(text[0])
        failures += text[1:]
        assert process.exitcode == 0, f"saver {i} exited with {process.exitcode}"
    import_failures = [f"{files[k].name}: exit {code}: {err.strip()}"
                       for k, (_out, err, code) in enumerate(results) if code != 0]
    loops, odd, *read_errors = (tmp_path / "reader.txt").read_text(encoding="utf-8").splitlines()
    after = table_counts(engine)
    added = {name: after[name] - before[name] for name in after}

    attempted = SAVERS * SAVES
    rows_per_file = 2 * IMPORT_PATIENTS * IMPORT_INFUSIONS
    expected = {
        "infusion": attempted + IMPORTS * IMPORT_PATIENTS * IMPORT_INFUSIONS,
        "assessment": 2 * attempted + IMPORTS * rows_per_file,
        "safetyalert": attempted,  # each save's pre PHQ-9 has item 9 = 1; the files' have 0
        "patient": IMPORTS * IMPORT_PATIENTS,
        "course": IMPORTS * IMPORT_PATIENTS,
        # per save: infusion, 2 assessments, 1 alert opened; per file: one import event
        "audit_event": 4 * attempted + IMPORTS,
    }
    with db.read_session(engine) as session:
        intact, _broken, message = verify_chain(session)
    figures = {
        "backend": engine.dialect.name, "saver_processes": SAVERS, "saves_per_process": SAVES,
        "saves_attempted": attempted, "saves_succeeded": saved,
        "save_errors": len(failures), "imports_attempted": IMPORTS,
        "imports_succeeded": IMPORTS - len(import_failures),
        "score_rows_attempted": 2 * attempted + IMPORTS * rows_per_file,
        "rows_lost": {name: expected[name] - added[name] for name in expected},
        "reader_loops": int(loops), "reader_errors": len(read_errors),
        "reader_saw_half_saves": int(odd), "audit_chain": message,
        "seconds": round(seconds, 1),
        "integrity_check": integrity(engine.url.database) if not ON_POSTGRES else "n/a",
    }
    write_summary("concurrent_writes", figures)

    assert failures == [], failures[:5]
    assert import_failures == [], import_failures
    assert saved == attempted
    assert {name: added[name] for name in expected} == expected
    assert read_errors == [] and int(odd) == 0, read_errors[:3]
    assert int(loops) > 1
    assert intact, message
    assert figures["integrity_check"] in ("ok", "n/a")
