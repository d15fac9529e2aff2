"""A throw-away store at an older revision, for the migration tests: SQLite in the test's
tmp_path, or the worker's PostgreSQL database (reset first) with TEST_DATABASE_URL; the
app's settings and engines point at it while it lives."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine

from data.store import db
from data.store.migrate import alembic_config, upgrade
from data.store.settings import get_settings
from tests.conftest import TEST_DATABASE_URL, _reset_postgres


@contextmanager
def store_at(revision: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             rows: Sequence[str] = ()) -> Iterator[Engine]:
    """The engine of a store migrated to ``revision`` holding ``rows`` (SQL inserts)."""
    url = TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'old.db'}"
    if TEST_DATABASE_URL:
        _reset_postgres(url)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    db.dispose_engines()
    engine = db.get_engine(url)
    upgrade(engine, revision)
    if rows:
        with engine.begin() as conn:
            for statement in rows:
                conn.execute(text(statement))
    try:
        yield engine
    finally:
        db.dispose_engines()
        get_settings.cache_clear()


def downgrade(engine: Engine, revision: str) -> None:
    """Alembic's downgrade to ``revision`` on the engine's store, in one transaction."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
