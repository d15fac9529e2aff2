"""Score import of follow-up rows (OUTCOMES.md C4 and section 5), counted by hand."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from models.tables import Assessment, Course, Infusion
from tests.data.test_importer import PHQ9, make_csv, run

PRE1 = {**PHQ9}  # P1, infusion 1, pre, 2024-06-01, total 18
POST1 = {**PHQ9, "timepoint": "post"}
PRE2 = {**PHQ9, "infusion_number": "2", "date": "2024-06-04"}


def followup(infusion: str = "1", day: str = "2024-06-02", **cells) -> dict:
    return {**PHQ9, "timepoint": "followup", "infusion_number": infusion, "date": day, **cells}


def errors(report) -> list[tuple[int, str]]:
    return [(e.line, e.field) for e in report.errors]


def stored(engine) -> list[tuple]:
    with Session(engine) as s:
        return sorted(s.execute(
            select(Course.number, Infusion.number, Assessment.timepoint,
                   Assessment.administered_on, Assessment.source)
            .join(Infusion, Infusion.id == Assessment.infusion_id)
            .join(Course, Course.id == Assessment.course_id)).all())


def test_a_followup_of_an_infusion_in_the_file_is_imported(engine):
    report = run(make_csv(PRE1, POST1, followup()), engine)
    assert report.ok, report.format()
    assert report.counts["infusions"] == 1  # the follow-up creates no infusion
    assert stored(engine) == [
        (1, 1, "followup", date(2024, 6, 2), "import"),
        (1, 1, "post", date(2024, 6, 1), "import"),
        (1, 1, "pre", date(2024, 6, 1), "import"),
    ]


def test_followup_timepoint_is_case_insensitive(engine):
    assert run(make_csv(PRE1, followup(timepoint="FollowUp")), engine).ok


def test_a_followup_of_an_infusion_neither_in_the_file_nor_stored_is_refused(engine):
    # line 2: pre 1; line 3: a follow-up of infusion 2, which nobody gave
    report = run(make_csv(PRE1, followup("2", "2024-06-05")), engine)
    assert not report.ok
    assert errors(report) == [(3, "infusion_number")]
    assert "infusion 2 of course 1 is neither in the file" in report.errors[0].reason
    assert stored(engine) == []  # all or nothing


def test_a_followup_only_file_for_a_stored_infusion(engine):
    assert run(make_csv(PRE1, POST1), engine).ok
    report = run(make_csv(followup(day="2024-06-03")), engine)
    assert report.ok, report.format()
    assert (1, 1, "followup", date(2024, 6, 3), "import") in stored(engine)


def test_a_followup_dated_before_its_infusion_is_refused(engine):
    # infusion 1 on 2024-06-01; a follow-up dated 2024-05-31 (the day before) is refused
    report = run(make_csv(PRE1, followup(day="2024-05-31")), engine)
    assert errors(report) == [(3, "date")]
    assert "infusion 1 was given on 2024-06-01" in report.errors[0].reason


def test_a_followup_dated_the_infusion_day_is_accepted(engine):
    assert run(make_csv(PRE1, followup(day="2024-06-01")), engine).ok  # on: boundary


def test_a_stored_infusion_date_rules_the_followup_date(engine):
    assert run(make_csv(PRE2 | {"infusion_number": "1"}), engine).ok  # infusion 1: 06-04
    report = run(make_csv(followup(day="2024-06-03")), engine)
    assert errors(report) == [(2, "date")]
    assert "2024-06-04" in report.errors[0].reason


def test_two_followups_of_one_instrument_on_one_date_conflict_in_the_file(engine):
    report = run(make_csv(PRE1, followup(), followup()), engine)
    assert errors(report) == [(3, "row"), (4, "row")]
    assert "patient, course, instrument and date" in report.errors[0].reason


def test_a_followup_conflicts_with_a_stored_one_of_the_same_date(engine):
    assert run(make_csv(PRE1, followup()), engine).ok
    report = run(make_csv(followup()), engine)
    assert errors(report) == [(2, "row")]
    assert "follow-up dated 2024-06-02 is already in the store" in report.errors[0].reason


def test_a_followup_never_starts_a_course(engine):
    # Without course_id: pre 1, pre 2 (06-04), then a follow-up of infusion 1 dated 06-05.
    # By date order the infusion number goes 1, 2, 1: a pre/post row of infusion 1 there
    # would start course 2; the follow-up does not (it follows infusion 1 of course 1).
    report = run(make_csv(PRE1, PRE2, followup("1", "2024-06-05")), engine)
    assert report.ok, report.format()
    assert report.counts["courses"] == 1
    assert [r[:3] for r in stored(engine)] == [(1, 1, "followup"), (1, 1, "pre"), (1, 2, "pre")]


# --- item 9 left blank on an imported PHQ-9 (OUTCOMES.md section 1) ---------------------

def alerts(engine) -> list[tuple]:
    from models.tables import SafetyAlert

    with Session(engine) as s:
        return sorted(s.execute(select(SafetyAlert.kind, SafetyAlert.item9_value,
                                       SafetyAlert.observed_on, SafetyAlert.status)).all())


def test_blank_item9_within_the_window_opens_a_not_answered_alert(engine):
    # TODAY is 2024-06-30, window 14 days: 2024-06-16 is the oldest date inside it
    inside = {**PHQ9, "date": "2024-06-16", "item_9": ""}
    outside = {**PHQ9, "patient_id": "P2", "date": "2024-06-15", "item_9": ""}
    total_only = {**PHQ9, "patient_id": "P3", "date": "2024-06-20", "total": "12",
                  **{f"item_{n}": "" for n in range(1, 10)}}  # no items at all: no alert
    report = run(make_csv(inside, outside, total_only), engine)
    assert report.ok, report.format()
    assert report.counts["alerts_open"] == 1 and report.counts["alerts_historical"] == 0
    assert alerts(engine) == [("not_answered", None, date(2024, 6, 16), "open")]


def test_a_positive_item9_is_still_a_positive_alert(engine):
    report = run(make_csv({**PHQ9, "date": "2024-06-20", "item_9": "2"}), engine)
    assert report.ok, report.format()
    assert alerts(engine) == [("positive", 2, date(2024, 6, 20), "open")]


def test_two_followups_of_one_infusion_each_get_their_alert(engine):
    rows = [PRE1, followup(day="2024-06-20", item_9="1"), followup(day="2024-06-21", item_9="")]
    report = run(make_csv(*rows), engine)
    assert report.ok, report.format()
    assert alerts(engine) == [("not_answered", None, date(2024, 6, 21), "open"),
                              ("positive", 1, date(2024, 6, 20), "open")]
