"""The Outcomes page's course tables kept across data versions (ui/outcome_cache.py,
cached_tables; issue 13): after a write only the written patients' courses are computed
again and patched in, and the patched tables equal a fresh computation of the whole scope.

Expected values from OUTCOMES.md: O1 baseline = the pre score of infusion 1, O2 latest = the
last scored observation after it, O3 percent change, O4 response = latest <= baseline / 2,
O7 after infusion N (post rule: the post score of infusion N)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from sqlmodel import select

import data.analytics.outcome_report as report
import ui.outcome_cache as cache
from data.analytics.outcome_frames import data_version
from data.analytics.outcome_report import (
    OutcomeFilters,
    course_tables,
    in_fact_order,
    outcome_summary,
    resolved_parameters,
)
from data.clinic.corrections import correct_score
from data.clinic.patients import update_patient
from data.store.db import read_session, write_session
from models.tables import Assessment
from outcomes.instruments import INSTRUMENTS
from tests.clinical_factories import log, make_course, make_patient, score
from tests.factories import make_user

PHQ_18, PHQ_9 = [2] * 9, [1] * 9  # PHQ-9 totals 18 and 9 (9 <= 18 / 2: a response)
GAD_14, GAD_7 = [2] * 7, [1] * 7  # GAD-7 totals 14 and 7 (a response)
FILTERS = OutcomeFilters(after_n=2, timepoint_rule="post")
PTSD = OutcomeFilters(after_n=2, timepoint_rule="post", indications=("PTSD",))


@pytest.fixture
def world(engine):
    """Two CL1 patients (A-2 with another indication) and one CL2 patient, each with one
    course: infusion 1 with PHQ-9 pre 18, GAD-7 pre 14 and PHQ-9 post 18."""
    clin = make_user("nurse", "clinician", clinics=("CL1", "CL2"))
    courses = {}
    for code, clinic, indication in (("A-1", "CL1", "depression"), ("A-2", "CL1", "PTSD"),
                                     ("B-1", "CL2", "depression")):
        patient = make_patient(clin, code, clinic=clinic, indication=indication)
        course = make_course(clin, patient)
        log(clin, course, 1, [score("PHQ-9", "pre", PHQ_18), score("GAD-7", "pre", GAD_14),
                              score("PHQ-9", "post", PHQ_18)])
        courses[code] = (patient, course)
    director = make_user("boss", "director", clinics=("CL1", "CL2"), all_clinics=True)
    cl1 = make_user("one", "clinician", clinics=("CL1",))
    cache.forget_store_facts()
    st.cache_data.clear()  # the summary's cache is keyed by data version: each test's store
    yield clin, director, cl1, courses  # starts again from version 1
    cache.forget_store_facts()
    st.cache_data.clear()


@pytest.fixture
def patches(monkeypatch):
    """The patients of every table patch and the row counts of every whole computation."""
    seen: dict[str, list] = {"patched": [], "whole": []}
    real_patch, real_whole = cache.patched_tables, cache.course_tables

    def patch(tables, facts, **kwargs):
        seen["patched"].append(kwargs["patients"])
        return real_patch(tables, facts, **kwargs)

    def whole(facts, filters, params, **kwargs):
        seen["whole"].append(len(facts))
        return real_whole(facts, filters, params, **kwargs)

    monkeypatch.setattr(cache, "patched_tables", patch)
    monkeypatch.setattr(cache, "course_tables", whole)
    return seen


def _kept(actor, filters: OutcomeFilters = FILTERS) -> dict[str, pd.DataFrame]:
    return cache.cached_tables(actor.scope_key, filters, data_version(), _actor=actor)


def _assert_fresh(actor, kept: dict[str, pd.DataFrame],
                  filters: OutcomeFilters = FILTERS) -> None:
    """``kept`` equals the tables computed from a fresh read of the whole scope."""
    params = resolved_parameters(filters)
    facts = in_fact_order(report.stored_facts(actor=actor, filters=filters, params=params,
                                              narrowed=False))
    fresh = course_tables(facts, filters, params)
    assert set(kept) == set(fresh) == set(INSTRUMENTS)
    for name in INSTRUMENTS:
        pd.testing.assert_frame_equal(kept[name], fresh[name], obj=name)


def _row(table: pd.DataFrame, course: int) -> pd.Series:
    rows = table[table["course_key"] == course]
    assert len(rows) == 1
    return rows.iloc[0]


def test_a_save_patches_its_patients_courses_and_equals_a_fresh_computation(world, patches):
    clin, director, _, courses = world
    patient, course = courses["A-1"]
    before = _kept(director)
    assert len(patches["whole"]) == 1 and patches["patched"] == []
    assert len(before["PHQ-9"]) == 3 and len(before["GAD-7"]) == 3
    assert before["MADRS"].empty
    row = _row(before["PHQ-9"], course)
    assert (row["baseline"], row["latest"]) == (18, 18) and not row["response"]
    assert pd.isna(row["after_n_score"])  # no infusion 2 yet
    assert pd.isna(_row(before["GAD-7"], course)["latest"])  # no GAD-7 after the baseline

    log(clin, course, 2, [score("PHQ-9", "pre", PHQ_18), score("PHQ-9", "post", PHQ_9),
                          score("GAD-7", "post", GAD_7)])
    after = _kept(director)

    assert patches["patched"] == [[patient]] and len(patches["whole"]) == 1  # no whole run
    phq = _row(after["PHQ-9"], course)
    assert (phq["baseline"], phq["latest"], phq["pct_change"]) == (18, 9, -50.0)
    assert phq["response"] and phq["after_n_score"] == 9 and phq["after_n_response"]
    gad = _row(after["GAD-7"], course)
    assert (gad["baseline"], gad["latest"], gad["pct_change"]) == (14, 7, -50.0)
    assert gad["response"]
    for other in ("A-2", "B-1"):  # untouched courses keep their rows
        assert _row(after["PHQ-9"], courses[other][1])["latest"] == 18
    _assert_fresh(director, after)
    # the summary read from the patched tables: one responder of three after infusion 2
    summary = cache.summary_for(director, FILTERS, data_version())
    block = summary["PHQ-9"]["after_infusion_2"]
    assert (block["n_courses"], block["n_evaluable"], block["responders"]) == (3, 1, 1)
    assert summary["PHQ-9"] == outcome_summary(actor=director, filters=FILTERS)["PHQ-9"]


def test_a_corrected_baseline_is_patched_in(world, patches):
    clin, director, _, courses = world
    patient, course = courses["A-2"]
    _kept(director)
    with read_session() as session:
        baseline_id = session.exec(select(Assessment.id).where(
            Assessment.course_id == course, Assessment.instrument == "PHQ-9",
            Assessment.timepoint == "pre")).one()
    with write_session() as session:
        correct_score(session, actor=clin, assessment_id=baseline_id, items=PHQ_9,
                      reason="transcription error")
    after = _kept(director)
    assert patches["patched"] == [[patient]]
    row = _row(after["PHQ-9"], course)  # baseline 9, latest 18: doubled, no response
    assert (row["baseline"], row["latest"], row["pct_change"]) == (9, 18, 100.0)
    assert not row["response"] and row["evaluable"]
    _assert_fresh(director, after)


def test_a_patient_edited_out_of_the_filters_leaves_the_tables_and_the_options(world,
                                                                              patches):
    """No service moves a patient to another clinic: an indication edit takes A-2 out of a
    PTSD-filtered view (and A-2 was the clinic's only PTSD patient)."""
    clin, _, cl1, courses = world
    patient, course = courses["A-2"]
    before = _kept(cl1, PTSD)
    assert before["PHQ-9"]["course_key"].tolist() == [course]
    assert _kept(cl1)["PHQ-9"]["course_key"].tolist() == [courses["A-1"][1], course]
    assert cache.options_for(cl1, FILTERS, data_version())["indication"] == ["PTSD",
                                                                             "depression"]
    with write_session() as session:
        update_patient(session, actor=clin, patient_id=patient,
                       changes={"indication": "depression"}, reason="referral letter")
    after = _kept(cl1, PTSD)
    assert patches["patched"] == [[patient]]
    assert all(after[name].empty for name in INSTRUMENTS)  # no PTSD course left
    _assert_fresh(cl1, after, PTSD)
    unfiltered = _kept(cl1)  # A-2's course stays in the unfiltered view, patched too
    assert patches["patched"] == [[patient], [patient]]
    assert unfiltered["PHQ-9"]["course_key"].tolist() == [courses["A-1"][1], course]
    _assert_fresh(cl1, unfiltered)
    assert cache.options_for(cl1, FILTERS, data_version())["indication"] == ["depression"]


def test_the_tables_of_an_indication_filter_are_kept_apart(world, patches):
    _, director, _, courses = world
    narrowed = _kept(director, PTSD)
    assert narrowed["PHQ-9"]["course_key"].tolist() == [courses["A-2"][1]]
    assert len(_kept(director)["PHQ-9"]) == 3  # its own entry: all three courses


def _frame(rows: list[tuple]) -> pd.DataFrame:
    """course_key, instrument (str), total (float), infusion (Int64), flag (boolean),
    day (datetime), steps (object lists)."""
    columns = ["course_key", "instrument", "total", "infusion", "flag", "day", "steps"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"course_key": "int64", "instrument": "str", "total": "float64",
                         "infusion": "Int64", "flag": "boolean", "day": "datetime64[us]"})


