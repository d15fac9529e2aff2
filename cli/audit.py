"""`verify-audit`: walk the audit trail's hash chain (docs/AUDIT.md).

Exit 0 when the chain is intact, the append-only triggers are in place and a noted head
(--expect-head) is still in the trail; the count and head go to stderr, the head hash
alone to stdout (note it somewhere outside the store). Exit 1 naming the first broken
event otherwise.
"""

from __future__ import annotations

import argparse
import re

from cli.common import EXIT_FAILURE, EXIT_OK, BadInput, err

_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def cmd_verify_audit(args: argparse.Namespace) -> int:
    from data.audit.audit_queries import verify_trail
    from data.store.db import read_session
    from models.access import SYSTEM

    expect = (args.expect_head or "").strip().lower() or None
    if expect and not _HASH_RE.match(expect):
        raise BadInput("--expect-head: a 64-character hexadecimal SHA-256 hash")
    with read_session() as session:
        check = verify_trail(session, actor=SYSTEM, expect_head=expect)
    chain = check.chain
    if not chain.intact:
        err(f"audit trail BROKEN at {chain.message}; {chain.checked} event(s) before it intact")
    else:
        head = f"event {chain.head_id}" if chain.head_id else "empty trail"
        err(f"{chain.message}; head {head} hash {chain.head_hash}")
        print(chain.head_hash)
    if check.missing_triggers:
        err("append-only triggers missing or altered (the trail can be edited): "
            + "; ".join(check.missing_triggers))
    if check.head_found is False:
        err(f"noted head {expect} is not part of the verified trail: events at or before it "
            "were deleted or altered")
    return EXIT_OK if check.ok else EXIT_FAILURE


def cmd_verify_store(args: argparse.Namespace) -> int:
    """Compare a store's schema (the live one, or a backup FILE) with the migrations'."""
    from data.store.db import get_engine
    from data.store.schema_check import differences, sqlite_file_differences

    if args.file:
        from pathlib import Path

        if not Path(args.file).is_file():
            raise BadInput(f"FILE: {args.file} does not exist")
        try:
            problems = sqlite_file_differences(args.file)
        except Exception as exc:
            err(f"store schema NOT as the migrations build it: {args.file} is not a SQLite "
                f"store ({type(exc).__name__})")
            return EXIT_FAILURE
        where = args.file
    else:
        problems = differences(get_engine())
        where = "the store"
    if problems:
        err(f"store schema NOT as the migrations build it ({where}): {len(problems)} "
            f"difference(s); first: {problems[0]}")
        for problem in problems[1:20]:
            err(f"  also: {problem}")
        return EXIT_FAILURE
    err(f"store schema as the migrations build it ({where}): tables, columns, indexes and "
        "triggers match")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify-audit", help="verify the audit trail's hash chain (exit 1 if broken)")
    p.add_argument("--expect-head", metavar="HASH",
                   help="a head hash printed by an earlier run: fail if it is gone from the trail")
    p.set_defaults(func=cmd_verify_audit)
    p = sub.add_parser("verify-store", help="compare the store's schema (tables, columns, "
                       "indexes, triggers) with the migrations' (exit 1 naming a difference)")
    p.add_argument("file", metavar="FILE", nargs="?",
                   help="a SQLite backup file to check instead of the live store")
    p.set_defaults(func=cmd_verify_store)
