"""The packed course facts (data/analytics/fact_pack.py, migration 0010): the bytes of a
pack written out by hand from the format, every after-N and timepoint lookup, the rows
that do not fit, and the store's two reads (packs, columns) giving the same frame."""

from __future__ import annotations

import math
import struct
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import select, update

from data.analytics import fact_pack
from data.analytics.course_outcomes import (
    EDGE_COLUMNS,
    check_outcomes,
    facts_and_progress,
    load_facts,
    refresh_stale,
)
from data.clinic.corrections import correct_infusion
from data.store.db import write_session
from models.access import SYSTEM
from models.tables import CourseOutcomePack
from tests.clinical_factories import PHQ9_PRE, TODAY, log, make_course, make_patient, score
from tests.factories import make_user

FACTS = {
    "any_item9_positive": True, "later_item9_positive": False, "day_after_checked": True,
    "baseline": 18.0, "baseline_item9": 1.0, "latest": 7.0, "last_received": 12.0,
    "first_response_received": 9.0, "first_remission_received": None,
    "day_after_item9": 0.0,
    "post_totals": {"2": 11.0, "1": 14.0}, "pre_totals": {"2": 13.0},
    "post_item9": {"1": 1.0}, "pre_item9": None,
}


def test_a_pack_is_its_format_byte_for_byte():
    other = {**FACTS, "any_item9_positive": False, "day_after_checked": False,
             "post_totals": None, "pre_totals": None, "post_item9": None}
    # rows in catalogue order whatever the order given: PHQ-9 (index 0) before GAD-7 (1)
    headers, maps = fact_pack.encode([("GAD-7", FACTS, 20_000), ("PHQ-9", other, None)])

    def header(code: int, day: int, floats: tuple, lengths: tuple) -> bytes:
        return (bytes([1, code]) + day.to_bytes(4, "little", signed=True)
                + b"".join(struct.pack("<d", v) for v in floats)
                + b"".join(n.to_bytes(2, "little") for n in lengths))

    floats = (18.0, 1.0, 7.0, 12.0, 9.0, math.nan, 0.0)
    # PHQ-9: no flag, no first infusion (-2**31), maps: none but pre item 9 (None too)
    # GAD-7: index 1 + any_item9_positive (bit 4) + day_after_checked (bit 6) = 81
    assert headers == (header(0, -2 ** 31, floats, (0, 0, 0, 0))
                       + header(81, 20_000, floats, (3, 3, 2, 0)))
    missing = (-2 ** 15).to_bytes(2, "little", signed=True)

    def v(n: int) -> bytes:
        return n.to_bytes(2, "little", signed=True)

    # GAD-7 maps indexed by infusion number: post totals [-, 14, 11], pre totals
    # [-, -, 13], post item 9 [-, 1]
    assert maps == (missing + v(14) + v(11) + missing + missing + v(13) + missing + v(1))
    assert fact_pack.HEADER == 70


def _decoded(courses: list, timepoint: str, key: int) -> dict[str, np.ndarray]:
    packs = [fact_pack.encode(rows) for rows in courses]
    return fact_pack.decode(pa.array([p[0] for p in packs], pa.binary()),
                            pa.array([p[1] for p in packs], pa.binary()), timepoint, key)


OTHER = {**FACTS, "any_item9_positive": False, "day_after_checked": False, "baseline": None,
         "post_totals": {"6": 5.0}, "pre_totals": {"7": 4.0}, "post_item9": {"6": 0.0},
         "pre_item9": {"7": 2.0}}
COURSES = [[("GAD-7", FACTS, 20_000)], [("PCL-5", OTHER, None), ("PHQ-9", FACTS, 3)]]


