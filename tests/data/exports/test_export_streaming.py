"""Issue 13: the scores and FHIR exports are written chunk by chunk (data/exports/stream.py)
and give the same files as the whole-table path (`service._build`: the whole table read,
de-identified and written at once): byte-equal CSV and JSON, the same XLSX cells, the
same FHIR bundle; FHIR NDJSON holds the bundle's resources, one file per type.

The identifier store (tests/data/exports/store.py): 8 patients (CL1 6, CL2 2), one course
each; PHQ-9 and GAD-7 before infusion 1 (8 + 8) and after infusion 6 (7 + 7: P6 had 3
infusions): 30 scores, each with a total. Chunks of 3 courses: pages of 3, 3 and 2.
"""

from __future__ import annotations

import io
import itertools
import json
import random
import uuid
import zipfile
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from data.exports import ExportRequest, run_export, service, tables
from data.exports.service import _build, _filters, validate_request

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fixed(monkeypatch):
    """Both paths alike: staff pseudonyms in one order, resource ids counted from 0; and
    courses streamed 3 at a time (several chunks). Returns `restart()` for the ids."""
    monkeypatch.setattr(random, "SystemRandom", lambda: random.Random(3))
    monkeypatch.setattr(tables, "COURSE_CHUNK", 3)
    state = {"ids": itertools.count()}
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(state["ids"])))

    def restart() -> None:
        state["ids"] = itertools.count()
    return restart


def _both(actor, request, restart) -> tuple[bytes, bytes]:
    """(streamed, whole-table) bytes of the same export at the same moment."""
    req = validate_request(request)
    restart()
    whole, _ = _build(actor, req, NOW, _filters(req))
    restart()
    streamed = run_export(actor=actor, request=request, now=NOW)
    assert (request.kind, request.fmt) in service.STREAMED
    return streamed.content, whole


def _cells(content: bytes) -> dict[str, list[tuple]]:
    workbook = load_workbook(io.BytesIO(content))
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()]
            for ws in workbook.worksheets}


CASES = [  # (deidentified, date mode, clinics, start, end)
    pytest.param(True, "year", None, None, None, id="deidentified-year"),
    pytest.param(True, "days", None, None, None, id="deidentified-days"),
    pytest.param(False, "year", None, None, None, id="identified"),
    pytest.param(True, "year", "CL2", None, None, id="one-clinic"),
    pytest.param(True, "year", None, date(2030, 1, 1), None, id="no-rows"),
]


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
@pytest.mark.parametrize(("deidentified", "date_mode", "clinic", "start", "end"), CASES)
def test_streamed_scores_equal_the_whole_table_file(actors, fixed, fmt, deidentified,
                                                    date_mode, clinic, start, end):
    from data.exports.service import clinic_ids_for
    from data.store.db import read_session

    with read_session() as session:
        clinic_ids = clinic_ids_for(session, [clinic]) if clinic else None
    request = ExportRequest("scores", fmt, deidentified=deidentified, reason="check",
                            date_mode=date_mode, clinic_ids=clinic_ids, start=start, end=end)
    streamed, whole = _both(actors["director"], request, fixed)
    if fmt == "xlsx":
        assert _cells(streamed) == _cells(whole)
    else:
        assert streamed == whole
    rows = {"csv": lambda b: b.decode().count("\n") - 1,
            "json": lambda b: len(json.loads(b)["rows"]),
            "xlsx": lambda b: len(_cells(b)["scores"]) - 1}[fmt](streamed)
    assert rows == {None: 30, "CL2": 8}[clinic] if start is None else rows == 0


@pytest.mark.parametrize("deidentified", [True, False])
def test_streamed_fhir_bundle_equals_the_whole_bundle(actors, fixed, deidentified):
    request = ExportRequest("fhir", "json", deidentified=deidentified, reason="check")
    streamed, whole = _both(actors["director"], request, fixed)
    assert json.loads(streamed) == json.loads(whole)
    kinds = [e["resource"]["resourceType"] for e in json.loads(streamed)["entry"]]
    assert (kinds.count("Patient"), kinds.count("QuestionnaireResponse"),
            kinds.count("Observation")) == (8, 30, 30)


