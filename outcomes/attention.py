"""The director's "needs attention" list: pure rules over each patient's current course.

The current course is the patient's latest course (by start date, then course
number). Rules (the thresholds are **conventions** of this app, not published
standards, except the booster interval, which is a protocol setting):

- ``not improving``: at least ``min_infusions`` (4) infusions received at the
  latest score, no response so far (O8), and the latest score less than
  ``min_improvement_pct`` (25 %) below the baseline (baseline > 0):
  100 x (baseline - latest) < 25 x baseline, an exact integer test.
- ``losing response``: the course reached response (O4) at some point and the
  latest score is no longer a response (2 x latest > baseline).
- ``overdue for booster``: the course reached response, is not discontinued,
  and its last infusion is more than ``overdue_days`` days before ``today``
  (protocol setting ``booster_overdue_days``, default 42).
- ``open alert``: the patient has an open suicide-risk alert (PHQ-9 item 9).

Attention window (protocol setting ``attention_window_days``, default 90): a patient
whose last contact (the later of the current course's last infusion and latest score) is
more than ``window_days`` days before ``today`` is left out: a patient last seen 833 days
ago has left care, not missed a booster. An open alert is never left out.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

NOT_IMPROVING = "not improving"
LOSING_RESPONSE = "losing response"
OVERDUE_BOOSTER = "overdue for booster"
OPEN_ALERT = "open alert"
REASON_ORDER = (OPEN_ALERT, LOSING_RESPONSE, NOT_IMPROVING, OVERDUE_BOOSTER)
ATTENTION_COLUMNS = (
    "patient_key", "course_key", "clinic", "reasons", "baseline", "latest", "latest_received",
    "pct_change", "last_infusion", "days_since_infusion", "open_alerts",
)  # fmt: skip


def current_courses(table: pd.DataFrame) -> pd.DataFrame:
    """Each patient's latest course (start date, then course number; unknown start first)."""
    ordered = table.sort_values(
        ["patient_key", "course_start", "course_number", "course_key"], na_position="first"
    )
    return ordered.drop_duplicates("patient_key", keep="last")


def course_flags(
    table: pd.DataFrame,
    *,
    min_infusions: int = 4,
    min_improvement_pct: int = 25,
) -> pd.DataFrame:
    """The score rules per course: ``not_improving`` and ``losing_response`` (plain bools)."""
    baseline, latest = table["baseline"], table["latest"]
    scored = (baseline > 0) & latest.notna()
    responded = table["first_response_received"].notna()
    enough = table["latest_received"].astype("float64") >= min_infusions
    small_gain = 100 * (baseline - latest) < min_improvement_pct * baseline
    return table.assign(
        ever_responded=responded,
        not_improving=(scored & enough & ~responded & small_gain).astype(bool),
        losing_response=(scored & responded & (2 * latest > baseline)).astype(bool),
    )


def needs_attention(
    table: pd.DataFrame,
    *,
    infusions: pd.DataFrame,
    open_alerts: pd.DataFrame,
    today: date,
    overdue_days: int,
    min_infusions: int = 4,
    min_improvement_pct: int = 25,
    window_days: int | None = None,
) -> pd.DataFrame:
    """Patients needing a look, one row each, with every reason that applies.

    ``table``: a course table (all courses) of one instrument; ``infusions``: one
    row per infusion with ``course_key``, ``date`` and ``course_status``;
    ``open_alerts``: one row per open alert with ``patient_key`` and ``clinic``.
    """
    courses = course_flags(
        current_courses(table), min_infusions=min_infusions,
        min_improvement_pct=min_improvement_pct,
    )  # fmt: skip
    last = _last_infusions(infusions)
    courses = courses.merge(last, on="course_key", how="left")
    days = (pd.Timestamp(today) - pd.to_datetime(courses["last_infusion"])).dt.days
    courses["days_since_infusion"] = days.astype("Int64")
    active = courses["course_status"].fillna("active") != "discontinued"
    courses["overdue_booster"] = (
        courses["ever_responded"] & active & (days > overdue_days).fillna(False)
    ).astype(bool)
    alerts = open_alerts.groupby("patient_key").agg(open_alerts=("patient_key", "size"),
                                                   alert_clinic=("clinic", "first"))
    merged = courses.merge(alerts, on="patient_key", how="outer")
    merged["open_alerts"] = merged["open_alerts"].fillna(0).astype("int64")
    merged["clinic"] = merged["clinic"].fillna(merged["alert_clinic"])
    merged["reasons"] = _reasons(merged)
    flagged = merged[merged["reasons"].str.len() > 0]
    if window_days is not None:
        flagged = flagged[(flagged["open_alerts"] > 0)
                          | (_days_since_contact(flagged, today) <= window_days)]
    return _ordered(flagged)


def _days_since_contact(frame: pd.DataFrame, today: date) -> pd.Series:
    """Days from the later of the last infusion and the latest score to ``today``
    (a float series; NaN when neither is known, which no window keeps)."""
    last = pd.concat([pd.to_datetime(frame["last_infusion"]),
                      pd.to_datetime(frame.get("latest_date", pd.Series(pd.NaT,
                                                                        index=frame.index)))],
                     axis=1).max(axis=1)
    since: pd.Series[pd.Timedelta] = pd.Timestamp(today) - last
    return since.dt.days.astype("float64")


def _last_infusions(infusions: pd.DataFrame) -> pd.DataFrame:
    if infusions.empty:
        return pd.DataFrame(columns=["course_key", "last_infusion", "course_status"])
    grouped = infusions.groupby("course_key")
    return pd.DataFrame(
        {"last_infusion": grouped["date"].max(), "course_status": grouped["course_status"].last()}
    ).reset_index()


def _reasons(frame: pd.DataFrame) -> pd.Series:
    flags = {
        OPEN_ALERT: frame["open_alerts"] > 0,
        LOSING_RESPONSE: frame["losing_response"].fillna(False).astype(bool),
        NOT_IMPROVING: frame["not_improving"].fillna(False).astype(bool),
        OVERDUE_BOOSTER: frame["overdue_booster"].fillna(False).astype(bool),
    }
    columns = [flags[reason].to_numpy() for reason in REASON_ORDER]
    reasons = [
        [reason for reason, flag in zip(REASON_ORDER, row, strict=True) if flag]
        for row in zip(*columns, strict=True)
    ]
    return pd.Series(reasons, index=frame.index, dtype="object")


def _ordered(flagged: pd.DataFrame) -> pd.DataFrame:
    """Alerts first, then by the most urgent reason, then the longest since an infusion."""
    rank = flagged["reasons"].map(lambda reasons: REASON_ORDER.index(reasons[0]))
    out = flagged.assign(_rank=rank).sort_values(
        ["_rank", "days_since_infusion", "patient_key"], ascending=[True, False, True],
        na_position="last",
    )  # fmt: skip
    out = out.reindex(columns=list(ATTENTION_COLUMNS))
    out["patient_key"] = out["patient_key"].astype("int64")
    out["course_key"] = out["course_key"].astype("Int64")
    return out.reset_index(drop=True)
