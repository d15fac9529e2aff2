"""The infusions export carries the monitoring columns: the BP decision, MOAA/S,
dissociation, discharge minutes and the adverse events (counts and closed-list values
kept when de-identified; descriptions, actions and the decision's reason dropped)."""

from __future__ import annotations

import csv
import io

from data.exports import ExportRequest, run_export

MONITORING = ["bp_decision", "bp_decision_reason", "sedation_moaas", "dissociation",
              "discharge_ready_minutes", "n_adverse_events", "adverse_event_severities",
              "adverse_event_categories", "adverse_event_recorded", "adverse_event"]


def _rows(actors, deidentified: bool) -> list[dict]:
    result = run_export(actor=actors["director"], request=ExportRequest(
        "infusions", "csv", deidentified=deidentified, reason="monitoring test"))
    return list(csv.DictReader(io.StringIO(result.content.decode("utf-8-sig"))))


def test_identified_infusions_carry_every_monitoring_column(actors):
    rows = _rows(actors, deidentified=False)
    assert set(MONITORING) <= set(rows[0])
    third = next(r for r in rows if r["patient_code"] == "MRN-555001"
                 and r["infusion_number"] == "3")
    assert (third["bp_decision"], third["bp_decision_reason"], third["sedation_moaas"],
            third["dissociation"], third["n_adverse_events"],
            third["adverse_event_severities"], third["adverse_event_categories"],
            third["adverse_event_recorded"]) == (
        "proceeded", "Kkkvvv pressure reason", "4", "mild", "1", "moderate", "other", "true")
    assert third["adverse_event"] == "other: Kkkvvv fainted (moderate); action: Kkkvvv action"
    first = next(r for r in rows if r["patient_code"] == "MRN-555001"
                 and r["infusion_number"] == "1")
    assert (first["bp_decision"], first["sedation_moaas"], first["n_adverse_events"],
            first["adverse_event_recorded"]) == ("", "", "0", "false")


def test_deidentified_infusions_keep_counts_and_drop_free_text(actors):
    rows = _rows(actors, deidentified=True)
    assert {"bp_decision", "sedation_moaas", "dissociation", "n_adverse_events",
            "adverse_event_severities"} <= set(rows[0])
    assert "bp_decision_reason" not in rows[0] and "adverse_event" not in rows[0]
    assert sorted(r["adverse_event_severities"] for r in rows if r["n_adverse_events"] != "0"
                  ) == ["moderate"] * sum(r["n_adverse_events"] == "1" for r in rows)
