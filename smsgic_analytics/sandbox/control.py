"""``SandboxControl``: drive a running sandbox's test controls from Python.

It talks to ``/__sandbox__/`` with plain ``requests`` -- never through the project's own
client, so a client bug cannot hide behind its own test fixture.  Every call carries the
sandbox's admin token: pass it (``admin_token=``), or leave it out for a sandbox this
process serves with ``running()``, which registers its URL's token here.

>>> from smsgic_analytics import sandbox
>>> with sandbox.running(clock="2024-01-01T12:00:00Z") as url:  # doctest: +SKIP
...     control = sandbox.SandboxControl(url)          # the token of running()'s sandbox
...     control.advance(90)
...     control.inject("status", path="/balance", status=503)
>>> sandbox.SandboxControl("http://127.0.0.1:8765", admin_token="...")  # doctest: +SKIP
"""
from __future__ import annotations

import json
import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..core import spec
from ..core.errors import SMSgicError
from .faults import ADMIN_PREFIX
from .lifecycle import parse_instant


class SandboxControlError(SMSgicError, RuntimeError):
    """The sandbox refused a control request (the text says why); an ``SMSgicError`` and, as
    before, a ``RuntimeError``."""


# Admin tokens of the sandboxes this process serves (``running()``), by base URL.
_admin_tokens: dict[str, str] = {}
_admin_tokens_lock = threading.Lock()


def register_admin_token(url: str, token: str) -> None:
    """Let ``SandboxControl(url)`` find ``token`` (``running()`` calls this)."""
    with _admin_tokens_lock:
        _admin_tokens[url.rstrip("/")] = token


def unregister_admin_token(url: str) -> None:
    with _admin_tokens_lock:
        _admin_tokens.pop(url.rstrip("/"), None)


def registered_admin_token(url: str) -> str | None:
    """The admin token ``running()`` registered for ``url``, if this process serves it."""
    with _admin_tokens_lock:
        return _admin_tokens.get(url.rstrip("/"))


def _instant(value: datetime | str) -> str:
    """An instant for the controls: ISO-8601 UTC (naive means UTC)."""
    return parse_instant(value).isoformat()


def _rates(answer: dict) -> list[dict]:
    """The rows of a rates answer, each ``rate`` a Decimal (a whole rate arrives as a JSON int)."""
    return [{**row, "rate": Decimal(str(row["rate"]))} for row in answer["rates"]]


