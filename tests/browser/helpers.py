"""What the browser tests share: Debian's chromium with the flags the brief requires,
Playwright (skipped locally, a failure under CI when missing) and a free local port."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def require_playwright():
    """Playwright's sync API, or skip (locally) / fail (under CI) with the reason."""
    problem = None if CHROMIUM.exists() else f"{CHROMIUM} is missing"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = problem or "the playwright package is not installed"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run under CI: {problem}")
        pytest.skip(f"browser test skipped: {problem} (install Debian's chromium and "
                    "playwright, or set CI=true to make this a failure)")
    return sync_playwright


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
