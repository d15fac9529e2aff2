"""The `statement` export ('Our outcomes, honestly', CSV or PDF): the same summary as
`export outcomes` for the same filters (data.analytics.outcome_report.outcome_summary), formatted by
outcomes.statement. Aggregate, small cells suppressed: de-identified by construction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from data.analytics.outcome_report import resolved_parameters
from data.exports.aggregate import _outcome_filters, deidentified_summary, generated_by
from data.exports.statement_pdf import build_statement_pdf
from data.files.safe_csv import write_csv
from models.access import Actor
from outcomes.statement import FIELDS, build_statement

if TYPE_CHECKING:
    from data.exports.service import ExportRequest


def build(actor: Actor, req: ExportRequest, now: datetime,
          filters: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """The statement's bytes and its manifest description (run_export audits it)."""
    summary = deidentified_summary(  # the shared suppression of every aggregate export
        actor, req, resolved_parameters(_outcome_filters(req))["small_cell"])
    rows = build_statement(summary, start=filters["course_start_from"],
                           end=filters["course_start_to"], clinics=filters["clinics"])
    if req.fmt == "pdf":
        content = build_statement_pdf(rows, generated_by=generated_by(actor, deidentified=True),
                                      generated_at=now)
    else:
        content = write_csv(FIELDS, ([r[f] for f in FIELDS] for r in rows))
    parameters = {k: summary["parameters"][k] for k in ("after_n", "timepoint_rule",
                                                        "all_courses", "small_cell")}
    return content, {"columns": {"statement": list(FIELDS)}, "rows": {"statement": len(rows)},
                     "row_count": len(rows), "parameters": parameters}