def test_the_scores_are_read_a_few_courses_at_a_time(actors, fixed, monkeypatch):
    """Memory bounded by the chunk: no read holds more than 3 courses' scores (at most
    4 each here), and the 8 courses take 3 reads."""
    real, sizes = tables._course_scores, []

    def spy(*args, **kwargs):
        table = real(*args, **kwargs)
        sizes.append(table.n_rows)
        return table
    monkeypatch.setattr(tables, "_course_scores", spy)
    result = run_export(actor=actors["auditor"], request=ExportRequest("scores", "csv"))
    assert result.manifest["row_count"] == 30
    assert len(sizes) == 3 and max(sizes) <= 12 and sum(sizes) == 30


def _ndjson(content: bytes) -> dict[str, list[dict]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: [json.loads(line) for line in archive.read(name).splitlines()]
                for name in archive.namelist()}


def test_fhir_ndjson_holds_the_bundle_resources_one_file_per_type(actors, fixed):
    bundle = run_export(actor=actors["auditor"], request=ExportRequest("fhir", "json"), now=NOW)
    fixed()
    result = run_export(actor=actors["auditor"], request=ExportRequest("fhir", "ndjson"),
                        now=NOW)
    assert result.filename.startswith("fhir-ndjson-deidentified-")
    assert result.filename.endswith(".zip") and result.mime == "application/zip"
    files = _ndjson(result.content)
    assert sorted(files) == ["Observation.ndjson", "Patient.ndjson",
                             "QuestionnaireResponse.ndjson"]
    assert [len(files[f"{k}.ndjson"]) for k in ("Patient", "QuestionnaireResponse",
                                                "Observation")] == [8, 30, 30]
    assert result.manifest["rows"] == {"Patient": 8, "QuestionnaireResponse": 30,
                                       "Observation": 30}
    assert result.manifest["read_back"] == "full"

    def as_bundle_resource(resource: dict) -> tuple[str, dict]:
        """NDJSON's id and `Type/id` references as the bundle's urn:uuid fullUrls."""
        resource = dict(resource)
        ident = resource.pop("id")
        text = json.dumps(resource)
        for kind in ("Patient", "QuestionnaireResponse"):
            text = text.replace(f'"{kind}/', '"urn:uuid:')
        return f"urn:uuid:{ident}", json.loads(text)

    from_ndjson = dict(as_bundle_resource(r) for lines in files.values() for r in lines)
    entries = json.loads(bundle.content)["entry"]
    assert from_ndjson == {e["fullUrl"]: e["resource"] for e in entries}
    for line in files["Patient.ndjson"]:  # de-identified: no names, the study ID
        assert "name" not in line and line["meta"]["security"][0]["code"] == "PSEUDED"


def test_a_file_export_stays_in_its_file_and_a_failed_one_is_removed(actors, tmp_path,
                                                                      monkeypatch):
    done = []
    target = tmp_path / "scores.csv"
    result = run_export(actor=actors["auditor"], request=ExportRequest("scores", "csv"),
                        path=target, progress=lambda f, text: done.append(f))
    assert result.content == b"" and result.path == target
    assert target.read_bytes().decode().count("\n") == 31  # the header and 30 rows
    assert result.manifest["bytes"] == target.stat().st_size
    assert done[0] == 0.0 and done[-1] == 1.0
    from data.exports import ExportReadBackError

    broken = tmp_path / "broken.csv"
    monkeypatch.setattr(service, "read_back", lambda *a, **k: (_ for _ in ()).throw(
        ExportReadBackError("the csv export did not read back (test)")))
    with pytest.raises(ExportReadBackError):
        run_export(actor=actors["auditor"], request=ExportRequest("scores", "csv"), path=broken)
    assert not broken.exists()


