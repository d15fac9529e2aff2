"""Course outcomes kept in the store (issue 13 item 1): one ``course_outcome`` row per
(course, instrument) with the reduced facts of ``outcomes.course_facts``, so a summary reads
tens of thousands of small rows instead of every score.

- Writes: every service that can change a course's facts (scores, corrections, infusions,
  course status, imports and the seed through data/store/bulk.py) calls
  ``data.store.outcome_queue.mark_courses_stale(session, course_ids)`` in its own transaction: a row in
  ``course_outcome_stale`` (its ``generation`` goes up at each marking).
- Reads: ``refresh_stale()`` recomputes the queued courses only, from their scores, with the
  engine's functions, and removes the markings it has seen (a marking made meanwhile keeps
  its course queued); then ``load_facts`` reads the rows of the scope with the course
  columns (patient, clinic, number, start and, for the clinician / indication filters, the
  first infusion's clinician and the patient's indication) joined from their tables, and
  resolves after-N in SQL (JSON key lookup, SQLite and PostgreSQL).
- ``rebuild_outcomes`` recomputes every row; ``check_outcomes`` compares the rows with a full
  recomputation (``manage.py rebuild-outcomes`` / ``check-outcomes``).

The refresh is derived data, not a clinical write: it is not audited (the scores it reads
are) and leaves the data version alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from data.analytics import fact_pack, outcome_blocks
from data.analytics.course_progress import PROGRESS_SCHEMA, progress_frame, with_last_infusion
from data.analytics.observations import (
    _joined,
    _median_doses,
    _scores,
    _with_first_infusion,
    chosen_courses,
)
from data.store import outcome_queue
from data.store.arrow_read import (
    Kind,
    bools,
    day_number,
    days,
    floats,
    ints,
    read_table,
    release_freed_memory,
    texts,
)
from data.store.db import get_engine, read_session, write_session
from models.access import Actor, require
from models.tables import (
    Assessment,
    Clinic,
    Course,
    CourseOutcome,
    CourseOutcomePack,
    CourseOutcomeStale,
    Infusion,
    Patient,
    User,
)
from outcomes import course_facts
from outcomes.instruments import INSTRUMENTS, get_instrument
from outcomes.tally import Tally

CHUNK = 2000  # courses recomputed per query
FEW = 200  # up to this many courses, recomputed one by one in plain Python (a save's refresh)
_TABLE = CourseOutcome.__table__
_STALE = CourseOutcomeStale.__table__
_PACK = CourseOutcomePack.__table__


# --- writes -------------------------------------------------------------------------------



def refresh_stale(engine: Engine | None = None, *,
                  course_ids: Sequence[int] | None = None) -> int:
    """Recompute the queued courses (if any; of ``course_ids`` only when given: a save's,
    found by the queue's key); return how many were queued."""
    engine = engine or get_engine()
    mine = [] if course_ids is None else [_STALE.c.course_id.in_(list(course_ids))]
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(_STALE).where(*mine)).scalar() == 0:
            return 0
    with write_session(engine) as session:
        queued = session.execute(select(_STALE.c.course_id, _STALE.c.generation)
                                 .where(*mine)).all()
        ids = [course for course, _ in queued]
        _replace_rows(session, ids)
        for start in range(0, len(queued), 500):
            session.execute(delete(_STALE).where(or_(*(
                and_(_STALE.c.course_id == course, _STALE.c.generation == generation)
                for course, generation in queued[start:start + 500]))))
    return len(queued)


# a save recomputes its courses once committed (data.store.outcome_queue.refresh_after_commit)
outcome_queue.refresh_with(lambda engine, ids: refresh_stale(engine, course_ids=ids))


def rebuild_outcomes(session: Session) -> int:
    """Recompute every course's rows from the scores; return the number of rows."""
    session.execute(delete(_STALE))
    session.execute(delete(_TABLE))
    session.execute(delete(_PACK))
    ids = list(session.execute(select(Assessment.course_id).distinct()).scalars())
    return _replace_rows(session, sorted(ids), deleted=True)


def _replace_rows(session: Session, course_ids: Sequence[int], deleted: bool = False) -> int:
    """Recompute the courses' rows and packs, then bring their blocks up to date: a block
    fresh before these writes (locked first) patched with these courses' rows, a stale one
    built whole, all of them after a rebuild (``deleted``); and a few stale blocks more
    (outcome_blocks.STALE_PER_REFRESH)."""
    conn = session.connection()
    mine = outcome_blocks.blocks_of(course_ids)
    fresh = set() if deleted else outcome_blocks.lock_fresh(conn, mine)  # before the writes
    written = _replace_facts(session, course_ids, deleted)
    if deleted:
        outcome_blocks.build_all(conn)
    else:
        outcome_blocks.patch_blocks(conn, fresh, course_ids)
        stale = outcome_blocks.stale_blocks(
            conn, limit=len(mine) + outcome_blocks.STALE_PER_REFRESH)
        others = [b for b in stale if b not in mine][:outcome_blocks.STALE_PER_REFRESH]
        outcome_blocks.build_blocks(conn, [*(mine - fresh), *others])
    return written


