"""Patching a kept frame after a write (issue 13): the rows of the written patients found
by an equality per patient, and their values replaced without copying the columns that
did not change (``ui/outcome_cache.py`` keeps the frames; ``data/analytics/outcome_report.py``
and ``course_progress.py`` patch them)."""

from __future__ import annotations

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
    rows, not copies of the whole frame."""
    at = np.flatnonzero(written)
    if len(at) != len(fresh) or list(fresh.columns) != list(frame.columns):
        return None
    old = frame.take(at).reset_index(drop=True)
    new = fresh.reset_index(drop=True)
    for key in keys:
        if not old[key].equals(new[key].astype(old[key].dtype)):
            return None
    out = None
    for column in frame.columns:
        values = new[column].astype(old[column].dtype)
        if values.equals(old[column]):
            continue
        out = frame.copy(deep=False) if out is None else out
        array = frame[column].array.copy()
        if array.dtype == object:  # lists or dicts: one element at a time
            for i, value in zip(at.tolist(), values.tolist(), strict=True):
                array[i] = value
        else:
            array[at] = values.array
        out[column] = array
    return frame if out is None else out  # nothing changed: the very frame
