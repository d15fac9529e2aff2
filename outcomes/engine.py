"""Per-course outcome table: one row per (course, instrument), vectorised.

Every figure the app shows starts here. Rules are those of
``/work/shared/OUTCOMES.md`` (the clinical contract); the input is the
observation frame described in ``docs/OBSERVATIONS.md``.

- C2 order inside a course: infusion number, then pre before post, then date.
  Infusions received = k at the post score of infusion k, k - 1 at the pre.
- C4 a follow-up (timepoint ``followup``, infusion number = the infusion k it
  follows) orders after the post score of k, then by date (and ``completed_at``
  when the frame has it); infusions received = k. It is never a baseline (O1)
  nor the O7 score, but counts for the latest score (O2) and O8.
- C3 index course: each patient's earliest course, by (course_start,
  course_number), an unknown start sorting last; ``all_courses`` keeps all.
  The index course is chosen over all instruments, before the instrument is
  picked, so a patient whose index course lacks the instrument contributes no
  course for it.
- S2 observations without a total are ignored for baseline, latest and every
  score outcome, but still count for the PHQ-9 item-9 fields (O10).
- O1 baseline = first pre score with a total, in C2 order; a post score never.
- O2 latest = last score with a total after the baseline in C2 order.
- O3 change = latest - baseline; pct_change = 100 x change / baseline, NaN at 0.
- O4 response = 2 x latest <= baseline (exact integer test).
- O5 remission = latest <= remission maximum (NA when the instrument has none).
- O6 reliable improvement / deterioration = a move of at least the RCI (NA when
  the instrument has none).
- O7 after infusion N = the post score of infusion N (``timepoint_rule='post'``)
  or the pre score of infusion N + 1 (``'next_pre'``), with a total, after the
  baseline.
- O8 first_response_received / first_remission_received = infusions received at
  the first scored observation after the baseline that meets O4 / O5.

Decisions where the contract leaves room:

- Baseline 0 (O3/O4): percent change and response are undefined, so such a
  course is *not evaluable* (``evaluable`` and ``after_n_evaluable`` False,
  every outcome flag NA), although its ``latest`` and ``change`` are reported.
- Outcome flags are nullable booleans: NA means "not defined for this course"
  (no evaluable score, or no rule for the instrument), never "no".
- Several observations at the same C2 position (which the import forbids) are
  ordered by date, then by input order; O7 takes the last one with a total.
- ``last_received`` (O8 censoring) is the largest infusions-received value of a
  *scored* observation at or after the baseline: an observation without a
  total cannot show whether the course had responded.
- ``first_remission_received`` is reported for any course with a baseline;
  the Kaplan-Meier summary decides which courses to count (outcomes.summary).
- Item 9 (O10): ``baseline_item9`` is the answer on the O1 baseline
  observation; ``later_item9_positive`` needs an observation after it;
  ``after_n_item9`` is the answer on the O7 observation (after the baseline),
  whether or not that observation has a total.
- O12 day-after check: ``day_after_checked`` = the course has a PHQ-9 follow-up
  dated the day of infusion 1 or the day after; ``day_after_item9`` = the item-9
  answer of the first such follow-up in C4 order (NaN when it left item 9
  blank). Infusion 1's date is the frame's ``infusion_date`` of a row of
  infusion 1 when the frame has that column, otherwise the date of a pre or post
  score of infusion 1 (given on the infusion day); unknown: not checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from outcomes.course_rules import INDUCTION_LENGTH
from outcomes.instruments import get_instrument

ORDER = ("course_key", "infusion_number", "timepoint_rank", "date")
FOLLOWUP = "followup"
TIMEPOINT_RANK = {"pre": 0, "post": 1, FOLLOWUP: 2}  # C2 and C4
TIMEPOINT_RULES = ("post", "next_pre")
COURSE_COLUMNS = ("course_key", "patient_key", "clinic", "course_number", "course_start")
DIMENSIONS = ("clinician", "indication", "route", "dose_mg_per_kg", "dose_band")
PHQ9 = "PHQ-9"


def add_order_columns(obs: pd.DataFrame) -> pd.DataFrame:
    """C2/C4: add ``timepoint_rank`` (pre 0, post 1, followup 2) and ``received``
    (k - 1 at the pre score of infusion k; k at its post score and its follow-ups)."""
    timepoint = obs["timepoint"].to_numpy(dtype=object)
    is_pre = timepoint == "pre"
    rank = np.where(is_pre, 0, np.where(timepoint == FOLLOWUP, 2, 1))
    infusion = obs["infusion_number"].to_numpy(dtype="int64")
    return obs.assign(
        timepoint_rank=rank.astype("int64"),
        received=np.where(is_pre, infusion - 1, infusion).astype("int64"),
    )


def order_observations(obs: pd.DataFrame) -> pd.DataFrame:
    """C2/C4: observations sorted course by course in clinical order, with ``received``."""
    ranked = add_order_columns(obs)
    order = [*ORDER, *(["completed_at"] if "completed_at" in obs.columns else [])]
    return ranked.sort_values(order, kind="stable", na_position="last").reset_index(drop=True)


def index_course_keys(obs: pd.DataFrame) -> pd.Series:
    """C3: each patient's earliest course by (course_start, course_number); NaT last
    (ties: the lower course key), in no particular order (the callers test membership).
    One sort of the courses' columns as numbers, over the patients with more than one
    course (the summary chooses among 380,000 courses at XL at a cold read)."""
    keys = obs["course_key"].to_numpy(dtype="int64")
    if len(keys) > 1 and bool((keys[1:] >= keys[:-1]).all()):  # in course order already
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])  # (the stored facts)
    else:
        _, first = np.unique(keys, return_index=True)  # one row per course
    course = keys[first]
    patient = obs["patient_key"].to_numpy(dtype="int64")[first]
    # a patient with one course: that course (most patients; found by a hash, not a sort);
    # the others are chosen among their courses by one sort
    codes, _ = pd.factorize(patient)
    several = np.bincount(codes)[codes] > 1
    alone = course[~several]
    if not several.any():
        return pd.Series(alone, name="course_key")
    first = first[several]
    course, patient = course[several], patient[several]
    start = obs["course_start"].to_numpy(dtype="datetime64[ns]")[first]
    start_rank = np.where(np.isnat(start), np.iinfo("int64").max, start.view("int64"))
    number = obs["course_number"].to_numpy(dtype="int64")[first]
    order = np.lexsort((course, number, start_rank, patient))  # the last key sorts first
    sorted_patients = patient[order]
    earliest = np.ones(len(order), dtype=bool)
    earliest[1:] = sorted_patients[1:] != sorted_patients[:-1]
    return pd.Series(np.concatenate([alone, course[order][earliest]]), name="course_key")


def select_courses(obs: pd.DataFrame, *, all_courses: bool = False) -> pd.DataFrame:
    """C3: keep only each patient's index course, unless ``all_courses``."""
    if all_courses:
        return obs
    return obs[obs["course_key"].isin(index_course_keys(obs))]


