"""The bulk writer's ids (issue 11 item 2): the id it hands back for each new row is the id
of the row written with that natural key, on SQLite (INSERT ... RETURNING) and PostgreSQL
(COPY with ids from the table's sequence, or INSERT ... RETURNING without COPY), with rows
already in the store, with another writer taking ids in between, and with two writers at
once; every child row written points to the parent its record names.

Each score's total encodes its own natural key (patient number * 100 + infusion number * 10
+ 1 before, 2 after), so a score linked to the wrong infusion is seen in the joins."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from data.store import bulk
from data.store.db import read_session, write_session
from models.tables import Patient

DAY = date(2025, 1, 6)


def _records(clinic: str, patients: range, infusions: range = range(1, 3),
             alert_every: int = 3, with_parents: bool = True) -> bulk.BulkRecords:
    """Patients `patients` of `clinic` (codes P<n>), one course each, the infusions
    `infusions`, a PHQ-9 before and after each; an open alert on every `alert_every`-th
    patient's after-score of each infusion. Without parents: only the infusions and below
    (their patients and courses are in the store)."""
    rows: dict[str, list] = {"patients": [], "courses": [], "infusions": [], "assessments": [],
                             "alerts": []}
    for n in patients:
        code = f"P{n}"
        rows["patients"].append({"clinic": clinic, "patient_code": code, "study_id": None,
                                 "name": "", "indication": "TRD"})
        rows["courses"].append({"clinic": clinic, "patient_code": code, "number": 1,
                                "start_date": DAY})
        for k in infusions:
            day = DAY + timedelta(days=7 * k)
            slot = {"clinic": clinic, "patient_code": code, "course_number": 1}
            rows["infusions"].append({**slot, "number": k, "administered_on": day,
                                      "dose_mg_per_kg": 0.5})
            for timepoint, last in (("pre", 1), ("post", 2)):
                rows["assessments"].append({
                    **slot, "infusion_number": k, "timepoint": timepoint,
                    "instrument": "PHQ-9", "administered_on": day,
                    "items": [1] * 9, "total": n * 100 + k * 10 + last, "complete": True,
                    "item9": 1 if timepoint == "post" and n % alert_every == 0 else 0})
                if timepoint == "post" and n % alert_every == 0:
                    rows["alerts"].append({**slot, "infusion_number": k, "timepoint": "post",
                                           "instrument": "PHQ-9", "item9_value": 1,
                                           "observed_on": day, "status": "open"})
    if not with_parents:  # the batch names every parent it refers to: looked up
        rows["patients"] = [{"clinic": clinic, "patient_code": f"P{n}"} for n in patients]
        rows["courses"] = [{"clinic": clinic, "patient_code": f"P{n}", "number": 1}
                           for n in patients]
    return bulk.BulkRecords(clinics=[{"code": clinic, "name": clinic}], **rows)


LINKS = text("""
    SELECT k.code, p.patient_code, c.number, i.number, a.timepoint, a.total,
           s.item9_value, s.patient_id = p.id, s.clinic_id = k.id
    FROM assessment a
    JOIN infusion i ON i.id = a.infusion_id
    JOIN course c ON c.id = i.course_id AND c.id = a.course_id
    JOIN patient p ON p.id = c.patient_id
    JOIN clinic k ON k.id = p.clinic_id
    LEFT JOIN safetyalert s ON s.assessment_id = a.id
    WHERE k.code = :clinic""")


def _expected(clinic: str, patients: range, infusions: range, alert_every: int = 3) -> set:
    """The join above, row by row, from the rule the records were made by."""
    out = set()
    for n in patients:
        for k in infusions:
            for timepoint, last in (("pre", 1), ("post", 2)):
                alert = timepoint == "post" and n % alert_every == 0
                out.add((clinic, f"P{n}", 1, k, timepoint, n * 100 + k * 10 + last,
                         1 if alert else None, True if alert else None,
                         True if alert else None))
    return out


def _stored_links(clinic: str) -> set:
    with read_session() as session:
        rows = session.execute(LINKS, {"clinic": clinic}).all()
    return {tuple(None if v is None else (bool(v) if i >= 7 else v) for i, v in enumerate(r))
            for r in rows}


def _patient_ids(clinic: str) -> dict[str, int]:
    with read_session() as session:
        return dict(session.execute(text(
            "SELECT p.patient_code, p.id FROM patient p JOIN clinic k ON k.id = p.clinic_id "
            "WHERE k.code = :clinic"), {"clinic": clinic}).all())


@pytest.fixture(params=["default", "no_copy"])
def path(request, engine, monkeypatch) -> str:
    """Each dialect's default path; on PostgreSQL also INSERT ... RETURNING without COPY."""
    if request.param == "no_copy":
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one path (RETURNING)")
        monkeypatch.setattr(bulk, "USE_COPY", False)
    return request.param


