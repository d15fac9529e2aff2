"""Cached reads for the Outcomes page.

The headline summary, the filter options and the first section (response over time) read
the course outcomes kept in the store (data/analytics/course_outcomes.py): no score is read, and
after a save only the saved course is recomputed. The other sections still analyse the
observation frame:

Four layers: the loaded frames (large; read only when a layer above misses), then the
summary, the per-instrument analysis and the filter options, and last the part of the
analysis one section of the page shows (``section_analysis_for``), so a rerun with
unchanged filters unpickles kilobytes, not the million-row frame nor the whole analysis
(8 MB pickled at 40,000 patients, most of it the needs-attention list and per-course
tables that one section each shows).

``st.cache_data`` is shared by every user of the server, so every key holds the actor's
``scope_key`` (role and clinics), the filters, and the store's data version (the latest
audited write: any new score, correction, alert closure or setting change gives new
keys). A short ttl bounds what a write outside the app could leave stale. The actor
itself is passed as ``_actor`` (not hashed): users with the same scope see the same data.

Below them, the stored course facts and the courses' progress (D1) are kept across data
versions (``cached_store_facts``, ``cached_progress``: one read of the courses gives
both; issue 13 item 2): at a new version
only the patients named by the audited writes since the kept version are read again and
patched in, so the page after a save costs the save's patient plus the summary's
arithmetic, not a read of the store. Kept per ``scope_key`` and filters, for the whole
server; read whole again after a write naming no patient, in another store (the audit
hash at the kept version differs), or every HELD_SECONDS. ``forget_store_facts`` empties
it (with ``st.cache_data.clear()``: what a cold process has).

On the kept facts, the course tables (C3, then ``table_from_facts`` per instrument: what
the summary and the response section read) are kept and patched the same way
(``cached_tables``): C3 chooses among one patient's courses, so only the written patients'
courses are computed again, and a save that changes values rewrites only their rows
(``outcome_report.replaced_rows``). With the tables are kept the summary's counts
(``outcome_report.SummaryCounts``, outcomes/tally.py): the written patients' rows before
the save are taken out of them and their rows after it put in (``patched_counts``), so
the summary after a save is computed from counts, not by passing over every course.

After a save the app does not wait for a render to patch: ``start_updates`` (called by
dashboard.py) has a worker thread patch the kept frames the renders asked for lately, and
make the summaries the last version showed, as soon as the save's course outcome is
recomputed (``data.store.outcome_queue.listen_after_refresh``). The next render of the
page finds them at the new version (at L the page after a save went from ~3x the warm
render to ~1.4x; the patch's ~45 ms moved to the worker). A render that asks for a frame
being patched waits for it on the frame's lock; a save made by another server process is
patched by the same worker when a poll of the data version (every POLL_SECONDS) finds it,
or by the next render if that comes first. ``OUTCOME_UPDATES_AFTER_SAVE=off`` turns the
worker and the poll off (the tests do, except those about them).

The page's first section (response over time: severity bands, KM curve, waterfall) is made
whole, figures included, once per page state (``response_section_for``), and kept per
scope like the tables: after a save the worker makes it for the page states shown lately,
so the render after a save builds no figure (at L it took the render from 1.9x the warm
render to ~1.1x: the waterfall's figure alone was ~4 ms). Its figures hold counts, curves
and per-course bars with the clinic's code, no patient identifier.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import Engine

from data.analytics.clinic_outcomes import (
    ClinicAnalysis,
    ClinicFrames,
    analyse,
    load_clinic_frames,
    narrow,
    response_analysis,
)
from data.analytics.course_outcomes import option_counts, options_of_counts
from data.analytics.course_progress import patched_progress
from data.analytics.frame_patch import course_keys_of, rows_of
from data.analytics.outcome_frames import data_version, version_mark, written_patients
from data.analytics.outcome_report import (
    OutcomeFilters,
    SummaryCounts,
    course_tables,
    in_fact_order,
    patched_counts,
    patched_facts,
    patched_tables,
    resolved_parameters,
    stored_facts_and_progress,
    summary_counts,
    summary_from_counts,
)
from data.store import outcome_queue
from data.store.clinic_time import default_time_zone, today_in
from data.store.db import get_engine
from figures import charts
from models.access import Actor
from outcomes.breakdowns import WaterfallOrder, patched_order, waterfall_order
from outcomes.instruments import get_instrument
from outcomes.tally import Tally

_log = logging.getLogger(__name__)
TTL_SECONDS = 300
# The ClinicAnalysis fields each section of the Outcomes page reads (besides instrument and
# parameters, which every section gets).
SECTION_FIELDS = {
    "response": ("severity", "waterfall", "waterfall_total"),
    "breakdowns": ("breakdowns",),
    "durability": ("durability_summary", "durability_km", "boosters", "booster_summary"),
    "safety": ("safety", "side_effects", "completeness", "monitoring", "safety_by_dose"),
    "attention": ("attention",),
    "review": ("review",),
    "dose": (),  # ui.dose_sections reads its own cached tables
}


def store_version() -> int:
    """The data version, read once per script run."""
    return data_version()


_parameters: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
_marks: dict[tuple, tuple[str | None, float]] = {}
MARK_SECONDS = 1.0  # a version's mark read once per render (and by the worker for the next)


def cached_parameters(filters: OutcomeFilters, version: int) -> dict[str, Any]:
    """``resolved_parameters`` at a data version of this store: the protocol read once per
    version, not at each layer of a render (a protocol change is an audited write: a new
    version); the worker reads it after a save (``update_kept``), for the next render."""
    key = (get_engine().url, version, filters.after_n, filters.timepoint_rule,
           filters.all_courses)  # what resolved_parameters reads of the filters
    with _held_lock:
        params = _parameters.get(key)
    if params is None:
        params = resolved_parameters(filters)
        with _held_lock:
            _parameters[key] = params
            while len(_parameters) > 64:
                _parameters.popitem(last=False)
    return {**params, "remission_max": dict(params["remission_max"])}  # the caller's own


def _mark(version: int) -> str | None:
    """``version_mark(version)``, read at most once per MARK_SECONDS (the layers of one
    render each check their kept frame's mark)."""
    key, now = (get_engine().url, version), time.monotonic()
    with _held_lock:
        known = _marks.get(key)
    if known is not None and now - known[1] < MARK_SECONDS:
        return known[0]
    mark = version_mark(version)
    with _held_lock:
        if len(_marks) > 64:
            _marks.clear()
        _marks[key] = (mark, now)
    return mark


@st.cache_data(ttl=TTL_SECONDS, max_entries=3, show_spinner="Loading outcome data...")
def cached_frames(scope_key: str, filters: OutcomeFilters, version: int, *,
                  _actor: Actor) -> ClinicFrames:
    """Observations, infusions and open alerts of one scope, clinics and date range."""
    return load_clinic_frames(actor=_actor, filters=_loading_filters(filters))


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner="Computing outcomes...")
def cached_summary(scope_key: str, filters: OutcomeFilters, version: int, *,
                   _actor: Actor) -> dict:
    """The OUTCOMES.md s.6 summary as ``manage.py export outcomes`` computes it: from the
    course outcomes kept in the store (no score is read; after a save only the saved
    course is recomputed, data.analytics.course_outcomes)."""
    tables = _kept_tables(scope_key, filters, version, _actor=_actor)
    return _summary(tables, filters, cached_parameters(filters, version),
                    filters.as_of or today_in(default_time_zone()))


