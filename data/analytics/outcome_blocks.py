"""The summary's read of the courses with their packs, kept per block of course ids
(``course_outcome_block``, migration 0012; issue 13, docs/PERFORMANCE.md).

A whole-scope read of the course facts (an all-clinic user, no clinic or date filter: the
director's Outcomes page and ``export outcomes``) needs every course with its patient's
clinic and indication and its ``course_outcome_pack``. At XL on PostgreSQL that was two
reads of 380,573 rows each (0.7-0.9 s); here it is one read of a row per block of
BLOCK_COURSES course ids, each row that block's read as one Arrow IPC stream.

- **Stale marks are the database's.** Triggers (migration 0012) mark a block stale in the
  transaction of any write to its packs, its courses, or a patient's clinic or indication,
  whoever writes (a service, the bulk writer's COPY, a hand-made UPDATE). A block with no
  row has no course with a pack.
- **Kept by the refresh.** ``data.analytics.course_outcomes`` locks the blocks of the
  packs it is about to write (``lock_fresh``); in the same transaction it then patches
  those that were fresh with its own courses' rows (``patch_blocks``), builds the others
  whole (``build_blocks``), and a few stale blocks more (a patient's new clinic, say);
  ``manage.py rebuild-outcomes --blocks`` builds them all. A builder or patcher holds the
  block's row lock before it reads: a writer of the same block, whose trigger upserts the
  same row, waits for it or is waited for, so a block is never marked fresh over a write
  it did not read (PostgreSQL, READ COMMITTED).
- **Read by** ``read_courses``: the blocks that are not stale from their bodies, the stale
  ones' courses from their tables, both from one list of the blocks taken in one statement
  (no course twice, none left out). Too many stale blocks: None, and the caller reads the
  tables as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from data.store.arrow_read import Kind, day_number, ints, read_table
from models.tables import Course, CourseOutcomeBlock, CourseOutcomePack, Patient, User

BLOCK_COURSES = 256  # course ids per block (migration 0012's triggers divide by the same)
MAX_STALE_READ = 64  # stale blocks read from their tables; more: the caller's two reads
STALE_PER_REFRESH = 8  # stale blocks a refresh builds beside those of its own courses
BLOCKS_PER_READ = 128  # blocks read (and their bodies decoded) at a time

_BLOCK = CourseOutcomeBlock.__table__
_PACK = CourseOutcomePack.__table__

# the columns of a block's read, as read_table declares them
SCHEMA: dict[str, Kind] = {
    "course_key": "int", "patient_key": "int", "clinic_id": "int", "course_number": "int",
    "course_start": "date", "indication": "text", "course_status": "text",
    "headers": "binary", "maps": "binary", "first_clinician_id": "float",
    "clinician_code": "text", "route": "text", "last_infusion": "float",
    "last_administered_on": "date",
}


def courses_stmt(*where: ColumnElement[bool]) -> Select:
    """The courses with a pack, each with its patient's clinic and indication and its
    pack's columns (SCHEMA), in course order."""
    return (select(Course.id.label("course_key"), Course.patient_id.label("patient_key"),
                   Patient.clinic_id, Course.number.label("course_number"),
                   day_number(Course.start_date).label("course_start"), Patient.indication,
                   Course.status.label("course_status"), _PACK.c.headers, _PACK.c.maps,
                   _PACK.c.first_clinician_id,
                   _PACK.c.first_clinician_code.label("clinician_code"),
                   _PACK.c.first_route.label("route"), _PACK.c.last_infusion,
                   day_number(_PACK.c.last_administered_on).label("last_administered_on"))
            .join(Patient, Patient.id == Course.patient_id)
            .join(_PACK, _PACK.c.course_id == Course.id)
            .where(*where).order_by(Course.id))


def _in_blocks(blocks: Sequence[int]) -> ColumnElement[bool]:
    return or_(*(Course.id.between(b * BLOCK_COURSES, (b + 1) * BLOCK_COURSES - 1)
                 for b in blocks))