class SandboxControl:
    """Clock, fault injection, accounts, rates and request statistics of the sandbox at ``url``.

    Fault kinds and what a ``requests`` client sees for each are documented in
    ``smsgic_analytics.sandbox.faults``.  ``admin_token`` None: the one ``running()``
    registered for ``url`` (calls fail with 401 when there is none, 404 when the sandbox
    runs without controls).  The token never shows in the repr.
    """

    def __init__(self, url: str, timeout: float = 10.0, admin_token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        # A kept-alive connection the server has just closed (uvicorn drops idle ones after 5 s)
        # can be reset as the next request goes out: reads are safe to send again, writes not.
        self._session.mount("http://", HTTPAdapter(max_retries=Retry(
            total=3, connect=3, read=3, status=0, allowed_methods=frozenset({"GET"}), backoff_factor=0.05)))
        token = admin_token or registered_admin_token(self.url)
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def __repr__(self) -> str:
        return f"SandboxControl({self.url!r})"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, *, money: bool = False) -> Any:
        response = self._session.request(method, f"{self.url}{ADMIN_PREFIX}{path}", json=body, timeout=self.timeout)
        if response.status_code != 200:
            try:
                text = response.json().get("message", response.text)
            except ValueError:
                text = response.text
            raise SandboxControlError(f"{method} {ADMIN_PREFIX}{path} -> {response.status_code}: {text}")
        # money: JSON numbers with decimals become Decimal, digit for digit (never a float)
        return json.loads(response.content, parse_float=Decimal) if money else response.json()

    # clock ---------------------------------------------------------------------------
    def now(self) -> datetime:
        """The sandbox clock (aware UTC)."""
        return parse_instant(self._call("GET", "/clock")["now"])

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds``; returns the new time."""
        return parse_instant(self._call("POST", "/clock/advance", {"seconds": seconds})["now"])

    def set_now(self, dt: datetime | str) -> datetime:
        """Jump the clock to ``dt`` (naive means UTC); a frozen clock stays frozen."""
        return parse_instant(self._call("POST", "/clock", {"now": parse_instant(dt).isoformat()})["now"])

    def set_offset(self, seconds: float) -> datetime:
        """Run the clock ``seconds`` ahead of wall time (negative: behind), still ticking --
        e.g. ``-7200`` for a server 2 hours behind.  A frozen clock becomes a real one.
        Returns the new time."""
        return parse_instant(self._call("POST", "/clock/offset", {"seconds": seconds})["now"])

    # faults --------------------------------------------------------------------------
    def inject(self, kind: str, path: str | None = None, method: str | None = None, count: int = 1,
               status: int | None = None, retry_after: float | None = None, seconds: float | None = None,
               exact: bool = False) -> list[dict]:
        """Queue a fault for the next ``count`` requests matching ``path``/``method`` (``path`` and
        the paths below it; with ``exact=True`` ``path`` alone: POST /sendings, not /sendings/calculate).

        kinds: "status" (needs ``status``), "latency" (needs ``seconds``), "drop_before",
        "drop_after", "garbage", "truncated".  Returns the queue.
        """
        body = {"kind": kind, "path": path, "method": method, "count": count, "status": status,
                "retry_after": retry_after, "seconds": seconds, "exact": exact}
        return self._call("POST", "/faults", body)["faults"]

    def faults(self) -> list[dict]:
        """The faults still queued."""
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # accounts ------------------------------------------------------------------------
    def add_account(self, token: str, balance: str | Decimal = spec.DEMO_BALANCE) -> None:
        """Create an account (demo senders) -- or, if the token has one, reset its balance."""
        self._call("POST", "/accounts", {"token": token, "balance": str(balance)})

    def set_balance(self, token: str, amount: str | Decimal) -> None:
        """Set an existing account's balance (at most 4 decimals)."""
        self._call("PUT", "/accounts/balance", {"token": token, "balance": str(amount)})

    # rates ---------------------------------------------------------------------------
    def set_rate(self, mcc: str, mnc: str | None, rate: str | Decimal, *,
                 country_id: int | None = None, at: datetime | str | None = None) -> list[dict]:
        """Set the rate of one row of the card: operator ``mcc``/``mnc``, or with ``mnc``
        None the country default row (``country_id`` picks the country when several share
        ``mcc``, as 234 does).  At most 4 decimals.  GET /rates, calculate and the debit of
        the next send all use it.  Returns the row changed (GET /rates shape, Decimal rate).
        ``at``: a dated change, in force once the sandbox clock reaches it (checked now)."""
        body: dict[str, Any] = {"mcc": mcc, "mnc": mnc, "rate": str(rate)}
        if country_id is not None:
            body["country_id"] = country_id
        if at is not None:
            body["at"] = _instant(at)
        return _rates(self._call("PUT", "/rates", body, money=True))

    def scale_rates(self, factor: str | Decimal, *, at: datetime | str | None = None) -> list[dict]:
        """Multiply every rate by ``factor`` (0.001-100, at most 8 decimals), rounding half-even
        to 4 decimals (at least 0.0001).  Returns every row at its new rate.  ``at``: dated, as
        for ``set_rate``."""
        body: dict[str, Any] = {"factor": str(factor)}
        if at is not None:
            body["at"] = _instant(at)
        return _rates(self._call("PUT", "/rates", body, money=True))

    def scheduled_rates(self) -> list[dict]:
        """The dated price changes not yet in force, oldest first ({"at", "mcc", "mnc", "rate", ...})."""
        return self._call("GET", "/rates/scheduled")["scheduled"]

    def seed_price_history(self, start: datetime | str, changes: int = 6, every_days: int = 7,
                           countries: list[str] | None = None) -> list[dict]:
        """Schedule the seed's price history: ``changes`` dated changes, one every ``every_days``
        days after ``start``, on rows of ``countries`` (names or ISO-2; default all); the same
        seed gives the same changes.  Move the clock past them to see them in force."""
        body: dict[str, Any] = {"start": _instant(start), "changes": changes, "every_days": every_days}
        if countries is not None:
            body["countries"] = list(countries)
        return self._call("POST", "/rates/history", body)["scheduled"]

    def reset_rates(self) -> None:
        """Back to the seed's rate card."""
        self._call("DELETE", "/rates")

    # statistics ----------------------------------------------------------------------
    def stats(self) -> dict[tuple[str, str], int]:
        """Requests that reached the sandbox (faulted ones too) per (method, route template)."""
        return {(r["method"], r["path"]): r["count"] for r in self._call("GET", "/stats")["requests"]}

    def reset_stats(self) -> None:
        self._call("DELETE", "/stats")

    def countries(self) -> list[dict]:
        """The card's countries with their ``country_id`` (the /rates filter)."""
        return self._call("GET", "/countries")["countries"]
