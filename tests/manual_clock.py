"""A clock tests move by hand: "an hour later" without waiting an hour."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Callable returning an aware UTC datetime that only moves when told (``advance``)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now
