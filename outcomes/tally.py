"""The summary's counts, kept so that a change costs the changed courses (issue 13).

Every number of an instrument's section 6 object (outcomes.summary) is a function of
counts over its course table: the rate blocks count flags per clinic and baseline case,
the Kaplan-Meier estimate and the medians count courses per (time, event), the p-chart
counts per start month, item 9 counts flags. So is the NHS paired block (counts of paired
courses) and D1's retention (courses per state and last infusion). ``instrument_tally``
and friends give those counts as a ``Tally``: a mapping of keys to positive whole
numbers that adds and subtracts. A course table's tally is the sum of its rows' tallies,
so after a write:

    tally(new table) = tally(old table) - tally(written rows before) + tally(written rows now)

which costs the written rows, not the store. ``outcomes.summary.instrument_summary`` is
``summary_of_tally(instrument_tally(table))``: one path for a whole table and a patched
one (tests/test_tally.py checks the patch against a whole count).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

BLOCK = "block"  # (BLOCK, clinic or None, baseline case, flag): courses
KM_RESPONSE, KM_REMISSION = "km_response", "km_remission"  # (name, time or None, event)
MONTH = "month"  # (MONTH, 'YYYY-MM', 'n' | 'evaluable' | 'responder')
ITEM9 = "item9"  # (ITEM9, count name)
NHS = "nhs"  # (NHS, flag)
STATE = "state"  # (STATE, D1 state, last infusion)
SCORE = "score"  # (SCORE, "baseline" | "latest", total): paired courses (the severity bands)
COURSES = "n"  # the flag counting every course of a block
# The course-table flags the rate blocks count (outcomes.summary._block_masks), and the
# evaluable responders after N the D2 / D3 figures count.
BLOCK_FLAGS = ("has_baseline", "evaluable", "response", "remission", "reliable_improvement",
               "reliable_deterioration", "after_n_evaluable", "after_n_response",
               "after_n_remission", "after_n_reliable_improvement",
               "after_n_reliable_deterioration", "baseline_in_remission")
EVALUABLE_RESPONDER = "after_n_evaluable_response"


class Tally(dict[Any, int]):
    """Counts by key; only positive counts are kept, so equal tallies compare equal."""

    def plus(self, other: Mapping[Any, int], sign: int = 1) -> Tally:
        out = Tally(self)
        for key, count in other.items():
            total = out.get(key, 0) + sign * count
            if total:
                out[key] = total
            else:
                out.pop(key, None)
        return out

    def minus(self, other: Mapping[Any, int]) -> Tally:
        return self.plus(other, -1)

    def patched(self, before: Mapping[Any, int], after: Mapping[Any, int]) -> Tally:
        """This tally with ``before`` (rows' counts taken out) replaced by ``after``."""
        return self.plus(before, -1).plus(after)

    def negative(self) -> list[Any]:
        """Keys with a count below zero (a patch that took out rows never counted)."""
        return [key for key, count in self.items() if count < 0]


def mask(values: pd.Series) -> np.ndarray:
    """A plain boolean array: NA counts as False."""
    if values.dtype == bool:
        return values.to_numpy()
    if isinstance(values.dtype, pd.BooleanDtype):
        return values.to_numpy(dtype=bool, na_value=False)
    return values.astype("boolean").fillna(False).astype(bool).to_numpy()


def numbers(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _add_grouped(out: Tally, codes: np.ndarray, groups: list[Any],
                 flags: Iterable[tuple[Any, np.ndarray | None]],
                 key: Callable[[Any, Any], tuple[Any, ...]]) -> None:
    """For each flag, its count per group code into ``out`` under ``key(group, flag)``."""
    for flag, values in flags:
        counts = np.bincount(codes, weights=values, minlength=len(groups)) \
            if values is not None else np.bincount(codes, minlength=len(groups))
        for group, count in zip(groups, counts.tolist(), strict=True):
            if count:
                out[key(group, flag)] = int(count)


def _values(index: pd.Index) -> list[Any]:
    return [None if pd.isna(v) else v for v in index.tolist()]


def instrument_tally(table: pd.DataFrame, *, item9: bool = False) -> Tally:
    """The counts every figure of an instrument's summary object is made of, over the
    rows of its course table (``outcomes.engine.course_table`` columns)."""
    out = Tally()
    if table.empty:
        return out
    clinic_codes, clinics = pd.factorize(table["clinic"], sort=True, use_na_sentinel=False)
    case = mask(table["baseline_case"]) if "baseline_case" in table.columns \
        else np.zeros(len(table), dtype=bool)
    codes = clinic_codes * 2 + case
    groups = [(clinic, bool(c)) for clinic in _values(pd.Index(clinics)) for c in (False, True)]
    flags: list[tuple[str, np.ndarray | None]] = [(COURSES, None)]
    flags += [(name, mask(table[name])) for name in BLOCK_FLAGS if name in table.columns]
    evaluable = mask(table["after_n_evaluable"])
    flags.append((EVALUABLE_RESPONDER, evaluable & mask(table["after_n_response"])))
    _add_grouped(out, codes, groups, flags, lambda g, f: (BLOCK, g[0], g[1], f))
    _add_times(out, table)
    _add_months(out, table, evaluable)
    _add_scores(out, table)
    if item9:
        _add_item9(out, table)
    return out


def _add_times(out: Tally, table: pd.DataFrame) -> None:
    """O8: courses per (time, event): the first response (or remission) when reached,
    else the last infusions received; responses over baseline > 0, remissions over those
    not in remission at baseline."""
    eligible = numbers(table["baseline"]) > 0
    in_pool = eligible & ~mask(table["baseline_in_remission"])
    last = numbers(table["last_received"])
    for name, column, rows in ((KM_RESPONSE, "first_response_received", eligible),
                               (KM_REMISSION, "first_remission_received", in_pool)):
        first = numbers(table[column])[rows]
        event = ~np.isnan(first)
        time = np.where(event, first, last[rows])
        codes, distinct = pd.factorize(time, use_na_sentinel=False)
        counts = np.bincount(codes * 2 + event, minlength=2 * len(distinct)).tolist()
        for i, t in enumerate(distinct.tolist()):
            for e in (False, True):
                count = counts[2 * i + e]
                if count:
                    out[(name, None if np.isnan(t) else float(t), e)] = count


def _add_months(out: Tally, table: pd.DataFrame, evaluable: np.ndarray) -> None:
    """D2: courses, evaluable courses and their responders after N per start month."""
    position, labels = _month_codes(table)
    known = position >= 0
    responder = evaluable & mask(table["after_n_response"])
    _add_grouped(out, position[known], [str(label) for label in labels],
                 [(COURSES, None), ("evaluable", evaluable[known]),
                  ("responder", responder[known])],
                 lambda label, flag: (MONTH, label, flag))


def _add_scores(out: Tally, table: pd.DataFrame) -> None:
    """The paired courses (a baseline and a latest score) per baseline total and per
    latest total: what the severity bands count (``breakdowns.severity_of_counts``)."""
    baseline, latest = numbers(table["baseline"]), numbers(table["latest"])
    paired = ~np.isnan(baseline) & ~np.isnan(latest)
    for name, values in (("baseline", baseline[paired]), ("latest", latest[paired])):
        whole = values.astype("int64")
        if len(values) and (whole == values).all() and whole.min() >= 0:  # totals: 0, 1, ...
            counts = np.bincount(whole)
            present = np.flatnonzero(counts)
            distinct, counted = present.astype("float64"), counts[present]
        else:
            distinct, counted = np.unique(values, return_counts=True)
        for value, count in zip(distinct.tolist(), counted.tolist(), strict=True):
            out[(SCORE, name, float(value))] = int(count)


def _month_codes(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``control_limits.period_codes(course_months(table), "month")``, in numpy when the
    dates are datetime64 columns (a course table's: the few rows of a save cost
    microseconds, not pandas' date parsing)."""
    from outcomes.control_limits import course_months, period_codes

    first = table["first_infusion_date"] if "first_infusion_date" in table.columns else None
    start = table["course_start"]
    if first is None or not (isinstance(first.dtype, np.dtype) and first.dtype.kind == "M"
                             and isinstance(start.dtype, np.dtype) and start.dtype.kind == "M"):
        return period_codes(course_months(table), "month")
    first_day, start_day = first.to_numpy(), start.to_numpy()
    days = np.where(np.isnat(first_day), start_day.astype(first_day.dtype), first_day)
    known = ~np.isnat(days)
    position = np.full(len(days), -1, dtype="int64")
    # the distinct days by a hash (courses start on a few thousand days), then their
    # months: no calendar conversion nor sort per course (at XL ~30 ms per table)
    day_codes, distinct_days = pd.factorize(days[known].astype("datetime64[D]").view("int64"))
    months = np.asarray(distinct_days, dtype="int64").astype("datetime64[D]").astype(
        "datetime64[M]")
    distinct, month_of_day = np.unique(months.view("int64"), return_inverse=True)
    position[known] = month_of_day[day_codes]
    return position, np.array([str(m) for m in distinct.astype("datetime64[M]")],
                              dtype=object)


def _add_item9(out: Tally, table: pd.DataFrame) -> None:
    """O10 and O12 counts (PHQ-9)."""
    baseline = numbers(table["baseline_item9"])
    after = numbers(table["after_n_item9"])
    at_baseline = baseline >= 1
    answered_after = at_baseline & ~np.isnan(after)
    checked = at_baseline & mask(table["day_after_checked"])
    counts = {
        "positive_at_baseline": at_baseline,
        "any_positive": mask(table["any_item9_positive"]),
        "emergent_positive": (baseline == 0) & mask(table["later_item9_positive"]),
        "answered_after": answered_after,
        "resolved_after": answered_after & (after == 0),
        "day_after_checked": checked,
        "day_after_resolved": checked & (numbers(table["day_after_item9"]) == 0),
    }
    for name, flags in counts.items():
        count = int(np.count_nonzero(flags))
        if count:
            out[(ITEM9, name)] = count


def nhs_tally(phq9: pd.DataFrame, gad7: pd.DataFrame) -> Tally:
    """O9: the paired courses' flags, from the PHQ-9 and GAD-7 course tables."""
    from outcomes.instruments import get_instrument

    phq, gad = get_instrument("PHQ-9"), get_instrument("GAD-7")
    phq_keys, phq_base, phq_latest = _paired(phq9)
    gad_keys, gad_base, gad_latest = _paired(gad7)
    # one row per course in each table: the pairs are the courses in both
    _, at_phq, at_gad = np.intersect1d(phq_keys, gad_keys, assume_unique=True,
                                       return_indices=True)
    out = Tally()
    if not len(at_phq):
        return out
    phq_base, phq_latest = phq_base[at_phq], phq_latest[at_phq]
    gad_base, gad_latest = gad_base[at_gad], gad_latest[at_gad]
    phq_drop, gad_drop = phq_base - phq_latest, gad_base - gad_latest
    improves = (phq_drop >= phq.rci) | (gad_drop >= gad.rci)
    worsens = (-phq_drop >= phq.rci) | (-gad_drop >= gad.rci)
    case = (phq_base >= phq.case_min) | (gad_base >= gad.case_min)
    recovered = case & (phq_latest < phq.case_min) & (gad_latest < gad.case_min)
    for name, flags in {"paired": np.ones(len(at_phq), dtype=bool), "case": case,
                        "recovered": recovered,
                        "reliably_recovered": recovered & improves & ~worsens,
                        "improvement": improves & ~worsens,
                        "deterioration": worsens & ~improves}.items():
        count = int(np.count_nonzero(flags))
        if count:
            out[(NHS, name)] = count
    return out


def _paired(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Course keys, baselines and latest scores of the courses with both."""
    baseline, latest = numbers(table["baseline"]), numbers(table["latest"])
    both = ~np.isnan(baseline) & ~np.isnan(latest)
    return (table["course_key"].to_numpy(dtype="int64")[both], baseline[both], latest[both])


def state_tally(states: pd.DataFrame) -> Tally:
    """D1: courses per (state, last infusion) of ``outcomes.retention.course_states`` rows."""
    if states.empty:
        return Tally()
    codes, names = pd.factorize(states["state"].to_numpy(dtype=object))
    return state_tally_of_codes(states["last"].to_numpy(dtype="int64"), codes, list(names))


def state_tally_of_codes(last: np.ndarray, codes: np.ndarray, names: list[str]) -> Tally:
    """``state_tally`` of courses given as their last infusion and their state's place in
    ``names`` (``outcomes.retention.state_codes``)."""
    out = Tally()
    if not len(last):
        return out
    # one number per (last infusion, state): counted by bincount when small, else unique
    pair = (last - last.min()) * len(names) + codes
    if pair.max() < 1_000_000:
        counts = np.bincount(pair)
        present = np.flatnonzero(counts)
        counts = counts[present]
    else:
        present, counts = np.unique(pair, return_counts=True)
    for value, count in zip(present.tolist(), counts.tolist(), strict=True):
        infusion, code = divmod(value, len(names))
        out[(STATE, str(names[code]), int(infusion + last.min()))] = int(count)
    return out


def counts_by_time(tally: Mapping[Any, int], name: str,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, courses, events) per distinct time of one Kaplan-Meier count, by time; a
    time of None (unknown) as NaN, last."""
    rows: dict[float | None, list[int]] = {}
    for key, count in tally.items():
        if key[0] == name:
            row = rows.setdefault(key[1], [0, 0])
            row[0] += count
            row[1] += count if key[2] else 0
    times = sorted(rows, key=lambda t: (t is None, t or 0.0))
    return (np.array([np.nan if t is None else t for t in times], dtype="float64"),
            np.array([rows[t][0] for t in times], dtype="int64"),
            np.array([rows[t][1] for t in times], dtype="int64"))


def median_of_counts(values: np.ndarray, counts: np.ndarray) -> float | None:
    """``np.median`` of ``values`` repeated ``counts`` times (values sorted), rounded as
    the summary rounds (4 decimals); None when there is none."""
    total = int(counts.sum())
    if total == 0:
        return None
    ends = np.cumsum(counts)

    def at(i: int) -> float:  # the i-th value (0-based) of the repeated sorted values
        return float(values[int(np.searchsorted(ends, i, side="right"))])

    middle = total // 2
    value = at(middle) if total % 2 else (at(middle - 1) + at(middle)) / 2
    return round(value, 4)
