"""The packed course facts (data/analytics/fact_pack.py, migration 0010): the bytes of a
pack written out by hand from the format, every after-N and timepoint lookup, the rows
that do not fit, and the store's two reads (packs, columns) giving the same frame."""

from __future__ import annotations

import math
import struct

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import select, update

from data.analytics import fact_pack
from data.analytics.course_outcomes import check_outcomes, load_facts
from models.access import SYSTEM
from models.tables import CourseOutcome

FACTS = {
    "any_item9_positive": True, "later_item9_positive": False, "day_after_checked": True,
    "baseline": 18.0, "baseline_item9": 1.0, "latest": 7.0, "last_received": 12.0,
    "first_response_received": 9.0, "first_remission_received": None,
    "day_after_item9": 0.0,
    "post_totals": {"2": 11.0, "1": 14.0}, "pre_totals": {"2": 13.0},
    "post_item9": {"1": 1.0}, "pre_item9": None,
}


def test_a_pack_is_its_format_byte_for_byte():
    packed = fact_pack.encode(7, "GAD-7", FACTS, 20_000)
    # version 1; course 7; GAD-7 is catalogue index 1, with any_item9_positive (bit 4) and
    # day_after_checked (bit 6): 1 + 16 + 64 = 81; day 20000
    header = bytes([1]) + (7).to_bytes(8, "little") + bytes([81]) \
        + (20_000).to_bytes(4, "little", signed=True)
    floats = b"".join(struct.pack("<d", v)
                      for v in (18.0, 1.0, 7.0, 12.0, 9.0, math.nan, 0.0))
    counts = bytes([2, 0, 1, 0, 1, 0, 0, 0])  # post totals 2, pre totals 1, post item 9 1
    entries = bytes([1, 0, 14, 0, 2, 0, 11, 0,  # post totals by infusion: 1 -> 14, 2 -> 11
                     2, 0, 13, 0,  # pre totals: 2 -> 13
                     1, 0, 1, 0])  # post item 9: 1 -> 1
    assert packed == header + floats + counts + entries
    assert len(packed) == fact_pack.HEADER + 4 * 4 == 94


def _decoded(packs: list[bytes], timepoint: str, key: int) -> dict[str, np.ndarray]:
    return fact_pack.decode(pa.array(packs, pa.binary()), timepoint, key)


def test_decode_gives_back_every_field_and_looks_up_after_n():
    other = {**FACTS, "any_item9_positive": False, "day_after_checked": False,
             "baseline": None, "post_totals": {"6": 5.0}, "pre_totals": {"7": 4.0},
             "post_item9": {"6": 0.0}, "pre_item9": {"7": 2.0}}
    packs = [fact_pack.encode(7, "GAD-7", FACTS, 20_000),
             fact_pack.encode(9, "PCL-5", other, None)]
    post2 = _decoded(packs, "post", 2)
    assert post2["course_key"].tolist() == [7, 9]
    assert post2["code"].tolist() == [1, 4]
    assert post2["first_day"].tolist() == [20_000, fact_pack.NO_DAY]
    assert post2["any_item9_positive"].tolist() == [True, False]
    assert post2["later_item9_positive"].tolist() == [False, False]
    assert post2["day_after_checked"].tolist() == [True, False]
    assert post2["baseline"][0] == 18.0 and math.isnan(post2["baseline"][1])
    assert math.isnan(post2["first_remission_received"][0])
    assert post2["day_after_item9"].tolist() == [0.0, 0.0]
    # after 2 (post rule): course 7's post total at infusion 2 is 11, no item 9 there
    assert post2["after_n_total"][0] == 11.0 and math.isnan(post2["after_n_answer"][0])
    assert math.isnan(post2["after_n_total"][1])
    post1 = _decoded(packs, "post", 1)
    assert post1["after_n_total"][0] == 14.0 and post1["after_n_answer"][0] == 1.0
    pre2 = _decoded(packs, "pre", 2)  # after 1 under next_pre: infusion 2's pre score
    assert pre2["after_n_total"][0] == 13.0 and math.isnan(pre2["after_n_answer"][0])
    # course 9: post 6 -> 5 (item 9 0); pre 7 -> 4 (item 9 2); a key in one map only
    # never leaks into another map of the same pack
    post6, pre7 = _decoded(packs, "post", 6), _decoded(packs, "pre", 7)
    assert (post6["after_n_total"][1], post6["after_n_answer"][1]) == (5.0, 0.0)
    assert (pre7["after_n_total"][1], pre7["after_n_answer"][1]) == (4.0, 2.0)
    assert math.isnan(_decoded(packs, "pre", 6)["after_n_total"][1])


