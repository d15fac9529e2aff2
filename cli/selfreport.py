"""Self-report and on-call commands:

- `deliver [--once] [--loop SECONDS] [--max N]`: send the on-call outbox (docs/OPERATIONS.md).
- `clinic CODE [--oncall-email ADDR] [--oncall-webhook URL] [--crisis-text TEXT]
  [--time-zone ZONE] [--schedule JSON] [--show]`: a clinic's self-report settings.
- `invitations --due [--date YYYY-MM-DD] [--clinic CODE] --format json|csv`: what the
  clinics' schedules make due that day (default: each clinic's today, in its time zone),
  with each link's state.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

from cli.common import EXIT_FAILURE, EXIT_OK, BadInput, err, write_output


def cmd_deliver(args: argparse.Namespace) -> int:
    from data.selfreport.delivery import deliver_pending

    if args.max < 1:
        raise BadInput("--max: at least 1")
    if args.loop is not None and args.loop <= 0:
        raise BadInput("--loop: seconds between passes, above 0")
    failed = 0
    while True:
        report = deliver_pending(limit=args.max)
        for line in report.errors:
            err(line)
        print(report.line(), flush=True)
        failed += report.failed
        if args.loop is None or args.once:
            break
        try:
            time.sleep(args.loop)
        except KeyboardInterrupt:
            break
    return EXIT_FAILURE if failed else EXIT_OK


def _show(view: dict, schedule: dict) -> str:
    lines = [f"clinic: {view['clinic']} ({view['name']})",
             f"oncall_email: {view['oncall_email'] or '(none)'}",
             f"oncall_webhook: {view['oncall_webhook'] or '(none)'}",
             "crisis_text: " + (view["crisis_text"] or "(none: the default below)"),
             f"patients see: {view['crisis_text_shown']}",
             f"time_zone: {view['time_zone']}",
             "schedule: " + (json.dumps(schedule) if schedule else "(off)")]
    return "\n".join(lines) + "\n"


def cmd_clinic(args: argparse.Namespace) -> int:
    from data.selfreport.clinic_settings import clinic_by_code, update_clinic_settings
    from data.selfreport.schedules import load_schedule, update_schedule
    from data.store.db import write_session
    from models.access import SYSTEM

    changes = {name: value for name, value in (
        ("oncall_email", args.oncall_email), ("oncall_webhook", args.oncall_webhook),
        ("crisis_text", args.crisis_text), ("time_zone", args.time_zone)) if value is not None}
    schedule = None
    if args.schedule is not None:
        try:
            schedule = json.loads(args.schedule)
        except json.JSONDecodeError:
            raise BadInput("--schedule: not JSON; e.g. '{\"after_first\": [\"PHQ-9\"]}'") from None
    if not changes and schedule is None and not args.show:
        raise BadInput("nothing to do: give --show or a setting to change")
    with write_session() as session:
        view = update_clinic_settings(session, actor=SYSTEM, code=args.code, changes=changes)
        if schedule is not None:
            update_schedule(session, actor=SYSTEM, code=args.code, schedule=schedule)
        stored = load_schedule(session, clinic_by_code(session, args.code))
    if changes or schedule is not None:
        err(f"saved: {', '.join([*changes, *(['schedule'] if schedule is not None else [])])}")
    if args.show:
        write_output(_show(view, stored), None)
    return EXIT_OK


def cmd_invitations(args: argparse.Namespace) -> int:
    from data.selfreport.schedules import due_invitations, format_due
    from data.store.db import write_session
    from models.access import SYSTEM

    if not args.due:
        raise BadInput("--due: the only listing so far; give --due")
    if args.format not in ("json", "csv"):
        raise BadInput("--format: json or csv")
    try:
        day = date.fromisoformat(args.date) if args.date else None  # each clinic's today
    except ValueError:
        raise BadInput(f"--date: {args.date!r} is not a date (YYYY-MM-DD)") from None
    with write_session() as session:
        rows = due_invitations(session, actor=SYSTEM, day=day, clinic_code=args.clinic)
    write_output(format_due(rows, args.format), args.out)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deliver", help="send the on-call outbox (e-mail, webhook) with retries")
    p.add_argument("--once", action="store_true", help="one pass, then exit (the default)")
    p.add_argument("--loop", type=float, metavar="SECONDS",
                   help="keep going: a pass every SECONDS until interrupted")
    p.add_argument("--max", type=int, default=100, metavar="N",
                   help="at most N notifications per pass (default 100)")
    p.set_defaults(func=cmd_deliver)

    p = sub.add_parser("clinic", help="show or change a clinic's on-call and crisis settings")
    p.add_argument("code", help="the clinic code")
    p.add_argument("--oncall-email", metavar="ADDR", help="on-call e-mail ('' clears it)")
    p.add_argument("--oncall-webhook", metavar="URL", help="on-call webhook, http(s) ('' clears)")
    p.add_argument("--crisis-text", metavar="TEXT",
                   help="what patients see after a positive item 9 ('' = the default)")
    p.add_argument("--time-zone", metavar="ZONE", help="the clinic's IANA time zone, e.g. "
                   "Europe/Berlin ('today' and the times shown)")
    p.add_argument("--schedule", metavar="JSON", help="self-report schedule, e.g. "
                   "'{\"after_first\": [\"PHQ-9\"], \"weekly_maintenance\": [\"PHQ-9\"]}'; "
                   "'{}' turns it off")
    p.add_argument("--show", action="store_true", help="print the settings")
    p.set_defaults(func=cmd_clinic)

    p = sub.add_parser("invitations", help="list the follow-ups the schedules make due")
    p.add_argument("--due", action="store_true", help="what is due on --date")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the day (default today)")
    p.add_argument("--clinic", metavar="CODE", help="only this clinic")
    p.add_argument("--format", default="json", help="json (default) or csv")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_invitations)
