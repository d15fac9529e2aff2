"""Outcome summary: the JSON of OUTCOMES.md section 6, built from course tables.

Every count comes from ``outcomes.engine.course_table`` (one row per course);
this module only counts and divides. Rules, from OUTCOMES.md:

- C3 one course per patient (the index course) unless ``all_courses``.
- Rate blocks (O4, O5, O6, O7): ``n_courses`` = courses with any observation of
  the instrument; ``n_with_baseline`` (O1); ``n_evaluable`` (O2 for
  ``overall_latest``, O7 for ``after_infusion_N``; baseline 0 is never
  evaluable). Rates *observed* divide by ``n_evaluable``, rates *ITT* by
  ``n_with_baseline`` (O7). Reliable-change rates divide by ``n_evaluable``.
  ``n_baseline_in_remission`` (O5) counts the block's courses with a baseline
  whose baseline is already at or below the remission maximum; they stay in
  both denominators. Remission fields are null when the instrument has no
  remission maximum, reliable-change fields when it has no RCI, and the
  baseline-case block when it has no caseness cut-off.
- O11 small cells: in ``by_clinic_after_infusion_N`` a clinic with fewer than
  ``small_cell`` courses keeps its course counts (``n_courses``,
  ``n_with_baseline``, ``n_evaluable``) and nulls every other count and rate;
  every clinic block carries ``suppressed``. Only clinics with a course of the
  instrument appear. ``after_infusion_N_baseline_case`` uses the O7 score.
- O8 time to first response: over courses with baseline > 0; an event at
  ``first_response_received``, otherwise censored at ``last_received``. For
  remission, courses whose baseline is already in remission are left out (they
  would "remit" at their first later score). The medians are over courses with
  the event in the same population. The Kaplan-Meier figures are null when no
  course is at risk; ``km_response_curve`` / ``km_remission_curve`` list every
  distinct time of the estimate (chart data, an addition to section 6).
- O10 item 9 (PHQ-9 only): positive = answer >= 1 on the baseline observation;
  emergent = baseline answer 0 and a later positive (scored or not); resolved =
  a baseline-positive course whose O7 observation answers item 9 with 0.
- O12 day after infusion 1: of the baseline-positive courses, ``checked`` = a
  PHQ-9 follow-up dated the day of infusion 1 or the day after (whether or not
  it answers item 9); ``resolved`` = the first such follow-up answers item 9
  with 0 (a blank item 9 there is not resolved).
- O9 NHS paired PHQ-9 + GAD-7: courses with a baseline and a latest score on
  both (each instrument's own O1/O2; baseline 0 allowed), computed from all
  observations whatever ``instruments`` lists. Reliable improvement = either
  measure drops by at least its RCI and neither rises by at least its RCI.

Rates are Python floats rounded to 4 decimals, null when the denominator is 0;
counts are Python ints, so ``json.dumps`` works on the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from outcomes.control_limits import funnel_from_counts, p_chart_from_counts
from outcomes.engine import course_table, select_courses
from outcomes.instruments import INSTRUMENTS, Instrument, get_instrument
from outcomes.survival import cumulative_at, product_limit
from outcomes.tally import (
    BLOCK,
    COURSES,
    EVALUABLE_RESPONDER,
    ITEM9,
    KM_REMISSION,
    KM_RESPONSE,
    MONTH,
    NHS,
    counts_by_time,
    instrument_tally,
    median_of_counts,
    nhs_tally,
)

NHS_KEY = "nhs_paired_phq9_gad7_latest"
RETENTION_KEY = "retention"  # D1, added by data.analytics.outcome_report (infusions decide it)
NOT_INSTRUMENTS = ("parameters", NHS_KEY, RETENTION_KEY)
COURSE_COUNTS = ("n_courses", "n_with_baseline", "n_evaluable")


def summarize(
    obs: pd.DataFrame,
    *,
    instruments: Iterable[str] | None = None,
    after_n: int = 6,
    timepoint_rule: str = "post",
    all_courses: bool = False,
    remission_max: Mapping[str, int] | None = None,
    small_cell: int | None = None,
) -> dict[str, Any]:
    """The section-6 summary: one object per instrument, the NHS paired block, parameters.

    ``remission_max`` maps instrument names to overriding remission maxima
    (e.g. ``{"MADRS": 12}``, O5); ``small_cell`` turns on O11 suppression.
    """
    selected = select_courses(obs, all_courses=all_courses)  # C3, once for every instrument

    def table_of(name: str, override: int | None) -> pd.DataFrame:
        return course_table(selected, name, after_n=after_n, timepoint_rule=timepoint_rule,
                            remission_max=override, all_courses=True)

    return summarize_tables(table_of, instruments=instruments, after_n=after_n,
                            timepoint_rule=timepoint_rule, all_courses=all_courses,
                            remission_max=remission_max, small_cell=small_cell)


def summarize_tables(
    table_of: Callable[[str, int | None], pd.DataFrame],
    *,
    instruments: Iterable[str] | None = None,
    after_n: int = 6,
    timepoint_rule: str = "post",
    all_courses: bool = False,
    remission_max: Mapping[str, int] | None = None,
    small_cell: int | None = None,
) -> dict[str, Any]:
    """``summarize`` from course tables: ``table_of(instrument, remission override)`` gives
    the instrument's course table of the already chosen (C3) courses (the engine's
    ``course_table``, or ``outcomes.course_facts.table_from_facts`` from the store)."""
    chosen = INSTRUMENTS if instruments is None else instruments
    names = [get_instrument(name).name for name in chosen]
    overrides = _remission_overrides(remission_max)
    tables = {name: table_of(name, overrides.get(name))
              for name in dict.fromkeys([*names, "PHQ-9", "GAD-7"])}  # O9 needs both
    tallies = {name: instrument_tally(tables[name], item9=name == "PHQ-9") for name in names}
    return summarize_tallies(tallies, nhs_tally(tables["PHQ-9"], tables["GAD-7"]),
                             instruments=names, after_n=after_n,
                             timepoint_rule=timepoint_rule, all_courses=all_courses,
                             remission_max=remission_max, small_cell=small_cell)


def summarize_tallies(
    tallies: Mapping[str, Mapping[Any, int]],
    nhs: Mapping[Any, int],
    *,
    instruments: Iterable[str] | None = None,
    after_n: int = 6,
    timepoint_rule: str = "post",
    all_courses: bool = False,
    remission_max: Mapping[str, int] | None = None,
    small_cell: int | None = None,
) -> dict[str, Any]:
    """``summarize_tables`` from the tables' counts (``outcomes.tally``): each instrument's
    ``instrument_tally`` (missing: no course) and the PHQ-9 / GAD-7 ``nhs_tally``. The
    tables must have been made with ``remission_max``'s maxima. Costs the counts' keys,
    not the courses."""
    chosen = INSTRUMENTS if instruments is None else instruments
    names = [get_instrument(name).name for name in chosen]
    overrides = _remission_overrides(remission_max)
    small_cell = _small_cell(small_cell)
    summary: dict[str, Any] = {}
    for name in names:
        spec = get_instrument(name)
        limit = overrides.get(name, spec.remission_max)
        summary[name] = summary_of_tally(tallies.get(name, {}), spec, after_n, limit,
                                         small_cell)
    summary[NHS_KEY] = nhs_of_tally(nhs)
    summary["parameters"] = {
        "after_n": int(after_n),
        "timepoint_rule": timepoint_rule,
        "all_courses": bool(all_courses),
        "remission_max": overrides,
        "small_cell": small_cell,
    }
    return summary


def _remission_overrides(remission_max: Mapping[str, int] | None) -> dict[str, int]:
    if remission_max is None:
        return {}
    if not isinstance(remission_max, Mapping):
        raise TypeError("remission_max must map instrument names to totals, e.g. {'MADRS': 12}")
    return {get_instrument(name).name: int(value) for name, value in remission_max.items()}


def _small_cell(small_cell: int | None) -> int | None:
    if small_cell is None:
        return None
    if (
        isinstance(small_cell, bool)
        or not isinstance(small_cell, int | np.integer)
        or small_cell < 0
    ):
        raise ValueError(f"small_cell must be None or a whole number >= 0, got {small_cell!r}")
    return int(small_cell)


def instrument_summary(
    table: pd.DataFrame, spec: Instrument, after_n: int, limit: int | None, small_cell: int | None
) -> dict[str, Any]:
    """One instrument's object: rate blocks, by clinic, time to response, item 9 (from the
    counts of its course table, ``outcomes.tally``)."""
    return summary_of_tally(instrument_tally(table, item9=spec.name == "PHQ-9"), spec,
                            after_n, limit, small_cell)


def summary_of_tally(tally: Mapping[Any, int], spec: Instrument, after_n: int,
                     limit: int | None, small_cell: int | None) -> dict[str, Any]:
    """``instrument_summary`` from ``outcomes.tally.instrument_tally`` of the table (a
    kept tally patched after a write gives the same object as the whole table)."""
    has_remission, has_rci = limit is not None, spec.rci is not None
    groups = _block_groups(tally)

    def block(chosen: list[tuple[Any, bool]], prefix: str) -> dict[str, Any]:
        return _block_of(groups, chosen, prefix, has_remission=has_remission, has_rci=has_rci)

    every = list(groups)
    cases = None
    if spec.case_min is not None:
        cases = block([g for g in every if g[1]], "after_n_")
    clinics = _clinics(every)
    out = {
        "overall_latest": block(every, ""),
        f"after_infusion_{after_n}": block(every, "after_n_"),
        f"after_infusion_{after_n}_baseline_case": cases,
        f"by_clinic_after_infusion_{after_n}": {
            _clinic_name(clinic): suppress(block([g for g in every if g[0] == clinic],
                                                 "after_n_"), small_cell)
            for clinic in clinics},
        "time_to_first_response": time_to_first_response(tally, after_n, has_remission),
        # D2 and D3 (outcomes.control_limits)
        f"trend_by_start_month_after_infusion_{after_n}": _p_chart(tally, small_cell),
        f"funnel_by_clinic_after_infusion_{after_n}": _funnel(groups, clinics, small_cell),
    }
    if spec.name == "PHQ-9":
        out["item9"] = item9_of_tally(tally, after_n)
    return out


def _block_groups(tally: Mapping[Any, int]) -> dict[tuple[Any, bool], dict[str, int]]:
    """Flag counts per (clinic, baseline case) group with at least one course."""
    groups: dict[tuple[Any, bool], dict[str, int]] = {}
    for key, count in tally.items():
        if key[0] == BLOCK:
            groups.setdefault((key[1], key[2]), {})[key[3]] = count
    return {group: flags for group, flags in groups.items() if flags.get(COURSES)}


def _clinics(groups: list[tuple[Any, bool]]) -> list[Any]:
    """The clinics of the groups in ``pd.factorize(sort=True)`` order: sorted, unknown last."""
    known = sorted({clinic for clinic, _ in groups if clinic is not None})
    return known + ([None] if any(clinic is None for clinic, _ in groups) else [])


def _block_of(groups: dict[tuple[Any, bool], dict[str, int]], chosen: list[tuple[Any, bool]],
              prefix: str, *, has_remission: bool, has_rci: bool) -> dict[str, Any]:
    """O4-O7 counts and rates over the chosen groups; ``prefix`` '' uses the latest score,
    'after_n_' the O7 score."""
    def count(name: str) -> int:
        return sum(groups[g].get(name, 0) for g in chosen)

    return _rates(count(COURSES), count("has_baseline"), count(prefix + "evaluable"),
                  count("baseline_in_remission") if has_remission else None,
                  count(prefix + "response"),
                  count(prefix + "remission") if has_remission else None,
                  count(prefix + "reliable_improvement") if has_rci else None,
                  count(prefix + "reliable_deterioration") if has_rci else None)


def rate_block(table: pd.DataFrame, *, prefix: str, has_remission: bool, has_rci: bool) -> dict[str, Any]:
    """O4-O7 counts and rates; ``prefix`` '' uses the latest score, 'after_n_' the O7 score."""
    groups = _block_groups(instrument_tally(table))
    return _block_of(groups, list(groups), prefix, has_remission=has_remission,
                     has_rci=has_rci)


def _rates(n_courses: int, n_with_baseline: int, n_evaluable: int, in_remission: int | None,
           responders: int, remitters: int | None, improved: int | None,
           deteriorated: int | None) -> dict[str, Any]:
    return {
        "n_courses": n_courses,
        "n_with_baseline": n_with_baseline,
        "n_evaluable": n_evaluable,
        "n_baseline_in_remission": in_remission,
        "responders": responders,
        "remitters": remitters,
        "response_rate_observed": _rate(responders, n_evaluable),
        "response_rate_itt": _rate(responders, n_with_baseline),
        "remission_rate_observed": _rate(remitters, n_evaluable),
        "remission_rate_itt": _rate(remitters, n_with_baseline),
        "reliable_improvement": improved,
        "reliable_deterioration": deteriorated,
        "reliable_improvement_rate": _rate(improved, n_evaluable),
        "reliable_deterioration_rate": _rate(deteriorated, n_evaluable),
    }


def suppress(block: dict[str, Any], small_cell: int | None) -> dict[str, Any]:
    """O11: below ``small_cell`` courses keep course counts, null everything else."""
    small = bool(small_cell is not None and block["n_courses"] < small_cell)
    out = {
        key: (value if key in COURSE_COUNTS or not small else None) for key, value in block.items()
    }
    out["suppressed"] = small
    return out


def _p_chart(tally: Mapping[Any, int], small_cell: int | None) -> dict[str, dict[str, Any]]:
    """D2 by start month from the tally's month counts."""
    months: dict[str, dict[str, int]] = {}
    for key, count in tally.items():
        if key[0] == MONTH:
            months.setdefault(key[1], {})[key[2]] = count
    labels = sorted(label for label, flags in months.items() if flags.get(COURSES))
    return p_chart_from_counts(labels, [months[m].get("evaluable", 0) for m in labels],
                               [months[m].get("responder", 0) for m in labels],
                               small_cell=small_cell)


