"""Issue 6.2: an import killed at any moment leaves a sound store with all of the file or
none of it.

`python manage.py import-scores FILE` (3,000 rows) is killed with SIGKILL 22 times at
seeded random moments: 11 spread over the whole import (one in each eleventh of the time
from its start to its commit, measured by a first, uninterrupted run) and 11 inside its write transaction
(a random fraction of the write time that first run measured, counted from the moment
the import takes the store's writer lock, data/store/db.py). When the machine's load makes
some imports finish before their kill, more kills early in the run follow until 20
landed mid-import (at most 40 attempts). After each kill:
`PRAGMA integrity_check` is ok, the file's patients have all 3,000 scores or none, the
import audit event is there exactly when the rows are, and the audit chain verifies.
SQLite only (PostgreSQL's crash safety is its own WAL). Figures:
tests/artifacts/crash_safety.json.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data.store import db
from data.store.audit import verify_chain
from data.store.settings import PROJECT_ROOT
from models.tables import Assessment, AuditEvent, Course, Infusion, Patient
from tests.reliability.helpers import (
    ON_POSTGRES,
    csv_bytes,
    integrity,
    manage,
    score_rows,
    write_summary,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(ON_POSTGRES, reason="SQLite file crash safety")]

SEED = 20_260_601
PATIENTS, INFUSIONS = 100, 15  # 3,000 rows per file
ROWS = 2 * PATIENTS * INFUSIONS
SPREAD_KILLS, WRITE_KILLS = 11, 11
# Kills that must land mid-import; on a loaded machine an import can run faster than the
# calibration run and finish before its kill, so extra kills (early in the run) are
# made until this many landed, up to MAX_ATTEMPTS in all.
MIN_KILLS, MAX_ATTEMPTS = 20, 40


def _start(url: str, path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "manage.py", "import-scores", str(path)],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _writer_busy(lock_path: str) -> bool:
    """True while an import holds the store's writer lock (its write transaction)."""
    fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _calibrate(url: str, path: Path, lock_path: str) -> tuple[float, float, float]:
    """Run one import to the end: (duration, write start, write end) in seconds."""
    started = time.monotonic()
    process = _start(url, path)
    write = []
    while process.poll() is None:
        if _writer_busy(lock_path):
            write.append(time.monotonic() - started)
        time.sleep(0.005)
    duration = time.monotonic() - started
    assert process.returncode == 0, process.stderr.read().decode()
    return duration, (write[0] if write else 0.8 * duration), (write[-1] if write else duration)


def _state(engine, prefix: str) -> dict[str, int]:
    """The file's rows in the store (its patients' courses, infusions and scores)."""
    with db.read_session(engine) as session:
        mine = Patient.patient_code.like(f"{prefix}%")
        count = {
            "patients": select(func.count()).select_from(Patient).where(mine),
            "courses": select(func.count()).select_from(Course).join(Patient).where(mine),
            "infusions": select(func.count()).select_from(Infusion).join(Course).join(Patient)
            .where(mine),
            "assessments": select(func.count()).select_from(Assessment).join(Course)
            .join(Patient).where(mine),
        }
        state = {name: session.execute(query).scalar_one() for name, query in count.items()}
        state["import_events"] = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import")
        ).scalar_one()
        intact, _broken, message = verify_chain(session)
    state["chain"] = message if intact else f"BROKEN: {message}"
    return state


ALL = {"patients": PATIENTS, "courses": PATIENTS, "infusions": PATIENTS * INFUSIONS,
       "assessments": ROWS}
NONE = dict.fromkeys(ALL, 0)


def test_import_killed_at_random_moments_leaves_all_or_nothing(store_url, engine, tmp_path):
    database = engine.url.database
    lock_path = f"{database}-writelock"
    def file_for(k: int) -> Path:
        path = tmp_path / f"scores{k}.csv"
        path.write_bytes(csv_bytes(score_rows(f"K{k:02d}-", PATIENTS, INFUSIONS)))
        return path

    db.dispose_engines()
    duration, write_start, write_end = _calibrate(store_url, file_for(0), lock_path)
    assert {k: v for k, v in _state(engine, "K00-").items() if k in ALL} == ALL

    rng = random.Random(SEED)
    span, write_span = write_end / SPREAD_KILLS, (write_end - write_start) / WRITE_KILLS
    # (moment, seconds after it): the start of the run, or the taking of the writer lock
    delays = [("start", span * (k + rng.random())) for k in range(SPREAD_KILLS)]
    delays += [("write", write_span * (k + rng.random())) for k in range(WRITE_KILLS)]
    imports_done, kills, in_write, outcomes = 1, 0, 0, []
    k = 0
    while k < len(delays) or (kills < MIN_KILLS and k < MAX_ATTEMPTS):
        moment, delay = delays[k] if k < len(delays) else ("start", write_start * rng.random())
        k += 1
        process = _start(store_url, file_for(k))
        while moment == "write" and process.poll() is None and not _writer_busy(lock_path):
            time.sleep(0.002)
        time.sleep(delay)
        busy = _writer_busy(lock_path)
        finished = process.poll() is not None
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        db.dispose_engines()
        check = integrity(database)
        state = _state(engine, f"K{k:02d}-")
        rows = {name: state[name] for name in ALL}
        kept = rows == ALL
        imports_done += kept
        kills += not finished
        in_write += busy and not finished
        outcomes.append({"after": moment, "delay_s": round(delay, 2), "in_write_transaction": busy,
                         "finished_before_kill": finished, "rows_kept": rows["assessments"],
                         "integrity": check, "chain": state["chain"]})
        assert check == "ok", outcomes[-1]
        assert rows in (ALL, NONE), outcomes[-1]
        assert state["import_events"] == imports_done, outcomes[-1]  # event iff rows
        assert state["chain"].startswith("audit trail intact"), outcomes[-1]

    verify = manage("verify-audit", url=store_url)
    figures = {
        "rows_per_file": ROWS, "seed": SEED, "import_seconds": round(duration, 2),
        "write_transaction_s": [round(write_start, 2), round(write_end, 2)],
        "kill_attempts": k, "killed_mid_import": kills,
        "killed_inside_write_transaction": in_write,
        "imports_complete": imports_done - 1, "survived": sum(
            o["integrity"] == "ok" and o["chain"].startswith("audit trail intact")
            for o in outcomes),
        "verify_audit_exit": verify.returncode, "outcomes": outcomes,
    }
    write_summary("crash_safety", figures)
    assert verify.returncode == 0, verify.stderr
    assert kills >= MIN_KILLS, figures
    assert in_write >= 1, figures
