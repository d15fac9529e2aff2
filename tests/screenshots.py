"""Where tests put the screenshots they take: a temporary folder by default, so a test run
never rewrites tracked files; docs/screenshots/ when regenerated on purpose with
UPDATE_SCREENSHOTS=1 (then look at them before committing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from data.settings import PROJECT_ROOT

DOCS_SHOTS = PROJECT_ROOT / "docs" / "screenshots"


def screenshot_dir() -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SHOTS
    return Path(tempfile.mkdtemp(prefix="screenshots-"))


SHOTS = screenshot_dir()