def test_replaced_rows_writes_only_the_written_rows_in_every_dtype():
    before = _frame([(1, "GAD-7", 14.0, 1, True, "2026-01-05", [[1, 14.0]]),
                     (1, "PHQ-9", 18.0, 1, False, "2026-01-05", []),
                     (2, "PHQ-9", None, None, None, None, []),
                     (3, "PHQ-9", 9.0, 2, True, "2026-02-01", [[2, 9.0]])])
    written = before["course_key"].eq(2).to_numpy()
    fresh = _frame([(2, "PHQ-9", 7.0, 3, True, "2026-03-02", [[3, 7.0]])])
    after = report.replaced_rows(before, written, fresh, ["course_key", "instrument"])
    expected = _frame([(1, "GAD-7", 14.0, 1, True, "2026-01-05", [[1, 14.0]]),
                       (1, "PHQ-9", 18.0, 1, False, "2026-01-05", []),
                       (2, "PHQ-9", 7.0, 3, True, "2026-03-02", [[3, 7.0]]),
                       (3, "PHQ-9", 9.0, 2, True, "2026-02-01", [[2, 9.0]])])
    pd.testing.assert_frame_equal(after, expected)
    assert before["total"].isna().tolist() == [False, False, True, False]  # not changed
    assert before["steps"].tolist()[2] == []
    # back to missing values: the row is written with NA again
    again = report.replaced_rows(after, written, before.iloc[[2]], ["course_key", "instrument"])
    pd.testing.assert_frame_equal(again, before)
    # the same values, missing ones in every dtype (NaN, NA, NaT, None): the very frame
    assert report.replaced_rows(before, written, before.iloc[[2]],
                                ["course_key", "instrument"]) is before