def course_table(
    obs: pd.DataFrame,
    instrument: str,
    *,
    after_n: int = INDUCTION_LENGTH,
    timepoint_rule: str = "post",
    remission_max: int | None = None,
    all_courses: bool = False,
) -> pd.DataFrame:
    """One row per course with any observation of ``instrument`` (O1-O8, O10 fields).

    ``remission_max`` overrides the catalogue's remission maximum (the MADRS
    setting, O5).
    """
    _check_settings(after_n, timepoint_rule)
    spec = get_instrument(instrument)
    limit = spec.remission_max if remission_max is None else remission_max
    rows = _instrument_rows(obs, spec.name, all_courses)
    table = _course_frame(rows, spec.name)
    _add_first_infusion_date(table, obs)
    _add_anchors(table, rows)
    baseline_seq = rows["course_key"].map(table["baseline_seq"])
    rows = rows.assign(after=rows["seq"] > baseline_seq, from_baseline=rows["seq"] >= baseline_seq)
    _add_latest(table, rows)
    target = _target_mask(rows, after_n, timepoint_rule)
    _add_outcomes(table, _after_n_score(rows, target), limit, spec.rci, spec.case_min)
    _add_first_times(table, rows, limit)
    helpers = ["baseline_seq"]
    if spec.name == PHQ9:
        _add_item9(table, rows, target)
    else:
        helpers.append("baseline_item9")
    return table.drop(columns=helpers).reset_index()


def _check_settings(after_n: int, timepoint_rule: str) -> None:
    if isinstance(after_n, bool) or not isinstance(after_n, int | np.integer) or after_n < 1:
        raise ValueError(f"after_n must be a whole number of infusions >= 1, got {after_n!r}")
    if timepoint_rule not in TIMEPOINT_RULES:
        raise ValueError(f"timepoint_rule must be one of {TIMEPOINT_RULES}, got {timepoint_rule!r}")


def _instrument_rows(obs: pd.DataFrame, name: str, all_courses: bool) -> pd.DataFrame:
    """The instrument's observations of the selected courses, in C2 order, numbered."""
    selected = select_courses(obs, all_courses=all_courses)
    rows = order_observations(selected[selected["instrument"] == name])
    if "item9" not in rows.columns:
        rows = rows.assign(item9=np.nan)
    return rows.assign(
        seq=np.arange(len(rows), dtype="int64"),
        scored=rows["total"].notna(),
        item9=rows["item9"].astype("float64"),
    )


