"""Course facts: what ``outcomes.engine.course_table`` needs per (course, instrument),
reduced so that every after-N, timepoint rule and remission maximum can be answered
later without the scores (issue 13: outcomes kept in the store, data/analytics/course_outcomes.py).

``course_facts(obs, instrument)`` reduces the observations of the courses in ``obs`` (all
their instruments: the first infusion date is course-wide) to one row per course;
``table_from_facts(facts, instrument, ...)`` gives back, for chosen parameters, exactly the
frame ``course_table`` computes from the observations (same rows, columns and values).

What a course's row holds (the rules are the engine's, OUTCOMES.md):

- the parameter-free fields: first infusion date (D2), O1 baseline, O2 latest, O8
  ``last_received`` and first response, O10 item-9 fields except after-N, O12;
- O7 for every N and rule: the last scored post score of each infusion k after the
  baseline (``post_totals``: {"k": total}) and the last scored pre score (``pre_totals``);
  the item-9 answers of the same observations, answered whatever the total
  (``post_item9``, ``pre_item9``);
- O8 first remission: at the catalogue maximum, and the running-minimum steps of the scored
  totals after the baseline ([[received, total], ...]) for any other maximum (the first
  observation with total <= L is the first step with total <= L).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from outcomes import engine
from outcomes.course_rules import INDUCTION_LENGTH
from outcomes.instruments import get_instrument

MAP_COLUMNS = ("post_totals", "pre_totals", "post_item9", "pre_item9")
FACT_COLUMNS = (
    "first_infusion_date", "baseline", "baseline_infusion", "baseline_date", "baseline_item9",
    "latest", "latest_infusion", "latest_timepoint", "latest_received", "latest_date",
    "last_received", "first_response_received", "first_remission_received", "remission_steps",
    *MAP_COLUMNS, "any_item9_positive", "later_item9_positive", "day_after_checked",
    "day_after_item9",
)
# What table_from_facts reads per course: the facts with the maps resolved for one N and rule.
RESOLVED = ("after_n_total", "after_n_answer")
DATE_FACTS = ("first_infusion_date", "baseline_date", "latest_date")
# Facts the section 6 summary and the Outcomes page's response section never read: a lean
# read leaves them out, and table_from_facts gives them back missing.
LEAN_OMITTED = ("baseline_infusion", "baseline_date", "latest_infusion", "latest_timepoint",
                "latest_received", "latest_date")


def course_facts(obs: pd.DataFrame, instrument: str) -> pd.DataFrame:
    """One row per course of ``obs`` with an observation of ``instrument``: course_key and
    FACT_COLUMNS (maps and steps as Python dicts / lists)."""
    spec = get_instrument(instrument)
    rows = engine._instrument_rows(obs, spec.name, all_courses=True)
    table = pd.DataFrame(index=pd.Index(rows["course_key"].unique(), name="course_key"))
    engine._add_first_infusion_date(table, obs)
    engine._add_anchors(table, rows)
    baseline_seq = rows["course_key"].map(table["baseline_seq"])
    rows = rows.assign(after=rows["seq"] > baseline_seq,
                       from_baseline=rows["seq"] >= baseline_seq)
    engine._add_latest(table, rows)
    engine._add_first_times(table, rows, spec.remission_max)
    scored_after = rows[rows["after"] & rows["scored"]]
    table["remission_steps"] = _steps(scored_after)
    for column, timepoint, value, mask in (
        ("post_totals", "post", "total", rows["scored"]),
        ("pre_totals", "pre", "total", rows["scored"]),
        ("post_item9", "post", "item9", rows["item9"].notna()),
        ("pre_item9", "pre", "item9", rows["item9"].notna()),
    ):
        chosen = rows[mask & rows["after"] & (rows["timepoint"] == timepoint)]
        table[column] = _per_infusion(chosen, value)
    positive = rows["item9"] >= 1
    table["any_item9_positive"] = table.index.isin(rows.loc[positive, "course_key"])
    table["later_item9_positive"] = table.index.isin(rows.loc[positive & rows["after"],
                                                              "course_key"])
    engine._add_day_after(table, rows)
    empty: dict[str, Any] = {}
    for column in MAP_COLUMNS:
        table[column] = table[column].apply(lambda v: v if isinstance(v, dict) else empty)
    table["remission_steps"] = table["remission_steps"].apply(
        lambda v: v if isinstance(v, list) else [])
    return table.drop(columns=["baseline_seq", "has_baseline"])[list(FACT_COLUMNS)].reset_index()


def _steps(scored_after: pd.DataFrame) -> pd.Series:
    """Per course: [[received, total], ...] where the running minimum of the totals drops."""
    totals = scored_after["total"]
    previous = totals.groupby(scored_after["course_key"]).cummin().groupby(
        scored_after["course_key"]).shift(1)
    drops = scored_after[previous.isna() | (totals < previous)]
    steps: dict[int, list[Any]] = {}
    for key, received, total in zip(drops["course_key"], drops["received"], drops["total"],
                                    strict=True):
        steps.setdefault(int(key), []).append([int(received), float(total)])
    return pd.Series(steps, dtype=object)


def _per_infusion(chosen: pd.DataFrame, value: str) -> pd.Series:
    """Per course: {"k": value of the last row of infusion k} (rows in C2 order)."""
    last = chosen.drop_duplicates(["course_key", "infusion_number"], keep="last")
    maps: dict[int, dict[str, Any]] = {}
    for key, number, v in zip(last["course_key"], last["infusion_number"], last[value],
                              strict=True):
        maps.setdefault(int(key), {})[str(int(number))] = float(v)
    return pd.Series(maps, dtype=object)


def target_key(after_n: int, timepoint_rule: str) -> tuple[str, str]:
    """O7: which map and which infusion number hold the after-N observation."""
    engine._check_settings(after_n, timepoint_rule)
    if timepoint_rule == "post":
        return "post", str(int(after_n))
    return "pre", str(int(after_n) + 1)


def resolve(facts: pd.DataFrame, after_n: int, timepoint_rule: str) -> pd.DataFrame:
    """Facts with the maps (Python dicts) resolved into RESOLVED for one N and rule (the
    store resolves them in SQL instead)."""
    timepoint, key = target_key(after_n, timepoint_rule)
    return facts.assign(
        after_n_total=[m.get(key, np.nan) for m in facts[f"{timepoint}_totals"]],
        after_n_answer=[m.get(key, np.nan) for m in facts[f"{timepoint}_item9"]],
    )


def first_at_or_below(steps: list[Any] | None, limit: int) -> float:
    """O8 first remission from the running-minimum steps: received at the first total <= limit."""
    for received, total in steps or ():
        if total <= limit:
            return float(received)
    return math.nan


def table_from_facts(facts: pd.DataFrame, instrument: str, *, after_n: int = INDUCTION_LENGTH,
                     timepoint_rule: str = "post", remission_max: int | None = None,
                     ) -> pd.DataFrame:
    """``course_table`` from resolved facts: ``facts`` holds engine.COURSE_COLUMNS, the
    parameter-free FACT_COLUMNS and RESOLVED (for ``after_n``/``timepoint_rule``), one row
    per course of ``instrument`` (the maps are not read; ``remission_steps`` only when
    ``remission_max`` differs from the catalogue's). Facts of LEAN_OMITTED absent from
    ``facts`` (a lean read) come back missing, with their usual dtype."""
    engine._check_settings(after_n, timepoint_rule)
    spec = get_instrument(instrument)
    limit = spec.remission_max if remission_max is None else remission_max
    keys = facts["course_key"].to_numpy()
    n = len(keys)
    order = None if n < 2 or bool((keys[1:] >= keys[:-1]).all()) \
        else np.argsort(keys, kind="stable")
    # Every column is made as an array and the frame once from them: a pandas operation
    # costs ~20-50 us whatever its length, and the page after a save makes the table of a
    # few courses (a Series per column had cost ~5 ms per instrument).

    def taken(data: Any) -> Any:  # in course order
        return data if order is None else data.take(order)

    def omitted(name: str) -> bool:
        return name not in facts.columns and name in LEAN_OMITTED

    def col(name: str) -> Any:  # the column's own values (an ndarray or an ExtensionArray)
        column = facts[name]
        return taken(column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array)

    def floats(name: str) -> np.ndarray:  # col(name).astype("float64")
        if omitted(name):
            return np.full(n, np.nan)
        values = facts[name].to_numpy(dtype="float64", na_value=np.nan)
        return values if order is None else values.take(order)

    def integers(name: str) -> Any:  # col(name).astype("Int64"), an omitted one all missing
        if omitted(name):
            return pd.arrays.IntegerArray(np.zeros(n, dtype="int64"), np.ones(n, dtype=bool))
        return pd.Series(col(name)).astype("Int64").array

    def flags(name: str) -> np.ndarray:  # col(name).astype(bool)
        return np.asarray(taken(facts[name].to_numpy()), dtype=bool)

    def date(name: str) -> Any:  # pd.to_datetime(col(name)), an omitted one built missing
        if omitted(name):
            return np.full(n, np.datetime64("NaT", "s"))
        values = col(name)
        return values if values.dtype.kind == "M" else pd.to_datetime(pd.Series(values)).array

    def text(name: str) -> Any:  # col(name).astype("str"), an omitted one built missing
        if omitted(name):
            return pd.Series([np.nan], dtype="str").array.take(np.zeros(n, dtype="intp"))
        return pd.Series(col(name)).astype("str").array

    # Columns in course_table's order (tests/data/test_course_outcomes.py compares them).
    same_instrument = n and "instrument" in facts.columns \
        and bool((facts["instrument"] == spec.name).all())
    table: dict[str, Any] = {
        "course_key": taken(keys),
        **{c: col(c) for c in engine.COURSE_COLUMNS if c != "course_key"},
        "instrument": col("instrument") if same_instrument
        else pd.array([spec.name] * n, dtype="str"),
    }
    table["first_infusion_date"] = date("first_infusion_date")
    baseline = floats("baseline")
    table["baseline"] = baseline
    table["baseline_infusion"] = integers("baseline_infusion")
    table["baseline_date"] = date("baseline_date")
    has_baseline = ~np.isnan(baseline)
    table["has_baseline"] = has_baseline
    latest = floats("latest")
    table["latest"] = latest
    table["latest_infusion"] = integers("latest_infusion")
    table["latest_timepoint"] = text("latest_timepoint")
    table["latest_received"] = integers("latest_received")
    table["latest_date"] = date("latest_date")
    table["last_received"] = floats("last_received")
    after_n_score = np.where(has_baseline, floats("after_n_total"), np.nan)
    table.update(engine.outcome_arrays(baseline, latest, after_n_score, has_baseline, limit,
                                       spec.rci, spec.case_min))
    table["first_response_received"] = floats("first_response_received")
    if limit is None:
        table["first_remission_received"] = np.full(n, np.nan)
    elif limit == spec.remission_max:
        table["first_remission_received"] = floats("first_remission_received")
    else:
        table["first_remission_received"] = np.array(
            [first_at_or_below(s, limit) for s in col("remission_steps")], dtype="float64")
    if spec.name == engine.PHQ9:
        table["any_item9_positive"] = flags("any_item9_positive")
        table["later_item9_positive"] = flags("later_item9_positive")
        table["after_n_item9"] = np.where(has_baseline, floats("after_n_answer"), np.nan)
        table["baseline_item9"] = floats("baseline_item9")
        table["day_after_checked"] = flags("day_after_checked")
        table["day_after_item9"] = floats("day_after_item9")
    # copy=False: the arrays are made here or are the facts' own (read-only under
    # copy-on-write); a copy would also stack those of one dtype into one block (at XL,
    # ~60 ms and a second copy of the table in memory)
    return pd.DataFrame(table, copy=False)


# --- one course at a time (the refresh after a save) ------------------------------------------

def facts_of_course(observations: list[tuple[Any, ...]], instrument: str,
                    remission_max: int | None = None) -> dict[str, Any] | None:
    """``course_facts`` of ONE course in plain Python (a save's refresh: no frame overhead).

    ``observations``: every observation of the course, any instrument, as tuples
    (instrument, infusion_number, timepoint, date, total, item9, infusion_date) with None for
    a missing total / item 9; ``remission_max`` defaults to the catalogue's. None when the
    course has no observation of ``instrument``. The same rules as the frame version, which
    ``manage.py check-outcomes`` and tests/data/test_course_outcomes.py compare it with."""
    spec = get_instrument(instrument)
    limit = spec.remission_max if remission_max is None else remission_max
    mine = [o for o in observations if o[0] == spec.name]
    if not mine:
        return None
    rank = engine.TIMEPOINT_RANK
    rows = sorted(mine, key=lambda o: (o[1], rank.get(o[2], 1), o[3]))  # C2 / C4 order
    received = [n - 1 if tp == "pre" else n for _, n, tp, *_ in rows]
    base = next((i for i, o in enumerate(rows) if o[4] is not None and o[2] == "pre"), None)
    out: dict[str, Any] = dict.fromkeys(FACT_COLUMNS)
    out["first_infusion_date"] = min(o[6] for o in observations)
    nan = math.nan
    out.update(baseline=nan, baseline_item9=nan, latest=nan, last_received=nan,
               first_response_received=nan, first_remission_received=nan,
               day_after_item9=nan, remission_steps=[],
               **{c: {} for c in MAP_COLUMNS})
    after = [] if base is None else list(range(base + 1, len(rows)))
    if base is not None:
        b = rows[base]
        baseline = float(b[4])
        out.update(baseline=baseline, baseline_infusion=b[1], baseline_date=b[3],
                   baseline_item9=_number(b[5]))
        scored_after = [i for i in after if rows[i][4] is not None]
        if scored_after:
            last = rows[scored_after[-1]]
            out.update(latest=float(last[4]), latest_infusion=last[1],
                       latest_timepoint=last[2], latest_received=received[scored_after[-1]],
                       latest_date=last[3])
        out["last_received"] = float(max(received[i] for i in [base, *scored_after]))
        out["first_response_received"] = next(
            (float(received[i]) for i in scored_after
             if baseline > 0 and 2 * rows[i][4] <= baseline), nan)
        if limit is not None:
            out["first_remission_received"] = next(
                (float(received[i]) for i in scored_after if rows[i][4] <= limit), nan)
        lowest = None
        for i in scored_after:
            if lowest is None or rows[i][4] < lowest:
                lowest = rows[i][4]
                out["remission_steps"].append([received[i], float(lowest)])
        for i in after:
            n, tp, total, item9 = rows[i][1], rows[i][2], rows[i][4], rows[i][5]
            if tp in ("pre", "post") and total is not None:
                out[f"{tp}_totals"][str(n)] = float(total)
            if tp in ("pre", "post") and item9 is not None:
                out[f"{tp}_item9"][str(n)] = float(item9)
    out["any_item9_positive"] = any(o[5] is not None and o[5] >= 1 for o in rows)
    out["later_item9_positive"] = any(rows[i][5] is not None and rows[i][5] >= 1 for i in after)
    _day_after(out, rows)
    return out


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _day_after(out: dict[str, Any], rows: list[tuple[Any, ...]]) -> None:
    """O12 (engine._add_day_after): the first follow-up dated infusion 1's day or the next."""
    out["day_after_checked"] = False
    ones = [o[6] for o in rows if o[1] == 1]
    if not ones:
        return
    start = min(ones)
    for o in rows:
        if o[2] == engine.FOLLOWUP and 0 <= (o[3] - start).days <= 1:
            out["day_after_checked"] = True
            out["day_after_item9"] = _number(o[5])
            return