def _summary(tables: _Tables, filters: OutcomeFilters, params: dict[str, Any],
             day: date) -> dict:
    """The summary of the kept tables for the filters' instruments on ``day``, made once
    per version (and kept with the tables)."""
    key = (filters.instruments, day)
    summary = tables.summaries.get(key)
    if summary is None:
        counts = tables.counts
        if counts.day != day:  # D1 counts lapses from this day: its counts taken whole,
            counts = summary_counts(tables.frames, filters, params, progress=tables.progress)
            tables.recounted[0] = counts  # once, and kept: the next patch patches these
        summary = summary_from_counts(counts, filters, params)
        tables.summaries[key] = summary
    return summary


@dataclass(frozen=True)
class _Tables:
    """Course tables by instrument (a patch that leaves one as it was keeps the very
    frame), with the summary's counts of them and the waterfall order (both patched with
    the tables)."""

    frames: dict[str, pd.DataFrame]
    facts: pd.DataFrame  # the kept facts they were computed from
    progress: pd.DataFrame  # and the kept progress (D1)
    # [the summary's counts of ``frames``] (outcomes.tally): a list of one, which the
    # summary replaces when D1's day is not theirs (a day passed: ``cached_summary``)
    recounted: list[SummaryCounts]
    # the response section's waterfall order by instrument, made when first shown, then
    # patched (outcomes.breakdowns.WaterfallOrder)
    waterfalls: dict[str, WaterfallOrder]
    # the summaries made of ``counts``, by (instruments, day): made by a render, or by the
    # worker after a save for those the last version had (``update_kept``)
    summaries: dict[tuple, dict] = field(default_factory=dict)

    @property
    def counts(self) -> SummaryCounts:
        return self.recounted[0]