def _funnel(groups: dict[tuple[Any, bool], dict[str, int]], clinics: list[Any],
            small_cell: int | None) -> dict[str, dict[str, Any]]:
    """D3 by clinic (unknown clinic named 'unknown', as ``control_limits.group_counts``)."""
    named: dict[str, list[int]] = {}
    for clinic in clinics:
        counts = named.setdefault("unknown" if clinic is None else str(clinic), [0, 0])
        for group, flags in groups.items():
            if group[0] == clinic:
                counts[0] += flags.get("after_n_evaluable", 0)
                counts[1] += flags.get(EVALUABLE_RESPONDER, 0)
    names = sorted(named)
    evaluable = sum(named[n][0] for n in names)
    target = sum(named[n][1] for n in names) / evaluable if evaluable else None
    return funnel_from_counts({"group": names, "n_evaluable": [named[n][0] for n in names],
                               "responders": [named[n][1] for n in names]},
                              target=target, small_cell=small_cell)


def time_to_first_response(tally: Mapping[Any, int], after_n: int,
                           has_remission: bool) -> dict[str, Any]:
    """O8: medians over courses with the event and Kaplan-Meier cumulative by infusion N."""
    response = counts_by_time(tally, KM_RESPONSE)
    remission = counts_by_time(tally, KM_REMISSION)
    km_response = _km(*response)
    km_remission = _km(*remission) if has_remission else None
    return {
        "n_ever_responded": int(response[2].sum()),
        "median_infusions": median_of_counts(response[0], response[2]),
        f"km_cumulative_response_by_{after_n}": _km_at(km_response, after_n),
        f"km_cumulative_remission_by_{after_n}": _km_at(km_remission, after_n),
        "median_infusions_to_remission": median_of_counts(remission[0], remission[2])
        if has_remission else None,
        "km_response_curve": _curve(km_response),
        "km_remission_curve": _curve(km_remission),
    }


