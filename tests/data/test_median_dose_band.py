"""Issue 12 item 8: a course's dose band is the band of its median dose (mg/kg) over its
infusions with a dose, in the observation frame (breakdowns, export) and the Outcomes
page's infusion frame; the safety section bands each infusion by its own dose."""

from __future__ import annotations

import pandas as pd
import pytest

from data.analytics.dose_frame import BANDS
from data.analytics.observations import load_observations
from data.analytics.outcome_frames import load_infusions
from data.analytics.outcome_report import OutcomeFilters
from outcomes.dose import safety_by_infusion_band
from tests.clinical_factories import PHQ9_PRE, log, make_course, make_patient, score
from tests.factories import make_user


@pytest.fixture
def courses(store_url):
    clin = make_user("clin", "clinician", ("CL1",))
    doses = {"A": [0.5, 0.8, 1.1],   # median 0.8 -> 0.75-0.99 (first infusion: 0.5-0.74)
             "B": [0.5, 0.75],       # median (0.5 + 0.75) / 2 = 0.625 -> 0.5-0.74
             "C": [1.0, 1.2, 1.2, 0.6],  # sorted 0.6 1.0 1.2 1.2: median 1.1 -> >= 1.0
             "D": [0.4]}             # 0.4 -> < 0.5
    keys = {}
    for code, course_doses in doses.items():
        course = make_course(clin, make_patient(clin, code=code))
        for number, value in enumerate(course_doses, 1):
            log(clin, course, number=number, dose_mg_per_kg=value,
                scores=[score("PHQ-9", "pre", PHQ9_PRE)] if number == 1 else [],
                side_effects=["nausea"] if value >= 1.0 else [])
        keys[code] = course
    return clin, keys


EXPECTED = {"A": (0.8, "0.75-0.99 mg/kg"), "B": (0.625, "0.5-0.74 mg/kg"),
            "C": (1.1, ">= 1.0 mg/kg"), "D": (0.4, "< 0.5 mg/kg")}


def test_the_observation_frame_bands_courses_by_their_median_dose(courses):
    clin, keys = courses
    obs = load_observations(actor=clin).drop_duplicates("course_key").set_index("course_key")
    for code, (median, band) in EXPECTED.items():
        assert obs.loc[keys[code], "dose_mg_per_kg"] == pytest.approx(median), code
        assert obs.loc[keys[code], "dose_band"] == band, code


def test_the_infusion_frame_has_the_course_median_and_each_infusions_band(courses):
    clin, keys = courses
    frame = load_infusions(actor=clin, filters=OutcomeFilters())
    by_course = frame.drop_duplicates("course_key").set_index("course_key")
    for code, (median, band) in EXPECTED.items():
        assert by_course.loc[keys[code], "dose_mg_per_kg"] == pytest.approx(median), code
        assert by_course.loc[keys[code], "dose_band"] == band, code
    a = frame[frame["course_key"] == keys["A"]].sort_values("infusion_number")
    assert list(a["infusion_dose_band"]) == ["0.5-0.74 mg/kg", "0.75-0.99 mg/kg",
                                             ">= 1.0 mg/kg"]


def test_the_safety_section_bands_each_infusion_by_its_own_dose(courses):
    clin, _keys = courses
    frame = load_infusions(actor=clin, filters=OutcomeFilters())
    table = safety_by_infusion_band(frame, BANDS, small_cell=None).set_index("dose_band")
    # infusions: < 0.5: D1 (0.4); 0.5-0.74: A1 B1 C4 (0.5 0.5 0.6); 0.75-0.99: A2 B2
    # (0.8 0.75); >= 1.0: A3 C1 C2 C3 (1.1 1.0 1.2 1.2), each with nausea (dose >= 1.0)
    assert table["n_infusions"].to_dict() == {"< 0.5 mg/kg": 1, "0.5-0.74 mg/kg": 3,
                                              "0.75-0.99 mg/kg": 2, ">= 1.0 mg/kg": 4}
    assert table["n_courses"].to_dict() == {"< 0.5 mg/kg": 1, "0.5-0.74 mg/kg": 3,
                                            "0.75-0.99 mg/kg": 2, ">= 1.0 mg/kg": 2}
    assert table.loc[">= 1.0 mg/kg", "infusions_with_side_effect"] == 4
    assert table.loc[">= 1.0 mg/kg", "side_effect_rate"] == 1.0
    assert table.loc["0.5-0.74 mg/kg", "side_effect_rate"] == 0.0
    suppressed = safety_by_infusion_band(frame, BANDS, small_cell=3).set_index("dose_band")
    assert suppressed["suppressed"].to_dict() == {"< 0.5 mg/kg": True, "0.5-0.74 mg/kg": False,
                                                  "0.75-0.99 mg/kg": True,
                                                  ">= 1.0 mg/kg": True}
    assert pd.isna(suppressed.loc[">= 1.0 mg/kg", "side_effect_rate"])
    assert suppressed.loc[">= 1.0 mg/kg", "n_infusions"] == 4  # counts kept (O11)
