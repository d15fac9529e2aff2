"""Command line for the outcome-tracking store.

Exit codes: 0 ok, 2 bad input, 1 any other failure. Messages go to stderr; data
(exports, listings) to stdout or --out. Run `python manage.py COMMAND --help`.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import cli
from cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, BadInput, err


def build_parser() -> argparse.ArgumentParser:
    """Every module of the cli package registers its commands."""
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(cli.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"cli.{module_info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help, 2 for bad usage
        return int(exc.code or 0)
    return run(args)


def run(args: argparse.Namespace) -> int:
    from models.access import PermissionDenied

    try:
        return args.func(args)
    except (BadInput, ValueError, PermissionDenied) as exc:
        err(f"error: {exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:
        err(f"failed: {describe_failure(exc)}")
        return EXIT_FAILURE


def describe_failure(exc: Exception) -> str:
    """An unexpected error in words, never with SQL or its parameters: a database error's
    text (SQLAlchemy adds the statement and the bound values, patient codes included) is
    cut to the driver's first line, which names the constraint or rule, not the data."""
    from sqlalchemy.exc import SQLAlchemyError, StatementError

    if isinstance(exc, StatementError):
        orig = exc.orig if exc.orig is not None else exc
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        return (f"the store refused the operation ({type(orig).__name__}: {first[:200]}); "
                "nothing was written by it")
    if isinstance(exc, SQLAlchemyError):
        return f"the store could not be used ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