def _km(times: np.ndarray, courses: np.ndarray, events: np.ndarray) -> pd.DataFrame | None:
    """Event at the first-time value; otherwise censored at the last infusions received."""
    if not len(times):
        return None
    return product_limit(times, courses, events)


def _km_at(km: pd.DataFrame | None, after_n: int) -> float | None:
    return None if km is None else round(cumulative_at(km, after_n), 4)


def _curve(km: pd.DataFrame | None) -> list[dict[str, Any]]:
    if km is None:
        return []
    return [
        {"infusions": _number(time), "cumulative": round(float(cumulative), 4)}
        for time, cumulative in zip(km["time"], km["cumulative"], strict=True)
    ]


def item9_block(table: pd.DataFrame, after_n: int) -> dict[str, Any]:
    """O10: PHQ-9 item 9 positive (>= 1) at baseline, ever, emergent, resolved after N;
    O12: checked and resolved the day after infusion 1."""
    return item9_of_tally(instrument_tally(table, item9=True), after_n)


def item9_of_tally(tally: Mapping[Any, int], after_n: int) -> dict[str, Any]:
    """``item9_block`` from the PHQ-9 table's ``instrument_tally``."""
    def count(name: str) -> int:
        return int(tally.get((ITEM9, name), 0))

    return {
        "n_positive_at_baseline": count("positive_at_baseline"),
        "n_any_positive": count("any_positive"),
        "n_emergent_positive": count("emergent_positive"),
        f"baseline_positive_with_item9_after_{after_n}": count("answered_after"),
        f"baseline_positive_resolved_after_{after_n}": count("resolved_after"),
        "day_after_first_infusion_checked": count("day_after_checked"),
        "day_after_first_infusion_resolved": count("day_after_resolved"),
    }


