"""`alerts [--open] --format json|csv --reason TEXT`: suicide-risk alerts for a clinic's
on-call routine (patient_id, clinic, date, instrument, item 9 value, status...).

The list holds patient codes and item-9 answers: every run needs --reason and writes an
audit event (action 'export', entity 'alert') with the rows it handed over."""

from __future__ import annotations

import argparse

from cli.common import EXIT_OK, BadInput, write_output


def cmd_alerts(args: argparse.Namespace) -> int:
    from data.clinic.alerts import export_alerts
    from models.access import SYSTEM

    if args.format not in ("json", "csv"):
        raise BadInput("--format: json or csv")
    content = export_alerts(actor=SYSTEM, fmt=args.format, reason=args.reason,
                            open_only=args.open, clinic=args.clinic)
    write_output(content, args.out)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="list suicide-risk alerts (PHQ-9 item 9 >= 1) as JSON or CSV")
    p.add_argument("--open", action="store_true", help="only the open alerts")
    p.add_argument("--format", default="json", help="json (default) or csv")
    p.add_argument("--clinic", help="only this clinic code")
    p.add_argument("--reason", help="why the list is read (required: it holds patient codes "
                   "and item-9 answers; kept in the audit trail)")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_alerts)
