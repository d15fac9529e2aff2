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
    from data.access import SYSTEM
    from data.audit_queries import verify_trail
    from data.db import read_session

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
        err("append-only triggers missing (the trail can be edited): "
            + ", ".join(check.missing_triggers))
    if check.head_found is False:
        err(f"noted head {expect} is not part of the verified trail: events at or before it "
            "were deleted or altered")
    return EXIT_OK if check.ok else EXIT_FAILURE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify-audit", help="verify the audit trail's hash chain (exit 1 if broken)")
    p.add_argument("--expect-head", metavar="HASH",
                   help="a head hash printed by an earlier run: fail if it is gone from the trail")
    p.set_defaults(func=cmd_verify_audit)
