"""The measured figures, each beside its floor measured in the same run on the same data.

Figure and floor runs alternate (floor first), so both see the same load from whatever
else runs on the machine. Times are wall-clock (``time.perf_counter``).
"""

from __future__ import annotations

import io
import random
import time
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
from sqlalchemy import text

from bench.report import Figure, Target, median, percentile
from bench.stores import TODAY, Scale

MS = 1000.0


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(figure: Callable[[], Any], floor: Callable[[], Any],
              repeat: int) -> tuple[list[float], list[float]]:
    """Seconds of `repeat` runs of each, floor and figure alternating."""
    figures, floors = [], []
    for _ in range(repeat):
        floors.append(timed(floor))
        figures.append(timed(figure))
    return figures, floors


def director():
    """The demo director (all clinics): the widest scope, the heaviest reads."""
    from sqlmodel import select

    from data.accounts.users import actor_for
    from data.store.db import read_session
    from models.tables import User

    with read_session() as session:
        user = session.exec(select(User).where(User.username == "demo.director")).one()
        return actor_for(session, user)


def driver_connection():
    """A raw DBAPI connection (sqlite3 or psycopg) to the store, for the floors."""
    from data.store.db import get_engine

    return get_engine().raw_connection()


def read_sql(sql: str, conn) -> pd.DataFrame:
    with warnings.catch_warnings():  # pandas warns about non-sqlite3 DBAPI connections
        warnings.simplefilter("ignore", UserWarning)
        return pd.read_sql(sql, conn.driver_connection)


# --- patient view ---------------------------------------------------------------------

def patient_view(scale: Scale, seed: int) -> Figure:
    """What the patient record page reads: the record (courses, item 9, corrections) and
    the outcome view (observations, infusions, alerts, protocol)."""
    from data.analytics.patient_view import load_patient_view
    from data.clinic.records import patient_record
    from data.store.db import read_session

    actor = director()
    with read_session() as session:
        ids = session.execute(text("SELECT id FROM patient ORDER BY id")).scalars().all()
    chosen = random.Random(seed).sample(list(ids), min(scale.patient_views, len(ids)))

    def load(patient_id: int) -> None:
        with read_session() as session:
            patient_record(session, actor=actor, patient_id=patient_id)
        load_patient_view(actor=actor, patient_id=patient_id)

    load(chosen[0])  # warm-up: imports, connection pool
    samples = [timed(lambda p=p: load(p)) * MS for p in chosen]
    return Figure("patient_view", "patient view data load (record + outcome view)", "ms",
                  median(samples), target=Target("max", 50, "under 50 ms"), samples=samples,
                  note=f"p90 {percentile(samples, 90):.1f} ms over {len(samples)} patients")


# --- clinic-wide outcome summary ------------------------------------------------------

# The per-score columns any outcome summary must read (the engine's: course, infusion,
# instrument, timepoint, date, total, item 9); the narrow variant (course, instrument,
# timepoint, total) is reported beside it in the figure's note.
SUMMARY_FLOOR_SQL = ("SELECT course_id, infusion_id, instrument, timepoint, administered_on, "
                     "total, item9 FROM assessment")
NARROW_FLOOR_SQL = "SELECT course_id, instrument, timepoint, total FROM assessment"


def summary_floor(sql: str = SUMMARY_FLOOR_SQL) -> None:
    conn = driver_connection()
    try:
        scores = read_sql(sql, conn)
        scores.groupby(["course_id", "instrument"])["total"].agg(["first", "last"])
    finally:
        conn.close()


def summary_target(scale: Scale) -> Target:
    """Issue 13: at most 300 ms up to L (the earlier target, 1.5x the floor, at XL)."""
    if scale.name == "XL":
        return Target("ratio_max", 1.5, "at most 1.5x the floor")
    return Target("max", 0.3, "at most 300 ms")


def outcome_summary_cold(scale: Scale) -> Figure:
    from data.analytics.outcome_report import OutcomeFilters, outcome_summary

    actor = director()
    outcome_summary(actor=actor, filters=OutcomeFilters())  # warm-up: imports, OS cache
    samples, floors, narrow = [], [], []
    for _ in range(scale.repeat):
        narrow.append(timed(lambda: summary_floor(NARROW_FLOOR_SQL)))
        floors.append(timed(summary_floor))
        samples.append(timed(lambda: outcome_summary(actor=actor, filters=OutcomeFilters())))
    ratio = median(samples) / median(narrow)
    return Figure("summary_cold", "clinic-wide outcome summary, cold (from the store)", "s",
                  median(samples), median(floors), "read_sql of the 7 score columns the "
                  "summary needs + groupby first/last",
                  summary_target(scale), samples, floors,
                  note=f"narrow floor (4 columns: course, instrument, timepoint, total) "
                       f"{median(narrow):.2f} s, ratio {ratio:.2f}x")


