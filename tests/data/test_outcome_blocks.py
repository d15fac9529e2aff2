"""The courses' read kept per block (data/analytics/outcome_blocks.py, migration 0012).

The guard is the read of the tables: a whole-scope read from the blocks must equal the
same read from ``course`` ⋈ ``patient`` ⋈ ``course_outcome_pack`` (the path taken when the
blocks are turned off), whatever wrote last; ``check_outcomes`` names a block whose body
is not its courses' read. The property test of tests/data/test_course_outcomes.py runs
``check_outcomes`` (so the blocks too) after each of its random writes.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select, text, update

from data.analytics import course_outcomes, outcome_blocks
from data.analytics.course_outcomes import check_outcomes, facts_and_progress, refresh_stale
from data.analytics.outcome_blocks import BLOCK_COURSES, read_courses
from data.store.db import get_engine, write_session
from models.access import SYSTEM
from models.tables import Course, CourseOutcomeBlock, Patient
from tests.clinical_factories import PHQ9_PRE, log, make_course, make_patient, score
from tests.factories import make_user

_BLOCK = CourseOutcomeBlock.__table__
PHQ9_POST = [1, 1, 1, 1, 0, 0, 0, 0, 0]  # total 4


@pytest.fixture
def clin(engine):
    return make_user("nurse", "clinician", clinics=("CL1", "CL2"))


def _course_from(clin, at: int, code: str, **infusion) -> int:
    """A course with a PHQ-9 pre and post at infusion 1, whose id is ``at`` (the ids go on
    from there), so a test's courses fall in the blocks it chooses."""
    engine = get_engine()
    made = make_course(clin, make_patient(clin, code))
    with engine.begin() as conn:
        conn.execute(update(Course).where(Course.id == made).values(id=at))
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('course', 'id'), :v)"),
                         {"v": at})
    log(clin, at, scores=[score("PHQ-9", "pre", PHQ9_PRE), score("PHQ-9", "post", PHQ9_POST)],
        **infusion)
    return at