@dataclass(frozen=True)
class _Facts:
    """The stored facts of a scope, clinics, dates, N and rule, with D1's progress of their
    courses from the same read of the courses (``stored_facts_and_progress``)."""

    facts: pd.DataFrame
    progress: pd.DataFrame
    options: Tally  # rows per clinician and indication (course_outcomes.option_counts)


Kept = TypeVar("Kept", pd.DataFrame, _Tables, _Facts)


@dataclass(frozen=True)
class _Held(Generic[Kept]):
    version: int
    mark: str | None  # outcome_frames.version_mark(version): the history it was read at
    frame: Kept
    read_at: float  # time.monotonic() of the last full read
    actor: Actor  # who it was read for, and with which filters: what
    filters: OutcomeFilters  # ``update_kept`` needs to patch it after a save


# facts, progress and course tables of 4 scopes x filters (facts ~30 MB at 100,000 rows,
# the tables of 40,000 patients ~15 MB)
HELD_ENTRIES = 12
HELD_SECONDS = 1800  # a full read at least this often: bounds a write that bypasses the audit
_held: OrderedDict[tuple, _Held] = OrderedDict()
_held_lock = threading.RLock()  # re-entrant: a helper taking it under it cannot deadlock
# one lock per key: a render asking for a frame being patched (after a save, by
# ``update_kept``) or read whole waits for it instead of doing the same work again
_key_locks: dict[tuple, threading.Lock] = {}
_asked_at: dict[tuple, float] = {}  # time.monotonic() a render last asked for each key
UPDATE_IDLE_SECONDS = 900  # the worker patches the frames a render asked for this recently


def _key_lock(key: tuple) -> threading.Lock:
    with _held_lock:
        return _key_locks.setdefault(key, threading.Lock())
def cached_store_facts(scope_key: str, filters: OutcomeFilters, version: int, *,
                       _actor: Actor) -> pd.DataFrame:
    """The stored course facts of one scope, clinics, dates, N and timepoint rule, with the
    clinician and indication columns (read once for the summary, the filter options and the
    response section).

    Kept per (scope_key, filters) for the whole server: at a new data version only the rows
    of the patients written since the kept version are read again and patched in
    (``outcome_report.patched_facts``), so the cost of the page after a save follows the
    save, not the store. Keyed by the actor's ``scope_key``: no row crosses scopes."""
    return _kept_facts(scope_key, filters, version, _actor=_actor).facts


def cached_progress(scope_key: str, filters: OutcomeFilters, version: int, *,
                    _actor: Actor) -> pd.DataFrame:
    """D1's progress (last infusion, its date, status) of the courses of
    ``cached_store_facts`` (read with them, patched with them: ``patched_progress``)."""
    return _kept_facts(scope_key, filters, version, _actor=_actor).progress


def _kept_facts(scope_key: str, filters: OutcomeFilters, version: int, *,
                _actor: Actor, params: dict[str, Any] | None = None,
                patch_only: bool = False) -> _Facts | None:
    filters = _facts_filters(filters)
    params = params if params is not None else cached_parameters(filters, version)

    def whole() -> _Facts:
        facts, progress = stored_facts_and_progress(actor=_actor, filters=filters,
                                                    params=params, narrowed=False)
        facts = in_fact_order(facts)
        return _Facts(facts, progress, option_counts(facts))

    def patch(held: _Facts, patients: list[int]) -> _Facts:
        # the written patients' facts and progress, from one read of their courses
        fresh, fresh_progress = stored_facts_and_progress(
            actor=_actor, filters=filters, params=params, narrowed=False,
            patient_ids=patients)
        facts = patched_facts(held.facts, fresh, patients=patients)
        options = held.options.patched(option_counts(rows_of(held.facts, patients)),
                                       option_counts(rows_of(facts, patients)))
        return _Facts(facts, patched_progress(held.progress, fresh_progress, patients),
                      options)

    return _kept(
        ("facts", scope_key, filters.clinic_ids, filters.start, filters.end, filters.after_n,
         filters.timepoint_rule),  # what the facts depend on (_facts_filters)
        version, whole, patch, actor=_actor, filters=filters, patch_only=patch_only)


