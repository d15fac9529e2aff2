"""`alerts [--open] --format json|csv`: suicide-risk alerts for a clinic's on-call routine
(patient_id, clinic, date, instrument, item 9 value, status...)."""

from __future__ import annotations

import argparse

from cli.common import EXIT_OK, BadInput, write_output


def cmd_alerts(args: argparse.Namespace) -> int:
    from data.access import SYSTEM
    from data.alerts import alert_export_rows, format_alerts
    from data.db import read_session

    if args.format not in ("json", "csv"):
        raise BadInput("--format: json or csv")
    with read_session() as session:
        rows = alert_export_rows(session, actor=SYSTEM, open_only=args.open)
    if args.clinic:
        rows = [r for r in rows if r["clinic"] == args.clinic]
    write_output(format_alerts(rows, args.format), args.out)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="list suicide-risk alerts (PHQ-9 item 9 >= 1) as JSON or CSV")
    p.add_argument("--open", action="store_true", help="only the open alerts")
    p.add_argument("--format", default="json", help="json (default) or csv")
    p.add_argument("--clinic", help="only this clinic code")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_alerts)