def test_no_packs_decode_to_empty_columns():
    out = _decoded([], "post", 6)
    assert all(len(column) == 0 for column in out.values())


@pytest.mark.parametrize("change", [
    {"post_totals": {"1": 13.5}},  # not a whole number
    {"pre_item9": {"70000": 1.0}},  # an infusion number above 65,535
    {"post_totals": {"1": 40_000.0}},  # beyond int16
])
def test_a_row_that_does_not_fit_has_no_pack(change):
    assert fact_pack.encode(1, "PHQ-9", {**FACTS, **change}, 1) is None
    assert fact_pack.encode(1, "HAM-D", FACTS, 1) is None  # not in the catalogue


def test_decode_refuses_what_it_cannot_read():
    good = fact_pack.encode(7, "GAD-7", FACTS, 1)
    with pytest.raises(ValueError, match="NULL pack"):
        fact_pack.decode(pa.array([good, None], pa.binary()), "post", 1)
    with pytest.raises(ValueError, match="format version"):
        _decoded([bytes([2]) + good[1:]], "post", 1)
    with pytest.raises(ValueError, match="shorter than its header"):
        _decoded([good[:10]], "post", 1)
    with pytest.raises(ValueError, match="do not match its counts"):
        _decoded([good[:-4]], "post", 1)


# --- the store ----------------------------------------------------------------------------

def _facts(after_n: int, rule: str) -> pd.DataFrame:
    frame = load_facts(actor=SYSTEM, after_n=after_n, timepoint_rule=rule, lean=True,
                       doses=False)
    return frame.sort_values(["course_key", "instrument"]).reset_index(drop=True)


@pytest.mark.parametrize(("after_n", "rule"), [(6, "post"), (3, "next_pre"), (1, "post")])
def test_the_packed_read_equals_the_column_read_on_the_demo_store(demo, engine, after_n,
                                                                  rule):
    packed = _facts(after_n, rule)
    assert len(packed) > 150 and packed["after_n_total"].notna().sum() > 20
    table = CourseOutcome.__table__
    with engine.begin() as conn:  # one row without its pack: the read takes the columns
        first = conn.execute(select(table.c.course_id).limit(1)).scalar()
        conn.execute(update(table).where(table.c.course_id == first).values(packed=None))
    columns = _facts(after_n, rule)
    pd.testing.assert_frame_equal(packed, columns)


def test_check_outcomes_names_a_pack_that_differs_from_its_facts(demo, engine):
    assert check_outcomes() is None
    table = CourseOutcome.__table__
    with engine.begin() as conn:
        course, instrument, packed = conn.execute(
            select(table.c.course_id, table.c.instrument, table.c.packed)
            .order_by(table.c.course_id, table.c.instrument).limit(1)).one()
        wrong = bytes(packed)[:-1] + bytes([bytes(packed)[-1] ^ 1])
        conn.execute(update(table).where(table.c.course_id == course,
                                         table.c.instrument == instrument)
                     .values(packed=wrong))
    difference = check_outcomes()
    assert (difference.course_id, difference.instrument, difference.column) == \
        (course, instrument, "packed")
