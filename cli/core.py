"""Core commands: init-db, create-user, seed-demo, import-scores."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from cli.common import EXIT_BAD_INPUT, EXIT_OK, BadInput, err
from models.tables import ROLES


def _read_password(prompt_confirm: bool = True) -> str:
    """From a prompt when interactive, else the first line of standard input."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if prompt_confirm and getpass.getpass("Repeat password: ") != password:
            raise BadInput("password: the two entries differ")
        return password
    line = sys.stdin.readline()
    if not line:
        raise BadInput("password: expected on standard input (one line)")
    return line.rstrip("\r\n")


def cmd_init_db(args: argparse.Namespace) -> int:
    from data.store.db import get_engine
    from data.store.migrate import current_revision, upgrade

    engine = get_engine()
    upgrade(engine)
    err(f"store migrated to revision {current_revision(engine)} ({engine.url.render_as_string()})")
    return EXIT_OK


def cmd_create_user(args: argparse.Namespace) -> int:
    from data.accounts.users import create_user
    from data.store.db import write_session
    from models.access import SYSTEM

    password = _read_password()
    clinics = tuple(c for c in (args.clinic or []) if c)
    with write_session() as session:
        user = create_user(session, actor=SYSTEM, username=args.username, password=password,
                           role=args.role, clinic_codes=clinics, all_clinics=args.all_clinics,
                           full_name=args.full_name or "")
    err(f"created user {user.username} ({user.role})")
    return EXIT_OK


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from data.seed.seed import seed_demo

    if args.patients < 1 or args.patients > 40_000:
        raise BadInput("--patients: must be between 1 and 40000")
    counts = seed_demo(n_patients=args.patients, seed=args.seed)
    err("seeded a SYNTHETIC demo cohort: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    err("demo accounts (password 'demo-password'): demo.director, demo.clin1, demo.auditor")
    return EXIT_OK


def cmd_import_scores(args: argparse.Namespace) -> int:
    from data.imports.import_csv import size_problem
    from data.imports.importer import import_scores
    from models.access import SYSTEM

    path = Path(args.file)
    if not path.is_file():
        raise BadInput(f"FILE: {path} does not exist or is not a file")
    if problem := size_problem(path.stat().st_size):  # refused before it is read
        raise BadInput(f"FILE: {problem}")
    report = import_scores(path.read_bytes(), actor=SYSTEM, dry_run=args.dry_run)
    err(report.format())
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init-db", help="create or migrate the store to the latest schema")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("create-user", help="create a user (password from a prompt or stdin)")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--clinic", action="append", help="clinic code (repeat for several)")
    p.add_argument("--all-clinics", action="store_true", help="scope: every clinic")
    p.add_argument("--full-name", help="display name")
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("seed-demo", help="load a deterministic SYNTHETIC demo cohort")
    p.add_argument("--patients", type=int, default=120, help="number of patients (max 40000)")
    p.add_argument("--seed", type=int, default=42, help="random seed")
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("import-scores", help="import a score CSV (OUTCOMES.md s.5), all or nothing")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    p.set_defaults(func=cmd_import_scores)