def nhs_paired(phq9: pd.DataFrame, gad7: pd.DataFrame) -> dict[str, Any]:
    """O9: NHS Talking Therapies recovery and reliable change on paired latest scores."""
    return nhs_of_tally(nhs_tally(phq9, gad7))


def nhs_of_tally(tally: Mapping[Any, int]) -> dict[str, Any]:
    """``nhs_paired`` from ``outcomes.tally.nhs_tally`` of the two tables."""
    def count(name: str) -> int:
        return int(tally.get((NHS, name), 0))

    counts = {
        "n_paired": count("paired"),
        "n_case_at_baseline": count("case"),
        "recovered": count("recovered"),
        "reliably_recovered": count("reliably_recovered"),
        "reliable_improvement": count("improvement"),
        "reliable_deterioration": count("deterioration"),
    }
    return {
        **counts,
        "recovery_rate": _rate(counts["recovered"], counts["n_case_at_baseline"]),
        "reliable_recovery_rate": _rate(counts["reliably_recovered"], counts["n_case_at_baseline"]),
        "reliable_improvement_rate": _rate(counts["reliable_improvement"], counts["n_paired"]),
        "reliable_deterioration_rate": _rate(counts["reliable_deterioration"], counts["n_paired"]),
    }


def summary_to_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten a summary for CSV: instrument, block, clinic, metric, value.

    Null blocks (e.g. the baseline-case block of an instrument without caseness)
    give no rows; curve points become metrics ``km_response_curve_at_<infusions>``.
    """
    rows: list[dict[str, Any]] = []
    for key, section in summary.items():
        if key == "parameters":
            rows += _parameter_rows(section)
        elif key == NHS_KEY:
            rows += _metric_rows(None, key, None, section)
        elif key == RETENTION_KEY:
            rows += _retention_rows(section)
        else:
            for block, content in section.items():
                if block.startswith(("by_clinic_", "trend_by_", "funnel_by_")):
                    for clinic, cell in content.items():
                        rows += _metric_rows(key, block, clinic, cell)
                elif content is not None:
                    rows += _metric_rows(key, block, None, content)
    return rows


def _metric_rows(instrument: str | None, block: str, clinic: str | None, content: dict[str, Any]) -> list[Any]:
    rows = []
    for metric, value in content.items():
        if isinstance(value, list):  # a curve: one row per point
            rows += [
                _row(instrument, block, clinic, f"{metric}_at_{p['infusions']}", p["cumulative"])
                for p in value
            ]
        else:
            rows.append(_row(instrument, block, clinic, metric, value))
    return rows


def _retention_rows(retention: dict[str, Any]) -> list[dict[str, Any]]:
    """D1: one row per count; the per-infusion dicts as ``<name>_<k>``."""
    rows = []
    for metric, value in retention.items():
        if isinstance(value, dict):
            rows += [_row(None, RETENTION_KEY, None, f"{metric}_{k}", v) for k, v in value.items()]
        else:
            rows.append(_row(None, RETENTION_KEY, None, metric, value))
    return rows


def _parameter_rows(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for metric, value in parameters.items():
        if metric == "remission_max":  # one row per overridden instrument
            rows += [_row(name, "parameters", None, metric, v) for name, v in value.items()]
        else:
            rows.append(_row(None, "parameters", None, metric, value))
    return rows


def _row(instrument: str | None, block: str, clinic: str | None, metric: str,
         value: Any) -> dict[str, Any]:
    return {
        "instrument": instrument,
        "block": block,
        "clinic": clinic,
        "metric": metric,
        "value": value,
    }


def _rate(numerator: int | None, denominator: int) -> float | None:
    if numerator is None or denominator == 0:
        return None
    return round(numerator / denominator, 4)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _clinic_name(clinic: Any) -> str:
    return "" if pd.isna(clinic) else str(clinic)
