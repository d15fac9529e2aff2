"""Shared command-line conventions: exit codes, stderr messages, output to a file or stdout."""

from __future__ import annotations

import re
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """The user's input breaks a rule: exit 2 with the message."""


_RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def err(message: str) -> None:
    """A message on stderr; control characters (a terminal escape in a cell or a file
    name) are shown escaped, never sent to the terminal."""
    print(_RAW.sub(lambda m: f"\\x{ord(m.group()):02x}", message), file=sys.stderr)


def write_output(data: str | bytes, out: str | None) -> None:
    """Write to --out (text or bytes) or to standard output."""
    if out:
        path = Path(out)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        err(f"wrote {out}")
    elif isinstance(data, bytes):
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data)