def _infusion(session, code: str, number: int):
    from sqlmodel import select

    from models.tables import Course, Infusion, Patient
    return session.exec(select(Infusion).join(Course, Course.id == Infusion.course_id)
                        .join(Patient, Patient.id == Course.patient_id)
                        .where(Patient.patient_code == code, Infusion.number == number)).one()


def test_a_score_on_another_courses_infusion_keeps_that_infusions_number(actors):
    """The infusion numbers are read with each chunk's courses and given by infusion id; no
    constraint ties a score's infusion to its course, and the join this replaced found
    any. MRN-998877's PHQ-9 after infusion 6 is moved onto infusion 3 of MRN-555002 (3
    infusions, no score after any): read one course a chunk, its number is 3, and every
    other score keeps its own (its infusion's number: 1 for the 'pre' scores, 6 after)."""
    from sqlmodel import select

    from data.exports.tables import RowFilters, iter_score_chunks, load_scores, score_plan
    from data.store.db import read_session, write_session
    from models.tables import Assessment

    with write_session() as session:
        own = _infusion(session, "MRN-998877", 6)
        other = _infusion(session, "MRN-555002", 3)
        moved = session.exec(select(Assessment).where(
            Assessment.infusion_id == own.id, Assessment.instrument == "PHQ-9")).one()
        moved.infusion_id = other.id
        session.add(moved)
    with read_session() as session:
        actor, filters = actors["director"], RowFilters()
        plan = score_plan(session, actor=actor, filters=filters)
        chunks = list(iter_score_chunks(session, actor=actor, filters=filters,
                                        widest=plan.widest, courses_per_chunk=1))
        whole = load_scores(session, actor=actor, filters=filters)
    rows = [row for chunk in chunks for row in chunk.rows]
    assert plan.n_rows == len(rows) == whole.n_rows == 30
    assert [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows] == \
        [{k: v for k, v in row.items() if not k.startswith("_")} for row in whole.rows]
    numbers = {(r["patient_code"], r["timepoint"], r["instrument"]): r["infusion_number"]
               for r in rows}
    assert numbers[("MRN-998877", "post", "PHQ-9")] == 3
    assert numbers[("MRN-998877", "post", "GAD-7")] == 6
    assert {n for (_, tp, _), n in numbers.items() if tp == "pre"} == {1}


def test_chunk_reads_on_postgresql_take_the_index_and_set_the_planner_back(actors):
    """`index_reads`: inside it a chunk's read of scores by course id plans no sequential
    scan (the planner's own choice at XL: docs/PERFORMANCE.md), and the settings are the
    transaction's own again after it."""
    from sqlalchemy import text

    from data.exports.tables import RowFilters, _score_columns
    from data.store.arrow_read import index_reads
    from data.store.db import get_engine, read_session

    if get_engine().dialect.name != "postgresql":
        pytest.skip("SQLite has no planner settings; it takes the index")
    plans: list[str] = []
    with read_session() as session:
        conn = session.connection()
        conn.execute(text("SET LOCAL enable_seqscan = on"))
        course = conn.execute(text("SELECT min(course_id) FROM assessment")).scalar_one()
        explain = ("EXPLAIN SELECT * FROM assessment WHERE course_id IN "
                   f"({course}, {course + 1})")
        plans.append(" ".join(r[0] for r in conn.execute(text(explain))))
        with index_reads(conn):
            settings = conn.execute(text("SELECT current_setting('enable_seqscan'), "
                                         "current_setting('jit')")).one()
            plans.append(" ".join(r[0] for r in conn.execute(text(explain))))
            assert _score_columns(conn, actors["director"], RowFilters(), None, False,
                                  course_ids=[course])["total"].codes.size == 4
        after = conn.execute(text("SELECT current_setting('enable_seqscan')")).scalar_one()
    assert tuple(settings) == ("off", "off")
    assert "Seq Scan" in plans[0]  # 30 rows: the planner reads the table
    assert "Seq Scan" not in plans[1] and "Index" in plans[1]
    assert after == "on"
