"""`manage.py` in-process for tests: `manage.main(argv)` with stdin, stdout and stderr
captured (a process per call cost a second of imports each). One real process is still
started by the tests that check the installed entry point (tests/test_cli.py)."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

import manage
from data.store.settings import get_settings


@dataclass
class Ran:
    returncode: int
    stdout: str | bytes
    stderr: str | bytes


def run_manage(*argv: str, stdin: str = "", binary: bool = False) -> Ran:
    """Run `manage.py ARGV` against the store DATABASE_URL names (the `store_url` fixture);
    `binary`: stdout and stderr as bytes, like `subprocess.run(capture_output=True)`."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
    err = io.StringIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    get_settings.cache_clear()
    try:
        code = manage.main(list(argv))
    finally:
        out.flush()
        sys.stdin, sys.stdout, sys.stderr = saved
    data = raw.getvalue()
    if binary:
        return Ran(code, data, err.getvalue().encode("utf-8"))
    return Ran(code, data.decode("utf-8"), err.getvalue())
