"""The Outcomes page's filters (sidebar): every widget has a key, every choice maps onto
``OutcomeFilters`` (the same object ``manage.py export outcomes`` builds from its options)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import streamlit as st

from data.analytics.outcome_report import OutcomeFilters
from outcomes.instruments import INSTRUMENT_NAMES

TIMEPOINT_LABELS = {"post": "post score of infusion N", "next_pre": "pre score of infusion N + 1"}
COURSE_LABELS = {False: "Index course per patient", True: "All courses"}


def store_filters(clinics: list, protocol: dict) -> tuple[OutcomeFilters, str]:
    """Instrument, N, timepoint rule, courses, clinics and dates (before any data loads)."""
    st.sidebar.header("Filters")
    instrument = st.sidebar.selectbox("Instrument", INSTRUMENT_NAMES, key="oc_instrument")
    after_n = st.sidebar.number_input(
        "After infusion N", min_value=1, max_value=50, step=1, key="oc_after_n",
        value=int(protocol["induction_length"]),
        help="N of 'after infusion N' (O7); the protocol's induction length by default.")
    rules = list(TIMEPOINT_LABELS)
    rule = st.sidebar.radio("Score counted after infusion N", rules, key="oc_timepoint",
                            index=rules.index(protocol["timepoint_rule"]),
                            format_func=TIMEPOINT_LABELS.get)
    all_courses = st.sidebar.radio("Courses", [False, True], key="oc_courses",
                                   index=int(bool(protocol["all_courses"])),
                                   format_func=COURSE_LABELS.get,
                                   help="C3: clinic-wide rates count each patient's earliest "
                                        "course unless all courses are chosen.")
    names = {c.id: c.code for c in clinics}
    chosen = st.sidebar.multiselect("Clinics", list(names), format_func=names.get,
                                    key="oc_clinics", placeholder="All my clinics")
    dates = st.sidebar.date_input("Course start between", value=(), key="oc_dates",
                                  min_value=date(1990, 1, 1), max_value=date(2100, 12, 31),
                                  help="Courses whose start date lies in the range.")
    start, end = _range(dates)
    return OutcomeFilters(
        after_n=int(after_n), timepoint_rule=rule, all_courses=bool(all_courses),
        clinic_ids=tuple(sorted(chosen)) or None, start=start, end=end,
    ), instrument


def course_filters(filters: OutcomeFilters, options: dict[str, list[str]]) -> OutcomeFilters:
    """Clinician and indication, offered from the courses the store filters returned."""
    clinicians, indications = options.get("clinician", []), options.get("indication", [])
    chosen_clinicians = st.sidebar.multiselect("Clinician (first infusion)", clinicians,
                                               key="oc_clinicians", placeholder="All")
    chosen_indications = st.sidebar.multiselect("Indication", indications,
                                                key="oc_indications", placeholder="All")
    return replace(filters, clinicians=tuple(chosen_clinicians) or None,
                   indications=tuple(chosen_indications) or None)


def _range(value) -> tuple[date | None, date | None]:
    if isinstance(value, date):
        return value, value
    parts = list(value or ())
    return (parts[0] if parts else None), (parts[1] if len(parts) > 1 else None)


def cli_command(filters: OutcomeFilters, clinic_codes: dict[int, str], *,
                all_clinics: bool) -> str:
    """The ``manage.py export outcomes`` command giving these figures (for the page footer).

    The command line sees every clinic: a user limited to some clinics gets their codes.
    """
    words = ["python manage.py export outcomes", f"--after {filters.after_n}",
             f"--timepoint {filters.timepoint_rule}"]
    if filters.all_courses:
        words.append("--all-courses")
    clinic_ids = filters.clinic_ids or (() if all_clinics else sorted(clinic_codes))
    words += [f"--clinic {clinic_codes[i]}" for i in clinic_ids]
    words += [f"--clinician '{c}'" for c in filters.clinicians or ()]
    words += [f"--indication '{i}'" for i in filters.indications or ()]
    if filters.start:
        words.append(f"--start {filters.start.isoformat()}")
    if filters.end:
        words.append(f"--end {filters.end.isoformat()}")
    return " ".join(words)
