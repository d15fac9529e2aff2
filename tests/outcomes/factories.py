"""Tiny builders of observation frames (docs/OBSERVATIONS.md) for the outcome tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2024-01-01")
COLUMNS = (
    "course_key", "patient_key", "clinic", "course_number", "course_start", "instrument",
    "infusion_number", "timepoint", "date", "total", "item9",
)  # fmt: skip


def obs_frame(rows, *, instrument="PHQ-9", clinic="A", courses=None) -> pd.DataFrame:
    """An observation frame from compact tuples.

    Each row is ``(course_key, infusion_number, timepoint, total[, item9[, date]])``;
    ``None`` means missing. ``courses`` maps a course_key to overrides of its
    defaults (patient_key = course_key, clinic, course_number 1, course_start
    2024-01-01, and any dimension column such as ``clinician``). The default
    date is the course start + 3 days per infusion (pre and post the same day).
    """
    courses = courses or {}
    records = []
    for row in rows:
        course, infusion, timepoint, total, *rest = row
        info = {
            "patient_key": course,
            "clinic": clinic,
            "course_number": 1,
            "course_start": START,
            **courses.get(course, {}),
        }
        start = START if pd.isna(info["course_start"]) else info["course_start"]
        default_date = start + pd.Timedelta(days=3 * (infusion - 1))
        records.append(
            {
                **info,
                "course_key": course,
                "instrument": instrument,
                "infusion_number": infusion,
                "timepoint": timepoint,
                "date": rest[1] if len(rest) > 1 else default_date,
                "total": total,
                "item9": rest[0] if rest else None,
            }
        )
    return typed(pd.DataFrame.from_records(records, columns=_columns(records)))


def pre_post(course: int, *totals, item9=None) -> list[tuple]:
    """Rows pre 1, post 1, pre 2, post 2, ... of one course from consecutive totals."""
    item9 = item9 or [None] * len(totals)
    return [
        (course, i // 2 + 1, "pre" if i % 2 == 0 else "post", total, answer)
        for i, (total, answer) in enumerate(zip(totals, item9, strict=True))
    ]


def concat_obs(*frames: pd.DataFrame) -> pd.DataFrame:
    """Several instruments' frames as one observation frame."""
    return typed(pd.concat(frames, ignore_index=True))


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The dtypes of docs/OBSERVATIONS.md."""
    return frame.astype(
        {
            "course_key": "int64",
            "patient_key": "int64",
            "clinic": "str",
            "course_number": "int64",
            "course_start": "datetime64[ns]",
            "instrument": "str",
            "infusion_number": "int64",
            "timepoint": "str",
            "date": "datetime64[ns]",
            "total": "float64",
            "item9": "float64",
        }
    )


def _columns(records: list[dict]) -> list[str]:
    extra = [key for record in records for key in record if key not in COLUMNS]
    return [*COLUMNS, *dict.fromkeys(extra)]


def generated_obs(n_rows: int, *, seed: int = 42) -> pd.DataFrame:
    """A large random PHQ-9 frame (12 rows a course: pre/post of infusions 1-6), shuffled."""
    rng = np.random.default_rng(seed)
    n_courses = n_rows // 12
    course = np.repeat(np.arange(n_courses, dtype="int64"), 12)
    infusion = np.tile(np.repeat(np.arange(1, 7, dtype="int64"), 2), n_courses)
    total = rng.integers(0, 28, course.size).astype("float64")
    total[rng.random(course.size) < 0.05] = np.nan
    frame = pd.DataFrame(
        {
            "course_key": course,
            "patient_key": course // 2,
            "clinic": np.repeat(rng.choice(np.array(["North", "South", "East"]), n_courses), 12),
            "course_number": course % 2 + 1,
            "course_start": START + pd.to_timedelta(course % 365, unit="D"),
            "instrument": "PHQ-9",
            "infusion_number": infusion,
            "timepoint": np.tile(np.array(["pre", "post"]), 6 * n_courses),
            "date": START + pd.to_timedelta(course % 365 + 3 * infusion, unit="D"),
            "total": total,
            "item9": rng.integers(0, 4, course.size).astype("float64"),
        }
    )
    return typed(frame.sample(frac=1.0, random_state=seed).reset_index(drop=True))
