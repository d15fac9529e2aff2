"""Everything the Outcomes page shows, computed from frames loaded within the actor's scope.

The headline figures are the OUTCOMES.md section 6 summary of
``data.analytics.outcome_report.summary_of`` (what ``manage.py export outcomes`` writes for the
same filters); breakdowns, waterfall, durability, safety and the needs-attention list
come from the pure modules of ``outcomes/`` applied to the same observation frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from data.analytics.observations import DOSE_BANDS, load_observations
from data.analytics.outcome_frames import (
    load_held_visits,
    load_infusions,
    load_open_alerts,
    patient_labels,
)
from data.analytics.outcome_report import (
    OutcomeFilters,
    filter_courses,
    resolved_parameters,
    stored_facts,
    without_dimensions,
)
from data.clinic.protocol import load_protocol
from data.store.db import read_session
from models.access import Actor
from outcomes import attention, breakdowns, dose, durability, monitoring, quality
from outcomes.course_facts import table_from_facts
from outcomes.engine import course_table, select_courses
from outcomes.instruments import get_instrument
from outcomes.review import director_review

BREAKDOWN_DIMENSIONS = ("clinic", "clinician", "indication", "route", "dose_band", "start_month")


@dataclass
class ClinicFrames:
    """The frames of one scope and one set of course filters."""

    obs: pd.DataFrame
    infusions: pd.DataFrame
    open_alerts: pd.DataFrame
    held: pd.DataFrame = field(  # visits held for blood pressure (course_key, decision)
        default_factory=lambda: pd.DataFrame(columns=["course_key", "decision"]))


@dataclass
class ClinicAnalysis:
    """One instrument's clinic-view tables (the headline summary is separate)."""

    instrument: str
    parameters: dict[str, Any]
    breakdowns: dict[str, pd.DataFrame] = field(default_factory=dict)
    waterfall: pd.DataFrame | None = None
    waterfall_total: int | None = None  # set: ``waterfall`` holds only the drawn bars
    severity: pd.DataFrame | None = None
    durability: pd.DataFrame | None = None
    durability_summary: dict = field(default_factory=dict)
    durability_km: pd.DataFrame | None = None
    boosters: pd.DataFrame | None = None
    booster_summary: dict = field(default_factory=dict)
    safety: dict = field(default_factory=dict)
    side_effects: pd.DataFrame | None = None
    safety_by_dose: pd.DataFrame | None = None  # per infusion, by the infusion's dose band
    completeness: dict = field(default_factory=dict)
    monitoring: dict = field(default_factory=dict)  # outcomes.monitoring: holds, AEs, sedation
    attention: pd.DataFrame | None = None
    review: dict = field(default_factory=dict)  # outcomes.review: D1-D3 by clinic, clinician


def load_clinic_frames(*, actor: Actor, filters: OutcomeFilters) -> ClinicFrames:
    """Observations (as the export reads them), infusions and open alerts for the filters."""
    return narrow(ClinicFrames(
        obs=load_observations(
            actor=actor, clinic_ids=list(filters.clinic_ids) if filters.clinic_ids else None,
            start=filters.start, end=filters.end),
        infusions=load_infusions(actor=actor, filters=filters),
        open_alerts=load_open_alerts(actor=actor, filters=filters),
        held=load_held_visits(actor=actor, filters=filters),
    ), filters)


def narrow(frames: ClinicFrames, filters: OutcomeFilters) -> ClinicFrames:
    """Keep the chosen clinicians' and indications' courses (``filter_courses``, as the
    export does) and the open alerts of their patients."""
    if not (filters.clinicians or filters.indications):
        return frames
    obs = filter_courses(frames.obs, filters)
    infusions = filter_courses(frames.infusions, filters)
    patients = set(obs["patient_key"]) | set(infusions["patient_key"])
    alerts = frames.open_alerts[frames.open_alerts["patient_key"].isin(patients)]
    courses = set(obs["course_key"]) | set(infusions["course_key"])
    held = frames.held[frames.held["course_key"].isin(courses)]
    return ClinicFrames(obs=obs, infusions=infusions, open_alerts=alerts, held=held)


def analyse(frames: ClinicFrames, *, actor: Actor, filters: OutcomeFilters, instrument: str,
            today: date) -> ClinicAnalysis:
    """Course table, breakdowns, waterfall, severity, durability, safety, attention."""
    params = resolved_parameters(filters)
    with read_session() as session:
        protocol = load_protocol(session)
    params["booster_overdue_days"] = protocol["booster_overdue_days"]
    params["attention_window_days"] = protocol["attention_window_days"]
    spec = get_instrument(instrument)
    override = params["remission_max"].get(spec.name)
    limit = spec.remission_max if override is None else override
    table = course_table(frames.obs, spec.name, after_n=params["after_n"],
                         timepoint_rule=params["timepoint_rule"], remission_max=override,
                         all_courses=params["all_courses"])
    options = {"has_remission": limit is not None, "has_rci": spec.rci is not None,
               "small_cell": params["small_cell"]}
    result = ClinicAnalysis(instrument=spec.name, parameters={**params, "remission_limit": limit})
    result.breakdowns = {
        dim: breakdowns.with_response_interval(breakdowns.breakdown(table, dim, **options))
        for dim in BREAKDOWN_DIMENSIONS
    }
    result.waterfall = breakdowns.waterfall(table)
    result.severity = breakdowns.severity_distribution(table, spec.name)
    _add_durability(result, frames, params)
    _add_safety(result, frames, spec.name)
    result.safety_by_dose = dose.safety_by_infusion_band(frames.infusions, DOSE_BANDS,
                                                         small_cell=params["small_cell"])
    result.attention = _attention(frames, actor=actor, params=params, instrument=spec.name,
                                  override=override, today=today,
                                  table=table if params["all_courses"] else None)
    result.review = director_review(
        frames.obs, table, frames.infusions, instrument=spec.name,
        all_courses=params["all_courses"], small_cell=params["small_cell"],
        induction_length=protocol["induction_length"],
        lapse_days=protocol["lapse_window_days"], as_of=today)
    return result


