"""Laravel-style request throttling: N attempts per fixed window, per account.

As Laravel's ThrottleRequests: the first attempt opens a window of ``window`` seconds; a
rejected attempt does not count; the window resets when it expires.  Runs on the monotonic
wall clock, never on the sandbox's lifecycle clock (freezing that must not freeze limits).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets; 0 when allowed
    reset_at: int  # epoch seconds when the window resets

    def headers(self) -> dict[str, str]:
        """The headers Laravel sends: limit and remaining always; Retry-After/Reset when refused."""
        headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
            headers["X-RateLimit-Reset"] = str(self.reset_at)
        return headers


class Throttle:
    """``hit(key)`` records an attempt and says whether it is allowed."""

    def __init__(self, limit: int, window: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError("the limit must be at least 1 request per window")
        self.limit = limit
        self.window = window
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._windows: dict[object, tuple[float, int]] = {}  # key -> (window start, attempts)

    def hit(self, key: object) -> Verdict:
        now = self._monotonic()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            seconds_left = self.window - (now - start)
            reset_at = int(time.time() + seconds_left)
            if count >= self.limit:
                self._windows[key] = (start, count)
                return Verdict(False, self.limit, 0, max(1, math.ceil(seconds_left)), reset_at)
            count += 1
            self._windows[key] = (start, count)
            return Verdict(True, self.limit, self.limit - count, 0, reset_at)