def test_decode_gives_back_every_field_and_looks_up_after_n():
    post2 = _decoded(COURSES, "post", 2)
    assert post2["course"].tolist() == [0, 1, 1]  # PHQ-9 before PCL-5 in course 1
    assert post2["code"].tolist() == [1, 0, 4]
    assert post2["first_day"].tolist() == [20_000, 3, fact_pack.NO_DAY]
    assert post2["any_item9_positive"].tolist() == [True, True, False]
    assert post2["later_item9_positive"].tolist() == [False, False, False]
    assert post2["day_after_checked"].tolist() == [True, True, False]
    assert post2["baseline"][0] == 18.0 and math.isnan(post2["baseline"][2])
    assert math.isnan(post2["first_remission_received"][0])
    assert post2["day_after_item9"].tolist() == [0.0, 0.0, 0.0]
    # after 2 (post rule): the post total at infusion 2 is 11, no item 9 there
    assert post2["after_n_total"][:2].tolist() == [11.0, 11.0]
    assert np.isnan(post2["after_n_answer"]).all() and math.isnan(post2["after_n_total"][2])
    post1 = _decoded(COURSES, "post", 1)
    assert post1["after_n_total"][0] == 14.0 and post1["after_n_answer"][0] == 1.0
    pre2 = _decoded(COURSES, "pre", 2)  # after 1 under next_pre: infusion 2's pre score
    assert pre2["after_n_total"][0] == 13.0 and math.isnan(pre2["after_n_answer"][0])
    # PCL-5: post 6 -> 5 (item 9 0); pre 7 -> 4 (item 9 2); a number in one map only
    # never leaks into another map, nor into the next row's maps
    post6, pre7 = _decoded(COURSES, "post", 6), _decoded(COURSES, "pre", 7)
    assert (post6["after_n_total"][2], post6["after_n_answer"][2]) == (5.0, 0.0)
    assert (pre7["after_n_total"][2], pre7["after_n_answer"][2]) == (4.0, 2.0)
    assert np.isnan(post6["after_n_total"][:2]).all()
    assert math.isnan(_decoded(COURSES, "pre", 6)["after_n_total"][2])
    assert np.isnan(_decoded(COURSES, "post", 4096)["after_n_total"]).all()


def test_no_packs_decode_to_empty_columns():
    out = _decoded([], "post", 6)
    assert all(len(column) == 0 for column in out.values())


@pytest.mark.parametrize("change", [
    {"post_totals": {"1": 13.5}},  # not a whole number
    {"pre_item9": {"4096": 1.0}},  # an infusion number above 4,095
    {"post_totals": {"1": 40_000.0}},  # beyond int16
])
def test_a_course_that_does_not_fit_has_no_pack(change):
    assert fact_pack.encode([("PHQ-9", FACTS, 1), ("GAD-7", {**FACTS, **change}, 1)]) is None
    assert fact_pack.encode([("HAM-D", FACTS, 1)]) is None  # not in the catalogue


def test_decode_refuses_what_it_cannot_read():
    headers, maps = fact_pack.encode([("GAD-7", FACTS, 1)])

    def decode(h, m):
        return fact_pack.decode(pa.array(h, pa.binary()), pa.array(m, pa.binary()), "post", 1)

    with pytest.raises(ValueError, match="NULL pack"):
        decode([headers, None], [maps, None])
    with pytest.raises(ValueError, match="format version"):
        decode([bytes([2]) + headers[1:]], [maps])
    with pytest.raises(ValueError, match="not whole records"):
        decode([headers[:10]], [maps])
    with pytest.raises(ValueError, match="do not match its headers"):
        decode([headers], [maps[:-2]])


# --- the store ----------------------------------------------------------------------------

def _facts(after_n: int, rule: str, **kwargs) -> pd.DataFrame:
    frame = load_facts(actor=SYSTEM, after_n=after_n, timepoint_rule=rule, lean=True,
                       doses=False, **kwargs)
    return frame.sort_values(["course_key", "instrument"]).reset_index(drop=True)