def stored_course_table(*, actor: Actor, filters: OutcomeFilters, instrument: str,
                        params: dict[str, Any], facts: pd.DataFrame | None = None
                        ) -> pd.DataFrame:
    """``course_table`` of the instrument for the filters, from the course outcomes kept in
    the store (data.analytics.course_outcomes; ``facts``: already read and narrowed), without reading
    the scores."""
    if facts is None:
        facts = stored_facts(actor=actor, filters=filters, params=params)
    chosen = select_courses(without_dimensions(facts), all_courses=params["all_courses"])
    spec = get_instrument(instrument)
    return table_from_facts(chosen[chosen["instrument"] == spec.name], spec.name,
                            after_n=params["after_n"], timepoint_rule=params["timepoint_rule"],
                            remission_max=params["remission_max"].get(spec.name))


def response_analysis(*, actor: Actor, filters: OutcomeFilters, instrument: str,
                      facts: pd.DataFrame | None = None, table: pd.DataFrame | None = None,
                      order: breakdowns.WaterfallOrder | None = None,
                      counts: Mapping[Any, int] | None = None,
                      params: dict[str, Any] | None = None) -> ClinicAnalysis:
    """What the page's "response" section shows (severity bands and the waterfall), from
    the stored course outcomes: the page's first view reads no score (``table``: the
    instrument's ``stored_course_table``, e.g. of ``outcome_report.course_tables``, when
    already computed; ``order``: its ``breakdowns.waterfall_order``, when kept: then only
    the bars the chart draws are taken, by course key; ``counts``: the table's
    ``outcomes.tally.instrument_tally``, when kept: the severity bands from them, not from
    a pass over the table; ``params``: ``resolved_parameters(filters)``, when read)."""
    params = dict(params) if params is not None else resolved_parameters(filters)
    with read_session() as session:
        params["booster_overdue_days"] = load_protocol(session)["booster_overdue_days"]
    spec = get_instrument(instrument)
    override = params["remission_max"].get(spec.name)
    limit = spec.remission_max if override is None else override
    if table is None:
        table = stored_course_table(actor=actor, filters=filters, instrument=spec.name,
                                    params=params, facts=facts)
    result = ClinicAnalysis(instrument=spec.name, parameters={**params, "remission_limit": limit})
    if order is None:
        result.waterfall = breakdowns.waterfall(table)
    else:
        result.waterfall = breakdowns.waterfall_bars(table, order)
        result.waterfall_total = len(order)
    result.severity = (breakdowns.severity_distribution(table, spec.name) if counts is None
                       else breakdowns.severity_of_counts(counts, spec.name))
    return result


def _add_durability(result: ClinicAnalysis, frames: ClinicFrames, params: dict) -> None:
    lasting = durability.response_durability(frames.obs, result.instrument,
                                             all_courses=params["all_courses"])
    result.durability = lasting
    result.durability_summary = durability.durability_summary(lasting)
    result.durability_km = durability.durability_km(lasting)
    result.boosters = durability.booster_intervals(frames.infusions)
    result.booster_summary = durability.booster_summary(result.boosters)


def _add_safety(result: ClinicAnalysis, frames: ClinicFrames, instrument: str) -> None:
    result.safety = quality.safety_rates(frames.infusions)
    result.side_effects = quality.side_effect_table(frames.infusions)
    result.completeness = quality.completeness(frames.obs, frames.infusions, instrument)
    result.monitoring = monitoring.monitoring_summary(frames.infusions, frames.held)


def _attention(frames: ClinicFrames, *, actor: Actor, params: dict, instrument: str,
               override: int | None, today: date,
               table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Needs-attention rows over every course (each patient's current one), with labels."""
    if table is None:  # the rates' table holds index courses only: the rules need all
        table = course_table(frames.obs, instrument, after_n=params["after_n"],
                             timepoint_rule=params["timepoint_rule"], remission_max=override,
                             all_courses=True)
    rows = attention.needs_attention(table, infusions=frames.infusions,
                                     open_alerts=frames.open_alerts, today=today,
                                     overdue_days=params["booster_overdue_days"],
                                     window_days=params["attention_window_days"])
    labels = patient_labels(actor=actor, patient_keys=rows["patient_key"].tolist())
    return rows.merge(labels, on="patient_key", how="left")