def outcome_summary_warm(scale: Scale) -> Figure:
    """The Outcomes page's cached summary: the data version query plus the cache hit."""
    import logging

    import streamlit as st

    from data.analytics.outcome_report import OutcomeFilters
    from ui.outcome_cache import store_version, summary_for

    for name in ("streamlit.runtime.caching.cache_data_api",
                 "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)  # "no runtime": expected in bare mode
    actor = director()
    st.cache_data.clear()
    filters = OutcomeFilters()
    summary_for(actor, filters, store_version())  # fills the cache

    def warm() -> None:
        summary_for(actor, filters, store_version())

    samples = [timed(warm) * MS for _ in range(max(10, scale.repeat * 5))]
    st.cache_data.clear()
    return Figure("summary_warm", "the same, warm (cached)", "ms", median(samples),
                  target=Target("max", 100, "under 100 ms"), samples=samples)


# --- export ---------------------------------------------------------------------------

def export_scores(scale: Scale) -> Figure:
    """All scores as a de-identified CSV (the director's scope: every clinic)."""
    from data.exports.service import ExportRequest, run_export

    actor = director()
    request = ExportRequest(kind="scores", fmt="csv")
    content = run_export(actor=actor, request=request).content
    frame = pd.read_csv(io.BytesIO(content))
    rows = len(frame)

    def floor() -> None:
        frame.to_csv(index=False).encode("utf-8")

    samples, floors = alternate(lambda: run_export(actor=actor, request=request), floor,
                                scale.repeat)
    return Figure("export", f"export of all scores to CSV ({rows:,} rows)", "s",
                  median(samples), median(floors), "pandas to_csv of the same frame",
                  Target("ratio_max", 1.5, "at most 1.5x the floor"), samples, floors)


XLSX_FLOOR_SHEETS = 2  # most sheets the XLSX floor writes; more: the first, scaled by rows


def export_scores_xlsx(scale: Scale) -> Figure:
    """All scores as a de-identified XLSX, beside pandas `to_excel` of the same rows with
    the engine pandas picks here (openpyxl: xlsxwriter is not installed).

    pandas' openpyxl workbook holds every cell it writes until it is saved, ~5 GB a sheet
    of 1,048,575 rows: the eleven sheets of the XL store do not fit in one. The floor
    therefore writes every sheet up to XLSX_FLOOR_SHEETS (L: 1.2 million rows are two),
    and beyond that the first sheet only, its time scaled by rows (to_excel's cost is per
    cell; the frame read back from the CSV takes ~10 GB of its own at XL)."""
    import tempfile
    from pathlib import Path

    from data.exports.service import ExportRequest, run_export
    from data.exports.xlsx import MAX_SHEET_ROWS

    actor = director()
    content = run_export(actor=actor, request=ExportRequest(kind="scores", fmt="csv")).content
    frame = pd.read_csv(io.BytesIO(content))
    del content
    rows = len(frame)
    with tempfile.TemporaryDirectory(prefix="bench-xlsx-") as workdir:
        target = Path(workdir) / "scores.xlsx"
        floor_file = Path(workdir) / "floor.xlsx"

        def figure() -> None:
            run_export(actor=actor, request=ExportRequest(kind="scores", fmt="xlsx"),
                       path=target)

        sheets = list(range(0, max(rows, 1), MAX_SHEET_ROWS))
        timed_sheets = sheets if len(sheets) <= XLSX_FLOOR_SHEETS else sheets[:1]
        timed_rows = max(min(rows, len(timed_sheets) * MAX_SHEET_ROWS), 1)

        def floor() -> None:  # the same sheets: a sheet holds at most MAX_SHEET_ROWS rows
            with pd.ExcelWriter(floor_file, engine="openpyxl") as writer:
                for k, first in enumerate(timed_sheets):
                    frame.iloc[first:first + MAX_SHEET_ROWS].to_excel(
                        writer, sheet_name=f"scores ({k + 1})", index=False)

        samples, floors = alternate(figure, floor, max(1, scale.repeat - 2))
        floors = [seconds * max(rows, 1) / timed_rows for seconds in floors]
    label = "pandas to_excel (openpyxl) of the same rows, in sheets of the same size"
    if len(timed_sheets) < len(sheets):
        label += (f" (its first {len(timed_sheets)} of {len(sheets)} sheets, "
                  f"{timed_rows:,} rows, timed and scaled to {rows:,} rows)")
    return Figure("export_xlsx", f"export of all scores to XLSX ({rows:,} rows)", "s",
                  median(samples), median(floors), label,
                  Target("ratio_max", 2, "at most 2x the floor"), samples, floors)


MEMORY_PROBES = (("scores", "csv"), ("scores", "json"), ("scores", "xlsx"), ("fhir", "json"),
                 ("fhir", "ndjson"))


def export_memory(url: str, target: Target | None = None) -> list[Figure]:
    """Peak memory (max RSS of a fresh process running one de-identified export to a
    file) of each streamed export, each with ``target`` (issue 13: under 600 MB at L,
    1 GB at XL: every export of the app process)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    figures = []
    chosen = os.environ.get("BENCH_MEMORY_PROBES")  # e.g. "scores:csv,fhir:ndjson"
    probes = ([tuple(p.split(":")) for p in chosen.split(",")] if chosen else MEMORY_PROBES)
    for kind, fmt in probes:
        done = subprocess.run([sys.executable, str(root / "bench" / "export_probe.py"),
                               "--database-url", url, "--kind", kind, "--format", fmt],
                              capture_output=True, text=True, cwd=root,
                              env={**os.environ, "DATABASE_URL": url})
        if done.returncode != 0:
            raise RuntimeError(f"export probe failed:\n{done.stderr[-4000:]}")
        probe = json.loads(done.stdout.strip().splitlines()[-1])
        figures.append(Figure(
            f"memory_{kind}_{fmt}", f"peak memory, {kind} {fmt.upper()} export "
            f"({probe['rows']:,} rows, {probe['bytes'] / 1e6:,.0f} MB)", "MiB",
            probe["peak_rss_bytes"] / 2**20,
            target=target or Target("max", 600 / 1.048576, "under 600 MB"),
            note=f"{probe['seconds']:.1f} s; max RSS of the probe subprocess"))
    return figures


# --- one infusion save ----------------------------------------------------------------

PHQ9_PRE = [2, 2, 1, 2, 1, 1, 2, 1, 1]  # item 9 = 1: an open alert
PHQ9_POST = [1, 1, 1, 1, 0, 1, 1, 0, 0]
GAD7_PRE = [2, 2, 1, 2, 1, 1, 2]
GAD7_POST = [1, 1, 1, 0, 0, 1, 1]


def _courses_to_extend(n: int, seed: int) -> list[tuple[int, int]]:
    """(course id, next infusion number) of `n` random courses."""
    from data.store.db import read_session

    with read_session() as session:
        rows = session.execute(text(
            "SELECT course_id, MAX(number) FROM infusion GROUP BY course_id")).all()
    return [(course, last + 1) for course, last in random.Random(seed).sample(rows, n)]


def infusion_save(scale: Scale, seed: int) -> list[Figure]:
    from data.clinic.infusions import log_infusion
    from data.store.db import write_session

    actor = director()
    scores = [{"instrument": "PHQ-9", "timepoint": "pre", "items": PHQ9_PRE},
              {"instrument": "GAD-7", "timepoint": "pre", "items": GAD7_PRE},
              {"instrument": "PHQ-9", "timepoint": "post", "items": PHQ9_POST},
              {"instrument": "GAD-7", "timepoint": "post", "items": GAD7_POST}]
    warmup = 5
    courses = _courses_to_extend(scale.saves + warmup, seed)

    def save(course_id: int, number: int) -> None:
        infusion = {"number": number, "administered_on": TODAY, "infusion_type": "booster",
                    "route": "IV", "dose_mg_per_kg": 0.5, "weight_kg": 70.0,
                    "duration_min": 40, "side_effects": ["nausea"]}
        with write_session() as session:
            saved = log_infusion(session, actor=actor, course_id=course_id, infusion=infusion,
                                 scores=scores, today=TODAY)
            assert len(saved.assessments) == 4 and len(saved.alerts) == 1

    import data.store.outcome_queue as queue
    from data.analytics.course_outcomes import refresh_stale

    # A save recomputes its course's stored outcome once committed (outcome_queue
    # .refresh_after_commit, in write_session): each sample times the whole save, and the
    # refresh within it is timed apart, so the save alone is the difference.
    refreshes: list[float] = []
    refresh = queue.refresh_after_commit

    def timed_refresh(session, engine) -> None:  # type: ignore[no-untyped-def]
        if not session.info.get(queue.AFTER_COMMIT):  # another write (the refresh's own)
            refresh(session, engine)
            return
        start = time.perf_counter()
        refresh(session, engine)
        refreshes.append(time.perf_counter() - start)

    queue.refresh_after_commit = timed_refresh
    try:
        for course_id, number in courses[:warmup]:
            save(course_id, number)
        refreshes.clear()
        updated = [timed(lambda c=c, n=n: save(c, n)) * MS for c, n in courses[warmup:]]
    finally:
        queue.refresh_after_commit = refresh
    assert refresh_stale() == 0, "a save left its course queued"
    samples = [total - spent * MS for total, spent in zip(updated, refreshes, strict=True)]
    label = "save of one infusion with pre and post scores, audit and alert"
    return [
        Figure("save_p50", f"{label}: p50", "ms", median(samples), samples=samples),
        Figure("save_p99", f"{label}: p99", "ms", percentile(samples, 99),
               target=Target("max", 30, "p99 under 30 ms"),
               note=f"{len(samples)} saves, each its own transaction (without the course "
                    "outcome update that follows its commit)"),
        Figure("save_outcome_p99", f"{label}, with its course outcome update: p99", "ms",
               percentile(updated, 99), target=Target("max", 40, "p99 under 40 ms"),
               samples=updated,
               note=f"the same {len(updated)} saves, each with the update of its course's "
                    "stored outcome that follows its commit (data.store.outcome_queue."
                    f"refresh_after_commit; p50 {median(updated):.1f} ms)"),
    ]


# --- bulk import ----------------------------------------------------------------------

IMPORT_COLUMNS = ["patient_id", "clinic", "clinician", "indication", "course_id",
                  "infusion_number", "infusion_type", "timepoint", "date", "instrument",
                  *[f"item_{n}" for n in range(1, 11)], "functional_difficulty",
                  "dose_mg_per_kg", "route"]


def import_csv(n_rows: int, seed: int, clinic: str) -> tuple[bytes, int]:
    """At most `n_rows` score rows of new synthetic patients of a new clinic, as a CSV file
    (whole patients, in patient order)."""
    from data.seed.seed import generate_demo

    records = generate_demo(n_patients=max(5, int(n_rows / 25)), seed=seed, today=TODAY).records
    indication = {p["patient_code"]: p["indication"] for p in records.patients}
    infusions = {(i["patient_code"], i["course_number"], i["number"]): i
                 for i in records.infusions}
    by_patient: dict[str, list[list]] = {}
    for a in records.assessments:
        inf = infusions[(a["patient_code"], a["course_number"], a["infusion_number"])]
        items = ["" if v is None else v for v in a["items"]] + [""] * (10 - len(a["items"]))
        by_patient.setdefault(a["patient_code"], []).append([
            a["patient_code"], clinic, inf["clinician_code"], indication[a["patient_code"]],
            f"C{a['course_number']}", a["infusion_number"], inf["infusion_type"],
            a["timepoint"], a["administered_on"].isoformat(), a["instrument"], *items,
            "" if a["functional_difficulty"] is None else a["functional_difficulty"],
            inf["dose_mg_per_kg"], inf["route"]])
    rows: list[list] = []
    for code in sorted(by_patient):
        if len(rows) + len(by_patient[code]) > n_rows:
            break
        rows += by_patient[code]
    frame = pd.DataFrame(rows, columns=IMPORT_COLUMNS)
    return frame.to_csv(index=False).encode("utf-8"), len(frame)


_COPY_TABLES = ("clinic", "patient", "course", "infusion", "assessment", "safetyalert")
_ID_LINKS = {  # column -> the table whose ids it holds
    "clinic_id": "clinic", "patient_id": "patient", "course_id": "course",
    "infusion_id": "infusion", "assessment_id": "assessment",
}


def _created_rows(conn, clinic: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every row the import of `clinic` created, table by table (columns, rows)."""
    mark = "?" if _is_sqlite(conn) else "%s"
    where = {
        "clinic": f"SELECT * FROM clinic WHERE code = {mark}",
        "patient": "SELECT p.* FROM patient p JOIN clinic k ON k.id = p.clinic_id "
                   f"WHERE k.code = {mark}",
        "course": "SELECT c.* FROM course c JOIN patient p ON p.id = c.patient_id "
                  f"JOIN clinic k ON k.id = p.clinic_id WHERE k.code = {mark}",
        "infusion": "SELECT i.* FROM infusion i JOIN course c ON c.id = i.course_id "
                    "JOIN patient p ON p.id = c.patient_id JOIN clinic k ON k.id = p.clinic_id "
                    f"WHERE k.code = {mark}",
        "assessment": "SELECT a.* FROM assessment a JOIN course c ON c.id = a.course_id "
                      "JOIN patient p ON p.id = c.patient_id "
                      f"JOIN clinic k ON k.id = p.clinic_id WHERE k.code = {mark}",
        "safetyalert": "SELECT s.* FROM safetyalert s JOIN clinic k ON k.id = s.clinic_id "
                       f"WHERE k.code = {mark}",
    }
    out = {}
    cursor = conn.cursor()
    for table in _COPY_TABLES:
        cursor.execute(where[table], (clinic,))
        out[table] = ([d[0] for d in cursor.description], cursor.fetchall())
    cursor.close()
    return out


def _is_sqlite(conn) -> bool:
    return type(conn.driver_connection).__module__.startswith("sqlite3")


def _copies(created: dict, offset: int, clinic: str, is_sqlite: bool) -> dict:
    """The created rows with ids moved by `offset`, a new clinic code and study ids."""
    json_wrap = (lambda v: v) if is_sqlite else _pg_json
    copies = {}
    for table, (columns, rows) in created.items():
        fixes = []
        for n, name in enumerate(columns):
            if name == "id" or name in _ID_LINKS:
                fixes.append((n, lambda v: None if v is None else v + offset))
            elif table == "clinic" and name == "code":
                fixes.append((n, lambda v: clinic))
            elif table == "patient" and name == "study_id":
                fixes.append((n, lambda v: f"F{offset // 10_000_000}{v}"))
            elif name in ("items", "side_effects"):
                fixes.append((n, json_wrap))
        new_rows = []
        for row in rows:
            values = list(row)
            for n, fix in fixes:
                values[n] = fix(values[n])
            new_rows.append(tuple(values))
        copies[table] = (columns, new_rows)
    return copies


def _pg_json(value: Any) -> Any:
    from psycopg.types.json import Json

    return Json(value)


def _insert_copies(conn, copies: dict) -> None:
    """The floor: one transaction of plain executemany INSERTs, table by table (SQLite), or
    a raw COPY FROM STDIN of the same rows (PostgreSQL: what the bulk writer now uses)."""
    mark = "?" if _is_sqlite(conn) else "%s"
    cursor = conn.cursor()
    if _is_sqlite(conn):
        cursor.execute("BEGIN IMMEDIATE")
    else:
        for table in _COPY_TABLES:
            columns, rows = copies[table]
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        cursor.close()
        return
    for table in _COPY_TABLES:
        columns, rows = copies[table]
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join([mark] * len(columns))})")
        cursor.executemany(sql, rows)
    conn.commit()
    cursor.close()


