"""`backup FILE` and `restore FILE`: SQLite online backup API (PostgreSQL: pg_dump)."""

from __future__ import annotations

import argparse

from cli.common import EXIT_OK, err


def cmd_backup(args: argparse.Namespace) -> int:
    from data.audit.backup import backup
    from models.access import SYSTEM

    report = backup(args.file, actor=SYSTEM)
    err(f"backup written to {args.file}: integrity {report['integrity']}, {report['audit']}")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from data.audit.backup import restore
    from models.access import SYSTEM

    report = restore(args.file, actor=SYSTEM)
    err(f"store restored from {args.file}: integrity {report['integrity']}, "
        f"revision {report['revision']}, {report['audit']}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="back up the SQLite store (online backup API)")
    p.add_argument("file", metavar="FILE", help="where to write the backup")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="check a backup file, then restore it over the store")
    p.add_argument("file", metavar="FILE", help="a file written by 'backup'")
    p.set_defaults(func=cmd_restore)