def _course_frame(rows: pd.DataFrame, instrument: str) -> pd.DataFrame:
    """Course identity and dimension columns, indexed by course_key."""
    columns = [*COURSE_COLUMNS, *(c for c in DIMENSIONS if c in rows.columns)]
    courses = rows.drop_duplicates("course_key")[columns].set_index("course_key")
    return courses.assign(instrument=instrument)


def _add_first_infusion_date(table: pd.DataFrame, obs: pd.DataFrame) -> None:
    """D2 groups courses by the month of their first infusion: the earliest infusion date
    among the course's scores of any instrument (NaT when the frame has no infusion_date)."""
    if "infusion_date" not in obs.columns:
        table["first_infusion_date"] = pd.NaT
        return
    mine = obs[obs["course_key"].isin(table.index)]
    table["first_infusion_date"] = pd.to_datetime(mine["infusion_date"]).groupby(
        mine["course_key"]).min()


def _first(rows: pd.DataFrame) -> pd.DataFrame:
    """First row of each course (rows are in C2 order)."""
    return rows.drop_duplicates("course_key", keep="first").set_index("course_key")


def _last(rows: pd.DataFrame) -> pd.DataFrame:
    """Last row of each course (rows are in C2 order)."""
    return rows.drop_duplicates("course_key", keep="last").set_index("course_key")


def _add_anchors(table: pd.DataFrame, rows: pd.DataFrame) -> None:
    """O1 baseline: the first pre score with a total, in C2 order."""
    base = _first(rows[rows["scored"] & (rows["timepoint"] == "pre")])
    table["baseline"] = base["total"].astype("float64")
    table["baseline_infusion"] = base["infusion_number"].astype("Int64")
    table["baseline_date"] = base["date"]
    table["has_baseline"] = table["baseline"].notna()
    table["baseline_seq"] = base["seq"]
    table["baseline_item9"] = base["item9"]


def _add_latest(table: pd.DataFrame, rows: pd.DataFrame) -> None:
    """O2 latest (last scored after baseline); last_received for KM censoring (O8)."""
    latest = _last(rows[rows["after"] & rows["scored"]])
    table["latest"] = latest["total"].astype("float64")
    table["latest_infusion"] = latest["infusion_number"].astype("Int64")
    table["latest_timepoint"] = latest["timepoint"]
    table["latest_received"] = latest["received"].astype("Int64")
    table["latest_date"] = latest["date"]
    observed = rows[rows["from_baseline"] & rows["scored"]]
    table["last_received"] = observed.groupby("course_key")["received"].max().astype("float64")


def _target_mask(rows: pd.DataFrame, after_n: int, timepoint_rule: str) -> pd.Series:
    """O7: the post score of infusion N, or (setting) the pre score of infusion N + 1."""
    if timepoint_rule == "post":
        return (rows["timepoint"] == "post") & (rows["infusion_number"] == after_n)
    return (rows["timepoint"] == "pre") & (rows["infusion_number"] == after_n + 1)


def _after_n_score(rows: pd.DataFrame, target: pd.Series) -> pd.Series:
    """O7 score: the target observation with a total after the baseline (last if repeated)."""
    return _last(rows[target & rows["after"] & rows["scored"]])["total"].astype("float64")


def _add_first_times(table: pd.DataFrame, rows: pd.DataFrame, limit: int | None) -> None:
    """O8: infusions received at the first scored observation after baseline meeting O4 / O5."""
    candidates = rows[rows["after"] & rows["scored"]]
    baseline = candidates["course_key"].map(table["baseline"])
    responded = (baseline > 0) & (2 * candidates["total"] <= baseline)
    table["first_response_received"] = _first(candidates[responded])["received"].astype("float64")
    if limit is None:
        table["first_remission_received"] = np.nan
    else:
        remitted = candidates[candidates["total"] <= limit]
        table["first_remission_received"] = _first(remitted)["received"].astype("float64")


def _flags(condition: np.ndarray, defined: np.ndarray) -> pd.arrays.BooleanArray:
    """A nullable boolean: ``condition`` where ``defined``, NA elsewhere."""
    return pd.arrays.BooleanArray(np.asarray(condition, dtype=bool),
                                  ~np.broadcast_to(np.asarray(defined, dtype=bool),
                                                   np.shape(condition)))