def bulk_import(scale: Scale, seed: int) -> Figure:
    """import_scores of a CSV of new patients of a new clinic, beside plain executemany
    INSERTs of the same rows (the rows the import created, copied under new ids)."""
    from data.imports.importer import import_scores

    actor = director()
    figures, floors, n_rows = [], [], 0
    floor_label = "plain executemany of the same rows"
    for rep in range(scale.repeat):
        clinic = f"BENCH-IMP-{rep}"
        raw, n_rows = import_csv(scale.import_rows, seed + 1000, clinic)
        report = None

        def run(raw: bytes = raw) -> None:
            nonlocal report
            report = import_scores(raw, actor=actor, today=TODAY)

        figures.append(n_rows / timed(run))
        assert report is not None and report.ok, report.format()[:2000] if report else None
        conn = driver_connection()
        try:
            created = _created_rows(conn, clinic)
            conn.commit()
            copies = _copies(created, (rep + 1) * 50_000_000, f"BENCH-FLOOR-{rep}",
                             _is_sqlite(conn))
            if not _is_sqlite(conn):
                floor_label = "raw COPY FROM STDIN of the same rows"
            floors.append(n_rows / timed(lambda c=conn, rows=copies: _insert_copies(c, rows)))
        finally:
            conn.close()
    return Figure("import", f"bulk import, rows/s ({n_rows:,}-row CSV, new clinic)", "rows/s",
                  median(figures), median(floors), floor_label,
                  Target("ratio_min", 0.5, "at least half the floor"), figures, floors)