def cached_tables(scope_key: str, filters: OutcomeFilters, version: int, *,
                  _actor: Actor) -> dict[str, pd.DataFrame]:
    """The course tables of the summary and the response section
    (``outcome_report.course_tables``: C3, then ``table_from_facts`` per instrument) of the
    kept facts, kept and patched like them: after a save only the written patients'
    courses are computed again (``patched_tables``). Keyed by the actor's ``scope_key``, the
    facts' filters, the clinicians and indications and the resolved parameters."""
    return _kept_tables(scope_key, filters, version, _actor=_actor).frames


def _kept_tables(scope_key: str, filters: OutcomeFilters, version: int, *,
                 _actor: Actor, params: dict[str, Any] | None = None,
                 patch_only: bool = False) -> _Tables | None:
    params = params if params is not None else cached_parameters(filters, version)
    kept = _kept_facts(scope_key, filters, version, _actor=_actor, params=params,
                       patch_only=patch_only)
    if kept is None:  # patch_only, and the facts could not be patched
        return None
    facts, progress = kept.facts, kept.progress

    def whole() -> _Tables:
        frames = course_tables(facts, filters, params)
        return _Tables(frames, facts, progress,
                       [summary_counts(frames, filters, params, progress=progress)], {})

    def patch(held: _Tables, patients: list[int]) -> _Tables:
        frames = patched_tables(held.frames, facts, patients=patients, filters=filters,
                                params=params, before=held.facts)
        counts = patched_counts(held.counts, held.frames, frames, patients=patients,
                                progress_before=held.progress, progress_after=progress)
        waterfalls = {
            name: waterfall if frames[name] is held.frames[name] else patched_order(
                waterfall, np.concatenate([course_keys_of(held.frames[name], patients),
                                           course_keys_of(frames[name], patients)]),
                rows_of(frames[name], patients))
            for name, waterfall in held.waterfalls.items()}
        return _Tables(frames, facts, progress, [counts], waterfalls)

    return _kept(
        ("tables", scope_key, filters.clinic_ids, filters.start, filters.end,
         filters.clinicians, filters.indications, params["after_n"],
         params["timepoint_rule"], params["all_courses"],
         tuple(sorted(params["remission_max"].items()))),
        version, whole, patch, actor=_actor, filters=filters, patch_only=patch_only)


def _kept(key: tuple, version: int, read_all: Callable[[], Kept],
          patch: Callable[[Kept, list[int]], Kept], *, actor: Actor,
          filters: OutcomeFilters, patch_only: bool = False) -> Kept | None:
    """The frame kept under ``key`` at ``version``: kept as is, patched for the patients
    written since the kept version, or read whole (nothing kept, another store, a write
    naming no patient, HELD_SECONDS since the last whole read). ``patch_only``: None
    rather than a whole read (``update_kept``)."""
    with _key_lock(key):
        with _held_lock:
            held = _held.get(key)
            if not patch_only:
                _asked_at[key] = time.monotonic()
        if held is not None and (held.version > version or _mark(held.version) != held.mark):
            held = None  # another store, a restored one, or an older version asked
        if held is not None and held.version == version:
            return _shallow(held.frame)
        frame, read_at = None, time.monotonic()
        if held is not None and read_at - held.read_at < HELD_SECONDS:
            patients = written_patients(held.version, version)
            if patients is not None:
                frame, read_at = patch(held.frame, patients), held.read_at
        if frame is None:
            if patch_only:
                return None
            gc.unfreeze()  # what the last whole read froze can be collected again
            frame = read_all()
            # Everything alive now (the modules, the frames just read) is left out of the
            # collector's full passes: at L one such pass over them took ~120 ms, and it
            # fell in the render after a save (Python's gc.freeze, meant for long-lived
            # objects).
            gc.freeze()
        mark = _mark(version)
        with _held_lock:
            current = _held.get(key)
            if current is None or current.version <= version:
                _held[key] = _Held(version, mark, frame, read_at, actor, filters)
                _held.move_to_end(key)
                while len(_held) > HELD_ENTRIES:
                    dropped, _ = _held.popitem(last=False)
                    _key_locks.pop(dropped, None)
                    _asked_at.pop(dropped, None)
        return _shallow(frame)


