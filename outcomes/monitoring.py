"""Monitoring of the infusions of the filtered courses (issue 12 item 5): counts only.

- Blood-pressure hold rule: infusions given although the pre-infusion blood pressure was
  above the rule (decision ``proceeded``), and visits held or rescheduled for it (held
  visits are not infusions: they take no infusion number and count in no outcome).
- Adverse events by severity (mild, moderate, severe, serious): each recorded event counts
  once; adverse-event notes of older records have no severity and are counted apart.
- Sedation at peak (MOAA/S 0-5) and dissociation (none, mild, moderate, severe): infusions
  per value, plus those with nothing recorded. Minutes until ready for discharge: the
  median over the infusions that recorded it.

``infusions`` columns: ``bp_decision``, ``sedation_moaas``, ``dissociation``,
``discharge_ready_minutes``, ``ae_severities`` ('|'-separated, one per event, '' for none),
``adverse_note`` (bool). ``held``: one row per held visit with ``decision``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

SEVERITIES = ("mild", "moderate", "severe", "serious")
DISSOCIATION = ("none", "mild", "moderate", "severe")
MOAAS = (5, 4, 3, 2, 1, 0)


def monitoring_summary(infusions: pd.DataFrame, held: pd.DataFrame) -> dict[str, Any]:
    """The safety section's monitoring counts (see the module docstring)."""
    n = len(infusions)
    events = infusions["ae_severities"].fillna("").astype(str).str.split("|").explode()
    events = events[events.str.len() > 0]
    sedation = pd.to_numeric(infusions["sedation_moaas"], errors="coerce")
    dissociation = infusions["dissociation"]
    minutes = pd.to_numeric(infusions["discharge_ready_minutes"], errors="coerce").dropna()
    decisions = held["decision"] if len(held) else pd.Series([], dtype="object")
    return {
        "n_infusions": n,
        "bp_above_rule_proceeded": int((infusions["bp_decision"] == "proceeded").sum()),
        "bp_held": int((decisions == "held").sum()),
        "bp_rescheduled": int((decisions == "rescheduled").sum()),
        "adverse_events": len(events),
        "adverse_events_by_severity": {s: int((events == s).sum()) for s in SEVERITIES},
        "adverse_notes_without_severity": int(infusions["adverse_note"].astype(bool).sum()),
        "sedation_moaas": {str(v): int((sedation == v).sum()) for v in MOAAS}
        | {"not recorded": int(sedation.isna().sum())},
        "dissociation": {v: int((dissociation == v).sum()) for v in DISSOCIATION}
        | {"not recorded": int(dissociation.isna().sum())},
        "discharge_minutes_recorded": len(minutes),
        "discharge_minutes_median": None if minutes.empty else float(minutes.median()),
    }