def test_returned_ids_are_the_ids_of_the_rows_written(path):
    with write_session() as session:
        bulk.write_records(session, _records("CL1", range(1, 8)))  # rows already present
    before = _patient_ids("CL1")
    codes = [f"N{n}" for n in (5, 3, 9, 1, 7, 2)]  # not in code order
    with write_session() as session:
        clinic_id = session.execute(text("SELECT id FROM clinic WHERE code = 'CL1'")).scalar()
        writer = bulk._Writer(session, datetime(2025, 1, 1, tzinfo=UTC), bulk.CHUNK_SIZE)
        rows = bulk._Columns([{"patient_code": c, "study_id": f"S{c}"} for c in codes])
        ids = writer.insert(Patient, rows, {"clinic_id": [clinic_id] * len(codes)},
                            key=("clinic_id", "patient_code"))
    stored = _patient_ids("CL1")
    assert ids == [stored[c] for c in codes]
    assert len(set(ids)) == 6 and not set(ids) & set(before.values())
    assert ids == sorted(ids)  # in the order of the rows, as plain inserts number them


def test_only_the_wanted_rows_get_ids_and_every_row_is_written(path, engine):
    """Some rows wanted (the scores alerts refer to): RETURNING gives theirs; COPY gives
    none (drawing ids for every row would cost more: the caller looks the few up)."""
    with write_session() as session:
        bulk.write_records(session, _records("CL1", range(1, 3)))
    codes = [f"W{n}" for n in range(10)]
    wanted = [n in (0, 3, 4, 9) for n in range(10)]  # runs: 1 wanted, 2 not, 2, 4 not, 1
    with write_session() as session:
        clinic_id = session.execute(text("SELECT id FROM clinic WHERE code = 'CL1'")).scalar()
        writer = bulk._Writer(session, datetime(2025, 1, 1, tzinfo=UTC), bulk.CHUNK_SIZE)
        rows = bulk._Columns([{"patient_code": c, "study_id": f"S{c}"} for c in codes])
        ids = writer.insert(Patient, rows, {"clinic_id": [clinic_id] * 10},
                            key=("clinic_id", "patient_code"), wanted=wanted)
    stored = _patient_ids("CL1")
    assert set(stored) == {"P1", "P2", *codes}
    if engine.dialect.name == "postgresql" and path == "default":
        assert ids == [None] * 10
    else:
        assert ids == [stored[c] if w else None for c, w in zip(codes, wanted, strict=True)]
    assert [stored[c] for c in codes] == sorted(stored[c] for c in codes)


def test_children_point_to_the_parents_their_records_name(path):
    with write_session() as session:
        bulk.write_records(session, _records("CL1", range(1, 7)))
        bulk.write_records(session, _records("CL2", range(1, 4)))
    # more infusions for the stored patients and courses of CL1, and new patients
    with write_session() as session:
        created = bulk.write_records(session, _records("CL1", range(1, 7), range(3, 5),
                                                       with_parents=False))
    assert created == {"clinics": 0, "users": 0, "patients": 0, "courses": 0,
                       "infusions": 12, "assessments": 24, "alerts": 4}
    with write_session() as session:
        bulk.write_records(session, _records("CL1", range(7, 10)))
    assert _stored_links("CL1") == (_expected("CL1", range(1, 7), range(1, 5))
                                    | _expected("CL1", range(7, 10), range(1, 3)))
    assert _stored_links("CL2") == _expected("CL2", range(1, 4), range(1, 3))