def test_replaced_rows_declines_when_rows_come_or_go():
    before = _frame([(1, "PHQ-9", 18.0, 1, False, "2026-01-05", []),
                     (2, "PHQ-9", 9.0, 2, True, "2026-02-01", [])])
    written = before["course_key"].eq(2).to_numpy()
    another_instrument = _frame([(2, "GAD-7", 9.0, 2, True, "2026-02-01", [])])
    two_rows = _frame([(2, "GAD-7", 9.0, 2, True, "2026-02-01", []),
                       (2, "PHQ-9", 9.0, 2, True, "2026-02-01", [])])
    keys = ["course_key", "instrument"]
    assert report.replaced_rows(before, written, another_instrument, keys) is None
    assert report.replaced_rows(before, written, two_rows, keys) is None
    assert report.replaced_rows(before, written, two_rows.iloc[:0], keys) is None


def test_a_save_adding_an_instrument_merges_its_new_rows(world, patches):
    clin, director, _, courses = world
    patient, course = courses["B-1"]
    assert _kept(director)["MADRS"].empty
    log(clin, course, 2, [score("MADRS", "pre", [3] * 10), score("PHQ-9", "post", PHQ_9)])
    after = _kept(director)
    assert patches["patched"] == [[patient]]
    madrs = _row(after["MADRS"], course)  # MADRS total 30 before infusion 2: a baseline only
    assert madrs["baseline"] == 30 and pd.isna(madrs["latest"]) and not madrs["evaluable"]
    assert _row(after["PHQ-9"], course)["latest"] == 9
    _assert_fresh(director, after)


