"""Exports (issue 5): patients, infusions, scores, outcomes, audit, the quality report and
a FHIR bundle, identified or de-identified (HIPAA Safe Harbor), each one recorded in the
audit trail with a manifest. Entry point: `run_export(actor=..., request=ExportRequest(...))`.

Modules: service (rules, manifest), tables (queries), columns (what each column means),
deidentify (Safe Harbor), safe_csv / xlsx (formula-safe writers), fhir (R4 bundle),
aggregate / report_data / report_pdf / glossary (outcome summary and PDF report).
"""

from data.exports.readback import ExportReadBackError
from data.exports.service import (
    AGGREGATE_KINDS,
    FORMATS,
    KINDS,
    ExportError,
    ExportRequest,
    ExportResult,
    run_export,
)

__all__ = ["AGGREGATE_KINDS", "FORMATS", "KINDS", "ExportError", "ExportReadBackError",
           "ExportRequest", "ExportResult", "run_export"]
