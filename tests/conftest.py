"""Shared fixtures: a fresh store per test, created with the production migrations."""

from __future__ import annotations

import os
import sqlite3
import sys
from datetime import date
from pathlib import Path

import pytest
import streamlit  # noqa: F401  as in the app, before figures.theme

from data.store import db
from data.store.migrate import upgrade

# The app patches the Outcomes page's kept frames on a worker thread after each save
# (ui.outcome_cache.start_updates, called by dashboard.py). Tests that count or time the
# patch of a render would race it: off here; tests/test_tables_patch.py turns it on where
# it is the subject.
os.environ.setdefault("OUTCOME_UPDATES_AFTER_SAVE", "off")
from data.store.settings import get_settings


def _worker_database(url: str | None) -> str | None:
    """Under pytest-xdist (the default run uses two workers) each worker gets its own
    PostgreSQL database, ``<name>_gw0``, ``<name>_gw1``, created when missing: the tests
    reset the schema of the database they use."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                            {"name": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


TEST_DATABASE_URL = _worker_database(os.environ.get("TEST_DATABASE_URL"))  # PostgreSQL run in CI


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite store migrated once per test run with the production migrations; each test
    gets a copy (running the eight migrations for each of ~2,000 tests was a third of the
    run). The migrations themselves are tested on fresh stores (tests/data/test_migration_*)."""
    path = tmp_path_factory.mktemp("template") / "clinic.db"
    url = f"sqlite:///{path}"
    db.dispose_engines()
    upgrade(db.get_engine(url))
    db.dispose_engines()
    return path


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (WAL content included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture
def store_url(tmp_path, monkeypatch, request) -> str:
    """A fresh, migrated store; DATABASE_URL points at it for the code under test."""
    if TEST_DATABASE_URL:
        url = TEST_DATABASE_URL
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path / 'clinic.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    db.dispose_engines()
    _forget_kept_outcomes()
    if TEST_DATABASE_URL:
        upgrade(db.get_engine(url))
    else:
        _copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "clinic.db")
    yield url
    db.dispose_engines()
    get_settings.cache_clear()
    _forget_kept_outcomes()


def _forget_kept_outcomes() -> None:
    """The Outcomes page keeps course facts per process across data versions
    (ui.outcome_cache); two tests' demo stores can have the same audit history, so a
    kept entry would be taken for this store's: each store starts with none."""
    cache = sys.modules.get("ui.outcome_cache")
    if cache is not None:
        cache.forget_store_facts()


@pytest.fixture
def engine(store_url):
    return db.get_engine(store_url)


@pytest.fixture
def demo(store_url):
    """A store seeded with the synthetic demo cohort (80 patients, seed 11, dated 1 June
    2026), with Streamlit's caches cleared around the test (the Outcomes page tests)."""
    import streamlit as st

    from data.seed.seed import seed_demo

    seed_demo(n_patients=80, seed=11, today=date(2026, 6, 1))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield store_url
    st.cache_data.clear()
    st.cache_resource.clear()
