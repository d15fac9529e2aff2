"""Synthetic stores for the benchmark, built with the demo seed and cached between runs.

A built store is kept in the bench cache dir (``BENCH_CACHE_DIR``, default
``~/.cache/ketamine-outcomes-bench``) under a key made of the scale, the patient count,
the seed and the schema revision (Alembic head): a new migration gives a new key, and
the stale stores of that scale are deleted. Every run works on a copy (the benchmark
writes infusions and imports), so the cached store never changes.

- SQLite: the cache is a database file; the run copies it into its temp dir.
- PostgreSQL: the cache is a template database ``bench_tpl_<key>`` on the server named
  by ``--database-url``; the run clones it (``CREATE DATABASE ... TEMPLATE``) into
  ``bench_run_<pid>`` and drops the clone at the end. The database named in the URL is
  never touched (the tests reset theirs), only the server is used.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TODAY = date(2026, 6, 1)  # the seed's "today": fixed, so a cached store stays valid


@dataclass(frozen=True)
class Scale:
    name: str
    patients: int  # ~28.6 score rows per seeded patient
    import_rows: int  # rows of the bulk-import CSV
    repeat: int  # repetitions of the slow figures
    saves: int  # infusion saves timed
    patient_views: int  # patient views timed
    batch: int = 0  # patients per seeding transaction (0: one transaction)


SCALES = {
    "S": Scale("S", 300, 3_000, 3, 40, 20),
    "M": Scale("M", 22_800, 100_000, 3, 200, 50),  # ~650,000 score rows
    "L": Scale("L", 40_000, 100_000, 3, 200, 50),  # ~1.14 million score rows
    # ~10 million score rows; PostgreSQL (seeded by COPY, 25,000 patients at a time)
    "XL": Scale("XL", 350_000, 100_000, 1, 200, 50, batch=25_000),
}


def cache_dir() -> Path:
    path = Path(os.environ.get("BENCH_CACHE_DIR")
                or Path.home() / ".cache" / "ketamine-outcomes-bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from data.store.migrate import alembic_config

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def store_key(scale: Scale, seed: int) -> str:
    return f"{scale.name}-{scale.patients}p-seed{seed}-rev{head_revision()}".lower()


def _seed(url: str, scale: Scale, seed: int) -> dict[str, int]:
    from data.seed.seed import seed_demo
    from data.store.db import make_engine
    from data.store.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
        if scale.batch:
            counts = _seed_batches(engine, scale, seed)
        else:
            counts = seed_demo(n_patients=scale.patients, seed=seed, today=TODAY, engine=engine)
        _rebuild_outcomes(engine)
        if engine.dialect.name == "postgresql":  # statistics for the clones' planner: a
            with engine.begin() as conn:  # clone made right after a build has none, and the
                conn.execute(text("ANALYZE"))  # M export's course pages took 15+ minutes
        return counts
    finally:
        engine.dispose()


def _rebuild_outcomes(engine) -> None:
    """The course outcomes as `manage.py rebuild-outcomes` leaves them after a bulk load
    (the seed queues every course; the figures measure the steady state, issue 13)."""
    from data.analytics.course_outcomes import rebuild_outcomes
    from data.store.db import write_session

    with write_session(engine) as session:
        rebuild_outcomes(session)


def _seed_batches(engine, scale: Scale, seed: int) -> dict[str, int]:
    """The demo cohort generated and written `scale.batch` patients at a time (one
    transaction each; the bulk writer uses COPY on PostgreSQL), each batch's patient
    codes prefixed with its number, so memory holds one batch (XL: 10 million scores)."""
    import dataclasses

    from argon2 import PasswordHasher

    from data.seed.seed import generate_demo
    from data.store.bulk import write_records
    from data.store.db import write_session

    hashed = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash("demo-password")
    totals: dict[str, int] = {}
    for k, first in enumerate(range(0, scale.patients, scale.batch)):
        n = min(scale.batch, scale.patients - first)
        records = generate_demo(n, seed + k, TODAY).records
        prefix = f"B{k:02d}-"
        recode = {name: [{**row, "patient_code": prefix + row["patient_code"]} for row in rows]
                  for name, rows in (("patients", records.patients),
                                     ("courses", records.courses),
                                     ("infusions", records.infusions),
                                     ("assessments", records.assessments),
                                     ("alerts", records.alerts))}
        users = [{**user, "password_hash": hashed} for user in records.users]
        records = dataclasses.replace(records, users=users, **recode)
        with write_session(engine) as session:
            counts = write_records(session, records)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        _log(f"  batch {k + 1}: {n:,} patients, {counts.get('assessments', 0):,} scores")
    return totals


def _log(message: str) -> None:
    print(message, flush=True)


def sqlite_cached(scale: Scale, seed: int) -> Path:
    """The cached store file for (scale, seed, schema revision), built when missing."""
    key = store_key(scale, seed)
    cached = cache_dir() / f"{key}.db"
    if cached.exists():
        from data.store.schema_check import sqlite_file_differences

        wrong = sqlite_file_differences(cached)  # a store built by another branch's migrations
        if not wrong:
            return cached
        _log(f"the cached {scale.name} store's schema differs from the migrations' "
             f"({wrong[0]}): rebuilt")
    for stale in cache_dir().glob(f"{scale.name.lower()}-*.db"):
        stale.unlink()
    building = cached.with_suffix(".building")
    for leftover in cache_dir().glob(building.name + "*"):
        leftover.unlink()
    _log(f"building the {scale.name} store ({scale.patients:,} patients, seed {seed}); "
         "cached for later runs")
    start = time.perf_counter()
    counts = _seed(f"sqlite:///{building}", scale, seed)
    with sqlite3.connect(building) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to copy
    building.rename(cached)
    for leftover in cache_dir().glob(building.name + "*"):  # the writer-lock file
        leftover.unlink()
    _log(f"  built in {time.perf_counter() - start:.0f} s: {counts}")
    return cached


@contextmanager
def sqlite_store(scale: Scale, seed: int, workdir: Path) -> Iterator[str]:
    """A working copy of the cached store; yields its URL."""
    target = workdir / "clinic.db"
    shutil.copyfile(sqlite_cached(scale, seed), target)
    yield f"sqlite:///{target}"


def _admin_engine(server_url: str):
    url = make_url(server_url).set(database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _databases(admin) -> set[str]:
    with admin.connect() as conn:
        return set(conn.execute(text("SELECT datname FROM pg_database")).scalars())


@contextmanager
def postgres_store(scale: Scale, seed: int, server_url: str) -> Iterator[str]:
    """A clone of the cached template database on the server; yields its URL."""
    key = store_key(scale, seed).replace("-", "_")
    prefix = os.environ.get("BENCH_PG_PREFIX", "bench")  # several people on one server
    template, building = f"{prefix}_tpl_{key}", f"{prefix}_build_{key}"
    run = f"{prefix}_run_{os.getpid()}"
    admin = _admin_engine(server_url)
    try:
        if template not in _databases(admin):
            with admin.connect() as conn:
                for name in _databases(admin):
                    if name.startswith(f"{prefix}_tpl_{scale.name.lower()}_") or name == building:
                        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{building}"'))
            _log(f"building the {scale.name} store on PostgreSQL ({scale.patients:,} "
                 f"patients, seed {seed}); kept as template {template}")
            start = time.perf_counter()
            counts = _seed(make_url(server_url).set(database=building).render_as_string(
                hide_password=False), scale, seed)
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{template}"'))
            _log(f"  built in {time.perf_counter() - start:.0f} s: {counts}")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{run}" TEMPLATE "{template}"'))
        try:
            yield str(make_url(server_url).set(database=run).render_as_string(
                hide_password=False))
        finally:
            from data.store.db import dispose_engines

            dispose_engines()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def bench_store(scale: Scale, seed: int, workdir: Path, database_url: str | None) -> Iterator[str]:
    if database_url and not database_url.startswith("sqlite"):
        with postgres_store(scale, seed, database_url) as url:
            yield url
    else:
        with sqlite_store(scale, seed, workdir) as url:
            yield url


def use_store(url: str) -> None:
    """Point the app's settings and engines at `url` (as DATABASE_URL does)."""
    from data.store import db
    from data.store.settings import get_settings

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    db.dispose_engines()
