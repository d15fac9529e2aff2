"""The queue of courses whose stored outcomes must be recomputed (issue 13): every write
that can change a course's outcome facts marks the course here, in the write's own
transaction; data/analytics/course_outcomes.py recomputes the queued courses on the next
read. Kept in store/ because the clinic services, the imports and the bulk writer all
mark courses, and they sit below the outcome read side."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.tables import CourseOutcomeStale

_STALE = CourseOutcomeStale.__table__


def mark_courses_stale(session: Session, course_ids: Iterable[int | None]) -> None:
    """Queue the courses for recomputation, in the caller's transaction."""
    ids = sorted({int(i) for i in course_ids if i is not None})
    if not ids:
        return
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(ids), 5000):
        stmt = make(_STALE).values([{"course_id": i, "generation": 1}
                                    for i in ids[start:start + 5000]])
        session.execute(stmt.on_conflict_do_update(
            index_elements=["course_id"],
            set_={"generation": _STALE.c.generation + 1}))