def _blocks() -> dict[int, bool]:
    """Stale or not, by block, of the blocks with a course (a course made in block 0 and
    moved leaves block 0's row: built empty by the next refresh)."""
    with get_engine().connect() as conn:
        marks = dict(conn.execute(select(_BLOCK.c.block, _BLOCK.c.stale)).all())
        with_courses = {int(c) // BLOCK_COURSES for c in conn.execute(select(Course.id)).scalars()}
    return {block: stale for block, stale in marks.items() if block in with_courses}


def _whole_read(monkeypatch, *, blocks: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Outcomes page's whole-scope read (lean, with the dimensions and progress), from
    the blocks or (``blocks=False``: more stale blocks than any read takes) the tables."""
    monkeypatch.setattr(outcome_blocks, "MAX_STALE_READ", 64 if blocks else -1)
    facts, progress = facts_and_progress(actor=SYSTEM, after_n=1, timepoint_rule="post",
                                         dimensions=True, doses=False, lean=True,
                                         progress=True)
    return facts, progress


def _same_reads(monkeypatch) -> pd.DataFrame:
    from_blocks, progress_blocks = _whole_read(monkeypatch, blocks=True)
    from_tables, progress_tables = _whole_read(monkeypatch, blocks=False)
    order = ["course_key", "instrument"]
    pd.testing.assert_frame_equal(from_blocks.sort_values(order).reset_index(drop=True),
                                  from_tables.sort_values(order).reset_index(drop=True))
    pd.testing.assert_frame_equal(
        progress_blocks.sort_values("course_key").reset_index(drop=True),
        progress_tables.sort_values("course_key").reset_index(drop=True))
    return from_blocks


def test_a_save_builds_its_block_and_the_read_equals_the_tables(clin, monkeypatch):
    first = _course_from(clin, 10, "P-1")  # block 0
    second = _course_from(clin, 2 * BLOCK_COURSES + 5, "P-2", route="IM")  # block 2
    assert _blocks() == {0: False, 2: False}  # built by the saves' refresh, none stale
    facts = _same_reads(monkeypatch)
    phq = facts[facts["instrument"] == "PHQ-9"].set_index("course_key")
    # PHQ9_PRE totals 17, PHQ9_POST 4: baseline 17, after infusion 1 (post) 4
    assert phq.loc[[first, second], "baseline"].tolist() == [17.0, 17.0]
    assert phq.loc[[first, second], "after_n_total"].tolist() == [4.0, 4.0]
    assert phq.loc[second, "route"] == "IM" and phq.loc[first, "route"] == "IV"
    assert phq.loc[first, "clinician"] == "nurse"
    assert check_outcomes() is None


def test_a_patients_new_indication_marks_its_blocks_stale_and_is_read(clin, monkeypatch):
    course = _course_from(clin, BLOCK_COURSES + 1, "P-1")  # block 1
    _course_from(clin, 3 * BLOCK_COURSES, "P-2")  # block 3
    engine = get_engine()
    with engine.begin() as conn:  # by hand, not through a service: the trigger marks it
        patient = conn.execute(select(Course.patient_id).where(Course.id == course)).scalar()
        conn.execute(update(Patient).where(Patient.id == patient).values(indication="PTSD"))
    assert _blocks() == {1: True, 3: False}
    facts = _same_reads(monkeypatch)  # block 1 from the tables, block 3 from its body
    assert set(facts.loc[facts["course_key"] == course, "indication"]) == {"PTSD"}
    assert check_outcomes() is None  # a stale block is not compared: it is not read
    with write_session() as session:  # the next refresh builds a few stale blocks too
        course_outcomes._replace_rows(session, [])
    assert _blocks() == {1: False, 3: False}
    facts = _same_reads(monkeypatch)
    assert set(facts.loc[facts["course_key"] == course, "indication"]) == {"PTSD"}


def test_a_courses_new_status_and_a_patients_new_clinic_mark_their_blocks(clin):
    course = _course_from(clin, 5, "P-1")
    other = _course_from(clin, BLOCK_COURSES + 5, "P-2")
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(update(Course).where(Course.id == course).values(status="completed"))
    assert _blocks() == {0: True, 1: False}
    with engine.begin() as conn:
        clinics = conn.execute(text("SELECT id FROM clinic ORDER BY id")).scalars().all()
        patient = conn.execute(select(Course.patient_id).where(Course.id == other)).scalar()
        conn.execute(update(Patient).where(Patient.id == patient).values(clinic_id=clinics[1]))
    assert _blocks() == {0: True, 1: True}
    with engine.begin() as conn:  # a patient's other column: no mark
        outcome_blocks.build_blocks(conn, [0, 1])
        conn.execute(update(Patient).where(Patient.id == patient).values(sex="F"))
    assert _blocks() == {0: False, 1: False}


def test_a_stale_blocks_body_is_never_read(clin, monkeypatch):
    _course_from(clin, 7, "P-1")
    _course_from(clin, BLOCK_COURSES + 7, "P-2")
    engine = get_engine()
    with engine.begin() as conn:  # block 1's body put in block 0's place, marked stale
        body = conn.execute(select(_BLOCK.c.body).where(_BLOCK.c.block == 1)).scalar()
        conn.execute(update(_BLOCK).where(_BLOCK.c.block == 0).values(body=body, stale=True))
    with engine.connect() as conn:
        assert sorted(read_courses(conn)["course_key"].to_pylist()) == [7, BLOCK_COURSES + 7]
    _same_reads(monkeypatch)


def test_check_outcomes_names_a_block_that_is_not_its_courses_read(clin):
    _course_from(clin, 7, "P-1")
    _course_from(clin, BLOCK_COURSES + 7, "P-2")
    engine = get_engine()
    with engine.begin() as conn:  # block 1's body in block 0's place, still marked fresh
        body = conn.execute(select(_BLOCK.c.body).where(_BLOCK.c.block == 1)).scalar()
        conn.execute(update(_BLOCK).where(_BLOCK.c.block == 0).values(body=body, stale=False))
    difference = check_outcomes()
    assert (difference.course_id, difference.column) == (0, "block")
    with engine.begin() as conn:  # and a block row gone under courses with a pack
        outcome_blocks.build_blocks(conn, [0])
        conn.execute(_BLOCK.delete().where(_BLOCK.c.block == 1))
    difference = check_outcomes()
    assert (difference.course_id, difference.column) == (BLOCK_COURSES, "block")
    with write_session() as session:
        course_outcomes.rebuild_outcomes(session)
    assert _blocks() == {0: False, 1: False}
    assert check_outcomes() is None


def test_more_stale_blocks_than_a_read_takes_read_the_tables(clin, monkeypatch):
    _course_from(clin, 3, "P-1")
    _course_from(clin, BLOCK_COURSES + 3, "P-2")
    with get_engine().begin() as conn:
        conn.execute(update(_BLOCK).values(stale=True))
    monkeypatch.setattr(outcome_blocks, "MAX_STALE_READ", 1)
    with get_engine().connect() as conn:
        assert read_courses(conn) is None  # two stale, one taken: the caller reads tables
    monkeypatch.setattr(outcome_blocks, "MAX_STALE_READ", 2)
    with get_engine().connect() as conn:
        assert read_courses(conn)["course_key"].to_pylist() == [3, BLOCK_COURSES + 3]


def test_the_seeds_courses_once_refreshed_and_rebuilt_leave_every_block_fresh(demo,
                                                                              monkeypatch):
    assert refresh_stale() > 0  # the seed queues every course; the refresh builds blocks
    assert _blocks() and not any(_blocks().values())
    _same_reads(monkeypatch)
    assert check_outcomes() is None
    with write_session() as session:
        course_outcomes.rebuild_outcomes(session)
    assert _blocks() and not any(_blocks().values())
    _same_reads(monkeypatch)
    assert check_outcomes() is None


def _indication(engine, course: int, value: str) -> None:
    with engine.begin() as conn:
        patient = conn.execute(select(Course.patient_id).where(Course.id == course)).scalar()
        conn.execute(update(Patient).where(Patient.id == patient).values(indication=value))


def _postgres_engine():
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    return engine


def _writing(engine, course: int, indication: str):
    """A transaction left open after giving ``course``'s patient a new indication: the
    trigger's mark holds the block's row until it commits."""
    with engine.connect() as conn:
        patient = conn.execute(select(Course.patient_id).where(Course.id == course)).scalar()
    writer = engine.connect()
    writing = writer.begin()
    writer.execute(update(Patient).where(Patient.id == patient).values(indication=indication))
    return writer, writing


def test_a_writer_and_a_builder_of_one_block_meet_on_its_row(clin):
    """PostgreSQL (READ COMMITTED): a builder never marks a block fresh over a write it
    did not read. (SQLite runs one writer at a time.)"""
    import threading

    engine = _postgres_engine()
    course = _course_from(clin, 9, "P-1")
    # the writer first: its trigger holds the block's row; the builder waits for its commit
    # and then reads what it wrote
    writer, writing = _writing(engine, course, "PTSD")
    built = threading.Event()

    def build() -> None:
        with engine.begin() as conn:
            outcome_blocks.build_blocks(conn, [0])
        built.set()

    builder = threading.Thread(target=build)
    builder.start()
    assert not built.wait(0.5)  # waiting on the block's row
    writing.commit()
    writer.close()
    builder.join(30)
    assert built.is_set() and _blocks()[0] is False
    assert check_outcomes() is None  # its body holds PTSD

    # the builder first: the writer's mark waits for the build's commit, then lands
    building_conn = engine.connect()
    building = building_conn.begin()
    outcome_blocks.build_blocks(building_conn, [0])
    wrote = threading.Event()

    def write() -> None:
        _indication(engine, course, "MDD")
        wrote.set()

    other = threading.Thread(target=write)
    other.start()
    assert not wrote.wait(0.5)  # its trigger waits on the block's row
    building.commit()
    building_conn.close()
    other.join(30)
    assert wrote.is_set() and _blocks()[0] is True  # stale: built before MDD was written
    with engine.connect() as conn:
        kept = read_courses(conn)
    assert kept["indication"].to_pylist() == ["MDD"]  # read from the tables


def test_a_save_patches_its_fresh_block_with_its_own_course_only(clin):
    """A block fresh before the save keeps its other courses' rows from its body (a
    planted route shows it was not read again) and takes the saved course's anew; a stale
    block is built whole."""
    import pyarrow as pa

    saved = _course_from(clin, 20, "P-1")
    other = _course_from(clin, 21, "P-2")
    engine = get_engine()
    with engine.begin() as conn:  # plant "XX" as the other course's route in the body
        kept = outcome_blocks.decode(conn.execute(
            select(_BLOCK.c.body).where(_BLOCK.c.block == 0)).scalar())
        routes = ["XX" if key == other else route for key, route in
                  zip(kept["course_key"].to_pylist(), kept["route"].to_pylist(), strict=True)]
        kept = kept.set_column(kept.column_names.index("route"), "route",
                               pa.array(routes, pa.string()))
        conn.execute(update(_BLOCK).where(_BLOCK.c.block == 0)
                     .values(body=outcome_blocks.encode(kept), stale=False))
    log(clin, saved, 2, scores=[score("PHQ-9", "pre", PHQ9_POST)], route="IM")
    with engine.connect() as conn:
        rows = dict(zip(*(read_courses(conn)[c].to_pylist() for c in ("course_key", "route")),
                        strict=True))
    assert rows == {saved: "IV", other: "XX"}  # the first infusion's route: saved anew
    assert check_outcomes().column == "block"  # the plant is what check-outcomes finds
    with engine.begin() as conn:
        conn.execute(update(_BLOCK).where(_BLOCK.c.block == 0).values(stale=True))
    log(clin, saved, 3, scores=[score("PHQ-9", "pre", PHQ9_POST)])  # stale: built whole
    with engine.connect() as conn:
        assert read_courses(conn)["route"].to_pylist() == ["IV", "IV"]
    assert check_outcomes() is None


def test_a_save_waits_for_a_writer_of_its_block_and_then_builds_it_whole(clin):
    """PostgreSQL: a writer holding the block's row (a patient's new indication, not yet
    committed) makes a save's refresh wait at its lock; the block was marked stale by the
    writer, so the refresh builds it whole and reads the writer's change."""
    import threading

    engine = _postgres_engine()
    course = _course_from(clin, 9, "P-1")
    other = _course_from(clin, 10, "P-2")
    writer, writing = _writing(engine, other, "OCD")
    saved = threading.Event()

    def save() -> None:
        log(clin, course, 2, scores=[score("PHQ-9", "pre", PHQ9_POST)])
        saved.set()

    saving = threading.Thread(target=save)
    saving.start()
    saving.join(1.0)
    writing.commit()
    writer.close()
    saving.join(30)
    assert saved.is_set() and _blocks()[0] is False
    with engine.connect() as conn:
        kept = read_courses(conn)
    assert dict(zip(kept["course_key"].to_pylist(), kept["indication"].to_pylist(),
                    strict=True))[other] == "OCD"
    assert check_outcomes() is None
