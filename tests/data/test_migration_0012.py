"""Migration 0012 (SQLite, and PostgreSQL with TEST_DATABASE_URL): the blocks of the
courses' read are created stale for every course with a pack, so the read takes the
courses from their tables until they are built; `rebuild-outcomes --blocks` builds them;
the downgrade drops the table and its triggers (a write afterwards still works)."""

from __future__ import annotations

from sqlalchemy import inspect, select, text, update

from data.analytics import outcome_blocks
from data.analytics.course_outcomes import check_outcomes, refresh_stale
from data.store.db import write_session
from data.store.migrate import upgrade
from models.tables import Course, CourseOutcomeBlock
from tests.clinical_factories import PHQ9_PRE, log, make_course, make_patient, score
from tests.data.migration_store import downgrade
from tests.factories import make_user

_BLOCK = CourseOutcomeBlock.__table__


def test_the_blocks_start_stale_are_built_and_go_with_the_downgrade(engine, monkeypatch):
    clin = make_user("clin", "clinician", ("CL1",))
    courses = [make_course(clin, make_patient(clin, f"P-{n}")) for n in (1, 2)]
    for course in courses:
        log(clin, course, scores=[score("PHQ-9", "pre", PHQ9_PRE)])
    refresh_stale(engine)
    downgrade(engine, "0011")
    assert "course_outcome_block" not in inspect(engine).get_table_names()
    with engine.begin() as conn:  # no trigger is left behind to write a missing table
        conn.execute(update(Course).where(Course.id == courses[0]).values(status="completed"))
    upgrade(engine, "0012")
    with engine.connect() as conn:  # both courses are in block 0: one row, stale
        assert conn.execute(select(_BLOCK.c.block, _BLOCK.c.stale)).all() == [(0, True)]
        monkeypatch.setattr(outcome_blocks, "MAX_STALE_READ", 0)
        assert outcome_blocks.read_courses(conn) is None  # the tables are read instead
        monkeypatch.setattr(outcome_blocks, "MAX_STALE_READ", 64)
        assert outcome_blocks.read_courses(conn)["course_key"].to_pylist() == sorted(courses)
    with write_session() as session:
        assert outcome_blocks.build_all(session.connection()) == 1
    with engine.connect() as conn:
        assert conn.execute(select(_BLOCK.c.block, _BLOCK.c.stale)).all() == [(0, False)]
        statuses = outcome_blocks.read_courses(conn)["course_status"].to_pylist()
        assert conn.execute(text("SELECT status FROM course ORDER BY id")).scalars().all() \
            == statuses
    assert check_outcomes() is None
