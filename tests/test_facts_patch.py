"""The Outcomes page's course facts kept across data versions (ui/outcome_cache.py, issue 13
item 2): after a write only the written patients' rows are read again and patched in, and
the patched frame equals a fresh read of the whole scope."""

from __future__ import annotations

import pandas as pd
import pytest

import data.analytics.outcome_report as report
import ui.outcome_cache as cache
from data.analytics.course_outcomes import options_from_facts
from data.analytics.course_progress import progress_of, read_progress
from data.analytics.outcome_frames import data_version, written_patients
from data.analytics.outcome_report import OutcomeFilters, in_fact_order, resolved_parameters
from data.clinic.patients import update_patient
from data.clinic.protocol import update_protocol
from data.store.db import write_session
from tests.clinical_factories import log, make_course, make_patient, score
from tests.factories import make_user

PRE, POST = [2] * 9, [1] * 9  # PHQ-9 totals 18 and 9 (a response: 9 <= 18 / 2)
GAD_PRE = [2] * 7  # GAD-7 total 14
FILTERS = OutcomeFilters(after_n=2, timepoint_rule="post")
STORED_FACTS = report.stored_facts_and_progress  # the real read, for the fresh frames


@pytest.fixture
def world(engine):
    """Two CL1 patients and one CL2 patient, each with one course and infusion 1 scored."""
    clin = make_user("nurse", "clinician", clinics=("CL1", "CL2"))
    courses = {}
    for code, clinic in (("A-1", "CL1"), ("A-2", "CL1"), ("B-1", "CL2")):
        patient = make_patient(clin, code, clinic=clinic, indication="depression")
        course = make_course(clin, patient)
        log(clin, course, 1, [score("PHQ-9", "pre", PRE), score("GAD-7", "pre", GAD_PRE),
                              score("PHQ-9", "post", PRE)])
        courses[code] = (patient, course)
    director = make_user("boss", "director", clinics=("CL1", "CL2"), all_clinics=True)
    cl1 = make_user("one", "clinician", clinics=("CL1",))
    cache.forget_store_facts()
    yield clin, director, cl1, courses
    cache.forget_store_facts()


@pytest.fixture
def reads(monkeypatch):
    """The patient_ids of every read of stored facts the cache makes (None: the whole
    scope)."""
    seen: list = []
    real = report.stored_facts_and_progress

    def spy(**kwargs):
        seen.append(kwargs.get("patient_ids"))
        return real(**kwargs)

    monkeypatch.setattr(cache, "stored_facts_and_progress", spy)
    monkeypatch.setattr(report, "stored_facts_and_progress", spy)
    return seen


def _kept(actor) -> pd.DataFrame:
    return cache.cached_store_facts(actor.scope_key, FILTERS, data_version(), _actor=actor)


def _fresh(actor) -> pd.DataFrame:
    return in_fact_order(STORED_FACTS(actor=actor, filters=FILTERS,
                                      params=resolved_parameters(FILTERS), narrowed=False,
                                      progress=False)[0])


def _row(frame: pd.DataFrame, course: int, instrument: str) -> pd.Series:
    rows = frame[(frame["course_key"] == course) & (frame["instrument"] == instrument)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_a_save_reads_only_its_patient_and_the_patched_frame_equals_a_fresh_read(world, reads):
    clin, director, _, courses = world
    patient, course = courses["A-1"]
    before = _kept(director)
    assert reads == [None]  # the first read is the whole scope
    assert pd.isna(_row(before, course, "PHQ-9")["after_n_total"])  # no infusion 2 yet

    log(clin, course, 2, [score("PHQ-9", "pre", PRE), score("PHQ-9", "post", POST)])
    after = _kept(director)

    assert reads == [None, [patient]]  # the save's patient only
    row = _row(after, course, "PHQ-9")
    assert row["latest"] == 9 and row["after_n_total"] == 9  # the post score of infusion 2
    pd.testing.assert_frame_equal(after, _fresh(director))
    assert _kept(director) is not after  # a shallow copy: callers cannot change the kept one
    assert reads == [None, [patient]]  # same version: no read


def test_the_kept_course_progress_is_patched_after_a_save(world):
    clin, director, _, courses = world
    _, course = courses["A-1"]

    def progress() -> pd.DataFrame:
        return cache.cached_progress(director.scope_key, FILTERS, data_version(),
                                     _actor=director)

    assert progress().set_index("course_key").loc[course, "last_infusion"] == 1
    log(clin, course, 2, [score("PHQ-9", "post", POST)])
    # what retention reads of it: the rows of the facts' courses (progress_of)
    keys = _kept(director)["course_key"].unique()
    after = progress_of(progress(), keys).sort_values("course_key").reset_index(drop=True)
    assert after.set_index("course_key").loc[course, "last_infusion"] == 2
    fresh = progress_of(read_progress(), keys).sort_values("course_key").reset_index(drop=True)
    pd.testing.assert_frame_equal(after, fresh)


def test_a_patient_edit_is_patched_in(world, reads):
    clin, director, _, courses = world
    patient, course = courses["A-2"]
    _kept(director)
    with write_session() as session:
        update_patient(session, actor=clin, patient_id=patient, changes={"indication": "PTSD"},
                       reason="referral letter")
    after = _kept(director)
    assert reads[-1] == [patient]
    assert set(after.loc[after["course_key"] == course, "indication"]) == {"PTSD"}
    assert options_from_facts(after)["indication"] == ["PTSD", "depression"]
    pd.testing.assert_frame_equal(after, _fresh(director))


def test_a_write_naming_no_patient_reads_the_whole_scope_again(world, reads):
    _, director, _, _ = world
    _kept(director)
    with write_session() as session:
        update_protocol(session, actor=director, changes={"small_cell_threshold": 3})
    assert written_patients(0, data_version()) is None
    _kept(director)
    assert reads == [None, None]


def test_a_narrower_scope_never_gains_another_clinics_patient(world, reads):
    clin, director, cl1, courses = world
    cl1_frame = _kept(cl1)
    assert set(cl1_frame["clinic"]) == {"CL1"} and len(cl1_frame) == 4  # 2 courses x 2
    patient, course = courses["B-1"]
    log(clin, course, 2, [score("PHQ-9", "post", POST)])
    after = _kept(cl1)
    assert reads == [None, [patient]]
    assert set(after["clinic"]) == {"CL1"}
    pd.testing.assert_frame_equal(after, _fresh(cl1))
    pd.testing.assert_frame_equal(_kept(director), _fresh(director))  # its own entry


def test_fact_order_is_by_course_then_the_instruments_place_in_the_catalogue():
    frame = pd.DataFrame({"course_key": [9, 2, 9, 2, 5, 5],
                          "instrument": pd.array(["PHQ-9", "PHQ-9", "GAD-7", "MADRS", "PCL-5",
                                                  "BDI-II"], dtype="str"),
                          "value": [1, 2, 3, 4, 5, 6]})
    ordered = in_fact_order(frame)
    # catalogue: PHQ-9, GAD-7, MADRS, QIDS-SR16, PCL-5, then unknown names by name:
    # 2 PHQ-9, 2 MADRS, 5 PCL-5, 5 BDI-II, 9 PHQ-9, 9 GAD-7
    assert ordered["value"].tolist() == [2, 4, 5, 6, 1, 3]
    assert ordered.index.tolist() == [0, 1, 2, 3, 4, 5]
    assert in_fact_order(ordered)["value"].tolist() == [2, 4, 5, 6, 1, 3]