@pytest.fixture
def computed(monkeypatch) -> list[tuple[str, int]]:
    """(instrument, rows) of every course table whose summary counts are taken
    (outcomes.tally.instrument_tally, as outcome_report calls it), in order."""
    names: list[tuple[str, int]] = []
    real = report.instrument_tally

    def spy(table, **kwargs):
        instrument = table["instrument"].iloc[0] if len(table) else "?"
        names.append((instrument, len(table)))
        return real(table, **kwargs)

    monkeypatch.setattr(report, "instrument_tally", spy)
    return names


def test_the_summary_after_a_save_counts_only_the_saved_patients_rows(world, computed):
    clin, director, _, courses = world
    first = cache.summary_for(director, FILTERS, data_version())
    whole_counts = [rows for _, rows in computed]
    assert len(computed) == len(INSTRUMENTS) and max(whole_counts) > 2  # every course
    assert first["PHQ-9"]["after_infusion_2"]["responders"] == 0

    log(clin, courses["A-1"][1], 2, [score("PHQ-9", "post", PHQ_9)])  # PHQ-9 only
    computed.clear()
    after = cache.summary_for(director, FILTERS, data_version())
    # the PHQ-9 counts: A's one course taken out as it was, and put in as it is now;
    # GAD-7's rows came back unchanged and no other instrument has a row of A
    assert computed == [("PHQ-9", 1), ("PHQ-9", 1)]
    block = after["PHQ-9"]["after_infusion_2"]
    assert (block["n_evaluable"], block["responders"]) == (1, 1)  # 9 <= 18 / 2
    assert after["GAD-7"] == first["GAD-7"]
    whole = outcome_summary(actor=director, filters=FILTERS)
    assert after == whole and list(after) == list(whole)  # same objects, same order
    after["GAD-7"]["overall_latest"]["n_courses"] = -1  # a caller's change stays its own
    log(clin, courses["A-2"][1], 2, [score("PHQ-9", "post", PHQ_9)])
    computed.clear()
    again = cache.summary_for(director, FILTERS, data_version())
    assert computed == [("PHQ-9", 1), ("PHQ-9", 1)] and again["GAD-7"] == first["GAD-7"]
    assert again["PHQ-9"]["after_infusion_2"]["responders"] == 2
    assert again == outcome_summary(actor=director, filters=FILTERS)


def test_a_write_that_changes_no_outcome_keeps_every_table_and_instrument_object(
        world, patches, computed, monkeypatch):
    clin, director, _, courses = world
    patient, _ = courses["A-1"]
    cache._kept_tables(director.scope_key, FILTERS, data_version(), _actor=director)
    key = next(k for k in cache._held if k[0] == "tables")
    held = dict(cache._held[key].frame.frames)
    first = cache.summary_for(director, FILTERS, data_version())
    with write_session() as session:  # a note: the patient is written, no outcome moves
        update_patient(session, actor=clin, patient_id=patient,
                       changes={"notes": "prefers morning visits"}, reason="phone call")
    computed.clear()
    recomputed: list[int] = []
    real_tables = report.course_tables

    def tables_spy(facts, *args, **kwargs):
        recomputed.append(len(facts))
        return real_tables(facts, *args, **kwargs)

    monkeypatch.setattr(report, "course_tables", tables_spy)
    after = cache._kept_tables(director.scope_key, FILTERS, data_version(), _actor=director)
    assert patches["patched"] == [[patient]] and recomputed == []  # its rows were equal
    assert all(cache._held[key].frame.frames[name] is frame  # the very frames kept
               for name, frame in held.items())
    _assert_fresh(director, after.frames)
    assert cache.summary_for(director, FILTERS, data_version()) == first
    assert computed == []  # no count taken again


def test_the_union_of_course_keys_is_sorted_and_distinct():
    from data.analytics.outcome_report import _union_of_keys

    union = _union_of_keys([np.array([7, 2, 7]), np.array([], dtype="int64"), np.array([0, 2])])
    assert union.tolist() == [0, 2, 7] and union.dtype == np.int64
    assert _union_of_keys([]).tolist() == [] and _union_of_keys([np.array([], "int64")]).size == 0


