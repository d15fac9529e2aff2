"""Clinic words for every input field (issue 12 item 3): never an internal name."""

from __future__ import annotations

import pytest

from models.infusion_schema import InfusionIn
from models.labels import FIELD_LABELS, clinic_label, clinic_message


def test_every_infusion_field_has_a_clinic_label():
    missing = [name for name in InfusionIn.model_fields if name not in FIELD_LABELS]
    assert missing == []  # a new InfusionIn field needs its label in models/labels.py


@pytest.mark.parametrize(("field", "label"), [
    ("administered_on", "Infusion date"), ("bp_sys_before", "Systolic BP before"),
    ("bp_dia_peak", "Diastolic BP at peak"), ("spo2_discharge", "SpO2 at discharge"),
    ("hr_before", "Heart rate before"), ("dose_mg_per_kg", "Dose (mg/kg)"),
    ("number", "Infusion number"), ("side_effect_other", "Other side effect"),
    ("pre PHQ-9 item_9", "PHQ-9 before the infusion, question 9"),
    ("post GAD-7 item_3", "GAD-7 after the infusion, question 3"),
    ("pre PHQ-9 functional_difficulty", "PHQ-9 before the infusion, question 10 (difficulty)"),
    ("post MADRS", "MADRS after the infusion"),
    ("some_new_field", "Some new field"),
])
def test_clinic_label(field, label):
    assert clinic_label(field) == label


def test_a_warning_in_field_rule_form_is_reworded():
    assert clinic_message("dose_mg_per_kg: 1.2 mg/kg is above the warning level") == \
        "Dose (mg/kg): 1.2 mg/kg is above the warning level"
    assert clinic_message("number: infusion 3 leaves a gap") == \
        "Infusion number: infusion 3 leaves a gap"
    assert clinic_message("no field here") == "no field here"
