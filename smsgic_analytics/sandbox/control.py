"""``SandboxControl``: drive a running sandbox's test controls from Python.

It talks to ``/__sandbox__/`` with plain ``requests`` -- never through the project's own
client, so a client bug cannot hide behind its own test fixture.

>>> from smsgic_analytics import sandbox
>>> with sandbox.running(clock="2024-01-01T12:00:00Z") as url:  # doctest: +SKIP
...     control = sandbox.SandboxControl(url)
...     control.advance(90)
...     control.inject("status", path="/balance", status=503)
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import requests

from .faults import ADMIN_PREFIX
from .lifecycle import parse_instant


class SandboxControlError(RuntimeError):
    """The sandbox refused a control request (the text says why)."""


class SandboxControl:
    """Clock, fault injection, accounts and request statistics of the sandbox at ``url``.

    Fault kinds and what a ``requests`` client sees for each are documented in
    ``smsgic_analytics.sandbox.faults``.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"SandboxControl({self.url!r})"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._session.request(method, f"{self.url}{ADMIN_PREFIX}{path}", json=body, timeout=self.timeout)
        if response.status_code != 200:
            try:
                text = response.json().get("message", response.text)
            except ValueError:
                text = response.text
            raise SandboxControlError(f"{method} {ADMIN_PREFIX}{path} -> {response.status_code}: {text}")
        return response.json()

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

    # faults --------------------------------------------------------------------------
    def inject(self, kind: str, path: str | None = None, method: str | None = None, count: int = 1,
               status: int | None = None, retry_after: float | None = None, seconds: float | None = None) -> list[dict]:
        """Queue a fault for the next ``count`` requests matching ``path``/``method``.

        kinds: "status" (needs ``status``), "latency" (needs ``seconds``), "drop_before",
        "drop_after", "garbage", "truncated".  Returns the queue.
        """
        body = {"kind": kind, "path": path, "method": method, "count": count, "status": status,
                "retry_after": retry_after, "seconds": seconds}
        return self._call("POST", "/faults", body)["faults"]

    def faults(self) -> list[dict]:
        """The faults still queued."""
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # accounts ------------------------------------------------------------------------
    def add_account(self, token: str, balance: str | Decimal = "450.000") -> None:
        """Create an account (demo senders) -- or, if the token has one, reset its balance."""
        self._call("POST", "/accounts", {"token": token, "balance": str(balance)})

    def set_balance(self, token: str, amount: str | Decimal) -> None:
        """Set an existing account's balance (at most 4 decimals)."""
        self._call("PUT", "/accounts/balance", {"token": token, "balance": str(amount)})

    # statistics ----------------------------------------------------------------------
    def stats(self) -> dict[tuple[str, str], int]:
        """Requests that reached the sandbox (faulted ones too) per (method, route template)."""
        return {(r["method"], r["path"]): r["count"] for r in self._call("GET", "/stats")["requests"]}

    def reset_stats(self) -> None:
        self._call("DELETE", "/stats")

    def countries(self) -> list[dict]:
        """The card's countries with their ``country_id`` (the /rates filter)."""
        return self._call("GET", "/countries")["countries"]
