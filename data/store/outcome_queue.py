"""The queue of courses whose stored outcomes must be recomputed (issue 13): every write
that can change a course's outcome facts marks the course here, in the write's own
transaction; data/analytics/course_outcomes.py recomputes the queued courses on the next
read. Kept in store/ because the clinic services, the imports and the bulk writer all
mark courses, and they sit below the outcome read side.

A save of one infusion, score or correction marks its course ``after_commit``: once its
transaction has committed, ``data.store.db.write_session`` recomputes the courses it
marked (``refresh_after_commit``), so the save's own request pays for its course's outcome
update (~5 ms) and the next reader of the outcomes finds them up to date: a read does not
write, and does not wait for the writer's turn. The recomputation runs in a transaction
of its own after the save's: on PostgreSQL two saves of one course in flight at once
could each recompute without the other's scores inside their transactions; after the
commit, the queue's generations settle it (``course_outcomes.refresh_stale``). Imports
mark many courses and leave them to the next read."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.tables import CourseOutcomeStale

_STALE = CourseOutcomeStale.__table__
_log = logging.getLogger(__name__)


AFTER_COMMIT = "outcome_queue.after_commit"  # session.info: courses to recompute once committed
# How the queued courses are recomputed after a save's commit: set by the read side
# (data.analytics.course_outcomes registers its refresh_stale when imported; it sits above
# the store). None: they wait for the next read.
_refresh: Callable[[Engine, list[int]], object] | None = None


# Told after a save's courses were recomputed (``listen_after_refresh``): the Outcomes
# page's kept frames are brought up to date then, off any render (ui/outcome_cache.py).
_listeners: list[Callable[[Engine], object]] = []


def refresh_with(refresh: Callable[[Engine, list[int]], object] | None) -> None:
    """Recompute a save's courses after its commit with ``refresh(engine, course_ids)``."""
    global _refresh
    _refresh = refresh


def listen_after_refresh(listener: Callable[[Engine], object], *, on: bool = True) -> None:
    """Call ``listener(engine)`` after each save's courses are recomputed (``on=False``:
    no longer)."""
    if listener in _listeners:
        _listeners.remove(listener)
    if on:
        _listeners.append(listener)


def mark_courses_stale(session: Session, course_ids: Iterable[int | None], *,
                       after_commit: bool = False) -> None:
    """Queue the courses for recomputation, in the caller's transaction; with
    ``after_commit``, recompute them as soon as it has committed (``write_session``)."""
    ids = sorted({int(i) for i in course_ids if i is not None})
    if not ids:
        return
    if after_commit:
        session.info.setdefault(AFTER_COMMIT, set()).update(ids)
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(ids), 5000):
        stmt = make(_STALE).values([{"course_id": i, "generation": 1}
                                    for i in ids[start:start + 5000]])
        session.execute(stmt.on_conflict_do_update(
            index_elements=["course_id"],
            set_={"generation": _STALE.c.generation + 1}))


def refresh_after_commit(session: Session, engine: Engine) -> None:
    """After ``session``'s write committed: recompute the courses it marked
    ``after_commit`` (those only: not an import's queue). A failure leaves them queued for
    the next read (the save itself is committed and stands)."""
    ids = session.info.pop(AFTER_COMMIT, None)
    if not ids or _refresh is None:
        return
    try:
        _refresh(engine, sorted(ids))
    except Exception as exc:  # the save stands; the next read refreshes
        _log.warning("course outcome refresh after a save failed (%s); left queued",
                     type(exc).__name__)
        return
    for listener in _listeners:
        try:
            listener(engine)
        except Exception as exc:  # a listener's failure is not the save's
            _log.warning("a listener after a save's refresh failed (%s)", type(exc).__name__)
