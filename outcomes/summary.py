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

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from outcomes.control_limits import funnel, p_chart
from outcomes.engine import course_table, select_courses
from outcomes.instruments import INSTRUMENTS, Instrument, get_instrument
from outcomes.survival import cumulative_at, kaplan_meier

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
    small_cell = _small_cell(small_cell)
    tables = {name: table_of(name, overrides.get(name))
              for name in dict.fromkeys([*names, "PHQ-9", "GAD-7"])}  # O9 needs both
    summary: dict[str, Any] = {}
    for name in names:
        spec = get_instrument(name)
        limit = overrides.get(name, spec.remission_max)
        if tables[name].empty:  # no course: the object depends on the parameters alone
            summary[name] = _empty_summary(tables[name], spec, after_n, limit, small_cell)
        else:
            summary[name] = instrument_summary(tables[name], spec, after_n, limit, small_cell)
    summary[NHS_KEY] = nhs_paired(tables["PHQ-9"], tables["GAD-7"])
    summary["parameters"] = {
        "after_n": int(after_n),
        "timepoint_rule": timepoint_rule,
        "all_courses": bool(all_courses),
        "remission_max": overrides,
        "small_cell": small_cell,
    }
    return summary


_EMPTY: dict[tuple[str, int, int | None, int | None], dict[str, Any]] = {}


def _empty_summary(table: pd.DataFrame, spec: Instrument, after_n: int, limit: int | None,
                   small_cell: int | None) -> dict[str, Any]:
    """``instrument_summary`` of a table without rows, computed once per parameters (a
    catalogue instrument no clinic uses would otherwise cost its full pandas path at every
    summary); a copy, so a caller's change never reaches the next summary."""
    key = (spec.name, int(after_n), limit, small_cell)
    if key not in _EMPTY:
        _EMPTY[key] = instrument_summary(table, spec, after_n, limit, small_cell)
    return copy.deepcopy(_EMPTY[key])


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
    """One instrument's object: rate blocks, by clinic, time to response, item 9."""
    has_remission, has_rci = limit is not None, spec.rci is not None
    masks = _block_masks(table, has_remission=has_remission, has_rci=has_rci)

    def block(rows: np.ndarray | None, prefix: str) -> dict[str, Any]:
        return _block_of(masks, rows, prefix, has_remission=has_remission, has_rci=has_rci)

    cases = None
    if spec.case_min is not None:
        cases = block(_mask(table["baseline_case"]), "after_n_")
    codes, clinics_found = pd.factorize(table["clinic"], sort=True, use_na_sentinel=False)
    clinics = {  # one factorize, then numpy counts per clinic (groupby order: sorted)
        _clinic_name(clinic): suppress(block(codes == i, "after_n_"), small_cell)
        for i, clinic in enumerate(clinics_found)
    }
    out = {
        "overall_latest": block(None, ""),
        f"after_infusion_{after_n}": block(None, "after_n_"),
        f"after_infusion_{after_n}_baseline_case": cases,
        f"by_clinic_after_infusion_{after_n}": clinics,
        "time_to_first_response": time_to_first_response(table, after_n, has_remission),
        # D2 and D3 (outcomes.control_limits)
        f"trend_by_start_month_after_infusion_{after_n}": p_chart(table, small_cell=small_cell),
        f"funnel_by_clinic_after_infusion_{after_n}": funnel(table, small_cell=small_cell),
    }
    if spec.name == "PHQ-9":
        out["item9"] = item9_block(table, after_n)
    return out


_BLOCK_FLAGS = ("evaluable", "response", "remission", "reliable_improvement",
                "reliable_deterioration")


def _block_masks(table: pd.DataFrame, *, has_remission: bool, has_rci: bool,
                 ) -> dict[str, np.ndarray]:
    """The flags ``rate_block`` counts, as plain boolean arrays (NA = False), read once."""
    wanted = ["has_baseline"]
    for prefix in ("", "after_n_"):
        wanted += [prefix + "evaluable", prefix + "response"]
        wanted += [prefix + "remission"] if has_remission else []
        wanted += [prefix + "reliable_improvement", prefix + "reliable_deterioration"] \
            if has_rci else []
    wanted += ["baseline_in_remission"] if has_remission else []
    return {name: _mask(table[name]) for name in wanted}


def _block_of(masks: dict[str, np.ndarray], rows: np.ndarray | None, prefix: str, *,
              has_remission: bool, has_rci: bool) -> dict[str, Any]:
    """``rate_block`` from ``_block_masks``, over the rows picked by ``rows`` (None: all)."""
    def count(name: str) -> int:
        flags = masks[name]
        return int(np.count_nonzero(flags if rows is None else flags & rows))

    n_courses = len(masks["has_baseline"]) if rows is None else int(np.count_nonzero(rows))
    n_with_baseline = count("has_baseline")
    n_evaluable = count(prefix + "evaluable")
    responders = count(prefix + "response")
    remitters = count(prefix + "remission") if has_remission else None
    improved = count(prefix + "reliable_improvement") if has_rci else None
    deteriorated = count(prefix + "reliable_deterioration") if has_rci else None
    in_remission = count("baseline_in_remission") if has_remission else None
    return _rates(n_courses, n_with_baseline, n_evaluable, in_remission, responders, remitters,
                  improved, deteriorated)


def rate_block(table: pd.DataFrame, *, prefix: str, has_remission: bool, has_rci: bool) -> dict[str, Any]:
    """O4-O7 counts and rates; ``prefix`` '' uses the latest score, 'after_n_' the O7 score."""
    masks = _block_masks(table, has_remission=has_remission, has_rci=has_rci)
    return _block_of(masks, None, prefix, has_remission=has_remission, has_rci=has_rci)


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