# --- after a save: the kept frames patched off the render ------------------------------------

_updater: ThreadPoolExecutor | None = None
UPDATE_SECONDS: list[float] = []  # how long the recent updates took (bench/app_probe.py)
# Another server process's saves (a network's app servers share one PostgreSQL): the data
# version is looked at this often, one indexed query, while a render asked for a kept
# frame lately; a newer one has the worker patch as after a save of this process.
POLL_SECONDS = 2.0
_poller: tuple[threading.Thread, threading.Event] | None = None


def start_updates() -> None:
    """Patch the kept frames after every save of this process, on a worker thread
    (``update_kept``), so that the next render of the Outcomes page finds them at the new
    version: the save's patients cost the worker, not the reader's render. A render that
    comes first waits for the frame's patch (its key's lock) or patches it itself. Another
    server process's saves are found by a poll of the data version every POLL_SECONDS and
    patched by the same worker (a render in those seconds patches them itself)."""
    global _updater, _poller
    with _held_lock:
        if _updater is None:
            _updater = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outcome-update")
        if _poller is None:
            stop = threading.Event()
            thread = threading.Thread(target=_poll, args=(stop,), name="outcome-poll",
                                      daemon=True)
            _poller = (thread, stop)
            thread.start()
    outcome_queue.listen_after_refresh(_after_save)


def stop_updates() -> None:
    """No more updates after a save (those queued are finished first), no more polls."""
    global _updater, _poller
    outcome_queue.listen_after_refresh(_after_save, on=False)
    with _held_lock:
        updater, _updater = _updater, None
        poller, _poller = _poller, None
    if poller is not None:
        poller[1].set()
        poller[0].join()
    if updater is not None:
        updater.shutdown(wait=True)


def _poll(stop: threading.Event) -> None:
    """Every POLL_SECONDS, while a render asked for a kept frame of this store lately:
    when the data version passed what the kept frames and the last poll saw, queue an
    update (the same worker as after a save: one at a time, in order)."""
    queued = 0
    while not stop.wait(POLL_SECONDS):
        try:
            now = time.monotonic()
            with _held_lock:
                versions = [held.version for key, held in _held.items()
                            if now - _asked_at.get(key, 0.0) <= UPDATE_IDLE_SECONDS]
            if not versions:
                continue
            version = data_version()
            if version > max(min(versions), queued):
                queued = version
                _after_save(get_engine())
        except Exception as exc:  # the next poll tries again; a render patches meanwhile
            _log.warning("polling the data version failed (%s)", type(exc).__name__)


def wait_for_updates() -> None:
    """Return when the updates queued so far are done (one worker: in order)."""
    updater = _updater
    if updater is not None:
        updater.submit(lambda: None).result()


def _after_save(engine: Engine) -> None:
    updater = _updater
    if updater is not None and engine.url == get_engine().url:  # the page's store
        updater.submit(_update_quietly)


def _update_quietly() -> None:
    start = time.perf_counter()
    try:
        update_kept()
    except Exception as exc:  # a render patches what this could not
        _log.warning("updating the kept outcome frames failed (%s)", type(exc).__name__)
    UPDATE_SECONDS.append(time.perf_counter() - start)
    del UPDATE_SECONDS[:-50]


def update_kept() -> int:
    """Bring the kept frames a render asked for in the last UPDATE_IDLE_SECONDS up to the
    current data version by a patch for the patients written since (never a whole read:
    what cannot be patched waits for a render; one nobody looks at costs no save); the
    facts first, then the tables made of them, then the response sections shown lately
    (``response_section_for``). Returns how many were patched or made."""
    version, now = data_version(), time.monotonic()
    with _held_lock:
        entries = sorted(_held.items(), key=lambda item: item[0][0] != "facts")
        asked = dict(_asked_at)
    patched = 0
    for key, held in entries:
        if held.version >= version or now - asked.get(key, 0.0) > UPDATE_IDLE_SECONDS:
            continue  # current, or no render asked for it lately: patched when one does
        kept = _kept_facts if key[0] == "facts" else _kept_tables
        params = cached_parameters(held.filters, version)
        made = kept(held.actor.scope_key, held.filters, version, _actor=held.actor,
                    params=params, patch_only=True)
        if made is None:
            continue
        patched += 1
        if isinstance(made, _Tables) and isinstance(held.frame, _Tables):
            for instruments, day in list(held.frame.summaries):  # those shown before the save
                if day == made.counts.day:
                    _summary(made, replace(held.filters, instruments=instruments), params, day)
    return patched + _update_responses(version, now)


