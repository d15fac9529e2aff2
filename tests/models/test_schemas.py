"""The input schemas' rules, boundaries included; expected values computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from models.schemas import (
    AlertCloseIn,
    CourseIn,
    InfusionIn,
    InputError,
    PatientIn,
    age_on,
    age_warning,
    check_reason,
    dose_warning,
    parse,
    parse_score,
    total_dose_mg,
)

TODAY = date(2025, 3, 10)
PROTOCOL = {"dose_warn_mg_per_kg": 1.0, "dose_max_mg_per_kg": 2.0}


def problems(schema, data, **context) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as caught:
        parse(schema, data, **context)
    return caught.value.problems


def patient(**overrides):
    return {"clinic_id": 1, "patient_code": "P-1", **overrides}


def infusion(**overrides):
    return {"number": 1, "administered_on": TODAY, "infusion_type": "induction", "route": "IV",
            "dose_mg_per_kg": 0.5, "weight_kg": 70, **overrides}


# --- patients --------------------------------------------------------------

@pytest.mark.parametrize(("birth", "ok"), [
    (date(1899, 12, 31), False), (date(1900, 1, 1), True), (TODAY, True),
    (date(2025, 3, 11), False),
])
def test_birth_date_from_1900_to_today(birth, ok):
    if ok:
        assert parse(PatientIn, patient(birth_date=birth), today=TODAY).birth_date == birth
    else:
        [(field, rule)] = problems(PatientIn, patient(birth_date=birth), today=TODAY)
        assert field == "birth_date"
        assert ("1900-01-01" in rule) or ("future" in rule)


@pytest.mark.parametrize(("birth", "age", "warned"), [
    (date(2007, 3, 10), 18, False),  # 18th birthday today
    (date(2007, 3, 11), 17, True),  # 18 tomorrow
    (date(1980, 5, 17), 44, False),
    (date(2024, 2, 29), 1, True),
])
def test_age_and_the_under_18_warning(birth, age, warned):
    assert age_on(birth, TODAY) == age
    warning = age_warning(birth, TODAY)
    assert (warning is not None) is warned
    if warned:
        assert f"{age} years old (under 18)" in warning and "adults" in warning


@pytest.mark.parametrize(("trials", "ok"), [(-1, False), (0, True), (30, True), (31, False)])
def test_failed_trials_0_to_30(trials, ok):
    if ok:
        assert parse(PatientIn, patient(failed_trials=trials)).failed_trials == trials
    else:
        assert problems(PatientIn, patient(failed_trials=trials))[0][0] == "failed_trials"


def test_names_and_notes_are_any_printable_unicode_kept_exactly():
    name = "  Zoë O'Brien-李 👩‍⚕️ <script>alert(1)</script> [x](javascript:alert(1)) "
    notes = "line 1\nline 2\twith a tab\r\n" + "é" * 1970
    result = parse(PatientIn, patient(name=name, notes=notes))
    assert result.name == name  # not trimmed, not normalised, not escaped
    assert result.notes == notes


@pytest.mark.parametrize(("field", "value", "ok"), [
    ("name", "x" * 200, True), ("name", "x" * 201, False),
    ("notes", "x" * 2000, True), ("notes", "x" * 2001, False),
    ("name", "a\nb", False), ("name", "a\x00b", False), ("notes", "a\x07b", False),
    ("patient_code", "x" * 64, True), ("patient_code", "x" * 65, False),
    ("patient_code", "   ", False),
])
def test_text_lengths_and_control_characters(field, value, ok):
    if ok:
        assert getattr(parse(PatientIn, patient(**{field: value})), field) == value
    else:
        assert problems(PatientIn, patient(**{field: value}))[0][0] == field


def test_patient_code_is_trimmed_and_every_bad_field_reported():
    assert parse(PatientIn, patient(patient_code="  P-7 ")).patient_code == "P-7"
    found = problems(PatientIn, patient(sex="x", failed_trials=99, birth_date=date(1850, 1, 1)),
                     today=TODAY)
    assert [f for f, _ in found] == ["birth_date", "sex", "failed_trials"]


# --- infusions -------------------------------------------------------------

@pytest.mark.parametrize(("dose", "ok"), [(-0.1, False), (0, False), (0.01, True), (2.0, True),
                                      (2.01, False)])
def test_dose_above_0_and_at_most_the_protocol_maximum(dose, ok):
    if ok:
        parse(InfusionIn, infusion(dose_mg_per_kg=dose), today=TODAY, protocol=PROTOCOL)
    else:
        [(field, rule)] = problems(InfusionIn, infusion(dose_mg_per_kg=dose), today=TODAY,
                                   protocol=PROTOCOL)
        assert field == "dose_mg_per_kg"
        assert "above 0 and at most 2.0 mg/kg (protocol setting)" in rule


def test_the_dose_maximum_follows_the_protocol():
    strict = {"dose_warn_mg_per_kg": 0.8, "dose_max_mg_per_kg": 1.5}
    rule = problems(InfusionIn, infusion(dose_mg_per_kg=1.6), today=TODAY, protocol=strict)[0][1]
    assert "at most 1.5 mg/kg" in rule


@pytest.mark.parametrize(("dose", "warned"), [(1.0, False), (1.01, True), (None, False)])
def test_dose_warning_above_the_warning_level(dose, warned):
    warning = dose_warning(dose, PROTOCOL)
    assert (warning is not None) is warned
    if warned:
        assert "above the protocol's warning level of 1.0 mg/kg" in warning


@pytest.mark.parametrize(("field", "low", "high"), [
    ("bp_sys_before", 60, 250), ("bp_dia_peak", 30, 150), ("hr_discharge", 30, 220),
    ("spo2_before", 50, 100), ("weight_kg", 30, 300), ("duration_min", 1, 480),
])
def test_plausible_ranges_are_inclusive_and_named(field, low, high):
    for value in (low, high):
        parse(InfusionIn, infusion(**{field: value}), today=TODAY, protocol=PROTOCOL)
    for value in (low - 1, high + 1):
        [(name, rule)] = problems(InfusionIn, infusion(**{field: value}), today=TODAY,
                                  protocol=PROTOCOL)
        assert name == field
        assert f"must be {low}-{high}" in rule


def test_diastolic_must_be_below_systolic():
    found = problems(InfusionIn, infusion(bp_sys_peak=120, bp_dia_peak=120), today=TODAY,
                     protocol=PROTOCOL)
    assert found == [("bp_dia_peak", "diastolic 120 must be below systolic 120 mmHg")]


@pytest.mark.parametrize(("when", "ok"), [(TODAY, True), (date(2025, 3, 11), False),
                                      (date(1999, 12, 31), False), (date(2000, 1, 1), True)])
def test_infusion_date_not_in_the_future(when, ok):
    data = infusion(administered_on=when)
    if ok:
        parse(InfusionIn, data, today=TODAY, protocol=PROTOCOL)
    else:
        assert problems(InfusionIn, data, today=TODAY, protocol=PROTOCOL)[0][0] == \
            "administered_on"


def test_a_new_infusion_needs_route_dose_and_weight():
    data = infusion(route=None, dose_mg_per_kg=None, weight_kg=None)
    found = problems(InfusionIn, data, today=TODAY, protocol=PROTOCOL, new=True)
    assert [f for f, _ in found] == ["route", "dose_mg_per_kg", "weight_kg"]
    parse(InfusionIn, data, today=TODAY, protocol=PROTOCOL)  # a correction of an old import


def test_side_effect_checklist_and_other_text():
    ok = parse(InfusionIn, infusion(side_effects=["other", "nausea", "nausea"],
                                    side_effect_other="metallic taste"),
               today=TODAY, protocol=PROTOCOL)
    assert ok.side_effects == ["nausea", "other"]  # checklist order, no repeats
    assert problems(InfusionIn, infusion(side_effects=["other"]), today=TODAY,
                    protocol=PROTOCOL)[0][0] == "side_effect_other"
    assert problems(InfusionIn, infusion(side_effect_other="x"), today=TODAY,
                    protocol=PROTOCOL)[0][0] == "side_effect_other"
    assert problems(InfusionIn, infusion(side_effects=["itching"]), today=TODAY,
                    protocol=PROTOCOL)[0][0] == "side_effects"


@pytest.mark.parametrize(("dose", "weight", "total"), [
    (0.5, 70, 35.0), (0.55, 71.3, 39.2),  # 39.215 -> 39.2
    (0.75, 82.6, 62.0),  # 61.95 rounds half up (binary floats would give 61.9)
    (0.25, 70.2, 17.6),  # 17.55 -> 17.6
    (None, 70, None),
])
def test_total_dose_is_dose_times_weight_to_a_tenth(dose, weight, total):
    assert total_dose_mg(dose, weight) == total


def test_course_type_and_start_date():
    assert parse(CourseIn, {"course_type": "maintenance", "start_date": TODAY},
                 today=TODAY).course_type == "maintenance"
    assert [f for f, _ in problems(CourseIn, {"course_type": "booster",
                                              "start_date": date(2025, 3, 11)}, today=TODAY)] \
        == ["course_type", "start_date"]


# --- scores, alerts, reasons -----------------------------------------------

def test_score_problems_name_timepoint_instrument_item_and_range():
    with pytest.raises(InputError) as caught:
        parse_score({"instrument": "phq9", "timepoint": "pre", "items": [0, 0, 4, 0, 0, 0, 0, 0, 0]})
    assert caught.value.problems == [("pre PHQ-9 item_3",
                                      "4 is out of range; answers are integers 0-3")]


@pytest.mark.parametrize(("data", "field"), [
    ({"instrument": "BDI", "timepoint": "pre", "items": []}, "pre BDI instrument"),
    ({"instrument": "PHQ-9", "timepoint": "during", "items": [0] * 9}, "during PHQ-9 timepoint"),
    ({"instrument": "GAD-7", "timepoint": "post", "items": [0] * 7, "functional_difficulty": 1},
     "post GAD-7 functional_difficulty"),
    ({"instrument": "PHQ-9", "timepoint": "post", "items": [0] * 8}, "post PHQ-9 items"),
])
def test_score_input_errors(data, field):
    with pytest.raises(InputError) as caught:
        parse_score(data)
    assert caught.value.fields == [field]


def test_score_item9_and_blank_forms():
    positive = parse_score({"instrument": "PHQ-9", "timepoint": "pre", "items": [0] * 8 + [1]})
    assert positive.item9 == 1 and positive.answered
    blank = parse_score({"instrument": "GAD-7", "timepoint": "pre", "items": [None] * 7})
    assert blank.item9 is None and not blank.answered


def test_closing_an_alert_needs_an_action_and_a_note_for_other():
    assert parse(AlertCloseIn, {"action": "risk_assessment"}).action == "risk_assessment"
    assert problems(AlertCloseIn, {"action": ""})[0][0] == "action"
    assert problems(AlertCloseIn, {"action": "other", "note": "  "})[0][0] == "note"
    assert parse(AlertCloseIn, {"action": "other", "note": "called the GP"}).note == \
        "called the GP"


@pytest.mark.parametrize("reason", [None, "", "   \n"])
def test_a_correction_needs_a_reason(reason):
    with pytest.raises(InputError) as caught:
        check_reason(reason)
    assert caught.value.fields == ["reason"]
    assert check_reason("typo in dose") == "typo in dose"
