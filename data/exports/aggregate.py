"""The aggregate exports: the outcome summary (OUTCOMES.md s.6) as JSON, CSV or XLSX, and
the clinic quality report (PDF). Counts and rates only, small cells suppressed (O11)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from data.analytics.observations import load_observations
from data.analytics.outcome_report import OutcomeFilters, outcome_summary, resolved_parameters
from data.clinic.protocol import load_protocol
from data.exports import report_data as rd
from data.exports.glossary import metric_definitions
from data.exports.report_pdf import ReportContext, build_report
from data.exports.suppression import suppress_summary
from data.exports.tables import Table
from data.exports.values import generated_by
from data.exports.xlsx import write_workbook
from data.files.columns import OUTCOME_SUMMARY_COLUMNS, by_clinic_columns
from data.files.safe_csv import write_csv
from data.store.db import read_session
from models.access import Actor
from outcomes.summary import NHS_KEY, NOT_INSTRUMENTS, summary_to_rows

if TYPE_CHECKING:
    from data.exports.service import ExportRequest

SUMMARY_FIELDS = [c.name for c in OUTCOME_SUMMARY_COLUMNS]


def _outcome_filters(req: ExportRequest) -> OutcomeFilters:
    return OutcomeFilters(after_n=req.after_n, timepoint_rule=req.timepoint_rule,
                          all_courses=req.all_courses, clinic_ids=req.clinic_ids,
                          start=req.start, end=req.end, clinicians=req.clinicians,
                          indications=req.indications, as_of=req.as_of)


def by_clinic_table(summary: dict[str, Any], after_n: int) -> Table:
    """Every instrument's clinic cells after infusion N, one row per (instrument, clinic)."""
    rows = []
    for name, section in summary.items():
        if name in NOT_INSTRUMENTS:
            continue
        for clinic, cell in section[f"by_clinic_after_infusion_{after_n}"].items():
            rows.append({"instrument": name, "clinic": clinic, **cell})
    return Table("by_clinic", by_clinic_columns(after_n), rows)


def outcomes_file(summary: dict[str, Any], fmt: str, after_n: int,
                  about: list[tuple[str, Any]]) -> tuple[bytes, list[Table]]:
    """The summary file and the tables it holds (for the manifest)."""
    rows = summary_to_rows(summary)
    flat = Table("summary", OUTCOME_SUMMARY_COLUMNS, rows)
    if fmt == "json":
        text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
        return text.encode("utf-8"), [flat]
    if fmt == "csv":
        return write_csv(SUMMARY_FIELDS, ([r[f] for f in SUMMARY_FIELDS] for r in rows)), [flat]
    tables = [flat, by_clinic_table(summary, after_n)]
    return write_workbook(tables, about=about, extra_definitions=metric_definitions()), tables


def _data_years(obs: pd.DataFrame) -> str:
    starts = obs["course_start"].dropna() if not obs.empty else pd.Series(dtype="object")
    if starts.empty:
        return "no course in range"
    first, last = starts.min().year, starts.max().year
    return str(first) if first == last else f"{first} to {last}"


def _report(actor: Actor, req: ExportRequest, summary: dict[str, Any], params: dict[str, Any],
            now: datetime, filters: dict[str, Any]) -> bytes:
    obs = load_observations(actor=actor, clinic_ids=list(req.clinic_ids) if req.clinic_ids
                            else None, start=req.start, end=req.end)
    trajectory = rd.trajectory_frame(obs, instruments=("PHQ-9", "GAD-7"),
                                     all_courses=params["all_courses"],
                                     max_infusion=params["after_n"] + 2,
                                     min_courses=params["small_cell"])
    with read_session() as session:
        madrs = load_protocol(session)["madrs_remission_max"]
    start, end = filters["course_start_from"], filters["course_start_to"]
    date_range = ("all dates" if not (start or end)
                  else f"from {start or 'the first course'} to {end or 'the latest course'}")
    ctx = ReportContext(
        generated_by=generated_by(actor, deidentified=True), generated_at=now,
        clinics=filters["clinics"], date_range=date_range, data_years=_data_years(obs),
        after_n=params["after_n"], timepoint_rule=params["timepoint_rule"],
        all_courses=params["all_courses"], small_cell=params["small_cell"],
        madrs_remission_max=madrs)
    return build_report(summary, trajectory, ctx)


def deidentified_summary(actor: Actor, req: ExportRequest, small_cell: int) -> dict[str, Any]:
    """The outcome summary as every aggregate export (outcomes, report, statement) hands
    it over: O11 on every block, the overall ones included, and complementary
    suppression (data/exports/suppression.py)."""
    return suppress_summary(outcome_summary(actor=actor, filters=_outcome_filters(req)),
                            small_cell, NHS_KEY)


def build(actor: Actor, req: ExportRequest, now: datetime,
          filters: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """The aggregate file and its manifest description."""
    ofilters = _outcome_filters(req)
    params = resolved_parameters(ofilters)
    summary = deidentified_summary(actor, req, params["small_cell"])
    parameters = {k: params[k] for k in ("after_n", "timepoint_rule", "all_courses",
                                         "small_cell")}
    courses = {name: section["overall_latest"]["n_courses"] for name, section in summary.items()
               if name not in NOT_INSTRUMENTS}
    if req.kind == "report":
        content = _report(actor, req, summary, params, now, filters)
        return content, {"columns": {}, "rows": {"courses_by_instrument": courses},
                         "row_count": sum(courses.values()), "parameters": parameters}
    about = [("kind", "outcomes"), ("generated at (UTC)", now.isoformat()),
             ("generated by", generated_by(actor, deidentified=True)),
             ("de-identified", "aggregate counts and rates; every block (clinic, month, "
              f"overall) with fewer than {params['small_cell']} courses shows course counts "
              "only, and enough further clinics are suppressed that no difference of blocks "
              "reveals one (O11; docs/EXPORTS.md)"),
             *((f"filter: {k}", "" if v is None else str(v)) for k, v in filters.items()),
             *((f"parameter: {k}", str(v)) for k, v in parameters.items())]
    content, tables = outcomes_file(summary, req.fmt, params["after_n"], about)
    return content, {"columns": {t.name: t.column_names for t in tables},
                     "rows": {t.name: len(t.rows) for t in tables},
                     "row_count": sum(len(t.rows) for t in tables), "parameters": parameters}
