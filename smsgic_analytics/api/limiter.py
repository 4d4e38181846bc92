"""Client-side rate limiting: sliding-window buckets per endpoint class, and the pause a
server's Retry-After imposes (cache hits never wait)."""
from __future__ import annotations

import time
from typing import Any

import requests
from pyrate_limiter import Duration, InMemoryBucket, Rate
from pyrate_limiter.abstracts import BucketFactory, RateItem

OTHER_PER_MINUTE = 6000  # generous: the docs state no limit for endpoints other than calculate


def _rates(per_minute: int) -> list[Rate]:
    """A per-minute cap, plus a per-second one so requests are spread over the minute
    instead of leaving in one burst and then waiting (pyrate-limiter needs the per-second
    density >= the per-minute one, so it is rounded up; the minute cap is the hard limit)."""
    per_minute = max(1, int(per_minute))
    per_second = -(-per_minute // 60)
    if per_second >= per_minute:
        return [Rate(per_minute, Duration.MINUTE)]
    return [Rate(per_second, Duration.SECOND), Rate(per_minute, Duration.MINUTE)]


class EndpointBuckets(BucketFactory):
    """Two sliding-window buckets: ``calculate`` (the documented 3000/min) and ``other``.

    pyrate-limiter 4: ``InMemoryBucket`` is a sliding-window log (exact: no 60 s window ever
    holds more than the limit), thread-safe under the Limiter's lock; ``try_acquire(blocking=True)``
    sleeps until there is room (it only returns False when an item can never fit), and the
    background leaker only trims old entries.  So the limiter *delays*, it never fails.
    """

    def __init__(self, calculate_per_minute: int, other_per_minute: int = OTHER_PER_MINUTE) -> None:
        self.buckets = {
            "calculate": InMemoryBucket(_rates(calculate_per_minute)),
            "other": InMemoryBucket(_rates(other_per_minute)),
        }
        for bucket in self.buckets.values():
            self.schedule_leak(bucket)

    def wrap_item(self, name: str, weight: int = 1) -> RateItem:
        return RateItem(name, self.buckets[name].now(), weight=weight)

    def get(self, item: RateItem) -> InMemoryBucket:
        return self.buckets[item.name]


class PauseMixin:
    """Holds every network request while a server Retry-After runs (cache hits never wait)."""

    _paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        wait = self._paused_until - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return super().send(request, **kwargs)  # type: ignore[misc]
