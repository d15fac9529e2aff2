"""Patching a kept frame after a write (issue 13): the rows of the written patients found
by an equality per patient, and their values replaced without copying the columns that
did not change (``ui/outcome_cache.py`` keeps the frames; ``data/analytics/outcome_report.py``
and ``course_progress.py`` patch them)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def written_rows(frame: pd.DataFrame, patients: list[int]) -> np.ndarray:
    """The rows of ``patients`` in ``frame`` (a boolean array; an equality per patient
    when they are few: cheaper than a hash table for one save)."""
    keys = frame["patient_key"].to_numpy(dtype="int64")
    if len(patients) <= 8:
        mask = np.zeros(len(keys), dtype=bool)
        for patient in patients:
            mask |= keys == patient
        return mask
    return np.isin(keys, np.asarray(patients, dtype="int64"))


def rows_of(frame: pd.DataFrame, patients: list[int]) -> pd.DataFrame:
    """The rows of ``patients`` in ``frame``."""
    return frame.iloc[np.flatnonzero(written_rows(frame, patients))]


def course_keys_of(frame: pd.DataFrame, patients: list[int]) -> np.ndarray:
    return frame["course_key"].to_numpy(dtype="int64")[written_rows(frame, patients)]


def replaced_rows(frame: pd.DataFrame, written: np.ndarray, fresh: pd.DataFrame,
                  keys: list[str]) -> pd.DataFrame | None:
    """``frame`` with its ``written`` rows (a boolean mask) replaced by ``fresh`` when
    ``fresh`` holds the same rows: the same ``keys`` values in the same order (a save that
    changes values, not which courses there are). A new frame sharing every column whose
    values did not change, with ``frame``'s dtypes; None when rows come or go (then the
    caller drops and merges); ``frame`` itself when no value changed. Costs the written
    rows, not copies of the whole frame: the few values are compared as Python values
    (a pandas cast and comparison per column had cost ~100 us each, ~4 ms per table)."""
    at = np.flatnonzero(written)
    if len(at) != len(fresh) or list(fresh.columns) != list(frame.columns):
        return None
    changed = [column for column in frame.columns
               if not _same_values(_column(frame, column).take(at), _column(fresh, column))]
    if any(key in changed for key in keys):
        return None
    if not changed:
        return frame  # nothing changed: the very frame
    out = frame.copy(deep=False)
    for column in changed:
        values = fresh[column].astype(frame[column].dtype).array
        array = frame[column].array.copy()
        if array.dtype == object:  # lists or dicts: one element at a time
            for i, value in zip(at.tolist(), values.tolist(), strict=True):
                array[i] = value
        else:
            array[at] = values
        out[column] = array
    return out


def _column(frame: pd.DataFrame, column: str) -> Any:
    """The column's values: an ndarray for a numpy dtype, else its ExtensionArray."""
    series = frame[column]
    return series.to_numpy() if isinstance(series.dtype, np.dtype) else series.array


def _same_values(old: Any, new: Any) -> bool:
    """The same values, a missing value (None, NaN, NA, NaT) equal to a missing one.
    Values that compare equal only after a cast (1 and "1") count as changed, which only
    costs a write of the same value."""
    return all(_cell(a) == _cell(b) for a, b in zip(old.tolist(), new.tolist(), strict=True))


_MISSING = ("missing",)


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT \
            or (isinstance(value, float) and math.isnan(value)):
        return _MISSING
    return value
