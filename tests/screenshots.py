"""Where tests put the screenshots they take: a temporary folder, so a test run never
rewrites tracked files. `python tests/browser/refresh_screenshots.py` sets SCREENSHOT_DIR
to its own folder and copies the results into docs/screenshots/ (then look at them
before committing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def screenshot_dir() -> Path:
    if chosen := os.environ.get("SCREENSHOT_DIR"):
        Path(chosen).mkdir(parents=True, exist_ok=True)
        return Path(chosen)
    return Path(tempfile.mkdtemp(prefix="screenshots-"))


SHOTS = screenshot_dir()
