"""Client-side rate limiting: sliding-window buckets per endpoint class, and the pause a
server's Retry-After imposes (cache hits never wait).

The budget is the account's, not the kernel's: the server counts an account's requests, so
every process on this machine that talks for one account draws from one pair of buckets --
pyrate-limiter's SQLite bucket in the machine-wide state folder
(``<state_dir>/ratelimit-<account>.sqlite``), each put serialised across processes by its
file lock (``filelock``).  Without a path (``EndpointBuckets(n)``) the buckets are in memory.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests
from pyrate_limiter import Duration, InMemoryBucket, Rate, SQLiteBucket
from pyrate_limiter.abstracts import AbstractBucket, BucketFactory, RateItem

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


def budget_path(state_dir: Path, account: str) -> Path:
    """The SQLite file of an account's shared rate-limit budget (named by its hash, never the token)."""
    return Path(state_dir) / f"ratelimit-{account}.sqlite"


class SharedBucket(SQLiteBucket):
    """pyrate-limiter's SQLite bucket (a sliding-window log in a table, timestamps from the wall
    clock every process shares), its count-then-insert held under a file lock so that two
    processes never both take the last place.  ``items`` lists the log, oldest first."""

    @property
    def items(self) -> list[RateItem]:
        with self.lock:
            rows = self.conn.execute(
                f"SELECT name, item_timestamp FROM '{self.table}' ORDER BY item_timestamp").fetchall()
        return [RateItem(name, int(stamp)) for name, stamp in rows]


class EndpointBuckets(BucketFactory):
    """Two sliding-window buckets: ``calculate`` (the documented 3000/min) and ``other``; with
    ``path``, shared by every process on the machine through that SQLite file.

    pyrate-limiter 4: both buckets are sliding-window logs (exact: no 60 s window ever holds
    more than the limit), thread-safe under the Limiter's lock (and the file lock across
    processes); ``try_acquire(blocking=True)`` sleeps until there is room (it only returns
    False when an item can never fit), and the background leaker only trims old entries.  So
    the limiter *delays*, it never fails.
    """

    def __init__(self, calculate_per_minute: int, other_per_minute: int = OTHER_PER_MINUTE, *,
                 path: Path | None = None) -> None:
        limits = {"calculate": _rates(calculate_per_minute), "other": _rates(other_per_minute)}
        if path is None:
            self.buckets: dict[str, AbstractBucket] = {name: InMemoryBucket(rates) for name, rates in limits.items()}
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.buckets = {name: SharedBucket.init_from_file(rates, table=name, db_path=str(path),
                                                              use_file_lock=True)
                            for name, rates in limits.items()}
        for bucket in self.buckets.values():
            self.schedule_leak(bucket)

    def wrap_item(self, name: str, weight: int = 1) -> RateItem:
        return RateItem(name, self.buckets[name].now(), weight=weight)

    def get(self, item: RateItem) -> AbstractBucket:
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
