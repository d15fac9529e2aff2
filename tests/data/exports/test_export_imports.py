"""Issue 11: importing one export module must not pull in the service, the aggregate
and the PDF report (plotly, reportlab: seconds of imports), and the package's lazy
re-exports still work."""

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]

HEAVY = ("plotly", "reportlab", "kaleido", "data.exports.report_pdf", "data.exports.aggregate",
         "data.exports.service")


def _loaded_after(statement: str) -> list[str]:
    code = (f"import sys\n{statement}\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(PROJECT_ROOT), check=True)
    return [m for m in done.stdout.strip().split(",") if m]


def test_fhir_imports_nothing_heavy():
    assert _loaded_after("import data.exports.fhir") == []


def test_package_names_are_still_exported_lazily():
    assert "data.exports.service" in _loaded_after("from data.exports import run_export")
    import data.exports as exports

    assert exports.ExportRequest.__name__ == "ExportRequest"
