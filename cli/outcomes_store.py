"""`rebuild-outcomes` and `check-outcomes`: the course outcomes kept in the store
(data/analytics/course_outcomes.py, issue 13)."""

from __future__ import annotations

import argparse

from cli.common import EXIT_FAILURE, EXIT_OK, err


def cmd_rebuild(args: argparse.Namespace) -> int:
    from data.analytics.course_outcomes import rebuild_outcomes
    from data.store import audit
    from data.store.db import write_session
    from models.access import SYSTEM

    if getattr(args, "blocks", False):
        from data.analytics.outcome_blocks import build_all

        with write_session() as session:
            blocks = build_all(session.connection())
        err(f"course blocks built from the courses and their packs: {blocks} blocks")
        return EXIT_OK
    with write_session() as session:
        rows = rebuild_outcomes(session)
        audit.record(session, actor=SYSTEM, action="rebuild", entity="course_outcome",
                     new={"rows": rows})
    err(f"course outcomes rebuilt from the scores: {rows} (course, instrument) rows")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from data.analytics.course_outcomes import check_outcomes

    difference = check_outcomes()
    if difference is not None:
        err(f"course outcomes differ from a full recomputation: {difference} "
            "(run 'python manage.py rebuild-outcomes')")
        return EXIT_FAILURE
    err("course outcomes equal a full recomputation from the scores")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rebuild-outcomes",
                       help="recompute the stored course outcomes from every score")
    p.add_argument("--blocks", action="store_true",
                   help="only build again the blocks of the courses' read from the courses "
                        "and their kept outcomes (after migration 0012 on a large store)")
    p.set_defaults(func=cmd_rebuild)
    p = sub.add_parser("check-outcomes",
                       help="compare the stored course outcomes with a full recomputation "
                            "(exit 1 naming the first course that differs)")
    p.set_defaults(func=cmd_check)