@pytest.mark.parametrize(("after_n", "rule"), [(6, "post"), (3, "next_pre"), (1, "post")])
def test_the_packed_read_equals_the_column_read_on_the_demo_store(demo, engine, after_n,
                                                                  rule):
    packed = _facts(after_n, rule)
    assert len(packed) > 150 and packed["after_n_total"].notna().sum() > 20
    two = _facts(after_n, rule, instruments=["GAD-7", "MADRS"])
    assert set(two["instrument"]) == {"GAD-7", "MADRS"}
    table = CourseOutcomePack.__table__
    with engine.begin() as conn:  # one course without its pack: the read takes the columns
        first = conn.execute(select(table.c.course_id).limit(1)).scalar()
        conn.execute(update(table).where(table.c.course_id == first)
                     .values(headers=None, maps=None))
    pd.testing.assert_frame_equal(packed, _facts(after_n, rule))
    pd.testing.assert_frame_equal(two, _facts(after_n, rule, instruments=["GAD-7", "MADRS"]))


def test_check_outcomes_names_a_pack_that_differs_from_its_facts(demo, engine):
    assert check_outcomes() is None
    table = CourseOutcomePack.__table__
    with engine.begin() as conn:
        course, maps = conn.execute(select(table.c.course_id, table.c.maps)
                                    .order_by(table.c.course_id).limit(1)).one()
        wrong = bytes(maps)[:-1] + bytes([bytes(maps)[-1] ^ 1])
        conn.execute(update(table).where(table.c.course_id == course).values(maps=wrong))
    difference = check_outcomes()
    assert (difference.course_id, difference.column) == (course, "pack maps")


def test_chunked_packs_decode_as_one_array():
    packs = [fact_pack.encode(rows) for rows in COURSES]
    headers = pa.chunked_array([pa.array([packs[0][0]], pa.binary()),
                                pa.array([packs[1][0]], pa.binary())])
    maps = pa.chunked_array([pa.array([packs[0][1]], pa.binary()),
                             pa.array([packs[1][1]], pa.binary())])
    chunked = fact_pack.decode(headers, maps, "pre", 7)
    whole = _decoded(COURSES, "pre", 7)
    assert chunked.keys() == whole.keys()
    for name, column in whole.items():
        np.testing.assert_array_equal(chunked[name], column)


# --- the infusions' edges (migration 0011) -------------------------------------------------

def test_the_pack_read_gives_what_the_infusion_seeks_give(demo):
    """The breakdown dimensions and D1's progress from the packs' copy of each course's
    first and last infusion equal those of the seeks (the read with the remission steps
    takes no pack)."""
    def read(steps: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
        facts, progress = facts_and_progress(actor=SYSTEM, after_n=6, timepoint_rule="post",
                                             lean=True, dimensions=True, progress=True,
                                             doses=False, steps=steps)
        columns = ["course_key", "instrument", "clinician", "indication", "route"]
        return (facts[columns].sort_values(columns[:2]).reset_index(drop=True),
                progress.sort_values("course_key").reset_index(drop=True))

    (packed, packed_progress), (sought, sought_progress) = read(False), read(True)
    assert packed["route"].notna().all() and packed["clinician"].nunique() > 1
    pd.testing.assert_frame_equal(packed, sought)
    sought_progress = sought_progress[sought_progress["course_key"].isin(
        packed_progress["course_key"])].reset_index(drop=True)  # the courses with rows
    assert packed_progress["last_infusion"].max() > 6
    pd.testing.assert_frame_equal(packed_progress, sought_progress)


def _edges(engine, course_id: int) -> dict:
    refresh_stale(engine)
    table = CourseOutcomePack.__table__
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.course_id == course_id)).mappings().one()
    return {name: row[name] for name in EDGE_COLUMNS}


