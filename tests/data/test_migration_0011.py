"""Migration 0011 (SQLite, and PostgreSQL with TEST_DATABASE_URL): the kept packs get each
course's first infusion's clinician and route and its last infusion's number and date
from the infusions, the values a refresh writes; the downgrade drops the columns."""

from __future__ import annotations

from datetime import date

from sqlalchemy import inspect, select, text

from data.analytics.course_outcomes import EDGE_COLUMNS, check_outcomes, refresh_stale
from data.store.migrate import upgrade
from models.tables import CourseOutcomePack
from tests.clinical_factories import PHQ9_PRE, log, make_course, make_patient, score
from tests.data.migration_store import downgrade
from tests.factories import make_user


def _packs(engine) -> dict[int, dict]:
    table = CourseOutcomePack.__table__
    with engine.connect() as conn:
        return {row["course_id"]: {name: row[name] for name in EDGE_COLUMNS}
                for row in conn.execute(select(table)).mappings()}


def test_the_kept_packs_get_their_infusions_edges(engine):
    clin = make_user("clin", "clinician", ("CL1",))
    other = make_user("nurse", "clinician", ("CL1",))
    two = make_course(clin, make_patient(clin, "P-1"))
    log(clin, two, 1, scores=[score("PHQ-9", "pre", PHQ9_PRE)], route="IM",
        administered_on=date(2025, 2, 3))
    log(other, two, 2, route="IV", administered_on=date(2025, 2, 6))
    one = make_course(other, make_patient(other, "P-2"))
    log(other, one, 1, scores=[score("PHQ-9", "pre", PHQ9_PRE)],
        administered_on=date(2025, 2, 7))
    make_course(clin, make_patient(clin, "P-3"))  # no infusion, no score: no pack
    refresh_stale(engine)
    by_hand = {
        two: {"first_clinician_id": clin.user_id, "first_clinician_code": "clin",
              "first_route": "IM", "last_infusion": 2, "last_administered_on": date(2025, 2, 6)},
        one: {"first_clinician_id": other.user_id, "first_clinician_code": "nurse",
              "first_route": "IV", "last_infusion": 1, "last_administered_on": date(2025, 2, 7)},
    }
    assert _packs(engine) == by_hand
    downgrade(engine, "0010")
    columns = {c["name"] for c in inspect(engine).get_columns("course_outcome_pack")}
    assert columns == {"course_id", "headers", "maps"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM course_outcome_pack")).scalar() == 2
    upgrade(engine, "0011")
    assert _packs(engine) == by_hand
    upgrade(engine)  # the application's code reads the head's tables
    assert check_outcomes() is None
