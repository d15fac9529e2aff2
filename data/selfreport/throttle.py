"""A small brake on guessing invitation links: each bad token from one client key (the
browser's IP address, or a fallback) makes that key's next attempt wait longer, doubling
from 0.25 s up to a cap of 8 s; a good link resets the key.

Per process and in memory: a restart forgets it, and several server processes each keep
their own count. It slows a guesser on one server; the 256-bit tokens are what make
guessing hopeless (docs/SELF_REPORT.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

BASE_DELAY_S = 0.25
MAX_DELAY_S = 8.0
FORGET_AFTER_S = 15 * 60  # a key with no failure for this long starts again at zero


class Throttle:
    """Failures per client key and the delay they earn."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._sleep, self._clock = sleep, clock

    def delay(self, key: str) -> float:
        """The wait the key's next attempt gets (0 without recent failures)."""
        with self._lock:
            failures, last = self._failures.get(key, (0, 0.0))
            if failures and self._clock() - last > FORGET_AFTER_S:
                del self._failures[key]
                failures = 0
        if failures == 0:
            return 0.0
        return min(BASE_DELAY_S * 2 ** (failures - 1), MAX_DELAY_S)

    def wait(self, key: str) -> float:
        """Sleep the key's delay before its attempt is checked; returns the delay."""
        seconds = self.delay(key)
        if seconds:
            self._sleep(seconds)
        return seconds

    def failed(self, key: str) -> None:
        with self._lock:
            failures, _ = self._failures.get(key, (0, 0.0))
            self._failures[key] = (failures + 1, self._clock())
            if len(self._failures) > 10_000:  # bounded memory: drop the oldest keys
                for old in sorted(self._failures, key=lambda k: self._failures[k][1])[:1000]:
                    del self._failures[old]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


LINKS = Throttle()
"""The process-wide throttle of the patient page."""
