"""Exports (issue 5): patients, infusions, scores, outcomes, audit, the quality report and
a FHIR bundle, identified or de-identified (HIPAA Safe Harbor), each one recorded in the
audit trail with a manifest. Entry point: `run_export(actor=..., request=ExportRequest(...))`.

Imports store/, files/, audit/, accounts/, clinic/, analytics/ (figures/ for the PDF).

Modules: service (rules, manifest), tables (queries), deidentify (Safe Harbor), xlsx
(formula-safe workbook; the CSV writer and column meanings are in data/files/), fhir (R4 bundle),
stream (chunked writers to a file), aggregate / report_data / report_pdf / glossary
(outcome summary and PDF report).

The names below are re-exported lazily (PEP 562): importing a submodule such as
`data.exports.fhir` must not import the service, the aggregate and the PDF report
(plotly, reportlab: seconds of imports; issue 11).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ExportReadBackError": "data.files.readback",
    "AGGREGATE_KINDS": "data.exports.service", "FORMATS": "data.exports.service",
    "KINDS": "data.exports.service", "ExportError": "data.exports.service",
    "ExportRequest": "data.exports.service", "ExportResult": "data.exports.service",
    "run_export": "data.exports.service",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'data.exports' has no attribute {name!r}")
