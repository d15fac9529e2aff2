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
    from data.access import PermissionDenied

    try:
        return args.func(args)
    except (BadInput, ValueError, PermissionDenied) as exc:
        err(f"error: {exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001  (the command line reports, never tracebacks)
        err(f"failed: {type(exc).__name__}: {exc}")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
