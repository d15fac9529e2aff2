"""The Outcomes page (AppTest) on a seeded demo store: the figures on screen are the
engine's for several filter sets, and equal `manage.py export outcomes` for the same
filters; caches never mix scopes; a write shows on the next run."""

from __future__ import annotations

import base64
import json
import os
from datetime import date

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from data.accounts.users import actor_for
from data.analytics.outcome_report import OutcomeFilters, outcome_summary
from data.analytics.overview import clinics_in_scope
from data.clinic.protocol import update_protocol
from data.store.db import read_session, write_session
from data.store.settings import PROJECT_ROOT
from models.access import SYSTEM
from models.tables import User
from tests.cli_runner import run_manage

PASSWORD = "demo-password"


def actor(username: str):
    from sqlmodel import select

    with read_session() as session:
        return actor_for(session, session.exec(select(User).where(User.username == username))
                         .one())


def clinic_ids(*codes: str) -> tuple[int, ...]:
    with read_session() as session:
        return tuple(sorted(c.id for c in clinics_in_scope(session, actor=SYSTEM)
                            if c.code in codes))


def open_outcomes(username: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    at.switch_page("pages/outcomes.py").run()
    assert not at.exception, at.exception
    return at


def open_section(at: AppTest, label: str) -> None:
    """Click a section's tab: the tabs are a widget (key oc_section) whose change reruns."""
    at.session_state["oc_section"] = label
    at.run()
    assert not at.exception, at.exception


def chart_keys(at: AppTest) -> set[str]:
    return {e.proto.id.rsplit("-", 1)[-1] for e in at.get("plotly_chart")}


def metrics(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def headline(at: AppTest) -> dict[str, str]:
    """The eight rate metrics: the first four after N, the next four at the latest score."""
    values = metrics(at)
    assert [label for label, _ in values[:4]] == [
        "Response · observed", "Response · ITT", "Remission · observed", "Remission · ITT"]
    keys = ["response_rate_observed", "response_rate_itt", "remission_rate_observed",
            "remission_rate_itt"]
    return {**{f"after.{k}": v for k, (_, v) in zip(keys, values[:4], strict=True)},
            **{f"latest.{k}": v for k, (_, v) in zip(keys, values[4:8], strict=True)}}


def shown(rate) -> str:
    """How the page writes a rate: one decimal percent, a dash when undefined."""
    return "—" if rate is None else f"{round(100 * rate, 1):.1f} %"


def expected_headline(block: dict, after_n: int) -> dict[str, str]:
    out = {}
    for where, data in (("after", block[f"after_infusion_{after_n}"]),
                        ("latest", block["overall_latest"])):
        for key in ("response_rate_observed", "response_rate_itt", "remission_rate_observed",
                    "remission_rate_itt"):
            out[f"{where}.{key}"] = shown(data[key])
    return out


def chart(at: AppTest, key: str) -> dict:
    """The plotly spec of the chart with this widget key."""
    element = next(e for e in at.get("plotly_chart") if e.proto.id.endswith(f"-{key}"))
    return json.loads(element.proto.spec)


def array(values) -> list:
    """A trace's values, decoding plotly's typed-array encoding ({'dtype', 'bdata'})."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


FILTER_SETS = [
    # (widget values, OutcomeFilters for the export, instrument)
    ({}, OutcomeFilters(after_n=6, timepoint_rule="post", all_courses=False), "PHQ-9"),
    ({"oc_instrument": "GAD-7", "oc_after_n": 4, "oc_timepoint": "next_pre",
      "oc_courses": True},
     OutcomeFilters(after_n=4, timepoint_rule="next_pre", all_courses=True), "GAD-7"),
    ({"oc_after_n": 3, "oc_clinics": ["DEMO-S"], "oc_indications": ["TRD"],
      "oc_dates": (date(2024, 1, 1), date(2026, 3, 31))},
     OutcomeFilters(after_n=3, timepoint_rule="post", all_courses=False,
                    clinic_ids=("DEMO-S",), indications=("TRD",),
                    start=date(2024, 1, 1), end=date(2026, 3, 31)), "PHQ-9"),
]


def apply(at: AppTest, widgets: dict) -> None:
    """Set sidebar widgets by key (clinic codes become the clinic ids the widget offers)."""
    for key, value in widgets.items():
        if key == "oc_clinics":
            value = list(clinic_ids(*value))
        widget = next(w for kind in ("selectbox", "number_input", "radio", "multiselect",
                                     "date_input") for w in at.sidebar.get(kind) if w.key == key)
        widget.set_value(value)
    at.run()
    assert not at.exception, at.exception


def clinics_in_scope_ids():
    with read_session() as session:
        return clinics_in_scope(session, actor=SYSTEM)


def with_clinic_ids(filters: OutcomeFilters) -> OutcomeFilters:
    from dataclasses import replace

    return replace(filters, clinic_ids=clinic_ids(*filters.clinic_ids)) if filters.clinic_ids \
        else filters


@pytest.mark.parametrize(("widgets", "filters", "instrument"), FILTER_SETS,
                         ids=["defaults", "gad7-n4-next-pre-all-courses", "south-trd-dates"])
def test_outcome_figures_on_screen_equal_the_engine(demo, widgets, filters, instrument):
    at = open_outcomes("demo.director")
    apply(at, widgets)
    summary = outcome_summary(actor=actor("demo.director"), filters=with_clinic_ids(filters))
    block = summary[instrument]
    assert headline(at) == expected_headline(block, filters.after_n)
    values = dict(metrics(at))
    latest = block["overall_latest"]
    assert values["Reliable improvement"] == shown(latest["reliable_improvement_rate"])
    nhs = summary["nhs_paired_phq9_gad7_latest"]
    assert values["NHS recovery (PHQ-9 + GAD-7)"] == shown(nhs["recovery_rate"])
    item9 = summary["PHQ-9"]["item9"]
    checked = item9["day_after_first_infusion_checked"]
    assert values["Item 9 resolved by the day after infusion 1"] == shown(
        round(item9["day_after_first_infusion_resolved"] / checked, 4) if checked else None)
    ttr = block["time_to_first_response"]
    assert values[f"Responded by infusion {filters.after_n} (KM)"] == shown(
        ttr[f"km_cumulative_response_by_{filters.after_n}"])
    km = chart(at, "oc_km_chart")
    response = next(t for t in km["data"] if t["name"] == "Response")
    assert array(response["x"])[1:] == [p["infusions"] for p in ttr["km_response_curve"]]
    assert array(response["y"])[1:] == [round(100 * p["cumulative"], 2)
                                 for p in ttr["km_response_curve"]]


def test_clinic_breakdown_chart_equals_the_summary(demo):
    at = open_outcomes("demo.director")
    open_section(at, "Breakdowns")
    summary = outcome_summary(actor=actor("demo.director"), filters=OutcomeFilters())
    by_clinic = summary["PHQ-9"]["by_clinic_after_infusion_6"]
    spec = chart(at, "oc_breakdown_clinic")
    observed = next(t for t in spec["data"] if t["name"] == "Response (observed)")
    itt = next(t for t in spec["data"] if t["name"] == "Response (ITT)")
    assert set(observed["y"]) == set(by_clinic)
    for name, trace in (("response_rate_observed", observed), ("response_rate_itt", itt)):
        on_screen = dict(zip(array(trace["y"]), array(trace["x"]), strict=True))
        for clinic, block in by_clinic.items():
            assert on_screen[clinic] == round(100 * block[name], 1), (clinic, name)


def export(url: str, *args: str) -> dict:
    assert os.environ["DATABASE_URL"] == url
    result = run_manage("export", "outcomes", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_page_equals_the_command_line_for_the_same_filters(demo):
    widgets, _, instrument = FILTER_SETS[2]
    at = open_outcomes("demo.director")
    apply(at, widgets)
    cli = export(demo, "--after", "3", "--clinic", "DEMO-S", "--indication", "TRD",
                 "--start", "2024-01-01", "--end", "2026-03-31")
    assert headline(at) == expected_headline(cli[instrument], 3)
    code = next(e.value for e in at.code)
    assert "--after 3" in code and "--clinic DEMO-S" in code and "--indication 'TRD'" in code


def test_a_clinician_sees_their_clinic_only_and_caches_do_not_mix(demo):
    director = open_outcomes("demo.director")
    clinician = open_outcomes("demo.clin1")  # same server process, same st.cache_data
    me = actor("demo.clin1")
    codes = {c.id: c.code for c in clinics_in_scope_ids()}
    mine = [codes[i] for i in sorted(me.clinic_ids)]
    cli = export(demo, *[arg for code in mine for arg in ("--clinic", code)])
    assert headline(clinician) == expected_headline(cli["PHQ-9"], 6)
    assert headline(director) == expected_headline(export(demo)["PHQ-9"], 6)
    assert headline(director) != headline(clinician)


def test_a_write_shows_on_the_next_run(demo):
    at = open_outcomes("demo.director")
    open_section(at, "Breakdowns")
    assert "suppressed: " not in json.dumps(chart(at, "oc_breakdown_clinic"))
    with write_session() as session:  # every breakdown cell becomes a small cell
        update_protocol(session, actor=actor("demo.director"),
                        changes={"small_cell_threshold": 100})
    at.run()
    assert "suppressed: " in json.dumps(chart(at, "oc_breakdown_clinic"))


def test_auditor_sees_figures_but_no_patient_codes(demo):
    at = open_outcomes("demo.auditor")
    assert headline(at) == expected_headline(export(demo)["PHQ-9"], 6)
    open_section(at, "Needs attention")
    # AppTest dataframes carry no key: the list is the table with its reasons column.
    tables = [d.value for d in at.dataframe if "Needs attention because" in d.value.columns]
    assert tables or any("No patient needs attention" in s.value for s in at.success)
    for table in tables:
        assert len(table) and not table["Patient"].astype(str).str.startswith("DEMO-").any()
    assert not any(b.key == "oc_open_patient" for b in at.button)


def test_only_the_open_section_runs_and_closed_sections_keep_their_choices(demo):
    at = open_outcomes("demo.director")
    first = {"oc_km_chart", "oc_severity_chart", "oc_waterfall_chart"}
    assert chart_keys(at) == first
    open_section(at, "Breakdowns")
    assert chart_keys(at) == {"oc_breakdown_indication", "oc_breakdown_dose_band",
                              "oc_breakdown_clinic"}
    at.radio(key="oc_dimension").set_value("clinician").run()
    assert "oc_breakdown_clinician" in chart_keys(at)
    open_section(at, "Durability")
    assert chart_keys(at) == {"oc_durability_chart", "oc_booster_chart"}
    at.run()  # a rerun with the Breakdowns section closed
    open_section(at, "Breakdowns")
    assert at.radio(key="oc_dimension").value == "clinician"
    assert "oc_breakdown_clinician" in chart_keys(at)
    open_section(at, "Safety & data quality")
    assert chart_keys(at) == {"oc_side_effect_chart"}
    open_section(at, "Needs attention")
    assert not chart_keys(at)
    table = next(d.value for d in at.dataframe if "Needs attention because" in d.value.columns)
    assert table["Patient"].astype(str).str.startswith("DEMO-").all()  # the director's view
    assert any(b.key == "oc_open_patient" for b in at.button)
    open_section(at, "Response over time")
    assert chart_keys(at) == first



def test_each_section_gets_its_part_of_the_analysis_unchanged():
    from dataclasses import fields

    from data.analytics.clinic_outcomes import ClinicAnalysis
    from ui.outcome_cache import SECTION_FIELDS, section_of
    from ui.outcome_sections import SECTIONS

    assert set(SECTION_FIELDS) == set(SECTIONS)
    full = ClinicAnalysis(instrument="PHQ-9", parameters={"small_cell": 5},
                          **{f.name: object() for f in fields(ClinicAnalysis)
                             if f.name not in ("instrument", "parameters")})
    shown = set()
    for section, names in SECTION_FIELDS.items():
        part = section_of(full, section)
        assert part.instrument == "PHQ-9" and part.parameters == {"small_cell": 5}
        for name in names:
            assert getattr(part, name) is getattr(full, name)
        shown.update(names)
    # every table the analysis holds is shown by some section, except the per-course
    # durability rows (the Durability section shows their summary and KM curve)
    assert {f.name for f in fields(ClinicAnalysis)} - shown == {
        "instrument", "parameters", "durability"}

def test_built_figures_and_tables_are_kept_per_session_and_page_state():
    def script():
        import streamlit as st  # AppTest runs this function's source alone

        from ui.outcome_sections import page_memo

        a = page_memo("user", "scope", 1)
        a["chart"] = "built"
        st.session_state["same"] = page_memo("user", "scope", 1) is a
        st.session_state["new_key"] = page_memo("user", "scope", 2) is not a
        b = page_memo("user", "scope", 2)
        st.session_state["expired"] = page_memo("user", "scope", 2, ttl=-1) is not b

    at = AppTest.from_function(script).run()
    assert not at.exception, at.exception
    assert at.session_state["same"] and at.session_state["new_key"]
    assert at.session_state["expired"]
