"""Shared helpers of the reliability tests (issue 6): score CSV files, table counts, the
store's integrity, and a summary file per test under tests/artifacts/."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from data.store.settings import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
SCORE_COLUMNS = ["patient_id", "clinic", "course_id", "infusion_number", "timepoint", "date",
                 "instrument", *(f"item_{n}" for n in range(1, 10))]
PHQ9_PRE = "222222221"  # 17, item 9 positive
PHQ9_POST = "111111110"  # 8, item 9 negative


def score_rows(prefix: str, patients: int, infusions: int, clinic: str = "CL1",
               item9_pre: str = "0") -> list[dict[str, str]]:
    """Pre and post PHQ-9 rows for `infusions` infusions of `patients` new patients
    (2 x patients x infusions rows; every patient code starts with `prefix`)."""
    rows = []
    for p in range(patients):
        for n in range(1, infusions + 1):
            day = f"2024-{1 + n // 28:02d}-{1 + n % 28:02d}"
            for timepoint, items in (("pre", PHQ9_PRE[:8] + item9_pre), ("post", PHQ9_POST)):
                rows.append({"patient_id": f"{prefix}{p:05d}", "clinic": clinic,
                             "course_id": "C1", "infusion_number": str(n),
                             "timepoint": timepoint, "date": day, "instrument": "PHQ-9",
                             **{f"item_{k}": v for k, v in enumerate(items, 1)}})
    return rows


def csv_bytes(rows: list[dict[str, str]], columns: list[str] = SCORE_COLUMNS,
              newline: str = "\n", encoding: str = "utf-8") -> bytes:
    lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
    return (newline.join(lines) + newline).encode(encoding)


def table_counts(engine) -> dict[str, int]:
    """Rows in every table of the store."""
    with Session(engine) as session:
        return {t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def integrity(path: str | Path) -> str:
    """SQLite's own check of a store file ('ok' when sound)."""
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check").fetchall())
    finally:
        conn.close()


def manage(*args: str, url: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """`python manage.py ARGS` against the store at `url`."""
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def write_summary(name: str, figures: dict) -> Path:
    """Record a test's figures in tests/artifacts/NAME.json (and print them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}{'-postgresql' if ON_POSTGRES else ''}.json"
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\n{name}: {json.dumps(figures, default=str)}")
    return path
