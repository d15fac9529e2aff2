"""FHIR R4 bundle: validates with fhir.resources' R4B models and carries the LOINC codes
of OUTCOMES.md section 1; de-identified patients have no name, birth date or code."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from data.exports import ExportError, ExportRequest, run_export

GAD7_ITEMS = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")


def _bundle(actors, deidentified: bool) -> dict:
    result = run_export(actor=actors["director"], request=ExportRequest(
        "fhir", "json", deidentified=deidentified, reason="fhir test"))
    return json.loads(result.content)


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.mark.parametrize("deidentified", [True, False])
def test_bundle_validates_with_r4b_models(actors, deidentified):
    bundle = _bundle(actors, deidentified)
    parsed = Bundle.model_validate(bundle)  # every entry, not the export's sample
    assert parsed.type == "collection"
    # 8 patients; 30 scores (PHQ-9 and GAD-7: 8 pre + 7 post each), all with a total.
    counts = {k: len(_resources(bundle, k)) for k in ("Patient", "QuestionnaireResponse",
                                                      "Observation")}
    assert counts == {"Patient": 8, "QuestionnaireResponse": 30, "Observation": 30}


def test_loinc_codes(actors):
    bundle = _bundle(actors, True)
    responses = _resources(bundle, "QuestionnaireResponse")
    panels = {r["questionnaire"] for r in responses}
    assert panels == {"http://loinc.org/q/44249-1", "http://loinc.org/q/69737-5"}
    phq = next(r for r in responses if r["questionnaire"].endswith("44249-1"))
    links = [i["linkId"] for i in phq["item"]]
    assert links == ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2",
                     "44252-5", "44253-3", "44260-8", "69722-7", "44261-6"]
    answers = {i["answer"][0]["valueCoding"]["code"] for i in phq["item"][:9]}
    assert answers <= {"LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"}
    # Functional difficulty 1 = 'Somewhat difficult' (LL359-1: LA6573-5).
    assert phq["item"][9]["answer"][0]["valueCoding"]["code"] == "LA6573-5"
    gad = next(r for r in responses if r["questionnaire"].endswith("69737-5"))
    assert [i["linkId"] for i in gad["item"]] == [*GAD7_ITEMS, "70274-6"]
    # GAD-7 of 15 filled from item 1: 3, 3, 3, 3, 3, 0, 0.
    assert [i["answer"][0]["valueCoding"]["code"] for i in gad["item"][:7]] == \
        ["LA6571-9"] * 5 + ["LA6568-5"] * 2
    totals = {o["code"]["coding"][0]["code"] for o in _resources(bundle, "Observation")}
    assert totals == {"44261-6", "70274-6"}
    observation = _resources(bundle, "Observation")[0]
    assert observation["category"][0]["coding"][0]["code"] == "survey"
    assert observation["derivedFrom"][0]["reference"].startswith("urn:uuid:")


def test_deidentified_patients_are_pseudonymous(actors):
    bundle = _bundle(actors, True)
    for patient in _resources(bundle, "Patient"):
        assert "name" not in patient and "birthDate" not in patient
        assert [i["system"] for i in patient["identifier"]] == ["urn:ketamine-outcomes:study-id"]
        assert patient["identifier"][0]["value"].startswith("S-")
        assert patient["meta"]["security"][0]["code"] == "PSEUDED"
    dates = {r.get("authored") for r in _resources(bundle, "QuestionnaireResponse")}
    assert dates == {"2024"}  # the year only
    assert bundle["meta"]["security"][0]["code"] == "PSEUDED"


def test_identified_patients_carry_name_code_and_birth_date(actors):
    bundle = _bundle(actors, False)
    p1 = next(p for p in _resources(bundle, "Patient")
              if any(i["value"] == "MRN-998877" for i in p["identifier"]))
    assert p1["name"] == [{"text": "Zyxwvut Qqqq"}] and p1["birthDate"] == "1931-02-03"
    assert p1["gender"] == "female"
    dates = {r["authored"] for r in _resources(bundle, "QuestionnaireResponse")}
    assert "2024-03-04" in dates


def test_days_mode_is_refused_for_fhir(actors):
    with pytest.raises(ExportError, match="dates"):
        run_export(actor=actors["auditor"], request=ExportRequest("fhir", "json",
                                                                  date_mode="days"))
