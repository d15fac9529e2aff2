"""Files of the Exports page: each export is written to a private temporary file (mode
0600, in a directory of mode 0700) and offered from there, never kept in a cache
shared across users. A session keeps its last file only (`discard` on the next one); a
file older than EXPORT_TTL is removed by `sweep`, which every run of the page calls, so
a file left by a closed session or a signed-out user does not stay."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

EXPORT_TTL = 3600  # seconds a generated file stays available
_DIR_NAME = "clinic-exports"


def export_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"{_DIR_NAME}-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def new_file(fmt: str) -> Path:
    """A new empty private file for an export of the format."""
    handle, name = tempfile.mkstemp(prefix="export-", suffix=f".{fmt}", dir=export_dir())
    os.close(handle)
    return Path(name)


def discard(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def sweep(ttl: float = EXPORT_TTL, now: float | None = None) -> int:
    """Remove the export files older than `ttl` seconds; how many were removed."""
    limit = (now if now is not None else time.time()) - ttl
    removed = 0
    for path in export_dir().glob("export-*"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def file_reader(path: Path) -> Callable[[], bytes]:
    """What the download button calls when clicked: the file's bytes, read then (the
    page holds none of them while it waits)."""
    return lambda: path.read_bytes()
