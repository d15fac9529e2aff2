"""Dose and tolerability (issue 14 item 5): associations in routine data, not dose-finding.

Rules:

- Bands: ``bands`` is a sequence of (low, high, label), low <= dose < high (the data
  layer passes ``data.analytics.observations.DOSE_BANDS``). A missing dose is ``unknown``.
- A course's band is the band of its **median** dose in mg/kg over its infusions with a
  recorded dose (a course with none is ``unknown``).
- Response after N by dose band: the O4/O7 rate block of ``outcomes.breakdowns.breakdown``
  over the course table's courses (observed and ITT), cells with fewer than
  ``small_cell`` courses keep their counts only (O11).
- Tolerability, per infusion, by the infusion's own dose band: side-effect rate
  (infusions with at least one recorded side effect / infusions), adverse-event rate
  (infusions with a recorded adverse event, or an older record's note / infusions) and
  blood-pressure rise: systolic
  peak - systolic before >= ``BP_RISE_MMHG`` (20 mmHg, a convention of this app), over
  the infusions with both readings. A band with fewer than ``small_cell`` courses keeps
  its course, infusion and measured counts and nulls its events and rates (O11).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from outcomes.breakdowns import breakdown

BP_RISE_MMHG = 20  # systolic peak - systolic before at or above this: a rise (convention)
UNKNOWN = "unknown"
Band = tuple[float, float, str]
TOLERABILITY_COLUMNS = (
    "dose_band", "n_courses", "n_infusions", "infusions_with_side_effect", "side_effect_rate",
    "infusions_with_adverse_event", "adverse_event_rate", "infusions_with_bp", "bp_rises",
    "bp_rise_rate", "suppressed",
)  # fmt: skip


def band_of(dose: pd.Series, bands: Sequence[Band]) -> pd.Series:
    """The band label of each dose (``unknown`` when missing or outside every band)."""
    dose = pd.to_numeric(dose, errors="coerce").astype("float64")
    labels = pd.Series(UNKNOWN, index=dose.index, dtype="object")
    for low, high, label in bands:
        labels[(dose >= low) & (dose < high)] = label
    return labels


def band_order(bands: Sequence[Band]) -> list[str]:
    """The band labels in dose order, then ``unknown``."""
    return [label for _, _, label in bands] + [UNKNOWN]


def course_dose_bands(infusions: pd.DataFrame, bands: Sequence[Band]) -> pd.DataFrame:
    """One row per course: ``median_dose`` (mg/kg, over infusions with a dose),
    ``n_dosed`` (those infusions) and ``dose_band`` (the median's band)."""
    dose = pd.to_numeric(infusions["dose_mg_per_kg"], errors="coerce").astype("float64")
    grouped = dose.groupby(infusions["course_key"])
    frame = pd.DataFrame({"median_dose": grouped.median(), "n_dosed": grouped.count()})
    frame = frame.rename_axis("course_key").reset_index()
    frame["dose_band"] = band_of(frame["median_dose"], bands)
    return frame


def response_by_dose_band(table: pd.DataFrame, course_bands: pd.DataFrame,
                          bands: Sequence[Band], *, has_remission: bool = True,
                          has_rci: bool = True, small_cell: int | None = None) -> pd.DataFrame:
    """Response (and remission) after N by the course's median-dose band (O4, O7, O11).

    ``table``: ``outcomes.engine.course_table``; ``course_bands``: ``course_dose_bands``.
    Courses of the table without infusions are ``unknown``. Rows in band order."""
    bands_of = course_bands.set_index("course_key")["dose_band"]
    courses = table.drop(columns=["dose_band"], errors="ignore")
    courses = courses.assign(dose_band=courses["course_key"].map(bands_of).fillna(UNKNOWN))
    result = breakdown(courses, "dose_band", has_remission=has_remission, has_rci=has_rci,
                       small_cell=small_cell)
    return _in_band_order(result.rename(columns={"group": "dose_band"}), bands)


def tolerability_by_dose_band(infusions: pd.DataFrame, bands: Sequence[Band], *,
                              small_cell: int | None = None,
                              rise_mmhg: int = BP_RISE_MMHG) -> pd.DataFrame:
    """Per-infusion side-effect, adverse-event and blood-pressure-rise rates by the
    infusion's dose band. ``infusions`` columns: ``course_key``, ``dose_mg_per_kg``,
    ``side_effects`` ('|'-separated, '' for none), ``adverse_event`` (bool),
    ``bp_sys_before``, ``bp_sys_peak``."""
    frame = pd.DataFrame({
        "course_key": infusions["course_key"],
        "dose_band": band_of(infusions["dose_mg_per_kg"], bands),
        "side_effect": infusions["side_effects"].fillna("").astype(str).str.len() > 0,
        "adverse": infusions["adverse_event"].fillna(False).astype(bool),
    })
    before = pd.to_numeric(infusions["bp_sys_before"], errors="coerce")
    peak = pd.to_numeric(infusions["bp_sys_peak"], errors="coerce")
    frame["with_bp"] = before.notna() & peak.notna()
    frame["bp_rise"] = frame["with_bp"] & ((peak - before) >= rise_mmhg)
    rows = []
    for band, group in frame.groupby("dose_band", sort=False):
        n, n_bp = len(group), int(group["with_bp"].sum())
        effects, adverse = int(group["side_effect"].sum()), int(group["adverse"].sum())
        rises, n_courses = int(group["bp_rise"].sum()), int(group["course_key"].nunique())
        small = small_cell is not None and n_courses < small_cell
        rows.append({
            "dose_band": band, "n_courses": n_courses, "n_infusions": n,
            "infusions_with_side_effect": None if small else effects,
            "side_effect_rate": None if small else _rate(effects, n),
            "infusions_with_adverse_event": None if small else adverse,
            "adverse_event_rate": None if small else _rate(adverse, n),
            "infusions_with_bp": n_bp, "bp_rises": None if small else rises,
            "bp_rise_rate": None if small else _rate(rises, n_bp),
            "suppressed": small,
        })
    result = pd.DataFrame(rows, columns=list(TOLERABILITY_COLUMNS))
    kinds = {k: "Float64" if k.endswith("rate") else "Int64" for k in TOLERABILITY_COLUMNS[1:-1]}
    return _in_band_order(result.astype({**kinds, "suppressed": "bool"}), bands)


SAFETY_COLUMNS = ("dose_band", "n_courses", "n_infusions", "infusions_with_side_effect",
                  "side_effect_rate", "infusions_with_adverse_event", "adverse_event_rate",
                  "suppressed")


def safety_by_infusion_band(infusions: pd.DataFrame, bands: Sequence[Band], *,
                            small_cell: int | None = None) -> pd.DataFrame:
    """The Outcomes page's safety section per infusion dose band: side-effect and
    adverse-event rates by each infusion's own band (the tolerability rules without the
    blood pressure). ``infusions`` columns: ``course_key``, ``infusion_dose``,
    ``side_effects``, ``adverse_event`` (``data.analytics.outcome_frames.load_infusions``)."""
    frame = pd.DataFrame({
        "course_key": infusions["course_key"], "dose_mg_per_kg": infusions["infusion_dose"],
        "side_effects": infusions["side_effects"], "adverse_event": infusions["adverse_event"],
        "bp_sys_before": float("nan"), "bp_sys_peak": float("nan"),
    }, index=infusions.index)
    return tolerability_by_dose_band(frame, bands, small_cell=small_cell)[list(SAFETY_COLUMNS)]


def _in_band_order(frame: pd.DataFrame, bands: Sequence[Band]) -> pd.DataFrame:
    order = {label: i for i, label in enumerate(band_order(bands))}
    position = frame["dose_band"].map(order).fillna(len(order))
    return frame.iloc[position.argsort(kind="stable")].reset_index(drop=True)


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)