def test_ids_taken_by_another_writer_in_between(path, engine, monkeypatch):
    """Another connection inserts a patient (and so takes an id) just before each table of
    the batch is written: the ids handed back skip it and still name the right rows."""
    with write_session() as session:
        bulk.write_records(session, _records("CL1", range(1, 3)))
    if engine.dialect.name == "sqlite":
        # SQLite has one writer at a time (BEGIN IMMEDIATE): the other writer's row is
        # there before the batch starts; the batch's ids are above it
        other = engine.url
        with create_engine(other).begin() as conn:
            conn.execute(text("INSERT INTO patient (id, clinic_id, patient_code, study_id, "
                              "name, notes, created_at) SELECT 500, id, 'X', 'SX', '', '', "
                              "'2025-01-01 00:00:00' FROM clinic WHERE code = 'CL1'"))
    else:
        taken = []
        real = bulk._Writer._reserve_ids
        others = create_engine(engine.url.render_as_string(hide_password=False))

        def reserve(self, table, n):
            with others.begin() as conn:  # a concurrent writer takes one id of the table
                taken.append((table.name, conn.execute(text(
                    f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id'))")).scalar()))
            return real(self, table, n)

        monkeypatch.setattr(bulk._Writer, "_reserve_ids", reserve)
    with write_session() as session:
        bulk.write_records(session, _records("CL1", range(3, 9)))
    assert _stored_links("CL1") == _expected("CL1", range(1, 9), range(1, 3))
    ids = _patient_ids("CL1")
    assert len(ids) == 8 + (engine.dialect.name == "sqlite")
    if engine.dialect.name == "sqlite":
        assert min(ids[f"P{n}"] for n in range(3, 9)) > 500
    elif path == "default":
        assert {name for name, _ in taken} == {"patient", "course", "infusion"}
        patients_taken = {i for name, i in taken if name == "patient"}
        assert not patients_taken & set(ids.values())


def test_two_writers_at_once(path, engine):
    """Two transactions write two clinics at the same time (on SQLite one waits for the
    other); every row of each points to its own parents."""
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write(clinic: str, patients: range) -> None:
        try:
            start.wait()
            for first in range(patients.start, patients.stop, 10):
                with write_session() as session:
                    bulk.write_records(session, _records(clinic, range(first, first + 10),
                                                         range(1, 4)))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(c, range(1, 41))) for c in ("CA", "CB")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _stored_links("CA") == _expected("CA", range(1, 41), range(1, 4))
    assert _stored_links("CB") == _expected("CB", range(1, 41), range(1, 4))


def test_a_refused_row_raises_sqlalchemys_error_and_nothing_is_kept(path):
    """A row the store refuses (a second course 1 of a patient, written as if new) raises
    SQLAlchemy's IntegrityError, as Core would, and the transaction keeps nothing."""
    from sqlalchemy.exc import IntegrityError

    from models.tables import Course

    with write_session() as session:
        bulk.write_records(session, _records("CL1", range(1, 3)))
    with pytest.raises(IntegrityError), write_session() as session:
        patient_id = _patient_ids("CL1")["P1"]
        writer = bulk._Writer(session, datetime(2025, 1, 1, tzinfo=UTC), bulk.CHUNK_SIZE)
        writer.insert(Course, bulk._Columns([{"number": 2, "start_date": DAY},
                                             {"number": 1, "start_date": DAY}]),
                      {"patient_id": [patient_id, patient_id]}, key=("patient_id", "number"))
    with read_session() as session:
        assert session.execute(text("SELECT count(*) FROM course")).scalar() == 2
