"""Outcome summaries for the Outcomes page and `manage.py export outcomes`: one function,
so the page and the command line show the same numbers for the same filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from data.analytics.course_outcomes import facts_and_progress
from data.analytics.course_progress import (
    read_progress,
    retention_object,
    retention_settings,
    retention_summary,
    retention_tally,
)
from data.analytics.frame_patch import course_keys_of, replaced_rows, rows_of, written_rows
from data.analytics.observations import CORE_COLUMNS, load_observations
from data.clinic.protocol import load_protocol
from data.store.clinic_time import default_time_zone, today_in
from data.store.db import read_session
from models.access import Actor
from outcomes.course_facts import table_from_facts
from outcomes.engine import DIMENSIONS, index_course_keys
from outcomes.instruments import INSTRUMENTS, get_instrument
from outcomes.summary import RETENTION_KEY, summarize, summarize_tallies
from outcomes.tally import Tally, instrument_tally, nhs_tally


@dataclass(frozen=True)
class OutcomeFilters:
    """What the Outcomes page and the command line filter on; None = protocol default."""

    after_n: int | None = None
    timepoint_rule: str | None = None
    all_courses: bool | None = None
    clinic_ids: tuple[int, ...] | None = None
    instruments: tuple[str, ...] | None = None
    start: date | None = None
    end: date | None = None
    clinicians: tuple[str, ...] | None = None
    indications: tuple[str, ...] | None = None
    as_of: date | None = None  # D1 retention: the day the lapse window counts back from
    extra: dict[str, Any] = field(default_factory=dict)


def resolved_parameters(filters: OutcomeFilters) -> dict[str, Any]:
    """The filters with protocol defaults filled in."""
    with read_session() as session:
        protocol = load_protocol(session)
    return {
        "after_n": filters.after_n or protocol["induction_length"],
        "timepoint_rule": filters.timepoint_rule or protocol["timepoint_rule"],
        "all_courses": protocol["all_courses"] if filters.all_courses is None
        else filters.all_courses,
        "remission_max": {"MADRS": protocol["madrs_remission_max"]},
        "small_cell": protocol["small_cell_threshold"],
    }


def outcome_summary(*, actor: Actor, filters: OutcomeFilters) -> dict[str, Any]:
    """The OUTCOMES.md section 6 summary for the actor's scope and the filters, from the
    course outcomes kept in the store (data.analytics.course_outcomes); equal to ``summary_of`` the
    filtered observation frame (tests/data/test_course_outcomes.py)."""
    params = resolved_parameters(filters)
    facts, progress = stored_facts_and_progress(actor=actor, filters=filters, params=params)
    return summary_from_facts(facts, filters, params, progress=progress)


def summary_from_facts(facts: pd.DataFrame, filters: OutcomeFilters,
                       params: dict[str, Any], progress: pd.DataFrame | None = None,
                       tables: dict[str, pd.DataFrame] | None = None) -> dict[str, Any]:
    """The section 6 summary of stored facts already narrowed by every course filter
    (``progress``: course_progress.read_progress of the filters' clinics and range, when
    already read; ``tables``: ``course_tables`` of the same facts, when already computed)."""
    if tables is None:
        tables = course_tables(facts, filters, params)
    return summary_from_counts(summary_counts(tables, filters, params, progress=progress),
                               filters, params)


@dataclass(frozen=True)
class SummaryCounts:
    """What the summary of some course tables is computed from (``outcomes.tally``): each
    instrument's counts, the NHS pairs' and D1's (of the chosen courses, as of ``day``).
    Kept by the Outcomes page with its tables and patched with them
    (``patched_counts``), so that the summary after a save costs the saved courses."""

    instruments: dict[str, Tally]
    nhs: Tally
    retention: Tally
    day: date
    induction_length: int
    lapse_days: int


def summary_counts(tables: dict[str, pd.DataFrame], filters: OutcomeFilters,
                   params: dict[str, Any], *, progress: pd.DataFrame | None = None,
                   ) -> SummaryCounts:
    """The counts of ``course_tables`` (every catalogue instrument) and of D1 over their
    courses (``progress``: read_progress of the filters' clinics and range, when read)."""
    induction, lapse = retention_settings()
    day = filters.as_of or today_in(default_time_zone())
    if progress is None:
        progress = read_progress(clinic_ids=list(filters.clinic_ids) if filters.clinic_ids
                                 else None, start=filters.start, end=filters.end)
    # D1's courses are the headline's: those C3 chose, which the tables hold (one row per
    # chosen course in each instrument's table it has rows for)
    chosen = _union_of_keys([table["course_key"].to_numpy(dtype="int64")
                             for table in tables.values()])
    return SummaryCounts(
        instruments={name: instrument_tally(table, item9=name == "PHQ-9")
                     for name, table in tables.items()},
        nhs=_nhs_tally(tables),
        retention=retention_tally(progress, chosen, day=day, induction_length=induction,
                                  lapse_days=lapse),
        day=day, induction_length=induction, lapse_days=lapse)


def _nhs_tally(tables: dict[str, pd.DataFrame]) -> Tally:
    empty = next(iter(tables.values())).iloc[:0]
    return nhs_tally(tables.get("PHQ-9", empty), tables.get("GAD-7", empty))


def patched_counts(counts: SummaryCounts, before: dict[str, pd.DataFrame],
                   after: dict[str, pd.DataFrame], *, patients: list[int],
                   progress_before: pd.DataFrame, progress_after: pd.DataFrame,
                   ) -> SummaryCounts:
    """``counts`` of the tables ``before`` brought to the tables ``after`` (``patched_tables``
    for writes to ``patients``; a table left as it was is the very frame): the written
    patients' rows taken out of the counts and their new rows put in. Equal to
    ``summary_counts(after, ...)`` with ``progress_after``; costs the written patients."""
    changed = [name for name, table in after.items() if table is not before.get(name)]
    if {"PHQ-9", "GAD-7"} & set(changed):
        changed = list(dict.fromkeys([*changed, "PHQ-9", "GAD-7"]))  # O9 pairs the two
    old = {name: rows_of(before[name], patients) for name in changed if name in before}
    new = {name: rows_of(after[name], patients) for name in changed}
    instruments = dict(counts.instruments)
    for name in changed:
        if after[name] is before.get(name):
            continue
        instruments[name] = instruments.get(name, Tally()).patched(
            instrument_tally(old[name], item9=name == "PHQ-9") if name in old else {},
            instrument_tally(new[name], item9=name == "PHQ-9"))
    nhs = counts.nhs
    if "PHQ-9" in changed and "GAD-7" in changed and "GAD-7" in before:
        nhs = nhs.patched(_nhs_tally(old), _nhs_tally(new))

    def states(tables: dict[str, pd.DataFrame], progress: pd.DataFrame) -> Tally:
        keys = _union_of_keys([course_keys_of(table, patients) for table in tables.values()])
        return retention_tally(rows_of(progress, patients), keys, day=counts.day,
                               induction_length=counts.induction_length,
                               lapse_days=counts.lapse_days)

    retention = counts.retention.patched(states(before, progress_before),
                                         states(after, progress_after))
    return SummaryCounts(instruments, nhs, retention, counts.day, counts.induction_length,
                         counts.lapse_days)


def summary_from_counts(counts: SummaryCounts, filters: OutcomeFilters,
                        params: dict[str, Any]) -> dict[str, Any]:
    """The section 6 summary from ``summary_counts`` of tables made with ``params``."""
    names = [get_instrument(name).name for name in (filters.instruments or INSTRUMENTS)]
    summary = summarize_tallies(counts.instruments, counts.nhs, instruments=names, **params)
    summary[RETENTION_KEY] = retention_object(counts.retention, day=counts.day,
                                              induction_length=counts.induction_length,
                                              lapse_days=counts.lapse_days)
    return summary


def _union_of_keys(keys: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct course keys (store ids, >= 0) of the arrays, from marks in an
    array as long as the highest key (no sort)."""
    keys = [k for k in keys if len(k)]  # 3 x 380,000 keys: 2 ms, where np.unique took 145
    if not keys:
        return np.zeros(0, dtype="int64")
    seen = np.zeros(max(int(k.max()) for k in keys) + 1, dtype=bool)
    for k in keys:
        seen[k] = True
    return np.flatnonzero(seen).astype("int64")


def course_tables(facts: pd.DataFrame, filters: OutcomeFilters, params: dict[str, Any], *,
                  present: bool = False) -> dict[str, pd.DataFrame]:
    """Per catalogue instrument (only those with a chosen course when ``present``),
    ``table_from_facts`` of the C3-chosen courses of ``facts`` (stored facts) narrowed by
    the filters' clinicians and indications: the course tables the summary and the page's
    response section read (``course_table`` of the scores)."""
    narrowed = without_dimensions(filter_courses(facts, filters))
    keep = np.ones(len(narrowed), dtype=bool) if params["all_courses"] else \
        narrowed["course_key"].isin(index_course_keys(narrowed)).to_numpy()  # C3
    # each instrument's chosen rows selected once (``select_courses`` then a groupby
    # copied every chosen row twice: at XL, 875,000 rows, the summary's peak memory)
    instrument = narrowed["instrument"]
    by_instrument = {}
    for name in INSTRUMENTS:
        mine = keep & (instrument == name).to_numpy(dtype=bool, na_value=False)
        if mine.any():
            by_instrument[name] = narrowed[mine]
    empty = narrowed.iloc[:0]
    overrides = _overrides(params)
    return {name: table_from_facts(by_instrument.get(name, empty), name,
                                   after_n=params["after_n"],
                                   timepoint_rule=params["timepoint_rule"],
                                   remission_max=overrides.get(name))
            for name in INSTRUMENTS if not present or name in by_instrument}


def patched_tables(tables: dict[str, pd.DataFrame], facts: pd.DataFrame, *,
                   patients: list[int], filters: OutcomeFilters, params: dict[str, Any],
                   before: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """``tables`` (``course_tables`` read earlier) brought up to date for ``facts``, the
    same stored facts after writes to ``patients`` (``patched_facts``): their rows dropped
    and computed again from their facts. C3 chooses among one patient's courses and every
    column of a course table is the course's own, so the result equals a fresh
    ``course_tables(facts, ...)`` and costs the written patients' courses. ``before``: the
    facts ``tables`` were computed from; when the patients' rows there equal theirs in
    ``facts`` (a write that changed no outcome: a note, an alert closed), ``tables``."""
    if not patients:
        return tables
    mine = rows_of(facts, patients).reset_index(drop=True)
    if before is not None and mine.equals(rows_of(before, patients).reset_index(drop=True)):
        return tables
    fresh = course_tables(mine, filters, params,
                          present=True)  # a table of a few rows costs ~15 ms of pandas
    out = {}
    for name, table in tables.items():
        written = written_rows(table, patients)
        new = fresh.get(name)
        if new is None or new.empty:
            out[name] = table.loc[~written].reset_index(drop=True) if written.any() else table
            continue
        same = replaced_rows(table, written, new, ["course_key"])
        if same is not None:  # the usual save: the same courses, new values
            out[name] = same
            continue
        kept = table.loc[~written]
        if kept.empty:
            out[name] = new
            continue
        differ = {c: t for c, t in kept.dtypes.items() if new[c].dtype != t}  # e.g. all NA
        both = pd.concat([kept, new.astype(differ) if differ else new], ignore_index=True)
        order = np.argsort(both["course_key"].to_numpy(), kind="stable")  # course order
        out[name] = both.take(order).reset_index(drop=True)
    return out


def _overrides(params: dict[str, Any]) -> dict[str, int]:
    """The remission maxima of ``params`` by canonical instrument name (as summarize_tables
    names them)."""
    return {get_instrument(name).name: int(limit)
            for name, limit in (params.get("remission_max") or {}).items()}


def without_dimensions(facts: pd.DataFrame) -> pd.DataFrame:
    """``facts`` without the clinician / indication / route columns (used only to filter):
    every row selection after the filters would copy their text again."""
    dropped = [c for c in DIMENSIONS if c in facts.columns]
    return facts.drop(columns=dropped) if dropped else facts


def stored_facts(*, actor: Actor, filters: OutcomeFilters, params: dict[str, Any],
                 narrowed: bool = True, patient_ids: list[int] | None = None) -> pd.DataFrame:
    """The stored course facts within the actor's scope, clinics and dates, narrowed by the
    clinician and indication filters (unless not ``narrowed``: then with those columns),
    of ``patient_ids`` only when given."""
    return stored_facts_and_progress(actor=actor, filters=filters, params=params,
                                     narrowed=narrowed, patient_ids=patient_ids,
                                     progress=False)[0]


def stored_facts_and_progress(*, actor: Actor, filters: OutcomeFilters, params: dict[str, Any],
                              narrowed: bool = True, patient_ids: list[int] | None = None,
                              progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``stored_facts`` and, with ``progress``, the D1 progress of the same clinics and
    range (``course_progress.read_progress``'s columns) from the same read of the courses."""
    steps = any(get_instrument(name).remission_max != limit
                for name, limit in params["remission_max"].items())
    facts, course_progress = facts_and_progress(
        actor=actor, clinic_ids=list(filters.clinic_ids) if filters.clinic_ids else None,
        start=filters.start, end=filters.end, after_n=params["after_n"],
        timepoint_rule=params["timepoint_rule"],
        dimensions=not narrowed or bool(filters.clinicians or filters.indications),
        steps=steps, patient_ids=patient_ids, doses=False, lean=True,  # what they read
        progress=progress)
    return (filter_courses(facts, filters) if narrowed else facts), course_progress


FACT_ORDER = ["course_key", "instrument"]


def patched_facts(facts: pd.DataFrame, fresh: pd.DataFrame, *,
                  patients: list[int]) -> pd.DataFrame:
    """``facts`` (``stored_facts(..., narrowed=False)`` in FACT_ORDER, read earlier) brought
    up to date after writes to ``patients`` (``outcome_frames.written_patients``):
    ``fresh``, their rows read again in scope, clinics and dates
    (``stored_facts_and_progress`` with ``patient_ids``; a patient moved out of them loses
    its rows), in place of theirs. Equal to a fresh ``stored_facts`` in FACT_ORDER; costs
    the written patients' rows, not the store's (issue 13 item 2)."""
    if not patients:
        return facts
    written = written_rows(facts, patients)
    if not fresh.empty:
        fresh = in_fact_order(fresh)
        same = replaced_rows(facts, written, fresh, FACT_ORDER)
        if same is not None:  # the usual save: the same courses and instruments
            return same
    kept = facts[~written]
    if fresh.empty:
        return kept.reset_index(drop=True)
    fresh = fresh.astype(kept.dtypes.to_dict())  # dtypes: e.g. all missing
    both = pd.concat([kept, fresh], ignore_index=True)
    # A course's rows all come from one side, each in FACT_ORDER: a stable sort by course
    # is enough (and much cheaper than sorting the instrument text again).
    order = np.argsort(both["course_key"].to_numpy(), kind="stable")
    return both.take(order).reset_index(drop=True)


def in_fact_order(facts: pd.DataFrame) -> pd.DataFrame:
    """One order for a read and a patched read, so the two compare equal: FACT_ORDER, by
    one integer per row (the course, then the instrument's place in the catalogue; a name
    the catalogue does not know after them, by name), taken as it is when already in
    order (the whole read decodes the packs in that order: at XL, 875,035 rows, the
    sort took ~90 ms)."""
    if facts.empty:
        return facts.reset_index(drop=True)
    codes, names = pd.factorize(facts["instrument"])
    unknown = sorted(n for n in names if n not in INSTRUMENTS)
    rank = np.array([list(INSTRUMENTS).index(n) if n in INSTRUMENTS
                     else len(INSTRUMENTS) + unknown.index(n) for n in names], dtype="int64")
    key = (facts["course_key"].to_numpy(dtype="int64") * (len(INSTRUMENTS) + len(unknown))
           + rank[codes])
    if bool((key[1:] >= key[:-1]).all()):
        return facts.reset_index(drop=True)
    return facts.take(np.argsort(key, kind="stable")).reset_index(drop=True)


def _retention(frame: pd.DataFrame, filters: OutcomeFilters, params: dict[str, Any],
               progress: pd.DataFrame | None = None, keys: np.ndarray | None = None) -> dict:
    return retention_summary(  # D1: infusions, not scores, decide it
        frame, all_courses=params["all_courses"], as_of=filters.as_of,
        clinic_ids=list(filters.clinic_ids) if filters.clinic_ids else None,
        start=filters.start, end=filters.end, progress=progress, keys=keys)


def filtered_observations(*, actor: Actor, filters: OutcomeFilters) -> pd.DataFrame:
    """The observation frame within the actor's scope, narrowed by every course filter
    (the dimension columns are read only when a clinician or indication filter needs them)."""
    obs = load_observations(
        actor=actor, clinic_ids=list(filters.clinic_ids) if filters.clinic_ids else None,
        start=filters.start, end=filters.end,
        dimensions=bool(filters.clinicians or filters.indications),
    )
    return filter_courses(obs, filters)


def filter_courses(frame: pd.DataFrame, filters: OutcomeFilters) -> pd.DataFrame:
    """Keep the courses whose clinician (first infusion's) and indication are chosen."""
    keep = pd.Series(True, index=frame.index)
    if filters.clinicians:
        keep &= frame["clinician"].isin(filters.clinicians)
    if filters.indications:
        keep &= frame["indication"].isin(filters.indications)
    return frame if bool(keep.all()) else frame[keep]


def summary_of(obs: pd.DataFrame, filters: OutcomeFilters) -> dict[str, Any]:
    """The section 6 summary of an already filtered observation frame (page and CLI).

    Only the required columns go to the engine: the summary uses no dimension, and every
    row selection it makes would copy them (a third of its time on a million scores)."""
    params = resolved_parameters(filters)
    summary = summarize(obs[list(CORE_COLUMNS)],
                        instruments=list(filters.instruments) if filters.instruments else None,
                        **params)
    summary[RETENTION_KEY] = _retention(obs, filters, params)
    return summary