def time_to_first_response(table: pd.DataFrame, after_n: int, has_remission: bool) -> dict[str, Any]:
    """O8: medians over courses with the event and Kaplan-Meier cumulative by infusion N."""
    baseline = table["baseline"].to_numpy(dtype="float64", na_value=np.nan)
    eligible = baseline > 0
    in_pool = eligible & ~_mask(table["baseline_in_remission"])
    last = table["last_received"].to_numpy(dtype="float64", na_value=np.nan)
    response = table["first_response_received"].to_numpy(dtype="float64", na_value=np.nan)
    remission = table["first_remission_received"].to_numpy(dtype="float64", na_value=np.nan)
    km_response = _km(response[eligible], last[eligible])
    km_remission = _km(remission[in_pool], last[in_pool]) if has_remission else None
    responded = response[eligible & ~np.isnan(response)]
    remitted: Any = remission[in_pool & ~np.isnan(remission)] if has_remission else []
    return {
        "n_ever_responded": len(responded),
        "median_infusions": _median(responded),
        f"km_cumulative_response_by_{after_n}": _km_at(km_response, after_n),
        f"km_cumulative_remission_by_{after_n}": _km_at(km_remission, after_n),
        "median_infusions_to_remission": _median(remitted),
        "km_response_curve": _curve(km_response),
        "km_remission_curve": _curve(km_remission),
    }


def _km(first: np.ndarray, last_received: np.ndarray) -> pd.DataFrame | None:
    """Event at the first-time value; otherwise censored at the last infusions received."""
    if not len(first):
        return None
    event = ~np.isnan(first)
    return kaplan_meier(np.where(event, first, last_received), event)


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
    at_baseline = table["baseline_item9"] >= 1
    answered_after = at_baseline & table["after_n_item9"].notna()
    return {
        "n_positive_at_baseline": _count(at_baseline),
        "n_any_positive": _count(table["any_item9_positive"]),
        "n_emergent_positive": _count(
            (table["baseline_item9"] == 0) & table["later_item9_positive"]
        ),
        f"baseline_positive_with_item9_after_{after_n}": _count(answered_after),
        f"baseline_positive_resolved_after_{after_n}": _count(
            answered_after & (table["after_n_item9"] == 0)
        ),
        **day_after_counts(table, at_baseline),
    }


def day_after_counts(table: pd.DataFrame, at_baseline: pd.Series) -> dict[str, Any]:
    """O12: baseline-positive courses checked the day of / after infusion 1, and resolved."""
    checked = at_baseline & _true(table["day_after_checked"])
    return {
        "day_after_first_infusion_checked": _count(checked),
        "day_after_first_infusion_resolved": _count(checked & (table["day_after_item9"] == 0)),
    }


def nhs_paired(phq9: pd.DataFrame, gad7: pd.DataFrame) -> dict[str, Any]:
    """O9: NHS Talking Therapies recovery and reliable change on paired latest scores."""
    phq, gad = get_instrument("PHQ-9"), get_instrument("GAD-7")
    pair = _paired(phq9).merge(_paired(gad7), on="course_key", suffixes=("_phq", "_gad"))
    phq_drop = pair["baseline_phq"] - pair["latest_phq"]
    gad_drop = pair["baseline_gad"] - pair["latest_gad"]
    improves = (phq_drop >= phq.rci) | (gad_drop >= gad.rci)
    worsens = (-phq_drop >= phq.rci) | (-gad_drop >= gad.rci)
    case = (pair["baseline_phq"] >= phq.case_min) | (pair["baseline_gad"] >= gad.case_min)
    recovered = case & (pair["latest_phq"] < phq.case_min) & (pair["latest_gad"] < gad.case_min)
    counts = {
        "n_paired": len(pair),
        "n_case_at_baseline": _count(case),
        "recovered": _count(recovered),
        "reliably_recovered": _count(recovered & improves & ~worsens),
        "reliable_improvement": _count(improves & ~worsens),
        "reliable_deterioration": _count(worsens & ~improves),
    }
    return {
        **counts,
        "recovery_rate": _rate(counts["recovered"], counts["n_case_at_baseline"]),
        "reliable_recovery_rate": _rate(counts["reliably_recovered"], counts["n_case_at_baseline"]),
        "reliable_improvement_rate": _rate(counts["reliable_improvement"], counts["n_paired"]),
        "reliable_deterioration_rate": _rate(counts["reliable_deterioration"], counts["n_paired"]),
    }


def _paired(table: pd.DataFrame) -> pd.DataFrame:
    has_both = table["baseline"].notna() & table["latest"].notna()
    return table.loc[has_both, ["course_key", "baseline", "latest"]]


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


def _true(flags: pd.Series) -> pd.Series:
    """A plain boolean mask: NA (undefined) counts as False."""
    if flags.dtype == bool:
        return flags
    return pd.Series(_mask(flags), index=flags.index)


def _mask(flags: pd.Series) -> np.ndarray:
    """``_true`` as a numpy array."""
    if flags.dtype == bool:
        return flags.to_numpy()
    if isinstance(flags.dtype, pd.BooleanDtype):
        return flags.to_numpy(dtype=bool, na_value=False)
    return flags.astype("boolean").fillna(False).astype(bool).to_numpy()


def _count(flags: pd.Series) -> int:
    return int(np.count_nonzero(_mask(flags)))


def _rate(numerator: int | None, denominator: int) -> float | None:
    if numerator is None or denominator == 0:
        return None
    return round(numerator / denominator, 4)


def _median(values: Any) -> float | None:
    return round(float(np.median(values)), 4) if len(values) else None


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _clinic_name(clinic: Any) -> str:
    return "" if pd.isna(clinic) else str(clinic)