def _replace_facts(session: Session, course_ids: Sequence[int], deleted: bool) -> int:
    written = 0
    for start in range(0, len(course_ids), CHUNK):
        chunk = list(course_ids[start:start + CHUNK])
        if not deleted:
            session.execute(delete(_TABLE).where(_TABLE.c.course_id.in_(chunk)))
            session.execute(delete(_PACK).where(_PACK.c.course_id.in_(chunk)))
        few = len(chunk) <= FEW
        rows = (few_fact_rows if few else fact_rows)(session.connection(), chunk)
        if rows:
            session.execute(insert(_TABLE), rows)
            session.execute(insert(_PACK),
                            pack_rows(rows, infusion_edges(session.connection(), chunk)))
        written += len(rows)
    return written


def fact_rows(conn: Connection, course_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The course_outcome rows of the courses, recomputed from their scores."""
    obs = observations_of(conn, course_ids)
    rows: list[dict[str, Any]] = []
    for name in obs["instrument"].unique().tolist() if len(obs) else []:
        facts = course_facts.course_facts(obs, name)
        rows += [_db_row(name, record) for record in facts.to_dict("records")]
    return rows


def few_fact_rows(conn: Connection, course_ids: Sequence[int]) -> list[dict[str, Any]]:
    """``fact_rows`` for a few courses, one course at a time without frames
    (``outcomes.course_facts.facts_of_course``: the same rules)."""
    stmt = (select(Assessment.course_id, Assessment.instrument, Infusion.number,
                   Assessment.timepoint, Assessment.administered_on, Assessment.total,
                   Assessment.item9, Infusion.administered_on)
            .join(Infusion, Infusion.id == Assessment.infusion_id)
            .where(Assessment.course_id.in_(list(course_ids))))
    by_course: dict[int, list[tuple]] = {}
    for course, *observation in conn.execute(stmt):
        by_course.setdefault(course, []).append(tuple(observation))
    rows = []
    for course in sorted(by_course):
        observations = by_course[course]
        for name in sorted({o[0] for o in observations}):
            facts = course_facts.facts_of_course(observations, name)
            rows.append(_db_row(name, {"course_key": course, **facts}))
    return rows


def observations_of(conn: Connection, course_ids: Sequence[int]) -> pd.DataFrame:
    """The observation frame (data.analytics.observations columns) of the courses; the course columns
    are placeholders (the facts do not depend on them)."""
    scores = _scores(conn, [Course.id.in_(list(course_ids))], None)
    keys = np.unique(scores["course_key"])
    courses = pd.DataFrame({"course_key": keys.astype("int64"), "patient_key": keys,
                            "clinic": pd.Series([""] * len(keys), dtype="str"),
                            "course_number": np.ones(len(keys), dtype="int64"),
                            "course_start": pd.Series(pd.NaT, index=range(len(keys)),
                                                      dtype="datetime64[us]")})
    return _joined(scores, courses)


def _db_row(instrument: str, record: dict) -> dict[str, Any]:
    row: dict[str, Any] = {"course_id": int(record["course_key"]), "instrument": instrument}
    for column in course_facts.FACT_COLUMNS:
        value = record[column]
        if column in course_facts.DATE_FACTS:
            value = None if pd.isna(value) else pd.Timestamp(value).date()
        elif column in ("baseline_infusion", "latest_infusion", "latest_received"):
            value = None if pd.isna(value) else int(value)
        elif column == "latest_timepoint":
            value = None if pd.isna(value) else str(value)
        elif isinstance(value, bool | np.bool_):
            value = bool(value)
        elif isinstance(value, float | np.floating):
            value = None if math.isnan(value) else float(value)
        row[column] = value
    return row


def pack_rows(rows: Sequence[dict[str, Any]],
              edges: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``course_outcome_pack`` rows of the courses of ``rows`` (``_db_row`` dicts): a
    course's rows packed (data/analytics/fact_pack.py), or NULL packs when one does not
    fit, with the course's ``infusion_edges``."""
    by_course: dict[int, list] = {}
    for row in rows:
        first = row["first_infusion_date"]
        by_course.setdefault(row["course_id"], []).append(
            (row["instrument"], row, None if first is None else (first - _EPOCH).days))
    packs = []
    for course in sorted(by_course):
        packed = fact_pack.encode(by_course[course])
        headers, maps = packed if packed is not None else (None, None)
        packs.append({"course_id": course, "headers": headers, "maps": maps,
                      **edges.get(course, _NO_EDGES)})
    return packs


EDGE_COLUMNS = ("first_clinician_id", "first_clinician_code", "first_route", "last_infusion",
                "last_administered_on")
_NO_EDGES = dict.fromkeys(EDGE_COLUMNS)


def infusion_edges(conn: Connection, course_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """EDGE_COLUMNS of each course with an infusion: its first infusion's clinician (id and
    code) and route, the breakdown dimensions (``observations._with_first_infusion``), and
    its last infusion's number and date, D1's progress (``course_progress.read_progress``).
    Kept in the course's pack, so the summary's read of the courses seeks no infusion."""
    stmt = (select(Infusion.course_id, Infusion.number, Infusion.administered_on,
                   Infusion.clinician_id, Infusion.clinician_code, Infusion.route)
            .where(Infusion.course_id.in_(list(course_ids)))
            .order_by(Infusion.course_id, Infusion.number))
    edges: dict[int, dict[str, Any]] = {}
    for course, number, administered_on, clinician_id, code, route in conn.execute(stmt):
        edge = edges.get(course)
        if edge is None:
            edges[course] = {"first_clinician_id": clinician_id, "first_clinician_code": code,
                             "first_route": route, "last_infusion": number,
                             "last_administered_on": administered_on}
        else:
            edge["last_infusion"], edge["last_administered_on"] = number, administered_on
    return edges


_EPOCH = date(1970, 1, 1)


# --- check --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    course_id: int
    instrument: str
    column: str
    stored: Any
    recomputed: Any

    def __str__(self) -> str:
        return (f"course {self.course_id} {self.instrument}: {self.column} is "
                f"{self.stored!r} in course_outcome, {self.recomputed!r} recomputed")


def check_outcomes(engine: Engine | None = None) -> Difference | None:
    """Refresh the queued courses, then compare every stored row with a recomputation from
    the scores; the first difference by (course, instrument), or None."""
    engine = engine or get_engine()
    refresh_stale(engine)
    with engine.connect() as conn:
        stored = {(r["course_id"], r["instrument"]): r for r in
                  (dict(m) for m in conn.execute(select(_TABLE)).mappings())}
        stored_packs = {r["course_id"]: r for r in
                        (dict(m) for m in conn.execute(select(_PACK)).mappings())}
        ids = sorted(set(conn.execute(select(Assessment.course_id).distinct()).scalars()))
        fresh: dict[tuple, dict] = {}
        fresh_packs: dict[int, dict] = {}
        for start in range(0, len(ids), CHUNK):
            rows = fact_rows(conn, ids[start:start + CHUNK])
            fresh.update(((row["course_id"], row["instrument"]), row) for row in rows)
            fresh_packs.update((pack["course_id"], pack) for pack in pack_rows(
                rows, infusion_edges(conn, ids[start:start + CHUNK])))
    for key in sorted(set(stored) | set(fresh)):
        old, new = stored.get(key), fresh.get(key)
        if old is None or new is None:
            return Difference(*key, "row", "present" if old else "missing",
                              "present" if new else "missing")
        for column in course_facts.FACT_COLUMNS:
            if not _same(old[column], new[column]):
                return Difference(*key, column, old[column], new[column])
    for course in sorted(set(stored_packs) | set(fresh_packs)):  # the same facts, packed
        old, new = stored_packs.get(course), fresh_packs.get(course)
        if old is None or new is None:
            return Difference(course, "*", "pack", "present" if old else "missing",
                              "present" if new else "missing")
        for column in ("headers", "maps"):
            if _bytes(old[column]) != _bytes(new[column]):
                return Difference(course, "*", f"pack {column}", _shown(old[column]),
                                  _shown(new[column]))
        for column in EDGE_COLUMNS:
            if old[column] != new[column]:
                return Difference(course, "*", f"pack {column}", old[column], new[column])
    with engine.connect() as conn:  # the blocks: each the read of its courses
        block = outcome_blocks.check_blocks(conn)
    if block is not None:
        return Difference(block[0], "*", "block", block[1], "its courses' read")
    return None


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _shown(packed: Any) -> str:
    return "NULL" if packed is None else f"{len(bytes(packed))} bytes"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(float(a[k]), float(b[k])) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            [float(x) for x in p] == [float(y) for y in q] for p, q in zip(a, b, strict=True))
    return a == b


# --- reads --------------------------------------------------------------------------------

def load_facts(**kwargs: Any) -> pd.DataFrame:
    """The stored rows of the courses in scope (``facts_and_progress`` without progress)."""
    return facts_and_progress(**kwargs)[0]


def facts_and_progress(*, actor: Actor, clinic_ids: list[int] | None = None,
                       start: date | None = None, end: date | None = None, after_n: int,
                       timepoint_rule: str, instruments: Iterable[str] | None = None,
                       dimensions: bool = False, steps: bool = False,
                       patient_ids: Iterable[int] | None = None, doses: bool = True,
                       lean: bool = False, progress: bool = False,
                       engine: Engine | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The stored rows (stale courses refreshed first) of the courses in scope, clinics and
    start range: engine.COURSE_COLUMNS, instrument, the parameter-free facts and RESOLVED
    for ``after_n`` / ``timepoint_rule``; with ``dimensions`` the first infusion's clinician
    and the patient's indication (and, with ``doses``, the course's median dose and its
    band: a read of every infusion's dose); with ``steps`` the remission steps; with
    ``patient_ids`` only those patients' courses (a cached frame patched after a save);
    ``lean`` leaves out ``course_facts.LEAN_OMITTED`` (what no summary, filter or the
    response section reads: a quarter of the columns). With ``progress``, second: D1's
    ``course_progress.read_progress`` columns of the same courses, from the same read of
    the courses (retention needs no read of its own); else None."""
    with read_session():  # a refusal is audited at the unit-of-work boundary
        require(actor, "view_outcomes", entity="outcomes",
                message="This role does not see clinical outcomes.")
    engine = engine or get_engine()
    refresh_stale(engine)
    if patient_ids is None:  # a whole read: what expired caches freed goes back first
        release_freed_memory()
    timepoint, key = course_facts.target_key(after_n, timepoint_rule)
    chosen = chosen_courses(actor, clinic_ids, start, end)
    if patient_ids is not None:
        chosen = [*chosen, Course.patient_id.in_(sorted({int(p) for p in patient_ids}))]
    plain = [c for c in course_facts.FACT_COLUMNS
             if c not in course_facts.MAP_COLUMNS and c != "remission_steps"
             and c not in course_facts.DATE_FACTS
             and not (lean and c in course_facts.LEAN_OMITTED)]
    dates = [c for c in course_facts.DATE_FACTS
             if not (lean and c in course_facts.LEAN_OMITTED)]
    names = [get_instrument(n).name for n in instruments] if instruments is not None else None
    packed = lean and not steps  # the packs hold the lean facts, not the remission steps
    with engine.connect() as conn:  # one transaction: both reads see one state (SQLite)
        course_stmt = (select(Course.id.label("course_key"),
                              Course.patient_id.label("patient_key"),
                              Patient.clinic_id, Course.number.label("course_number"),
                              day_number(Course.start_date).label("course_start"))
                       .join(Patient, Patient.id == Course.patient_id).where(*chosen))
        if packed:  # the courses with rows, each with its pack and its infusions' edges
            courses = _packed_courses(conn, course_stmt, chosen, dimensions=dimensions,
                                      progress=progress, whole=patient_ids is None)
        else:
            if dimensions:
                course_stmt = _with_first_infusion(course_stmt, conn.dialect.name)
            if progress:
                course_stmt = with_last_infusion(course_stmt, conn.dialect.name)
            courses = read_table(conn, course_stmt, {**_FACT_SCHEMA, **PROGRESS_SCHEMA})
        if packed and not courses["headers"].null_count:
            rows = _packed_rows_by_chunk(courses, names, timepoint, key)
            courses = courses.drop_columns(["headers", "maps"])  # read: free their bytes
        else:  # a full read, the remission steps, or a course that does not fit its pack
            rows = _column_rows(conn, chosen, names, plain, dates, timepoint, key, steps,
                                engine)
        clinics = read_table(conn, select(Clinic.id.label("clinic_id"),
                                          Clinic.code.label("clinic")), _FACT_SCHEMA)
        table = _with_courses(rows, courses, clinics)
        dose = None
        if dimensions and doses:  # the course's dose: its median mg/kg, as the observation frame
            medians = _median_doses(conn, chosen)
            dose = (pd.Series(ints(table["course_key"])).map(medians).astype("float64")
                    .to_numpy())
    result = (_typed(table, dose, steps, dimensions),
              progress_frame(courses["course_key"], courses) if progress else None)
    if patient_ids is None:  # a read of the whole scope: its intermediates are freed now
        del courses, rows, table, clinics
        release_freed_memory()
    return result


def _packed_courses(conn: Connection, course_stmt: Select, chosen: list, *,
                    dimensions: bool, progress: bool, whole: bool) -> pa.Table:
    """The chosen courses that have a pack, each with its pack and, from the pack's copy of
    its infusions' edges (``infusion_edges``), the columns of ``_with_first_infusion``
    (``dimensions``) and of ``with_last_infusion`` (``progress``): no infusion is sought.

    Two reads, matched here by course id: the courses (with their patients) and the packs
    (scoped by the same conditions). At XL on PostgreSQL their join cost 0.85-0.9 s through
    ADBC (the packs' side of the hash spilled to disk); apart, 0.39 and 0.30 s. (Side by
    side on two threads they took 0.5-0.6 s, but Arrow's allocator kept each thread's
    memory: the page's peak rose by 100-170 MiB.) ``whole``: a read of the whole scope
    (streamed); else a few patients'. A pack whose course the courses read did not see
    (written between the two reads, on PostgreSQL) is left out, as the join would.

    A whole read of every course (an all-clinic user, no clinic or date filter) takes the
    same columns from the blocks kept of this read (data/analytics/outcome_blocks.py): a
    row per 256 courses (at XL 1,487 rows, where the two reads were 2 x 380,573)."""
    if whole and not chosen:  # every course: the blocks, when few are stale
        kept = outcome_blocks.read_courses(conn)
        if kept is not None:
            return _as_packed_courses(conn, kept, dimensions=dimensions, progress=progress)
    if dimensions:
        course_stmt = course_stmt.add_columns(Patient.indication)
    if progress:
        course_stmt = course_stmt.add_columns(Course.status.label("course_status"))
    pack_stmt = select(_PACK.c.course_id.label("course_key"), _PACK.c.headers, _PACK.c.maps)
    if dimensions:
        pack_stmt = (pack_stmt.add_columns(User.username,
                                           _PACK.c.first_clinician_code.label("clinician_code"),
                                           _PACK.c.first_route.label("route"))
                     .outerjoin(User, User.id == _PACK.c.first_clinician_id))
    if progress:
        pack_stmt = pack_stmt.add_columns(_PACK.c.last_infusion.label("last_infusion"),
                                          day_number(_PACK.c.last_administered_on)
                                          .label("last_administered_on"))
    if chosen:
        pack_stmt = pack_stmt.where(_PACK.c.course_id.in_(
            select(Course.id).join(Patient, Patient.id == Course.patient_id).where(*chosen)))
    schema = {**_FACT_SCHEMA, **PROGRESS_SCHEMA, "headers": "binary", "maps": "binary"}
    courses, packs = (read_table(conn, stmt, schema, stream=whole)
                      for stmt in (course_stmt, pack_stmt))
    packs, at = _matched(packs, courses)
    taken = courses.take(at).drop_columns(["course_key"])
    for name in taken.column_names:
        packs = packs.append_column(name, taken[name])
    return packs


def _as_packed_courses(conn: Connection, kept: pa.Table, *, dimensions: bool,
                       progress: bool) -> pa.Table:
    """``outcome_blocks.read_courses``' table with ``_packed_courses``' columns, in its
    order: the pack's, then the course's."""
    if dimensions:
        kept = outcome_blocks.with_usernames(conn, kept)
    names = ["course_key", "headers", "maps",
             *(["username", "clinician_code", "route"] if dimensions else []),
             *(["last_infusion", "last_administered_on"] if progress else []),
             "patient_key", "clinic_id", "course_number", "course_start",
             *(["indication"] if dimensions else []),
             *(["course_status"] if progress else [])]
    return kept.select(names)


def _column_rows(conn: Connection, chosen: list, names: list[str] | None, plain: list[str],
                 dates: list[str], timepoint: str, key: str, steps: bool,
                 engine: Engine) -> pa.Table:
    """The rows' facts read column by column (``_rows_stmt``)."""
    rows = read_table(conn, _rows_stmt(chosen, names, plain, dates, timepoint, key,
                                       steps, engine, coded=True),
                      {**_FACT_SCHEMA, "instrument": "int"})
    packed = ints(rows["instrument"])
    if len(packed) and bool(((packed & _CODE_MASK) == _UNKNOWN).any()):
        # a name the codes do not know (never written by this application)
        rows = read_table(conn, _rows_stmt(chosen, names, plain, dates, timepoint, key,
                                           steps, engine, coded=False), _FACT_SCHEMA)
    else:
        rows = rows.set_column(
            rows.column_names.index("instrument"), "instrument",
            pa.DictionaryArray.from_arrays(pa.array(packed & _CODE_MASK, pa.int32()),
                                           pa.array(_INSTRUMENT_CODES, pa.string()))
            .dictionary_decode())
        for bit, flag in enumerate(_PACKED_FLAGS):
            rows = rows.append_column(
                flag, pa.array((packed & (_CODE_MASK + 1) << bit) != 0, pa.bool_()))
    return rows


PACK_CHUNK = 50_000  # courses decoded at a time


def _packed_rows_by_chunk(courses: pa.Table, names: list[str] | None, timepoint: str,
                          key: str) -> pa.Table:
    """The lean rows' facts from their courses' packs (data/analytics/fact_pack.py): the
    columns ``_column_rows(..., lean)`` gives, of the instruments ``names`` (all: None),
    decoded PACK_CHUNK courses at a time, in one table, in course order (a
    pack holds its rows in catalogue order: the rows come out in the facts' order,
    ``outcome_report.in_fact_order``, which then sorts nothing; the numbers are put in
    order here, before any text column is made). The decoder's intermediates (the
    records' fields, the maps' lookups: ~290 bytes a row) follow the chunk, not the store
    (at XL, 875,035 rows: 249 MiB at once)."""
    parts = [_packed_values(courses.slice(start, PACK_CHUNK), names, timepoint, key)
             for start in range(0, max(courses.num_rows, 1), PACK_CHUNK)]
    # a column at a time, each part's copy dropped as it is joined (and each column
    # replaced by its ordered copy): one column more in memory, not the facts twice
    values = {name: np.concatenate([part.pop(name) for part in parts])
              for name in list(parts[0])}
    order_key = values["course_key"] * (len(fact_pack.CODES) + 1) + values["code"]
    if len(order_key) > 1 and not bool((order_key[1:] >= order_key[:-1]).all()):
        order = np.argsort(order_key, kind="stable")
        for name in values:
            values[name] = values[name][order]
    return _packed_table(values)


def _packed_values(courses: pa.Table, names: list[str] | None, timepoint: str,
                   key: str) -> dict[str, np.ndarray]:
    """One chunk's rows as numpy arrays (``code``: the instrument's index in
    fact_pack.CODES; ``first_day``: a day number or fact_pack.NO_DAY)."""
    facts = fact_pack.decode(courses["headers"], courses["maps"], timepoint, int(key))
    keep = np.isin(facts["code"], [fact_pack.CODES.index(n) for n in names]) \
        if names is not None else slice(None)
    return {"course_key": ints(courses["course_key"])[facts["course"][keep]],
            "code": facts["code"][keep], "first_day": facts["first_day"][keep],
            **{name: facts[name][keep]
               for name in (*fact_pack.FLOATS, "after_n_total", "after_n_answer",
                            *fact_pack.FLAGS)}}


def _packed_table(values: dict[str, np.ndarray]) -> pa.Table:
    day = values["first_day"]
    return pa.table({
        "course_key": pa.array(values["course_key"], pa.int64()),
        "instrument": pa.DictionaryArray.from_arrays(
            pa.array(values["code"], pa.int32()),
            pa.array(fact_pack.CODES, pa.string())).dictionary_decode(),
        "first_infusion_date": pa.array(day.astype("int32"), pa.int32(),
                                        mask=day == fact_pack.NO_DAY).cast(pa.date32()),
        **{name: pa.array(values[name], pa.float64(), from_pandas=True)
           for name in (*fact_pack.FLOATS, "after_n_total", "after_n_answer")},
        **{flag: pa.array(values[flag], pa.bool_()) for flag in fact_pack.FLAGS},
    })


def _in_scope(stmt, chosen: list, names: list[str] | None):
    """``stmt`` (of course_outcome) narrowed to the chosen courses and instruments."""
    t = _TABLE.c
    if chosen:
        stmt = stmt.where(t.course_id.in_(
            select(Course.id).join(Patient, Patient.id == Course.patient_id).where(*chosen)))
    if names is not None:
        stmt = stmt.where(t.instrument.in_(names))
    return stmt


# Instrument names read as their index here (a small integer per row, where a name is a
# string object per row: the driver's dearest value), _UNKNOWN for a name not listed; the
# three flags ride in the same small integer, a bit each above the code (three values per
# row fewer for the driver to build and the read to transpose).
_INSTRUMENT_CODES = fact_pack.CODES
_CODE_MASK = 15  # the low 4 bits: the instrument's index
_UNKNOWN = _CODE_MASK
_PACKED_FLAGS = fact_pack.FLAGS
assert len(_INSTRUMENT_CODES) < _UNKNOWN


def _rows_stmt(chosen: list, names: list[str] | None, plain: list[str], dates: list[str],
               timepoint: str, key: str, steps: bool, engine: Engine, *, coded: bool):
    """The course_outcome rows of the chosen courses, their own columns only (the course
    columns come from one read of the courses, ``_with_courses``): dates as day numbers;
    when ``coded``, the instrument's index in _INSTRUMENT_CODES plus the _PACKED_FLAGS as
    bits 4, 5 and 6, in one integer labelled instrument."""
    t = _TABLE.c
    if coded:
        instrument = case({n: i for i, n in enumerate(_INSTRUMENT_CODES)}, value=t.instrument,
                          else_=_UNKNOWN)
        for bit, flag in enumerate(_PACKED_FLAGS):
            instrument = instrument + cast(t[flag], Integer) * ((_CODE_MASK + 1) << bit)
        plain = [c for c in plain if c not in _PACKED_FLAGS]
    else:
        instrument = t.instrument
    stmt = select(t.course_id.label("course_key"), instrument.label("instrument"),
                  *(day_number(t[c]).label(c) for c in dates), *(t[c] for c in plain),
                  _json_number(t[f"{timepoint}_totals"], key, engine).label("after_n_total"),
                  _json_number(t[f"{timepoint}_item9"], key, engine).label("after_n_answer"))
    stmt = _in_scope(stmt, chosen, names)
    if steps:
        stmt = stmt.add_columns(cast(t.remission_steps, String).label("remission_steps"))
    return stmt


def _matched(table: pa.Table, courses: pa.Table) -> tuple[pa.Table, pa.Array]:
    """``table``'s rows whose ``course_key`` is among ``courses``' (the others left out, as
    a join would), and for each the position of its course in ``courses``."""
    course_ids = ints(courses["course_key"])
    order = np.argsort(course_ids, kind="stable")
    sorted_ids = course_ids[order]
    keys = ints(table["course_key"])
    if len(sorted_ids):
        at = np.minimum(np.searchsorted(sorted_ids, keys), len(sorted_ids) - 1)
        found = sorted_ids[at] == keys
    else:
        at, found = np.zeros(len(keys), dtype="int64"), np.zeros(len(keys), dtype=bool)
    if not found.all():
        table, at = table.filter(pa.array(found)), at[found]
    return table, pa.array(order[at])


def _with_courses(rows: pa.Table, courses: pa.Table, clinics: pa.Table) -> pa.Table:
    """``rows`` with their course's columns (patient, clinic code, number, start and the
    dimensions read), matched by course id; a row whose course is not among ``courses``
    (written between the two reads, on PostgreSQL) is left out, as the join would."""
    rows, at = _matched(rows, courses)
    courses = courses.drop_columns([c for c in (*PROGRESS_SCHEMA, "headers", "maps")
                                    if c in courses.column_names])
    taken = courses.take(at)
    clinic_ids = ints(clinics["clinic_id"])
    clinic_order = np.argsort(clinic_ids, kind="stable")
    own = ints(taken["clinic_id"])
    clinic_at = clinic_order[np.searchsorted(clinic_ids[clinic_order], own)] if len(own) \
        else np.zeros(0, dtype="int64")
    table = rows
    for name in taken.column_names:
        if name not in ("course_key", "clinic_id"):
            table = table.append_column(name, taken[name])
    return table.append_column("clinic", clinics["clinic"].take(pa.array(clinic_at)))


_FACT_SCHEMA: dict[str, Kind] = {
    "course_key": "int", "patient_key": "int", "course_number": "int", "course_start": "date",
    "clinic_id": "int",
    **dict.fromkeys(("clinic", "instrument", "latest_timepoint", "remission_steps",
                     "indication", "username", "clinician_code", "route"), "text"),
    **dict.fromkeys(course_facts.DATE_FACTS, "date"),
    **dict.fromkeys(("baseline", "baseline_item9", "latest", "last_received",
                     "first_response_received", "first_remission_received", "day_after_item9",
                     "after_n_total", "after_n_answer", "baseline_infusion", "latest_infusion",
                     "latest_received"), "float"),
    **dict.fromkeys(("any_item9_positive", "later_item9_positive", "day_after_checked"),
                    "bool"),
}


def filter_options(*, actor: Actor, clinic_ids: list[int] | None = None,
                   start: date | None = None, end: date | None = None,
                   engine: Engine | None = None) -> dict[str, list[str]]:
    """The clinicians (first infusion's) and indications of the courses with scores in scope,
    clinics and start range: the Outcomes page's filter options, without the scores."""
    with read_session():
        require(actor, "view_outcomes", entity="outcomes",
                message="This role does not see clinical outcomes.")
    engine = engine or get_engine()
    refresh_stale(engine)
    scored = select(_TABLE.c.course_id).distinct()
    stmt = _with_first_infusion(
        select(Course.id).join(Patient, Patient.id == Course.patient_id)
        .where(Course.id.in_(scored), *chosen_courses(actor, clinic_ids, start, end)),
        engine.dialect.name)
    with engine.connect() as conn:
        table = read_table(conn, stmt, {"id": "int", **_FACT_SCHEMA})
    clinician = texts(table["username"]).fillna(texts(table["clinician_code"])).fillna("unknown")
    indication = texts(table["indication"]).fillna("unspecified")
    return {"clinician": sorted(clinician.astype(str).unique().tolist()),
            "indication": sorted(indication.astype(str).unique().tolist())}


def options_from_facts(facts: pd.DataFrame) -> dict[str, list[str]]:
    """``filter_options`` from ``load_facts(..., dimensions=True)`` of the same scope, clinics
    and range (its rows are the scored courses; clinician and indication already filled)."""
    return options_of_counts(option_counts(facts))


OPTION_COLUMNS = ("clinician", "indication")


def option_counts(facts: pd.DataFrame) -> Tally:
    """Rows per clinician and per indication of ``facts`` (as text): what the filter
    options are made of, kept by the Outcomes page and patched with the written
    patients' rows (``Tally.patched``)."""
    out = Tally()
    for column in OPTION_COLUMNS:
        codes, values = pd.factorize(facts[column].astype(str))
        for value, count in zip(values.tolist(), np.bincount(codes, minlength=len(values))
                                .tolist(), strict=True):
            out[(column, value)] = count
    return out


def options_of_counts(counts: Tally) -> dict[str, list[str]]:
    """``options_from_facts`` from ``option_counts``: the values with a row, sorted."""
    return {column: sorted(value for (name, value) in counts if name == column)
            for column in OPTION_COLUMNS}


def _json_number(column, key: str, engine: Engine):
    """The number at ``key`` of a JSON object column, in SQL (``key`` is digits only: it is
    written into the statement)."""
    if not key.isdigit():
        raise ValueError(f"after_n: not a whole number ({key!r})")
    if engine.dialect.name == "postgresql":
        return cast(column.op("->>")(literal_column(f"'{key}'")), Float)
    return func.json_extract(column, literal_column(f"'$.\"{key}\"'"))


def _typed(table: pa.Table, dose: np.ndarray | None, steps: bool,
           dimensions: bool) -> pd.DataFrame:
    read = set(table.column_names)  # a lean read has fewer columns

    def some(columns: dict) -> dict:
        return {name: make(table[name]) for name, make in columns.items() if name in read}

    # copy=False: the arrays are fresh; a copy would stack those of one dtype into one
    # block (at XL ~300 ms, and the frame twice in memory while it is made)
    frame = pd.DataFrame({
        "course_key": ints(table["course_key"]),
        "patient_key": ints(table["patient_key"]),
        "clinic": texts(table["clinic"]),
        "course_number": ints(table["course_number"]),
        "course_start": days(table["course_start"], "us"),
        "instrument": texts(table["instrument"]),
        **some(dict.fromkeys(course_facts.DATE_FACTS, lambda c: days(c, "us"))),
        **some(dict.fromkeys(("baseline", "baseline_item9", "latest", "last_received",
                              "first_response_received", "first_remission_received",
                              "day_after_item9", "after_n_total", "after_n_answer",
                              "baseline_infusion", "latest_infusion", "latest_received"),
                             floats)),
        **some({"latest_timepoint": texts}),
        **{c: bools(table[c]) for c in ("any_item9_positive", "later_item9_positive",
                                        "day_after_checked")},
    }, copy=False)
    if steps:
        import json
        frame["remission_steps"] = [json.loads(s) if isinstance(s, str) else s
                                    for s in table["remission_steps"].to_pylist()]
    if dimensions:
        from data.analytics.observations import dose_band
        frame = frame.assign(
            indication=texts(table["indication"]).fillna("unspecified"),
            clinician=texts(table["username"]).fillna(texts(table["clinician_code"]))
            .fillna("unknown"),
            route=texts(table["route"]).fillna("unknown"))
        if dose is not None:
            dose_series = pd.Series(dose, dtype="float64")
            frame = frame.assign(dose_mg_per_kg=dose_series, dose_band=dose_band(dose_series))
    return frame


def course_tables(facts: pd.DataFrame, *, after_n: int, timepoint_rule: str,
                  all_courses: bool, remission_max: dict[str, int]) -> dict[str, pd.DataFrame]:
    """Per instrument, ``course_table`` of the facts' courses after C3 (index courses unless
    ``all_courses``; chosen over every instrument, as the engine does)."""
    from outcomes.engine import select_courses

    chosen = select_courses(facts, all_courses=all_courses)
    tables = {}
    for name in INSTRUMENTS:
        mine = chosen[chosen["instrument"] == name]
        tables[name] = course_facts.table_from_facts(
            mine, name, after_n=after_n, timepoint_rule=timepoint_rule,
            remission_max=remission_max.get(name))
    return tables