def test_the_waterfall_after_a_save_is_patched_and_equals_a_fresh_one(world, monkeypatch):
    from datetime import date

    from outcomes.breakdowns import severity_distribution, waterfall

    clin, director, _, courses = world

    def response():
        return cache.section_analysis_for(director, FILTERS, "PHQ-9", date(2026, 1, 1),
                                          data_version(), "response")

    first = response()
    assert first.waterfall["pct_change"].tolist() == [0.0, 0.0, 0.0]  # 18 -> 18 everywhere
    assert first.waterfall_total == 3
    whole: list[int] = []
    monkeypatch.setattr(cache, "waterfall_order", lambda table: whole.append(len(table)))
    log(clin, courses["A-2"][1], 2, [score("PHQ-9", "post", PHQ_9)])  # 18 -> 9: -50 %
    after = response()
    assert whole == []  # patched, not sorted again from the whole table
    pd.testing.assert_frame_equal(after.waterfall, waterfall(_kept(director)["PHQ-9"]))
    assert after.waterfall["course_key"].tolist()[-1] == courses["A-2"][1]  # largest fall
    assert after.waterfall["pct_change"].tolist() == [0.0, 0.0, -50.0]
    # the severity bands from the patched counts: baselines 18, 18, 18 (15-19); latest
    # 18, 18 and now 9 (5-9)
    assert first.severity["latest"].tolist() == [0, 0, 0, 3, 0]
    assert after.severity["baseline"].tolist() == [0, 0, 0, 3, 0]
    assert after.severity["latest"].tolist() == [0, 1, 0, 2, 0]
    pd.testing.assert_frame_equal(after.severity,
                                  severity_distribution(_kept(director)["PHQ-9"], "PHQ-9"))


