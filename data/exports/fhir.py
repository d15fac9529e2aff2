"""A FHIR R4 Bundle (type 'collection') of the PHQ-9 and GAD-7 scores.

- Patient: identifier = the random study ID (de-identified), or the clinic's patient
  code with the name, birth date and gender (identified: no study ID); a de-identified one keeps the gender
  only and carries the security label PSEUDED.
- QuestionnaireResponse per administration: questionnaire = the LOINC panel
  (PHQ-9 44249-1, GAD-7 69737-5), one item per answered question (linkId = the item's
  LOINC code, answer = the LOINC answer code LA6568-5 / LA6569-3 / LA6570-1 / LA6571-9;
  PHQ-9 question 10, 69722-7, with the LL359-1 answers), and the total (44261-6 / 70274-6).
- Observation per scored administration: the total as valueInteger, LOINC-coded,
  category 'survey', derived from its QuestionnaireResponse.

MADRS, QIDS-SR16 and PCL-5 have no LOINC panel in OUTCOMES.md and are left out.
De-identified dates are the year alone (a valid FHIR date); 'days since the course start'
cannot be expressed as a FHIR date, so FHIR exports always use the year.
Resource ids are random UUIDs, new for every export.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from data.exports.tables import Table
from models.tables import PATIENT_SOURCES
from outcomes.instruments import PHQ9_ANSWER_LOINC, PHQ9_FUNCTIONAL_DIFFICULTY, get_instrument

LOINC = "http://loinc.org"
FHIR_INSTRUMENTS = ("PHQ-9", "GAD-7")
STUDY_ID_SYSTEM = "urn:ketamine-outcomes:study-id"
PATIENT_CODE_SYSTEM = "urn:ketamine-outcomes:patient-code:"  # + clinic code
EXTENSION = "urn:ketamine-outcomes:fhir:"  # + course-number | infusion-number | timepoint
FUNCTIONAL_DIFFICULTY_LOINC = (  # LOINC answer list LL359-1, in answer order 0-3
    ("LA6572-7", "Not difficult at all"), ("LA6573-5", "Somewhat difficult"),
    ("LA6575-0", "Very difficult"), ("LA6574-3", "Extremely difficult"),
)
GENDERS = {"female": "female", "male": "male", "other": "other"}
PSEUDONYMIZED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                 "code": "PSEUDED", "display": "pseudonymized"}


def patient_uuid(namespace: uuid.UUID, study_id: str) -> str:
    """A patient's resource id in one export: a name-based UUID of its study id in a
    namespace drawn for that export (uuid4), so ids link nothing across exports, and the
    streamed export finds a patient's id again from the study id when its scores come
    instead of holding every patient's (data/exports/stream.fhir_resources)."""
    return str(uuid.uuid5(namespace, study_id))


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _when(day: date | None, deidentified: bool) -> str | None:
    if day is None:
        return None
    return str(day.year) if deidentified else day.isoformat()


def patient_resource(row: dict[str, Any], deidentified: bool) -> dict[str, Any]:
    # the study ID in de-identified bundles only: an identified bundle holding it would
    # link every de-identified file to names (docs/EXPORTS.md)
    identifiers = ([{"system": STUDY_ID_SYSTEM, "value": row["study_id"]}] if deidentified
                   else [{"system": PATIENT_CODE_SYSTEM + row["clinic"],
                          "value": row["patient_code"]}])
    resource: dict[str, Any] = {"resourceType": "Patient", "identifier": identifiers,
                                "gender": GENDERS.get(row.get("sex") or "", "unknown")}
    if deidentified:
        resource["meta"] = {"security": [PSEUDONYMIZED]}
        return resource
    if row.get("name"):
        resource["name"] = [{"text": row["name"]}]
    if row.get("birth_date"):
        resource["birthDate"] = row["birth_date"].isoformat()
    return resource


def _answer(code: str, display: str) -> dict[str, Any]:
    return {"valueCoding": {"system": LOINC, "code": code, "display": display}}


def _items(score: dict[str, Any]) -> list[dict[str, Any]]:
    inst = get_instrument(score["instrument"])
    items = []
    for item in inst.items:
        value = score.get(f"item_{item.number}")
        if value is None:
            continue
        items.append({"linkId": item.loinc, "text": item.text,
                      "answer": [_answer(PHQ9_ANSWER_LOINC[value], inst.answer_labels[value])]})
    difficulty = score.get("functional_difficulty")
    if inst.name == "PHQ-9" and difficulty is not None:
        code, display = FUNCTIONAL_DIFFICULTY_LOINC[difficulty]
        items.append({"linkId": PHQ9_FUNCTIONAL_DIFFICULTY.loinc, "text":
                      PHQ9_FUNCTIONAL_DIFFICULTY.text, "answer": [_answer(code, display)]})
    if score.get("total") is not None:
        items.append({"linkId": inst.loinc_total, "text": f"{inst.name} total score",
                      "answer": [{"valueInteger": int(score["total"])}]})
    return items


