"""The Outcomes page's "Dose and tolerability" section (issue 14 item 5) and the published
benchmarks shown beside the headline (item 6).

Dose: response after N by the course's median-dose band and per-infusion tolerability by
the infusion's dose band (``outcomes.dose``), over the page's filters; cached under the
actor's ``scope_key``, the filters, the instrument and the data version, like
``ui.outcome_cache``. Benchmarks: ``data/analytics/benchmarks/published.json`` (validated)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.analytics.clinic_outcomes import narrow
from data.analytics.dose_frame import BANDS, load_dose_frame
from data.analytics.outcome_report import OutcomeFilters, resolved_parameters
from data.analytics.published_benchmarks import BenchmarkFileError, benchmark_rows, load_benchmarks
from models.access import Actor
from outcomes import dose
from outcomes.engine import course_table
from outcomes.instruments import get_instrument
from ui.outcome_cache import TTL_SECONDS, cached_frames

DASH = "—"
NOT_DOSE_FINDING = ("These are associations in routine data, not dose-finding: patients are "
                    "not randomised to doses.")
SEDATION_NOTE = ("Sedation (MOAA/S at peak) and dissociation are recorded per infusion; "
                 "their distribution is in the Safety & data quality section.")
RESPONSE_NOTE = (
    "A course's dose band is the band of its **median** dose (mg/kg) over its infusions with "
    "a recorded dose (none recorded: unknown). Response after N (O4, O7) over the headline's "
    "courses, observed (evaluable courses) and ITT (courses with a baseline). Bands with "
    "fewer courses than the small-cell threshold show their counts only (O11).")
TOLERABILITY_NOTE = (
    "Per infusion, by the infusion's own dose band, over every infusion of the filtered "
    "courses (not only index courses). Side effect = at least one recorded; adverse event = "
    "a recorded adverse event (or the note of an older record). Blood-pressure rise = systolic peak − systolic before ≥ "
    f"{dose.BP_RISE_MMHG} mmHg, a convention of this app, over the infusions with both "
    "readings. Bands with fewer courses than the small-cell threshold show counts only (O11).")
BENCHMARK_WARNING = (
    "Published figures are context, not targets: their populations, the timing of the "
    "score and the definitions differ from this clinic's (e.g. a window after the induction "
    "or a Kaplan-Meier estimate, not the score after infusion N), so a difference is not "
    "evidence of better or worse care.")


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner="Computing dose and tolerability...")
def cached_dose_tables(scope_key: str, filters: OutcomeFilters, instrument: str, version: int,
                       *, _actor: Actor) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Response by median-dose band, tolerability by dose band, the small-cell threshold."""
    loading = OutcomeFilters(clinic_ids=filters.clinic_ids, start=filters.start, end=filters.end)
    frames = narrow(cached_frames(scope_key, loading, version, _actor=_actor), filters)
    infusions = load_dose_frame(actor=_actor, filters=loading)
    infusions = infusions[infusions["course_key"].isin(frames.infusions["course_key"])]
    params = resolved_parameters(filters)
    spec = get_instrument(instrument)
    override = params["remission_max"].get(spec.name)
    limit = spec.remission_max if override is None else override
    table = course_table(frames.obs, spec.name, after_n=params["after_n"],
                         timepoint_rule=params["timepoint_rule"], remission_max=override,
                         all_courses=params["all_courses"])
    response = dose.response_by_dose_band(
        table, dose.course_dose_bands(infusions, BANDS), BANDS, has_remission=limit is not None,
        has_rci=spec.rci is not None, small_cell=params["small_cell"])
    tolerability = dose.tolerability_by_dose_band(infusions, BANDS,
                                                  small_cell=params["small_cell"])
    return response, tolerability, params["small_cell"]


def dose_section(actor: Actor, filters: OutcomeFilters, instrument: str, after_n: int,
                 version: int) -> None:
    """Response after N by median-dose band and tolerability by dose band."""
    response, tolerability, small_cell = cached_dose_tables(
        actor.scope_key, filters, instrument, version, _actor=actor)
    st.info(NOT_DOSE_FINDING)
    st.subheader(f"Response after infusion {after_n} by dose band")
    st.caption(RESPONSE_NOTE)
    st.dataframe(response_display(response), hide_index=True, width="stretch")
    st.subheader("Tolerability by dose band")
    st.caption(TOLERABILITY_NOTE)
    st.dataframe(tolerability_display(tolerability), hide_index=True, width="stretch")
    st.caption(SEDATION_NOTE)
    st.caption(f"Small-cell threshold: {small_cell} courses (O11).")


def response_display(response: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Dose band (course median)": response["dose_band"],
        "Courses": response["n_courses"].astype(int),
        "With a baseline": response["n_with_baseline"].astype(int),
        "Evaluable": response["n_evaluable"].astype(int),
        "Responders": _counts(response["responders"]),
        "Response · observed": _pcts(response["response_rate_observed"]),
        "Response · ITT": _pcts(response["response_rate_itt"]),
        "Remission · observed": _pcts(response["remission_rate_observed"]),
    })


def tolerability_display(tolerability: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Dose band (infusion)": tolerability["dose_band"],
        "Courses": tolerability["n_courses"].astype(int),
        "Infusions": tolerability["n_infusions"].astype(int),
        "With a side effect": _counts(tolerability["infusions_with_side_effect"]),
        "Side-effect rate": _pcts(tolerability["side_effect_rate"]),
        "With an adverse event": _counts(tolerability["infusions_with_adverse_event"]),
        "Adverse-event rate": _pcts(tolerability["adverse_event_rate"]),
        "With both BP readings": tolerability["infusions_with_bp"].astype(int),
        f"Systolic rise ≥ {dose.BP_RISE_MMHG} mmHg": _counts(tolerability["bp_rises"]),
        "BP-rise rate": _pcts(tolerability["bp_rise_rate"]),
    })


def published_benchmarks(instrument: str) -> None:
    """The published figures for ``instrument`` with their definitions, and the warning."""
    try:
        data = _benchmarks()
    except (OSError, BenchmarkFileError) as exc:
        st.caption(f"Published benchmarks unavailable: {exc}")
        return
    rows = benchmark_rows(data, instrument)
    with st.expander(f"Published benchmarks ({instrument})" if rows else "Published benchmarks",
                     expanded=bool(rows)):
        if not rows:
            st.caption("The published benchmarks on file are for PHQ-9 only.")
            return
        st.warning(BENCHMARK_WARNING)
        st.dataframe(pd.DataFrame({
            "Source": [r["source"] for r in rows],
            "Measure": [r["measure"] for r in rows],
            "Published": [f"{100 * r['value']:.1f} %" for r in rows],
            "Definition": [r["definition"] for r in rows],
            "When": [r["timepoint"] for r in rows],
            "Population": [r["population"] for r in rows],
        }), hide_index=True, width="stretch")
        cited = dict.fromkeys(r["citation"] for r in rows)
        st.caption(f"Benchmarks file version {data['version']} ({data['updated']}). "
                   + " ".join(cited))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _benchmarks() -> dict:
    return load_benchmarks()  # published figures, no patient data


def _pcts(values: pd.Series) -> list[str]:
    return [DASH if pd.isna(v) else f"{100 * float(v):.1f} %" for v in values]


def _counts(values: pd.Series) -> list[str]:
    return [DASH if pd.isna(v) else str(int(v)) for v in values]
