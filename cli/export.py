"""`export KIND`: data out of the store (outcomes: the OUTCOMES.md section 6 summary)."""

from __future__ import annotations

import argparse

from cli.common import EXIT_OK, BadInput, write_output


def cmd_export(args: argparse.Namespace) -> int:
    from data.access import SYSTEM
    from data.outcome_report import outcome_summary_text

    if args.kind != "outcomes":
        raise BadInput(f"KIND: '{args.kind}' is not available yet; available: outcomes")
    if args.format not in ("json", "csv"):
        raise BadInput("--format: outcomes exports as json or csv")
    if args.after is not None and not 1 <= args.after <= 50:
        raise BadInput("--after: must be an infusion number between 1 and 50")
    text = outcome_summary_text(actor=SYSTEM, fmt=args.format, after_n=args.after,
                                timepoint_rule=args.timepoint, all_courses=args.all_courses)
    write_output(text, args.out)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export data: outcomes (OUTCOMES.md s.6)")
    p.add_argument("kind", metavar="KIND", help="outcomes")
    p.add_argument("--format", default="json", help="json or csv")
    p.add_argument("--after", type=int, help="N of 'after infusion N' (default: protocol, 6)")
    p.add_argument("--timepoint", choices=["post", "next_pre"], help="O7 timepoint rule")
    p.add_argument("--all-courses", action="store_true", default=None,
                   help="count every course, not only each patient's index course")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_export)
