"""The sandbox clock and the status a sending has at a given moment.

Statuses are computed from the clock, never stored: a notebook that freezes the clock at
2024-01-01 12:00 and advances it by 90 s sees exactly the same statuses on every run.

Timeline of a sending (all UTC, whole seconds):

* ``start = max(created_at, scheduled_at)``
* before ``start``: Pending (updated_at = created_at)
* from ``start`` for ``processing_seconds(recipients)``: Processing (updated_at = start)
* afterwards: Sent, or Failed for about 3 % of sendings chosen by a hash of (seed, id)
  (updated_at = the end of processing).
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..core import spec

PROCESSING_BASE_SECONDS = 60
PROCESSING_SECONDS_PER_1000 = 1
FAILED_PER_MILLE = 30

# The range the clock controls accept (and ``--clock``): wide enough for any test story,
# far from the ends of what datetime and the API's 4-digit years can show.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SECOND = timedelta(seconds=1)
_FIRST_EPOCH = (datetime.min.replace(tzinfo=timezone.utc) - _EPOCH) // _SECOND
_LAST_EPOCH = (datetime.max.replace(tzinfo=timezone.utc) - _EPOCH) // _SECOND


def parse_instant(value: str | datetime) -> datetime:
    """An aware UTC datetime from an ISO-8601 string or datetime (naive means UTC)."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def utc(epoch: int) -> datetime:
    """Epoch seconds as an aware UTC datetime, clamped to datetime's years 1-9999.

    Answers format timestamps through this, so no stored instant (a sending scheduled for
    9999-12-31 23:59:59 ends processing a minute later) can make an endpoint fail.
    """
    return _EPOCH + min(max(epoch, _FIRST_EPOCH), _LAST_EPOCH) * _SECOND


class Clock:
    """Wall time plus an offset ("real"), or a frozen instant that moves only when told.

    >>> c = Clock.frozen("2024-01-01T12:00:00Z"); c.advance(90).isoformat()
    '2024-01-01T12:01:30+00:00'
    """

    def __init__(self, frozen_at: datetime | None = None, offset: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._frozen_at = frozen_at
        self._offset = offset

    @classmethod
    def frozen(cls, at: str | datetime) -> "Clock":
        return cls(frozen_at=parse_instant(at))

    @classmethod
    def real(cls, offset: float = 0.0) -> "Clock":
        return cls(offset=offset)

    @property
    def is_frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.fromtimestamp(time.time() + self._offset, timezone.utc)

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward (or back, if negative); returns the new now."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += timedelta(seconds=seconds)
            else:
                self._offset += seconds
        return self.now()

    def set_now(self, at: str | datetime) -> datetime:
        """Jump to ``at``; a frozen clock stays frozen, a real one keeps ticking from there."""
        target = parse_instant(at)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._offset = target.timestamp() - time.time()
        return self.now()

    def set_offset(self, seconds: float) -> datetime:
        """Run ``seconds`` ahead of wall time (behind when negative), ticking; a frozen clock
        becomes a real one.  ``set_now`` on a real clock gives a running offset too, but one
        measured from the caller's idea of now: this one is exact."""
        with self._lock:
            self._frozen_at = None
            self._offset = float(seconds)
        return self.now()

    def state(self) -> dict[str, str | float]:
        """What to persist so a restart resumes the same clock."""
        with self._lock:
            if self._frozen_at is not None:
                return {"mode": "frozen", "at": self._frozen_at.isoformat()}
            return {"mode": "real", "offset": self._offset}

    @classmethod
    def from_state(cls, state: dict) -> "Clock":
        if state.get("mode") == "frozen":
            return cls.frozen(str(state["at"]))
        return cls.real(float(state.get("offset", 0.0)))


def processing_seconds(recipients: int) -> int:
    """How long a sending stays Processing: 60 s plus 1 s per 1,000 recipients."""
    return PROCESSING_BASE_SECONDS + PROCESSING_SECONDS_PER_1000 * (recipients // 1000)


def fails(seed: int, sending_id: int) -> bool:
    """Whether this sending ends Failed: ~3 %, fixed by (seed, id) so reruns agree."""
    digest = hashlib.sha256(f"{seed}:{sending_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 1000 < FAILED_PER_MILLE


@dataclass(frozen=True)
class Status:
    status: str
    updated_at: int  # epoch seconds


def status_at(now: int, *, sending_id: int, created_at: int, scheduled_at: int,
              recipients: int, seed: int) -> Status:
    """The status of a sending at ``now`` (all epoch seconds) and when it last changed."""
    start = max(created_at, scheduled_at)
    if now < start:
        return Status(spec.PENDING, created_at)
    end = start + processing_seconds(recipients)
    if now < end:
        return Status(spec.PROCESSING, start)
    return Status(spec.FAILED if fails(seed, sending_id) else spec.SENT, end)