def test_a_whole_read_freezes_what_is_alive_and_a_patch_does_not(world, monkeypatch):
    """After a whole read the collector's full passes leave the long-lived objects out
    (gc.freeze: a pass over them fell in the render after a save); what the previous
    whole read froze is unfrozen first, so it can be collected again."""
    clin, director, _, courses = world
    calls: list[str] = []
    monkeypatch.setattr(cache.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(cache.gc, "unfreeze", lambda: calls.append("unfreeze"))
    _kept(director)  # the facts, then the tables: two whole reads
    assert calls == ["unfreeze", "freeze", "unfreeze", "freeze"]
    calls.clear()
    log(clin, courses["A-1"][1], 2, [score("PHQ-9", "post", PHQ_9)])
    _kept(director)  # patched: nothing frozen or unfrozen
    assert calls == []


def test_a_kept_frame_replaced_by_a_patch_is_freed_without_the_collector(world):
    """gc.freeze keeps frozen cycles until the next whole read: the frames a patch
    replaces must be freed by their reference count alone (pandas frames hold no cycle)."""
    import gc
    import weakref

    clin, director, _, courses = world
    before = cache._kept_tables(director.scope_key, FILTERS, data_version(), _actor=director)
    old = weakref.ref(cache._held[next(k for k in cache._held if k[0] == "tables")].frame
                      .frames["PHQ-9"])
    del before
    log(clin, courses["A-1"][1], 2, [score("PHQ-9", "post", PHQ_9)])
    gc.disable()
    try:
        _kept(director)
        assert old() is None  # the PHQ-9 table before the save is gone
    finally:
        gc.enable()


def test_another_days_retention_is_counted_whole_once_then_patched(world, monkeypatch):
    """D1 counts lapses from a day (today, or the filters' as_of): the counts of another
    day are taken whole once, kept, and patched by the next save like the others."""

    from tests.clinical_factories import TODAY

    clin, director, _, courses = world
    then = OutcomeFilters(after_n=2, timepoint_rule="post", as_of=TODAY)  # the day of the
    whole: list[date | None] = []  # infusions: every course in progress then
    real = cache.summary_counts

    def spy(tables, filters, params, **kwargs):
        whole.append(filters.as_of)
        return real(tables, filters, params, **kwargs)

    monkeypatch.setattr(cache, "summary_counts", spy)
    today_view = cache.summary_for(director, FILTERS, data_version())
    assert whole == [None]  # the tables' own counts, today's
    assert today_view["retention"]["n_stopped"] == 3  # lapsed since 2025
    back_then = cache.summary_for(director, then, data_version())
    assert whole == [None, TODAY]  # taken whole for that day, once
    assert back_then["retention"]["n_in_progress"] == 3
    log(clin, courses["A-1"][1], 2, [score("PHQ-9", "post", PHQ_9)])
    after = cache.summary_for(director, then, data_version())
    assert whole == [None, TODAY]  # the kept counts of that day were patched
    assert after == outcome_summary(actor=director, filters=then)
    assert after["retention"]["reached_infusion"]["2"] == 1  # A-1 reached infusion 2


# --- the kept frames patched after a save, off the render (start_updates) ----------------------

@pytest.fixture
def updates():
    cache.start_updates()
    yield
    cache.stop_updates()


def test_a_save_patches_the_kept_frames_before_the_next_render(world, patches, updates):
    clin, director, _, courses = world
    patient, course = courses["A-1"]
    _kept(director)  # the page was open: the tables and facts are kept
    version = data_version()
    log(clin, course, 2, [score("PHQ-9", "pre", PHQ_18), score("PHQ-9", "post", PHQ_9)])
    cache.wait_for_updates()
    after = data_version()
    assert after > version
    assert {key[0]: held.version for key, held in cache._held.items()} == {
        "facts": after, "tables": after}  # both at the save's version, before any render
    assert patches["patched"] == [[patient]]  # by the worker, for the saved patient
    kept = _kept(director)  # the next render: kept as is, no patch of its own
    assert patches["patched"] == [[patient]] and len(patches["whole"]) == 1
    assert _row(kept["PHQ-9"], course)["latest"] == 9  # 18 -> 9 after infusion 2
    assert bool(_row(kept["PHQ-9"], course)["after_n_response"])  # O7 N=2: 9 <= 18 / 2
    _assert_fresh(director, kept)


def test_what_cannot_be_patched_is_left_to_the_render(world, patches, updates, monkeypatch):
    clin, director, _, courses = world
    _kept(director)
    version = data_version()
    monkeypatch.setattr(cache, "written_patients", lambda old, new: None)  # names no patient
    log(clin, courses["B-1"][1], 2, [score("PHQ-9", "post", PHQ_9)])
    cache.wait_for_updates()
    assert {held.version for held in cache._held.values()} == {version}  # no whole read
    assert patches["whole"] == [3 * 2]  # the first read only: 3 courses x PHQ-9 and GAD-7
    monkeypatch.undo()
    _assert_fresh(director, _kept(director))  # the render reads it, whole


def test_no_update_once_stopped(world, patches):
    clin, director, _, courses = world
    cache.start_updates()
    cache.stop_updates()
    _kept(director)
    version = data_version()
    log(clin, courses["B-1"][1], 2, [score("PHQ-9", "post", PHQ_9)])
    assert {held.version for held in cache._held.values()} == {version}
    assert patches["patched"] == []
    _kept(director)  # the render patches
    assert patches["patched"] == [[courses["B-1"][0]]]


def test_a_frame_no_render_asked_for_lately_waits_for_its_render(world, patches, updates,
                                                                  monkeypatch):
    clin, director, _, courses = world
    _kept(director)
    version = data_version()
    monkeypatch.setattr(cache, "UPDATE_IDLE_SECONDS", -1.0)  # every frame idle
    log(clin, courses["B-1"][1], 2, [score("PHQ-9", "post", PHQ_9)])
    cache.wait_for_updates()
    assert {held.version for held in cache._held.values()} == {version}
    assert patches["patched"] == []
    _kept(director)  # its render patches it
    assert patches["patched"] == [[courses["B-1"][0]]]


# --- the response section (figures included) made by the worker after a save ------------------

DAY = date(2026, 1, 1)


def _response(actor, filters: OutcomeFilters = FILTERS):
    return cache.response_section_for(actor, filters, "PHQ-9", DAY, data_version())


def _figures_json(section) -> dict[str, str]:
    return {key: figure.to_json() for key, figure in section.figures.items()}


def test_a_save_makes_the_shown_response_section_before_the_next_render(world, updates,
                                                                       monkeypatch):
    clin, director, _, courses = world
    first = _response(director)  # the page showed its first section
    assert first.analysis.waterfall["pct_change"].tolist() == [0.0, 0.0, 0.0]  # 18 -> 18
    assert set(first.figures) == {"oc_km_chart", "oc_severity_chart", "oc_waterfall_chart"}
    log(clin, courses["A-2"][1], 2, [score("PHQ-9", "post", PHQ_9)])  # 18 -> 9: -50 %
    cache.wait_for_updates()
    made_by_render: list[str] = []
    for name in ("km_figure", "severity_figure", "waterfall_figure"):
        monkeypatch.setattr(cache.charts, name, lambda *a, name=name, **k: made_by_render.append(name))
    monkeypatch.setattr(cache, "response_analysis",
                        lambda **kwargs: made_by_render.append("analysis"))
    after = _response(director)  # the next render
    assert made_by_render == []  # the worker made it all
    assert after.analysis.waterfall["pct_change"].tolist() == [0.0, 0.0, -50.0]
    assert after.analysis.waterfall["course_key"].tolist()[-1] == courses["A-2"][1]
    # severity: baselines 18, 18, 18 (15-19); latest 18, 18 and now 9 (5-9)
    assert after.analysis.severity["latest"].tolist() == [0, 1, 0, 2, 0]
    monkeypatch.undo()
    made = _figures_json(after)
    assert made != _figures_json(first)
    cache.forget_store_facts()  # what a cold process makes of the same store
    assert _figures_json(_response(director)) == made


def test_the_response_section_is_kept_per_scope(world):
    _, director, cl1, courses = world
    other_director = make_user("boss2", "director", clinics=("CL1", "CL2"), all_clinics=True)
    other_clinician = make_user("two", "clinician", clinics=("CL1",))
    assert len(_response(director).analysis.waterfall) == 3  # B-1
    assert _response(other_director) is _response(director)  # one scope: made once
    clinic_one = _response(cl1)
    assert sorted(clinic_one.analysis.waterfall["course_key"]) == sorted(
        [courses["A-1"][1], courses["A-2"][1]])  # CL1's courses only
    assert _response(other_clinician) is clinic_one


def test_a_response_section_nobody_showed_lately_waits_for_its_render(world, updates,
                                                                     monkeypatch):
    clin, director, _, courses = world
    _response(director)
    version = data_version()
    monkeypatch.setattr(cache, "UPDATE_IDLE_SECONDS", -1.0)
    log(clin, courses["B-1"][1], 2, [score("PHQ-9", "post", PHQ_9)])
    cache.wait_for_updates()
    assert {key[-1][0] for key in cache._responses} == {version}  # nothing made for the save
    monkeypatch.undo()
    assert _response(director).analysis.waterfall["pct_change"].tolist()[-1] == -50.0


def test_another_processs_save_is_found_by_the_poll_and_patched(world, patches, monkeypatch):
    """A save made by another server process calls no listener here: the poll of the data
    version finds it and the worker patches the saved patient, before any render."""
    import time

    from data.store import outcome_queue

    clin, director, _, courses = world
    patient, course = courses["B-1"]
    monkeypatch.setattr(cache, "POLL_SECONDS", 0.05)
    cache.start_updates()
    try:
        outcome_queue.listen_after_refresh(cache._after_save, on=False)  # not this process's
        _kept(director)
        version = data_version()
        log(clin, course, 2, [score("PHQ-9", "post", PHQ_9)])
        after = data_version()
        assert after > version
        deadline = time.monotonic() + 10
        while (time.monotonic() < deadline
               and {held.version for held in cache._held.values()} != {after}):
            time.sleep(0.02)
        cache.wait_for_updates()
        assert {held.version for held in cache._held.values()} == {after}  # by the poll
        assert patches["patched"] == [[patient]]
        kept = _kept(director)  # the next render patches nothing
        assert patches["patched"] == [[patient]]
        assert _row(kept["PHQ-9"], course)["latest"] == 9  # 18 -> 9 after infusion 2
    finally:
        cache.stop_updates()
    assert cache._poller is None


def test_a_restored_store_at_the_same_version_gets_its_own_response_section(world,
                                                                          monkeypatch):
    _, director, _, _ = world
    first = _response(director)
    assert _response(director) is first  # kept at this version of this history
    monkeypatch.setattr(cache, "version_mark", lambda version: "another history")
    cache._marks.clear()  # the mark is read again (it is kept for MARK_SECONDS)
    assert _response(director) is not first