def _context(score: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"url": EXTENSION + "course-number", "valueInteger": int(score["course_number"])},
        {"url": EXTENSION + "infusion-number", "valueInteger": int(score["infusion_number"])},
        {"url": EXTENSION + "timepoint", "valueCode": score["timepoint"]},
    ]


def questionnaire_response(score: dict[str, Any], patient_urn: str,
                           deidentified: bool) -> dict[str, Any]:
    inst = get_instrument(score["instrument"])
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse", "extension": _context(score),
        "questionnaire": f"{LOINC}/q/{inst.loinc_panel}",
        "status": "completed", "subject": {"reference": patient_urn},
        "item": _items(score),
    }
    if score.get("source") in PATIENT_SOURCES:  # the patient answered it
        resource["source"] = {"reference": patient_urn}
    if authored := _authored(score, deidentified):
        resource["authored"] = authored
    return resource


def _authored(score: dict[str, Any], deidentified: bool) -> str | None:
    """When the answers were given: completed_at when known (UTC), else the date; only
    the year when de-identified (as every date)."""
    completed = score.get("completed_at")
    if completed is None:
        return _when(score.get("administered_on"), deidentified)
    if deidentified:
        return str(completed.year)
    moment = completed if completed.tzinfo else completed.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def total_observation(score: dict[str, Any], patient_urn: str, response_urn: str,
                      deidentified: bool) -> dict[str, Any]:
    inst = get_instrument(score["instrument"])
    resource: dict[str, Any] = {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [{"system": LOINC, "code": inst.loinc_total,
                             "display": f"{inst.name} total score"}],
                 "text": f"{inst.name} total score"},
        "subject": {"reference": patient_urn},
        "valueInteger": int(score["total"]),
        "derivedFrom": [{"reference": response_urn}],
    }
    if score.get("severity"):
        resource["interpretation"] = [{"text": score["severity"]}]
    if effective := _when(score.get("administered_on"), deidentified):
        resource["effectiveDateTime"] = effective
    return resource


def build_bundle(patients: Table, scores: Table, *, deidentified: bool,
                 now: datetime | None = None) -> dict[str, Any]:
    """The Bundle as a JSON-ready dict (tables are the identified ones)."""
    entries: list[dict[str, Any]] = []
    patient_urns: dict[str, str] = {}
    wanted = {row["study_id"] for row in scores.rows if row["instrument"] in FHIR_INSTRUMENTS}
    namespace = uuid.uuid4()  # a patient's id: patient_uuid (the streamed export's rule)
    for row in patients.rows:
        if row["study_id"] in wanted:
            patient_urns[row["study_id"]] = urn = \
                f"urn:uuid:{patient_uuid(namespace, row['study_id'])}"
            entries.append({"fullUrl": urn, "resource": patient_resource(row, deidentified)})
    for score in scores.rows:
        if score["instrument"] not in FHIR_INSTRUMENTS or score["study_id"] not in patient_urns:
            continue
        subject, response_urn = patient_urns[score["study_id"]], _urn()
        entries.append({"fullUrl": response_urn, "resource": questionnaire_response(
            score, subject, deidentified)})
        if score.get("total") is not None:
            entries.append({"fullUrl": _urn(), "resource": total_observation(
                score, subject, response_urn, deidentified)})
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection",
                              "timestamp": moment.isoformat(), "entry": entries}
    if deidentified:
        bundle["meta"] = {"security": [PSEUDONYMIZED]}
    return bundle


def bundle_bytes(bundle: dict[str, Any]) -> bytes:
    return (json.dumps(bundle, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


VALIDATE_AT_MOST = 2_000  # entries; ~0.6 ms each, and every entry comes from the same code


def validate_bundle(bundle: dict[str, Any], at_most: int | None = VALIDATE_AT_MOST) -> None:
    """Raise when the bundle (its first `at_most` entries) is not valid FHIR R4B."""
    from fhir.resources.R4B.bundle import Bundle

    entries = bundle.get("entry", [])
    sample = entries if at_most is None else entries[:at_most]
    Bundle.model_validate({**bundle, "entry": sample})


def resource_summary(bundle: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """For the manifest: the elements used by each resource type, and how many of each."""
    elements: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
        elements.setdefault(kind, set()).update(resource)
    return {k: sorted(v) for k, v in elements.items()}, counts