# --- the response section: made once per page state, after a save by the worker -----------

@dataclass(frozen=True)
class ResponseSection:
    """The Outcomes page's first section at one page state: what it shows of the analysis
    (severity bands and the waterfall's bars, from the kept tables: no score is read) and
    its figures by chart key. Shared read-only: nobody changes a figure once made."""

    analysis: ClinicAnalysis
    figures: dict[str, go.Figure]


RESPONSE_ENTRIES = 16  # page states (scope, filters, instrument, day) x versions kept
_responses: OrderedDict[tuple, ResponseSection] = OrderedDict()
# the page states a render showed: who for, the filters, and when last (the worker makes
# these after a save)
_responses_shown: OrderedDict[tuple, tuple[Actor, OutcomeFilters, float]] = OrderedDict()


def _response_key(actor: Actor, filters: OutcomeFilters, instrument: str, today: date,
                  version: int | None = None) -> tuple:
    """The page state (``version`` None), or the state at a version of this store's history
    (its mark: a restored store with the same version number is another history)."""
    # repr: the filters' ``extra`` is a dict (no hash); equal filters give equal text
    return (get_engine().url, actor.scope_key, repr(filters), instrument, today,
            None if version is None else (version, _mark(version)))


def response_section_for(actor: Actor, filters: OutcomeFilters, instrument: str, today: date,
                         version: int) -> ResponseSection:
    """The response section at this page state and data version: kept as made (by a
    render, or by the worker after a save: ``update_kept``), or made now. Keyed by the
    actor's ``scope_key``: no row crosses scopes."""
    state = _response_key(actor, filters, instrument, today)
    with _held_lock:
        _responses_shown[state] = (actor, filters, time.monotonic())
        _responses_shown.move_to_end(state)
        while len(_responses_shown) > RESPONSE_ENTRIES:
            _responses_shown.popitem(last=False)
        made = _responses.get(_response_key(actor, filters, instrument, today, version))
    if made is None:
        made = _response_section(actor, filters, instrument, today, version)
        assert made is not None  # None only with patch_only
    return made


def _response_section(actor: Actor, filters: OutcomeFilters, instrument: str, today: date,
                      version: int, *, patch_only: bool = False) -> ResponseSection | None:
    params = cached_parameters(filters, version)
    tables = _kept_tables(actor.scope_key, filters, version, _actor=actor, params=params,
                          patch_only=patch_only)
    if tables is None:  # patch_only, and the tables could not be patched
        return None
    name = get_instrument(instrument).name
    order = tables.waterfalls.get(name)
    if order is None:  # made once, then patched with the tables
        order = tables.waterfalls.setdefault(name, waterfall_order(tables.frames[name]))
    analysis = response_analysis(actor=actor, filters=filters, instrument=instrument,
                                 table=tables.frames[name], order=order,
                                 counts=tables.counts.instruments.get(name, {}), params=params)
    # the page's summary (``cached_summary``): the KM curves of the time to first response
    summary = _summary(tables, filters, params, filters.as_of or today_in(default_time_zone()))
    ttr = summary[name]["time_to_first_response"]
    figures = {
        "oc_km_chart": charts.km_figure(ttr["km_response_curve"], ttr["km_remission_curve"],
                                        filters.after_n),
        "oc_severity_chart": charts.severity_figure(analysis.severity, analysis.instrument)}
    if not analysis.waterfall.empty:
        figures["oc_waterfall_chart"] = charts.waterfall_figure(
            analysis.waterfall, total=analysis.waterfall_total)
    made = ResponseSection(analysis, figures)
    with _held_lock:
        _responses[_response_key(actor, filters, instrument, today, version)] = made
        while len(_responses) > RESPONSE_ENTRIES:
            _responses.popitem(last=False)
    return made


