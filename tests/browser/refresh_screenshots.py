"""Regenerate the screenshots in docs/screenshots/ on purpose: run the browser journeys
with their screenshots written to a temporary folder, then copy the ones docs/ already
tracks (and, with --new, every other one) into docs/screenshots/. Look at them before
committing. A normal test run never writes there.

    python tests/browser/refresh_screenshots.py [--new] [pytest arguments, e.g. -k phone]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "screenshots"


def main(argv: list[str]) -> int:
    new = "--new" in argv
    args = [a for a in argv if a != "--new"]
    folder = Path(tempfile.mkdtemp(prefix="refresh-screenshots-"))
    env = {**os.environ, "SCREENSHOT_DIR": str(folder)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "browser", *args], cwd=ROOT,
                          env=env, check=False)
    copied = []
    for shot in sorted(folder.glob("*.png")):
        target = DOCS_SHOTS / shot.name
        if new or target.exists():
            shutil.copyfile(shot, target)
            copied.append(shot.name)
    print(f"copied {len(copied)} screenshot(s) to docs/screenshots/: {', '.join(copied)}")
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