def outcome_arrays(baseline: np.ndarray, latest: np.ndarray, after_n_score: np.ndarray,
                   has_baseline: np.ndarray, limit: int | None, rci: int | None,
                   case_min: int | None) -> dict[str, Any]:
    """O3-O7 per course, for the latest score and for the after-N score, as arrays in the
    course table's column order (float arrays hold NaN for a missing score; the flags are
    nullable booleans, NA where not evaluable). One implementation for ``course_table``
    and ``course_facts.table_from_facts``, in numpy: the columns of a table of a few
    courses (the page after a save) cost microseconds, not pandas' per-operation cost."""
    out: dict[str, Any] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        positive = baseline > 0  # False for a missing baseline
        out["evaluable"] = ~np.isnan(latest) & positive
        change = latest - baseline
        out["change"] = change
        out["pct_change"] = np.where(positive, 100 * change / baseline, np.nan)
        _score_flags(out, "", baseline, latest, out["evaluable"], limit, rci)
        out["baseline_in_remission"] = _flags(baseline <= (limit or 0),
                                              has_baseline & (limit is not None))
        out["baseline_case"] = _flags(baseline >= (case_min or 0),
                                      has_baseline & (case_min is not None))
        out["after_n_score"] = after_n_score
        out["after_n_evaluable"] = positive & ~np.isnan(after_n_score)
        _score_flags(out, "after_n_", baseline, after_n_score, out["after_n_evaluable"],
                     limit, rci)
    return out


def _score_flags(out: dict[str, Any], prefix: str, baseline: np.ndarray, score: np.ndarray,
                 evaluable: np.ndarray, limit: int | None, rci: int | None) -> None:
    """O4 response, O5 remission, O6 reliable change of ``score`` against the baseline."""
    out[prefix + "response"] = _flags(2 * score <= baseline, evaluable)
    out[prefix + "remission"] = _flags(score <= (limit or 0), evaluable & (limit is not None))
    has_rci = evaluable & (rci is not None)
    out[prefix + "reliable_improvement"] = _flags(baseline - score >= (rci or 0), has_rci)
    out[prefix + "reliable_deterioration"] = _flags(score - baseline >= (rci or 0), has_rci)


def _add_outcomes(table: pd.DataFrame, after_n_score: pd.Series, limit: int | None,
                  rci: int | None, case_min: int | None) -> None:
    """``outcome_arrays`` added to ``table`` (indexed by course_key; ``after_n_score`` by
    the courses that have one)."""
    def floats(series: pd.Series) -> np.ndarray:
        return series.to_numpy(dtype="float64", na_value=np.nan)

    for name, values in outcome_arrays(
            floats(table["baseline"]), floats(table["latest"]),
            floats(after_n_score.reindex(table.index)),
            table["has_baseline"].to_numpy(dtype=bool), limit, rci, case_min).items():
        table[name] = values


def _add_item9(table: pd.DataFrame, rows: pd.DataFrame, target: pd.Series) -> None:
    """O10 PHQ-9 item 9 (positive when >= 1); unscored observations count too."""
    positive = rows["item9"] >= 1
    table["any_item9_positive"] = table.index.isin(rows.loc[positive, "course_key"])
    later = rows.loc[positive & rows["after"], "course_key"]
    table["later_item9_positive"] = table.index.isin(later)
    answered = rows[target & rows["after"] & rows["item9"].notna()]
    table["after_n_item9"] = _last(answered)["item9"]
    table["baseline_item9"] = table.pop("baseline_item9")
    _add_day_after(table, rows)


def first_infusion_dates(rows: pd.DataFrame) -> pd.Series:
    """Infusion 1's date per course_key (``infusion_date`` or a pre/post score's date)."""
    one = rows[rows["infusion_number"] == 1]
    if "infusion_date" in rows.columns:
        dates = pd.to_datetime(one["infusion_date"])
    else:
        one = one[one["timepoint"] != FOLLOWUP]
        dates = pd.to_datetime(one["date"])
    return dates.groupby(one["course_key"]).min()


def _add_day_after(table: pd.DataFrame, rows: pd.DataFrame) -> None:
    """O12: the first follow-up dated the day of infusion 1 or the day after it."""
    followups = rows[rows["timepoint"] == FOLLOWUP]
    if followups.empty:
        table["day_after_checked"] = False
        table["day_after_item9"] = np.nan
        return
    start = pd.to_datetime(followups["course_key"].map(first_infusion_dates(rows)))
    days = (pd.to_datetime(followups["date"]) - start).dt.days
    first = _first(followups[(days >= 0) & (days <= 1)])
    table["day_after_checked"] = table.index.isin(first.index)
    table["day_after_item9"] = first["item9"]
