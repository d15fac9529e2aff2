"""The SQLite writers' queue (data/store/db.py `_writer_turn`): one writer at a time per store
file, threads included; a nested write in the same thread does not wait for itself;
nothing for PostgreSQL or an in-memory store."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine

from data.store import db
from tests.reliability.helpers import ON_POSTGRES

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="the lock file is for SQLite stores")


def test_a_second_writer_waits_for_the_first(engine):
    events: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with db._writer_turn(engine):
            inside.set()
            time.sleep(0.3)
            events.append("first done")

    def second() -> None:
        inside.wait(5)
        with db._writer_turn(engine):
            events.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert events == ["first done", "second in"]


def test_a_nested_write_in_the_same_thread_does_not_wait_for_itself(engine):
    done = threading.Event()

    def nested() -> None:
        with db._writer_turn(engine), db._writer_turn(engine):
            done.set()

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    assert done.wait(5)


def test_only_sqlite_files_have_a_lock_file(engine, tmp_path):
    assert db._writer_lock_path(engine) == f"{engine.url.database}-writelock"
    assert db._writer_lock_path(create_engine("sqlite://")) is None
    assert db._writer_lock_path(create_engine("sqlite:///:memory:")) is None
