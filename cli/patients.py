"""`import-patients FILE.csv`: register patients from a CSV file, all or nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import EXIT_BAD_INPUT, EXIT_OK, BadInput, err


def cmd_import_patients(args: argparse.Namespace) -> int:
    from data.imports.import_csv import size_problem
    from data.imports.patient_import import import_patients
    from models.access import SYSTEM

    path = Path(args.file)
    if not path.is_file():
        raise BadInput(f"FILE: {path} does not exist or is not a file")
    if problem := size_problem(path.stat().st_size):  # refused before it is read
        raise BadInput(f"FILE: {problem}")
    report = import_patients(path.read_bytes(), actor=SYSTEM, dry_run=args.dry_run)
    err(report.format())
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-patients",
        help="register patients from a CSV (patient_id, clinic; name, birth_date, sex, "
        "indication, failed_trials optional), all or nothing")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    p.set_defaults(func=cmd_import_patients)
