"""Times as the API writes them, in one place.

The API's ``scheduled_at`` is naive ``Y-m-d H:i:s``; this toolkit treats it as UTC and says
so.  Everything else is an aware UTC datetime.  ``ServerClock`` is the server's time as this
machine can know it: its own clock plus the offset learned from the server's answers.

>>> format_scheduled_at("2026-12-01T10:00:00+01:00")
'2026-12-01 09:00:00'
"""
from __future__ import annotations

import email.utils
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, Callable

import pandas as pd

from . import spec
from .errors import ValidationError


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken as UTC (the project's rule for the API's naive times)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_scheduled_at(value: datetime | str | None) -> str | None:
    """``scheduled_at`` as the API takes it: ``Y-m-d H:i:s`` in UTC, or None for "now".

    Accepts a datetime or pandas Timestamp (aware -> converted to UTC; naive -> taken as UTC)
    or text in ``Y-m-d H:i:s`` or ISO-8601.  Anything else is a ``ValidationError`` naming
    ``scheduled_at`` and the value.
    """
    if value is None:
        return None
    parsed: Any = value
    if isinstance(value, str):
        try:
            parsed = datetime.strptime(value, spec.SCHEDULED_AT_FORMAT)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
    if not isinstance(parsed, datetime) or pd.isna(parsed):
        raise ValidationError(f"{spec.MSG_INVALID_SCHEDULED_AT} Got {value!r}",
                              field_errors={"scheduled_at": [spec.MSG_INVALID_SCHEDULED_AT]})
    return as_utc(parsed).strftime(spec.SCHEDULED_AT_FORMAT)


def format_instant(value: datetime | pd.Timestamp) -> str:
    """An instant as every message and table of this toolkit writes it: ``Y-m-d H:i:s`` in UTC
    (the API's own ``scheduled_at`` form; add " UTC" where a reader needs the zone)."""
    return as_utc(value).strftime(spec.SCHEDULED_AT_FORMAT)


def parse_scheduled_at(text: str) -> datetime:
    """``Y-m-d H:i:s`` (as ``format_scheduled_at`` writes it) -> aware UTC datetime."""
    return datetime.strptime(text, spec.SCHEDULED_AT_FORMAT).replace(tzinfo=UTC)


# --- the server's clock ------------------------------------------------------------------------

# A skew this large is shown to the user (``ServerClock.note``): "now" and every window follow
# the server's clock, but a person reading times should know the two clocks disagree.
LARGE_SKEW = timedelta(minutes=5)