def test_every_infusion_write_brings_the_edges_up_to_date(engine):
    """Written out by hand: infusion 1 (IV, by clin) with a score, then infusion 2 (IM,
    no score), then infusion 1's route corrected to IM: the pack follows each write."""
    clin = make_user("clin", "clinician", ("CL1",))
    course = make_course(clin, make_patient(clin, "P-1"))
    first = log(clin, course, 1, scores=[score("PHQ-9", "pre", PHQ9_PRE)],
                administered_on=date(2025, 2, 1)).infusion
    assert _edges(engine, course) == {
        "first_clinician_id": clin.user_id, "first_clinician_code": "clin",
        "first_route": "IV", "last_infusion": 1, "last_administered_on": date(2025, 2, 1)}
    log(clin, course, 2, route="IM", administered_on=date(2025, 2, 4))
    assert _edges(engine, course)["last_infusion"] == 2
    assert _edges(engine, course)["last_administered_on"] == date(2025, 2, 4)
    assert _edges(engine, course)["first_route"] == "IV"
    with write_session() as session:
        correct_infusion(session, actor=make_user("dir", "director", ("CL1",)),
                         infusion_id=first.id, changes={"route": "IM"},
                         reason="charted on the wrong line", today=TODAY)
    assert _edges(engine, course)["first_route"] == "IM"
    assert check_outcomes() is None
    table = CourseOutcomePack.__table__
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.course_id == course).values(last_infusion=1))
    difference = check_outcomes()
    assert (difference.course_id, difference.column, difference.stored,
            difference.recomputed) == (course, "pack last_infusion", 1, 2)


def test_a_whole_read_hands_its_freed_memory_back_a_patch_does_not(demo, monkeypatch):
    import data.analytics.course_outcomes as course_outcomes

    calls = []
    monkeypatch.setattr(course_outcomes, "release_freed_memory", lambda: calls.append(1))
    whole = _facts(6, "post")
    assert len(calls) == 2  # before the read (what expired caches freed) and after it
    patient = int(whole["patient_key"].iloc[0])
    _facts(6, "post", patient_ids=[patient])  # a patch after a save: a few rows
    assert len(calls) == 2


def test_packs_decoded_chunk_by_chunk_give_the_same_rows(demo, monkeypatch):
    import data.analytics.course_outcomes as course_outcomes

    whole = _facts(3, "next_pre")
    monkeypatch.setattr(course_outcomes, "PACK_CHUNK", 7)  # the demo's courses in chunks of 7
    chunked = _facts(3, "next_pre")
    assert len(whole) > 150
    pd.testing.assert_frame_equal(chunked, whole)


def test_packs_are_decoded_in_course_order_so_the_facts_need_no_sort(monkeypatch):
    """The whole read decodes its packs by course id, a chunk at a time: the rows come out
    in the facts' order (course, then catalogue), which in_fact_order then keeps as is."""
    import pyarrow as pa

    import data.analytics.course_outcomes as course_outcomes
    from data.analytics.outcome_report import in_fact_order

    monkeypatch.setattr(course_outcomes, "PACK_CHUNK", 2)
    packs = {9: [("GAD-7", FACTS, 1), ("PHQ-9", FACTS, 1)], 2: [("MADRS", FACTS, 1)],
             5: [("PCL-5", FACTS, 1), ("PHQ-9", FACTS, 1)]}
    keys = [9, 2, 5]  # as the server returned them
    encoded = [fact_pack.encode(packs[k]) for k in keys]
    courses = pa.table({"course_key": pa.array(keys, pa.int64()),
                        "headers": pa.array([h for h, _ in encoded], pa.binary()),
                        "maps": pa.array([m for _, m in encoded], pa.binary()),
                        "indication": pa.array(["x", "y", "z"])})
    rows = course_outcomes._packed_rows_by_chunk(courses, None, "post", 2)
    assert list(zip(rows["course_key"].to_pylist(), rows["instrument"].to_pylist(),
                    strict=True)) == [(2, "MADRS"), (5, "PHQ-9"), (5, "PCL-5"),
                                      (9, "PHQ-9"), (9, "GAD-7")]
    frame = rows.to_pandas()
    sorted_already = in_fact_order(frame)
    assert sorted_already["course_key"].tolist() == [2, 5, 5, 9, 9]
    calls = []
    monkeypatch.setattr(pd.DataFrame, "take", lambda self, *a, **k: calls.append(1))
    in_fact_order(frame)
    assert calls == []  # nothing to sort
