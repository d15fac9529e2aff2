"""Figures to PNG for the PDFs: plotly's image export (kaleido, which drives the machine's
Chromium, /usr/bin/chromium, offline). Chosen over matplotlib after a trial: it works
offline here, one chart library serves the screen and the report, and a Chromium kept
open for the process renders each chart in ~0.2 s after a 3-8 s start. When Chromium is
missing or fails twice, `ChartsUnavailable` is raised and the report prints its tables
and a note instead of the charts.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import warnings

import plotly.graph_objects as go

_RENDER_LOCK = threading.Lock()


class ChartsUnavailable(RuntimeError):
    """Charts could not be rendered to images (no Chromium, or it failed)."""


_server = {"running": False}


def _start_server() -> None:
    """One Chromium kept open for the process (closed at exit): later charts take ~0.2 s."""
    import kaleido

    if not _server["running"]:
        kaleido.start_sync_server(silence_warnings=True)
        _server["running"] = True
        atexit.register(_stop_server)


def _stop_server() -> None:
    import kaleido

    if _server["running"]:
        _server["running"] = False
        kaleido.stop_sync_server(silence_warnings=True)


def figures_to_png(figures: list[go.Figure], *, width: int = 900, height: int = 380,
                   scale: float = 2.0) -> list[bytes]:
    """PNG bytes of each figure; ChartsUnavailable when Chromium cannot draw them."""
    if not figures:
        return []
    with _RENDER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kaleido warns that per-call options are unused
        for attempt in (1, 2):  # a browser that died, or failed to start: start afresh once
            try:
                _start_server()
                return [fig.to_image(format="png", width=width, height=height, scale=scale)
                        for fig in figures]
            except Exception as exc:
                with contextlib.suppress(Exception):  # the browser may be gone already
                    _stop_server()
                if attempt == 2:
                    raise ChartsUnavailable(f"{type(exc).__name__}: {exc}") from exc
    raise ChartsUnavailable("unreachable")  # pragma: no cover