def _update_responses(version: int, now: float) -> int:
    """Make the response sections a render showed in the last UPDATE_IDLE_SECONDS at
    ``version``, from the tables just patched (never a whole read). Returns how many."""
    url, at_version = get_engine().url, (version, _mark(version))
    with _held_lock:
        shown = [(actor, filters, state[3], state[4])
                 for state, (actor, filters, at) in _responses_shown.items()
                 if state[0] == url and now - at <= UPDATE_IDLE_SECONDS
                 and (*state[:-1], at_version) not in _responses]
    made = 0
    for actor, filters, instrument, today in shown:
        made += _response_section(actor, filters, instrument, today, version,
                                  patch_only=True) is not None
    return made


def _shallow(kept: Kept) -> Kept:
    """A shallow copy of a kept frame (or tables): callers cannot change it."""
    if isinstance(kept, _Facts):
        return _Facts(kept.facts.copy(deep=False), kept.progress.copy(deep=False),
                      kept.options)
    if isinstance(kept, _Tables):
        return _Tables({name: frame.copy(deep=False) for name, frame in kept.frames.items()},
                       kept.facts, kept.progress, kept.recounted, kept.waterfalls,
                       kept.summaries)  # the same list and dicts: what is made is kept
    return kept.copy(deep=False)


def forget_store_facts() -> None:
    """Drop the kept facts (with ``st.cache_data.clear()``: a cold process)."""
    with _held_lock:
        _held.clear()
        _responses.clear()
        _responses_shown.clear()
        _parameters.clear()
        _marks.clear()
        _asked_at.clear()


def _facts_filters(filters: OutcomeFilters) -> OutcomeFilters:
    """What the stored facts depend on (the rest is applied in memory)."""
    return OutcomeFilters(clinic_ids=filters.clinic_ids, start=filters.start, end=filters.end,
                          after_n=filters.after_n, timepoint_rule=filters.timepoint_rule)


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner="Computing breakdowns...")
def cached_analysis(scope_key: str, filters: OutcomeFilters, instrument: str, today: date,
                    version: int, *, _actor: Actor) -> ClinicAnalysis:
    """One instrument's breakdowns, waterfall, durability, safety and attention list."""
    frames = cached_frames(scope_key, _loading_filters(filters), version, _actor=_actor)
    return analyse(narrow(frames, filters), actor=_actor, filters=filters,
                   instrument=instrument, today=today)


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner=False)
def cached_section(scope_key: str, filters: OutcomeFilters, instrument: str, today: date,
                   version: int, section: str, *, _actor: Actor) -> ClinicAnalysis:
    """The analysis reduced to what one section of the page shows (not the first section,
    the response over time: ``response_section_for``)."""
    analysis = cached_analysis(scope_key, filters, instrument, today, version, _actor=_actor)
    return section_of(analysis, section)


def section_of(analysis: ClinicAnalysis, section: str) -> ClinicAnalysis:
    """``analysis`` with only ``section``'s fields (the others keep their empty defaults)."""
    return ClinicAnalysis(instrument=analysis.instrument, parameters=analysis.parameters,
                          **{name: getattr(analysis, name) for name in SECTION_FIELDS[section]})


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner=False)
def cached_options(scope_key: str, filters: OutcomeFilters, version: int, *,
                   _actor: Actor) -> dict[str, list[str]]:
    """The clinicians and indications present, for the filter widgets: from the kept
    course facts the summary reads next (no query of its own)."""
    return options_of_counts(_kept_facts(scope_key, filters, version, _actor=_actor).options)


def options_for(actor: Actor, filters: OutcomeFilters, version: int) -> dict[str, list[str]]:
    return cached_options(actor.scope_key, _facts_filters(filters), version, _actor=actor)


def summary_for(actor: Actor, filters: OutcomeFilters, version: int) -> dict:
    return cached_summary(actor.scope_key, filters, version, _actor=actor)


def section_analysis_for(actor: Actor, filters: OutcomeFilters, instrument: str, today: date,
                         version: int, section: str) -> ClinicAnalysis:
    if section == "response":
        return response_section_for(actor, filters, instrument, today, version).analysis
    return cached_section(actor.scope_key, filters, instrument, today, version, section,
                          _actor=actor)


def _loading_filters(filters: OutcomeFilters) -> OutcomeFilters:
    """What the store query filters on; the rest (N, timepoint rule, C3, clinicians,
    indications) is applied in memory, so changing it reuses the loaded frames."""
    return OutcomeFilters(clinic_ids=filters.clinic_ids, start=filters.start, end=filters.end)
