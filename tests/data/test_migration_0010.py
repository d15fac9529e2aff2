"""Migration 0010 on a store holding course outcomes (SQLite, and PostgreSQL with
TEST_DATABASE_URL): every course with kept rows is packed from their columns (the pack a
refresh would write), a course with a row that does not fit keeps NULL packs, and the
downgrade drops the table."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, text

from data.analytics import fact_pack
from data.store.migrate import upgrade
from tests.data.migration_store import downgrade, store_at
from tests.data.test_fact_pack import FACTS

COLUMNS = ("course_id, instrument, first_infusion_date, baseline, baseline_item9, latest, "
           "last_received, first_response_received, first_remission_received, "
           "day_after_item9, any_item9_positive, later_item9_positive, day_after_checked, "
           "post_totals, pre_totals, post_item9, pre_item9")


def _row(course: int, instrument: str, facts: dict, first: str | None) -> dict:
    return {"course_id": course, "instrument": instrument, "first_infusion_date": first,
            **{k: v for k, v in facts.items() if k not in
               ("post_totals", "pre_totals", "post_item9", "pre_item9")},
            **{k: None if facts[k] is None else json.dumps(facts[k])
               for k in ("post_totals", "pre_totals", "post_item9", "pre_item9")}}


@pytest.fixture
def engine_at_0009(tmp_path, monkeypatch):
    with store_at("0009", tmp_path, monkeypatch) as engine:
        yield engine


def test_kept_rows_are_packed_from_their_columns(engine_at_0009):
    unfit = {**FACTS, "post_totals": {"1": 13.5}}
    rows = [_row(3, "PHQ-9", FACTS, "2024-10-04"),  # day 20,000 after 1970-01-01
            _row(3, "GAD-7", {**FACTS, "baseline": None}, None),
            _row(8, "PHQ-9", unfit, "2024-10-04")]
    placeholders = ", ".join(f":{name.strip()}" for name in COLUMNS.split(","))
    with engine_at_0009.begin() as conn:
        conn.execute(text(f"INSERT INTO course_outcome ({COLUMNS}) VALUES ({placeholders})"),
                     rows)
    upgrade(engine_at_0009, "0010")
    with engine_at_0009.connect() as conn:
        packs = {course: (headers, maps) for course, headers, maps in conn.execute(text(
            "SELECT course_id, headers, maps FROM course_outcome_pack"))}
    assert set(packs) == {3, 8}
    assert tuple(bytes(v) for v in packs[3]) == fact_pack.encode(
        [("PHQ-9", FACTS, 20_000), ("GAD-7", {**FACTS, "baseline": None}, None)])
    assert packs[8] == (None, None)
    index = "ix_infusion_course_number_date"
    assert index in {i["name"] for i in inspect(engine_at_0009).get_indexes("infusion")}
    downgrade(engine_at_0009, "0009")
    assert "course_outcome_pack" not in inspect(engine_at_0009).get_table_names()
    assert index not in {i["name"] for i in inspect(engine_at_0009).get_indexes("infusion")}

