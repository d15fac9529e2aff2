"""What the browser tests share: Debian's chromium with the flags the brief requires,
Playwright (skipped locally, a failure under CI when missing), a free local port and
the app server on a test's store (`app_server`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from data.store.settings import PROJECT_ROOT

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


@contextmanager
def app_server(store_url: str, *, seconds: float = 60, **env_extra: str) -> Iterator[str]:
    """`streamlit run dashboard.py` on the test's store (extra environment variables, e.g.
    SESSION_IDLE_MINUTES="1"), as deployed: the project's .streamlit/config.toml applies;
    no file watcher, so edits elsewhere do not reload modules mid-test. Yields its URL
    once healthy; stopped afterwards."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": store_url, **env_extra,
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, seconds)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    """Until Streamlit's health check answers ok; the server's error if it exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy in time")
