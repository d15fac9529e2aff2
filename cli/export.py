"""`export KIND`: data out of the store, each export recorded in the audit trail with its
manifest (kind, format, filters, columns, rows, SHA-256 of the bytes).

The command line acts as the system actor: it sees every clinic and may export
identified data. Identified exports from the command line are for the store's operator
(the person responsible for the server), who must give --reason; hand anyone else a
de-identified export (--deidentify), or let a medical director export from the app.

Large exports (scores, FHIR) are written chunk by chunk straight to --out (or to a
temporary file copied to standard output), never whole in memory. `export fhir --format
ndjson` gives FHIR Bulk Data NDJSON, one file per resource type: `--out DIR` (an existing
directory) receives Patient.ndjson, QuestionnaireResponse.ndjson and Observation.ndjson;
`--out FILE.zip` (or standard output) the ZIP of them that the audit event's SHA-256 is of.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from datetime import date
from pathlib import Path

from cli.common import EXIT_OK, BadInput, err
from data.clinic.protocol import TIMEPOINT_RULES

KIND_HELP = ("patients, infusions, scores (one row per assessment), outcomes (OUTCOMES.md "
             "s.6 summary), audit (the trail), report (PDF quality report), fhir (R4 bundle), "
             "statement ('Our outcomes, honestly': csv or pdf)")
DEFAULT_FORMAT = {"outcomes": "json", "report": "pdf", "fhir": "json", "statement": "csv"}
BINARY = ("pdf", "xlsx", "ndjson")
FLAG_FOR_FIELD = {"format": "--format", "reason": "--reason", "dates": "--dates",
                  "date range": "--start/--end", "after": "--after", "clinic": "--clinic",
                  "kind": "KIND"}


def _date(value: str | None, flag: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{flag}: '{value}' is not an ISO date (YYYY-MM-DD)") from None


def _as_bad_input(exc: ValueError) -> BadInput:
    """An ExportError 'field: rule' with the field named as the command line spells it."""
    field, _, rule = str(exc).partition(": ")
    return BadInput(f"{FLAG_FOR_FIELD.get(field, field)}: {rule}" if rule else str(exc))


def _request(args: argparse.Namespace):
    from data.exports import FORMATS, ExportRequest
    from data.exports.service import clinic_ids_for
    from data.store.db import read_session

    if args.kind not in FORMATS:
        raise BadInput(f"KIND: '{args.kind}' is not a kind of export; choose from {KIND_HELP}")
    fmt = args.format or DEFAULT_FORMAT.get(args.kind, "csv")
    if fmt not in FORMATS[args.kind]:
        raise BadInput(f"--format: {args.kind} exports as {', '.join(FORMATS[args.kind])}")
    clinic_ids = None
    if args.clinic:
        with read_session() as session:
            clinic_ids = clinic_ids_for(session, args.clinic)
    return ExportRequest(
        kind=args.kind, fmt=fmt, deidentified=args.deidentify, reason=args.reason or "",
        date_mode=args.dates, clinic_ids=clinic_ids, start=_date(args.start, "--start"),
        end=_date(args.end, "--end"), after_n=args.after, timepoint_rule=args.timepoint,
        all_courses=args.all_courses,
        clinicians=tuple(args.clinician) if args.clinician else None,
        indications=tuple(args.indication) if args.indication else None,
        as_of=_date(args.as_of, "--as-of"))


def cmd_export(args: argparse.Namespace) -> int:
    from data.exports import ExportError, run_export
    from data.exports.stream import new_export_path
    from models.access import SYSTEM

    try:
        request = _request(args)
        if request.fmt in BINARY and not args.out and sys.stdout.isatty():
            raise BadInput(f"--out: a {request.fmt} file is binary; name a file to write")
        into_dir = bool(args.out) and Path(args.out).is_dir()
        if into_dir and request.fmt != "ndjson":
            raise BadInput(f"--out: {args.out} is a directory; name a file to write")
        temporary = not args.out or into_dir
        target = Path(args.out) if not temporary else new_export_path("." + request.fmt)
        try:
            result = run_export(actor=SYSTEM, request=request, path=target)
        except BaseException:
            if temporary:  # refused before anything was written
                target.unlink(missing_ok=True)
            raise
    except ExportError as exc:
        raise _as_bad_input(exc) from None
    if into_dir:  # the NDJSON files themselves (Bulk Data), from the audited ZIP
        with zipfile.ZipFile(target) as archive:
            names = archive.namelist()
            archive.extractall(args.out, members=names)
        target.unlink()
        err(f"wrote {', '.join(names)} to {args.out}")
    elif args.out:
        err(f"wrote {args.out}")
    else:
        with target.open("rb") as handle:
            shutil.copyfileobj(handle, sys.stdout.buffer, 1 << 20)
        sys.stdout.buffer.flush()
        target.unlink()
    m = result.manifest
    which = "de-identified" if m["deidentified"] else "IDENTIFIED (for the store's operator)"
    err(f"{m['kind']} export, {which}: {m['row_count']} rows, sha256 {m['sha256']}; "
        f"recorded as audit event {result.event_id}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export data (patients, infusions, scores, outcomes, audit, report, fhir)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", metavar="KIND", help=KIND_HELP)
    p.add_argument("--format", help="csv, xlsx or json (outcomes: json default; report: pdf; "
                   "fhir: json, a Bundle, or ndjson, one file per resource type; others: "
                   "csv default)")
    p.add_argument("--deidentify", action="store_true",
                   help="HIPAA Safe Harbor: no names, codes, birth dates, free text, staff names")
    p.add_argument("--dates", choices=["year", "days"], default="year",
                   help="de-identified dates: the year (default) or days since the course start")
    p.add_argument("--reason", help="why, and for whom (required for identified exports)")
    p.add_argument("--clinic", action="append", metavar="CODE",
                   help="only this clinic (repeat for several)")
    p.add_argument("--start", metavar="YYYY-MM-DD", help="courses starting on or after")
    p.add_argument("--end", metavar="YYYY-MM-DD", help="courses starting on or before")
    p.add_argument("--after", type=int, help="N of 'after infusion N' (default: protocol, 6)")
    p.add_argument("--timepoint", choices=TIMEPOINT_RULES, help="O7 timepoint rule")
    p.add_argument("--all-courses", action="store_true", default=None,
                   help="count every course, not only each patient's index course")
    p.add_argument("--clinician", action="append", metavar="USERNAME",
                   help="outcomes: courses whose first infusion this clinician gave (repeat)")
    p.add_argument("--indication", action="append",
                   help="outcomes: courses of patients with this indication (repeat)")
    p.add_argument("--as-of", metavar="YYYY-MM-DD",
                   help="outcomes: judge retention (D1: in progress or stopped) on this day "
                        "(default today)")
    p.add_argument("--out", help="write to this file instead of standard output (fhir "
                   "--format ndjson: a directory receives one .ndjson file per resource type)")
    p.set_defaults(func=cmd_export)
