"""The clinic quality report's tables, shaped from the OUTCOMES.md s.6 summary and the
observation frame (pure pandas: DataFrames in, DataFrames out)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from outcomes.engine import select_courses
from outcomes.summary import NHS_KEY, NOT_INSTRUMENTS

HEADLINE_INSTRUMENTS_FIRST = ("PHQ-9", "GAD-7")


def instruments_with_courses(summary: dict[str, Any]) -> list[str]:
    """Instruments of the summary that have at least one course, PHQ-9 and GAD-7 first."""
    names = [k for k, v in summary.items()
             if k not in NOT_INSTRUMENTS and v["overall_latest"]["n_courses"] > 0]
    return sorted(names, key=lambda n: (n not in HEADLINE_INSTRUMENTS_FIRST,
                                        HEADLINE_INSTRUMENTS_FIRST.index(n)
                                        if n in HEADLINE_INSTRUMENTS_FIRST else 0, n))


def headline_frame(summary: dict[str, Any], after_n: int) -> pd.DataFrame:
    """One row per instrument: after-N response/remission (observed and ITT), latest, RCI."""
    rows = []
    for name in instruments_with_courses(summary):
        block = summary[name][f"after_infusion_{after_n}"]
        latest = summary[name]["overall_latest"]
        ttr = summary[name]["time_to_first_response"]
        rows.append({
            "instrument": name, "n_courses": block["n_courses"],
            "n_with_baseline": block["n_with_baseline"], "n_evaluable": block["n_evaluable"],
            "responders": block["responders"], "remitters": block["remitters"],
            "response_rate_observed": block["response_rate_observed"],
            "response_rate_itt": block["response_rate_itt"],
            "remission_rate_observed": block["remission_rate_observed"],
            "remission_rate_itt": block["remission_rate_itt"],
            "latest_n_evaluable": latest["n_evaluable"],
            "latest_responders": latest["responders"], "latest_remitters": latest["remitters"],
            "latest_response_rate_observed": latest["response_rate_observed"],
            "latest_remission_rate_observed": latest["remission_rate_observed"],
            "reliable_improvement": latest["reliable_improvement"],
            "reliable_deterioration": latest["reliable_deterioration"],
            "median_infusions_to_response": ttr["median_infusions"],
            "km_response_by_n": ttr[f"km_cumulative_response_by_{after_n}"],
        })
    return pd.DataFrame(rows)


def by_clinic_frame(summary: dict[str, Any], instrument: str, after_n: int) -> pd.DataFrame:
    """One row per clinic (O7 after N), with `suppressed` for small cells (O11)."""
    cells = summary[instrument][f"by_clinic_after_infusion_{after_n}"]
    return pd.DataFrame([{"clinic": clinic, **cell} for clinic, cell in cells.items()])


def km_frame(summary: dict[str, Any]) -> pd.DataFrame:
    """Kaplan-Meier cumulative response by infusions received, per instrument (O8)."""
    rows = [
        {"instrument": name, "event": event, "infusions": point["infusions"],
         "cumulative": point["cumulative"]}
        for name in instruments_with_courses(summary)
        for event, key in (("response", "km_response_curve"), ("remission", "km_remission_curve"))
        for point in summary[name]["time_to_first_response"][key]
    ]
    return pd.DataFrame(rows, columns=["instrument", "event", "infusions", "cumulative"])


def trajectory_frame(obs: pd.DataFrame, *, instruments: tuple[str, ...], all_courses: bool,
                     max_infusion: int, min_courses: int) -> pd.DataFrame:
    """Median and quartiles of the totals by infusion and timepoint, per instrument.

    Courses follow C3 (index course unless `all_courses`); a point with fewer than
    `min_courses` courses is left out (small cells, O11).
    """
    columns = ["instrument", "infusion_number", "timepoint", "n_courses", "median", "q1", "q3"]
    if obs.empty:
        return pd.DataFrame(columns=columns)
    chosen = select_courses(obs, all_courses=all_courses)
    scored = chosen[chosen["instrument"].isin(instruments) & chosen["total"].notna()
                    & (chosen["infusion_number"] <= max_infusion)]
    grouped = scored.groupby(["instrument", "infusion_number", "timepoint"])
    frame = grouped.agg(n_courses=("course_key", "nunique"), median=("total", "median"),
                        q1=("total", lambda s: s.quantile(0.25)),
                        q3=("total", lambda s: s.quantile(0.75))).reset_index()
    return frame[frame["n_courses"] >= min_courses][columns].reset_index(drop=True)


def nhs_rows(summary: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(label, count, rate) rows of the NHS Talking Therapies paired block (O9)."""
    nhs = summary[NHS_KEY]
    return [
        ("Courses with paired PHQ-9 and GAD-7", nhs["n_paired"], None),
        ("Cases at baseline (PHQ-9 >= 10 or GAD-7 >= 8)", nhs["n_case_at_baseline"], None),
        ("Recovered (of cases)", nhs["recovered"], nhs["recovery_rate"]),
        ("Reliably recovered (of cases)", nhs["reliably_recovered"],
         nhs["reliable_recovery_rate"]),
        ("Reliable improvement (of paired)", nhs["reliable_improvement"],
         nhs["reliable_improvement_rate"]),
        ("Reliable deterioration (of paired)", nhs["reliable_deterioration"],
         nhs["reliable_deterioration_rate"]),
    ]


def item9_rows(summary: dict[str, Any], after_n: int) -> list[tuple[str, Any]]:
    """(label, count) rows of the PHQ-9 item 9 block (O10); empty without PHQ-9."""
    block = summary.get("PHQ-9", {}).get("item9")
    if not block:
        return []
    return [
        ("Positive (>= 1) at baseline", block["n_positive_at_baseline"]),
        ("Positive at any time", block["n_any_positive"]),
        ("Emergent (baseline 0, later positive)", block["n_emergent_positive"]),
        (f"Baseline-positive with an item 9 answer after infusion {after_n}",
         block[f"baseline_positive_with_item9_after_{after_n}"]),
        (f"... of which resolved (0) after infusion {after_n}",
         block[f"baseline_positive_resolved_after_{after_n}"]),
        ("Baseline-positive with a PHQ-9 follow-up the day of or after infusion 1",
         block["day_after_first_infusion_checked"]),
        ("... of which resolved (0) at the first such follow-up (O12)",
         block["day_after_first_infusion_resolved"]),
    ]
