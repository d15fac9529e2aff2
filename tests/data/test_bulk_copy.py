"""Issue 13: on PostgreSQL the bulk writer loads rows with COPY FROM STDIN; what is stored
is what executemany stored (the same records written both ways, under two clinic codes,
compared column by column: text with tabs, newlines, backslashes and quotes, NULLs,
JSON lists with nulls, booleans, dates and aware datetimes). SQLite: executemany only."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from data.store import bulk
from data.store.db import read_session, write_session

TRICKY = 'tab\there, new\nline, back\\slash \\N, "quoted", \u00e9\u20ac, \\.'


def _records(clinic: str) -> bulk.BulkRecords:
    patient = {"clinic": clinic, "patient_code": "P1", "study_id": f"S-{clinic}",
               "name": TRICKY, "birth_date": date(1960, 2, 29), "sex": None,
               "indication": "TRD", "failed_trials": None, "notes": "",
               "created_at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}
    infusion = {"clinic": clinic, "patient_code": "P1", "course_number": 1, "number": 1,
                "administered_on": date(2024, 1, 3), "dose_mg_per_kg": 0.5,
                "weight_kg": None, "side_effects": ["nausea", TRICKY],
                "started_at": datetime(2024, 1, 3, 9, 30, tzinfo=UTC),
                "adverse_event": TRICKY}
    score = {"clinic": clinic, "patient_code": "P1", "course_number": 1, "infusion_number": 1,
             "timepoint": "pre", "instrument": "PHQ-9", "administered_on": date(2024, 1, 3),
             "items": [3, None, 2, 1, 0, 3, 2, 1, 0], "total": None, "complete": False,
             "item9": 0, "severity": None}
    return bulk.BulkRecords(
        clinics=[{"code": clinic, "name": f"Clinic {clinic}",
                  "created_at": datetime(2024, 1, 1, tzinfo=UTC)}],
        patients=[patient],
        courses=[{"clinic": clinic, "patient_code": "P1", "number": 1,
                  "start_date": date(2024, 1, 3), "label": TRICKY}],
        infusions=[infusion], assessments=[score])


STORED = {  # every column but ids and the writer's clock
    "patient": "p.patient_code, p.study_id, p.name, p.birth_date, p.sex, p.indication, "
               "p.failed_trials, p.notes, p.created_at",
    "course": "c.number, c.label, c.course_type, c.start_date, c.status",
    "infusion": "i.number, i.administered_on, i.started_at, i.dose_mg_per_kg, i.weight_kg, "
                "CAST(i.side_effects AS TEXT), i.side_effect_other, i.adverse_event",
    "assessment": "a.timepoint, a.instrument, a.administered_on, CAST(a.items AS TEXT), a.total, "
                  "a.severity, a.complete, a.item9, a.source",
}


def _stored(clinic: str) -> dict[str, tuple]:
    joins = ("FROM clinic k JOIN patient p ON p.clinic_id = k.id "
             "JOIN course c ON c.patient_id = p.id JOIN infusion i ON i.course_id = c.id "
             "JOIN assessment a ON a.infusion_id = i.id WHERE k.code = :code")
    with read_session() as session:
        return {name: tuple(session.execute(text(f"SELECT {cols} {joins}"),
                                            {"code": clinic}).one())
                for name, cols in STORED.items()}


def test_copy_stores_what_executemany_stores(engine, monkeypatch):
    if engine.dialect.name != "postgresql":
        pytest.skip("COPY is the PostgreSQL path (TEST_DATABASE_URL)")
    used = []
    real = bulk._copy_rows
    monkeypatch.setattr(bulk, "_copy_rows", lambda *a: used.append(a[1]) or real(*a))
    with write_session() as session:
        bulk.write_records(session, _records("CPY"))
    assert any(sql.startswith('COPY "assessment"') or sql.startswith("COPY assessment")
               for sql in used)
    monkeypatch.setattr(bulk, "USE_COPY", False)
    count = len(used)
    with write_session() as session:
        bulk.write_records(session, _records("EXM"))
    assert len(used) == count  # executemany this time
    copied, inserted = _stored("CPY"), _stored("EXM")
    copied["patient"] = copied["patient"][:1] + copied["patient"][2:]  # the study IDs differ
    inserted["patient"] = inserted["patient"][:1] + inserted["patient"][2:]
    assert copied == inserted
    assert copied["patient"][1] == TRICKY and copied["infusion"][7] == TRICKY
    assert copied["assessment"][3].replace(" ", "") == "[3,null,2,1,0,3,2,1,0]"