def _wall() -> datetime:
    return datetime.now(UTC)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header (RFC 7231 IMF-fixdate, whole seconds) -> aware UTC, or None if
    missing or unreadable.

    >>> parse_http_date("Fri, 04 Dec 2026 16:20:00 GMT").isoformat()
    '2026-12-04T16:20:00+00:00'
    """
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return None if parsed is None else as_utc(parsed)


def describe_skew(skew: timedelta, than: str = "") -> str:
    """How far the server's clock is from another, in words (to the nearest minute past one):
    ``than`` names the other clock.

    >>> describe_skew(timedelta(days=-3, seconds=5), than="this computer's")
    "3 d 0 h 0 min behind this computer's"
    >>> describe_skew(timedelta(seconds=20))
    '20 s ahead'
    """
    seconds = abs(skew.total_seconds())
    if seconds < 60:
        amount = f"{round(seconds)} s"
    else:
        days, minutes = divmod(round(seconds / 60), 1440)
        hours, minutes = divmod(minutes, 60)
        amount = " ".join([f"{days} d"] * bool(days) + [f"{hours} h"] * bool(days or hours) + [f"{minutes} min"])
    if skew < timedelta(0):
        return f"{amount} behind {than}".rstrip()
    return f"{amount} ahead of {than}".rstrip() if than else f"{amount} ahead"


class ServerClock:
    """The server's time: this machine's clock (``base``) plus the offset learned from the server.

    Callable (returns aware UTC), so it is what the ledger stamps its rows with and what "now",
    the fingerprint's "1-30 s ahead" and every look-back window are measured on: a sending's
    ``created_at`` and a ledger row are then on one clock, however far the two machines'
    clocks are apart.  The HTTP session feeds it every answer's ``Date`` header
    (``observe_date``); reconcile feeds it the ``created_at`` of the ledger's own sendings
    (``observe``).  Each observation says the offset lies in an interval; the estimate moves
    only when it falls outside (to the nearest edge), so it does not jitter with the header's
    one-second resolution, and it follows a server clock that jumps.

    ``follow=False`` (a clock given by the caller: a test's manual clock, a notebook that follows
    the sandbox's clock) measures the skew but does not apply it: ``base`` is taken as the
    server's time as it is.

    >>> clock = ServerClock(lambda: datetime(2026, 12, 4, 16, 20, tzinfo=UTC))
    >>> clock.observe(-7200.5, -7199.5); format_instant(clock())
    '2026-12-04 14:20:00'
    """

    def __init__(self, base: Callable[[], datetime] | None = None, *, follow: bool = True) -> None:
        self.base = base or _wall
        self.follow = follow
        self._offset: float | None = None  # seconds, server minus base; None until observed
        self._seen: set[Any] = set()  # keys of evidence already counted (see ``observe``)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        skew = self.skew()
        return f"ServerClock(skew={'unknown' if skew is None else skew}, follow={self.follow})"

    def __call__(self) -> datetime:
        now = as_utc(self.base())
        offset = self._offset
        return now if offset is None or not self.follow else now + timedelta(seconds=offset)

    def skew(self) -> timedelta | None:
        """Server time minus this machine's (``base``) as last learned; None before any answer."""
        offset = self._offset
        return None if offset is None else timedelta(seconds=round(offset, 3))

    def observe(self, low: float, high: float, best: float | None = None, *, key: Any = None) -> None:
        """The offset (seconds, server minus base) lies in ``[low, high]``; ``best`` is the
        likeliest value, used when nothing was known yet (default: the middle).  Evidence with a
        ``key`` counts once (a sending seen in every later listing says the same thing again)."""
        if not low <= high:
            return
        with self._lock:
            if key is not None:
                if key in self._seen:
                    return
                self._seen.add(key)
            if self._offset is None:
                self._offset = min(max((low + high) / 2 if best is None else best, low), high)
            elif self._offset < low:
                self._offset = low
            elif self._offset > high:
                self._offset = high

    def observe_date(self, header: str | None, sent: datetime, received: datetime) -> None:
        """One answer's ``Date`` header, asked at ``sent`` and answered by ``received`` (both
        read from ``base``).  The header is the server's clock, truncated to the second, when
        it answered: the offset lies in ``(date - received, date + 1 s - sent)``, and most likely
        at the answer's end (a slow request is slow before the server answers, not after)."""
        date = parse_http_date(header)
        if date is None:
            return
        low = (date - as_utc(received)).total_seconds()
        high = (date - as_utc(sent)).total_seconds() + 1
        self.observe(low, high, best=low + 0.5)

    def note(self) -> str:
        """A sentence for previews and reconcile reports when the skew is large, else ""."""
        skew = self.skew()
        if skew is None or abs(skew) <= LARGE_SKEW:
            return ""
        if self.follow:
            here = describe_skew(skew, than="this computer's")
            return (f"the server's clock is {here}: 'now', scheduled_at and "
                    "every window (duplicate guard, reconcile) follow the server's clock")
        return (f"the server's clock is {describe_skew(skew, than='the clock this client was given')} "
                "(connect(clock=...)), which is used as the server's time as it is")


def clock_note(clock: Any) -> str:
    """``clock.note()`` for a ``ServerClock``; "" for any other clock (nothing is known of it)."""
    return clock.note() if isinstance(clock, ServerClock) else ""