def blocks_of(course_ids: Iterable[int]) -> set[int]:
    return {int(c) // BLOCK_COURSES for c in course_ids}


def encode(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def decode(body: pa.Buffer | bytes) -> pa.Table:
    return ipc.open_stream(body).read_all()


def build_blocks(conn: Connection, blocks: Iterable[int]) -> int:
    """Build ``blocks`` from their tables in the caller's transaction (each locked first:
    its row upserted stale, then read, then written fresh); return how many."""
    built = 0
    for block in sorted(set(blocks)):
        _upsert_stale(conn, block)  # the row lock before the read (see the module's note)
        table = read_table(conn, courses_stmt(_in_blocks([block])), SCHEMA)
        conn.execute(update(_BLOCK).where(_BLOCK.c.block == block)
                     .values(body=encode(table), stale=False))
        built += 1
    return built


def lock_fresh(conn: Connection, blocks: Iterable[int]) -> set[int]:
    """Lock the rows of ``blocks`` (in order) and return those fresh now: until the caller
    commits, no other writer marks them, so the caller may patch them for its own writes
    (``patch_blocks``) instead of building them again. Call it before those writes."""
    stmt = (select(_BLOCK.c.block, _BLOCK.c.stale)
            .where(_BLOCK.c.block.in_(sorted(set(blocks)))).order_by(_BLOCK.c.block)
            .with_for_update())
    return {int(block) for block, stale in conn.execute(stmt) if not stale}


def patch_blocks(conn: Connection, blocks: Iterable[int], course_ids: Iterable[int]) -> int:
    """Blocks that ``lock_fresh`` found fresh, with the rows of ``course_ids`` (this
    transaction's writes) read again from the tables and the others kept from the body:
    a save reads its own course's row, not the block's 256."""
    changed: dict[int, list[int]] = {}
    for course in course_ids:
        changed.setdefault(int(course) // BLOCK_COURSES, []).append(int(course))
    patched = 0
    for block in sorted(set(blocks)):
        ids = sorted(changed.get(block, []))
        body = conn.execute(select(_BLOCK.c.body).where(_BLOCK.c.block == block)).scalar()
        if body is None:  # never built: build it whole
            build_blocks(conn, [block])
            continue
        kept = decode(body)
        kept = kept.filter(pc.invert(pc.is_in(kept["course_key"],
                                              value_set=pa.array(ids, pa.int64()))))
        if ids:
            kept = pa.concat_tables([kept, read_table(conn, courses_stmt(Course.id.in_(ids)),
                                                      SCHEMA)])
        table = kept.take(pc.sort_indices(kept["course_key"]))
        conn.execute(update(_BLOCK).where(_BLOCK.c.block == block)
                     .values(body=encode(table), stale=False))
        patched += 1
    return patched


def _upsert_stale(conn: Connection, block: int) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(_BLOCK).values(block=block, stale=True)
    conn.execute(stmt.on_conflict_do_update(index_elements=[_BLOCK.c.block],
                                            set_={"stale": True}))


def stale_blocks(conn: Connection, limit: int | None = None) -> list[int]:
    stmt = select(_BLOCK.c.block).where(_BLOCK.c.stale).order_by(_BLOCK.c.block)
    return list(conn.execute(stmt if limit is None else stmt.limit(limit)).scalars())


def build_all(conn: Connection) -> int:
    """Every block built again: those of every course with a pack, and none else."""
    conn.execute(_BLOCK.delete())
    ids = conn.execute(select(func.distinct(_PACK.c.course_id / BLOCK_COURSES))).scalars()
    return build_blocks(conn, [int(b) for b in ids])


def check_blocks(conn: Connection) -> tuple[int, str] | None:
    """The first block (its first course id, and what differs) whose body is not its read
    from the tables, or whose courses with a pack have no row; None when all agree."""
    rows = dict(conn.execute(select(_BLOCK.c.block, _BLOCK.c.stale)).all())
    packed = conn.execute(select(func.distinct(_PACK.c.course_id / BLOCK_COURSES))).scalars()
    for block in sorted(int(b) for b in packed):
        if block not in rows:
            return block * BLOCK_COURSES, "no block row for courses with a pack"
    for block in sorted(b for b, stale in rows.items() if not stale):
        body = conn.execute(select(_BLOCK.c.body).where(_BLOCK.c.block == block)).scalar()
        kept = decode(body) if body is not None else None
        fresh = read_table(conn, courses_stmt(_in_blocks([block])), SCHEMA)
        if kept is None or not kept.equals(fresh):
            return block * BLOCK_COURSES, (
                f"block body ({'none' if kept is None else f'{kept.num_rows} courses'}) is "
                f"not its courses' read ({fresh.num_rows} courses)")
    return None


def read_courses(conn: Connection, *, stream: bool = True) -> pa.Table | None:
    """Every course with a pack, with SCHEMA's columns, from the fresh blocks' bodies and
    the stale blocks' tables; None when more than MAX_STALE_READ blocks are stale (the
    caller then reads the tables whole).

    The table is a chunk per block, each a view of its body (no copy: the bodies are the
    table's memory). The blocks are read BLOCKS_PER_READ at a time; each read lists its
    blocks fresh or stale in one statement, and a course is in one block only: no course
    is read twice or left out."""
    stale_count = conn.execute(select(func.count()).select_from(_BLOCK)
                               .where(_BLOCK.c.stale)).scalar() or 0
    if stale_count > MAX_STALE_READ:
        return None
    last = conn.execute(select(func.max(_BLOCK.c.block))).scalar()
    parts: list[pa.Table] = []
    stale: list[int] = []
    for first in range(0, -1 if last is None else int(last) + 1, BLOCKS_PER_READ):
        listed = read_table(conn, select(_BLOCK.c.block, _BLOCK.c.stale,
                                         case((_BLOCK.c.stale, None), else_=_BLOCK.c.body)
                                         .label("body"))
                            .where(_BLOCK.c.block.between(first, first + BLOCKS_PER_READ - 1)),
                            {"block": "int", "stale": "bool", "body": "binary"}, stream=stream)
        marks = listed["stale"].to_numpy(zero_copy_only=False).astype(bool)
        stale += ints(listed["block"])[marks].tolist()
        parts += [decode(body.as_buffer()) for chunk in listed["body"].chunks
                  for body in chunk if body.is_valid]  # views of the bodies: no copy
        del listed
    if len(stale) > MAX_STALE_READ:  # marked since the count
        return None
    if stale:
        parts.append(read_table(conn, courses_stmt(_in_blocks(stale)), SCHEMA, stream=stream))
    if not parts:
        return read_table(conn, courses_stmt(Course.id < 0), SCHEMA)  # no course: empty
    return pa.concat_tables(parts)


def with_usernames(conn: Connection, table: pa.Table) -> pa.Table:
    """``table`` with ``username``: the user of ``first_clinician_id`` (null when none)."""
    users = dict(conn.execute(select(User.id, User.username)).all())
    ids = table["first_clinician_id"].to_numpy(zero_copy_only=False)
    known = np.array(sorted(users), dtype="float64")
    names = pa.array([users[int(k)] for k in known], pa.string())
    at = np.searchsorted(known, np.nan_to_num(ids, nan=-1.0))
    found = (at < len(known)) & (known[np.minimum(at, max(len(known) - 1, 0))] == ids) \
        if len(known) else np.zeros(len(ids), dtype=bool)
    usernames = names.take(pa.array(np.where(found, at, 0), mask=~found)) if len(known) \
        else pa.nulls(len(ids), pa.string())
    return table.append_column("username", usernames)


__all__ = ["BLOCK_COURSES", "SCHEMA", "blocks_of", "build_all", "build_blocks",
           "courses_stmt", "read_courses", "stale_blocks", "with_usernames"]
