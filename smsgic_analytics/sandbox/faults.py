"""Fault injection and request statistics: an ASGI middleware around the sandbox app.

A fault is queued for the next ``count`` requests matching ``path`` (exact, or a prefix
ending at a "/" boundary: "/sendings" matches "/sendings", "/sendings/calculate" and
"/sendings/301"; with ``exact`` only the path itself) and optionally ``method``.  What a ``requests`` client sees, checked by
tests/integration/test_sandbox_faults.py:

``status``       the request is not handled; the answer is ``status`` with a Laravel body
                 (``{"message": "Service Unavailable"}`` for 503, "Too Many Attempts." for
                 429, "Server Error" for 500, the HTTP reason phrase otherwise) and a
                 ``Retry-After`` header when ``retry_after`` is given (429 always has one,
                 default 1 s).  -> a normal ``Response`` with that status.
``latency``      waits ``seconds`` and then handles the request normally.  A client whose
                 read timeout is shorter gets ``requests.exceptions.ReadTimeout`` -- and the
                 request is STILL handled (and committed) when the wait is over.
``drop_before``  the connection is closed before the request is handled: nothing is
                 committed.  -> ``requests.exceptions.ConnectionError`` ("Remote end closed
                 connection without response").
``drop_after``   the request is handled and committed; the status line, headers (with the
                 full Content-Length) and half of the body are sent, then the connection is
                 closed.  -> ``requests.exceptions.ChunkedEncodingError`` (a
                 ``ConnectionError`` subclass is NOT what you get: catch
                 ``requests.exceptions.RequestException``), from urllib3's IncompleteRead.
``garbage``      the request is not handled; the answer is 200 ``text/html`` that is not
                 JSON.  -> ``Response.json()`` raises ``requests.exceptions.JSONDecodeError``.
``truncated``    the request is handled and committed; the answer keeps its status and
                 headers but only the first half of its JSON body, with a Content-Length
                 that matches the cut.  -> ``Response.json()`` raises JSONDecodeError.

Statistics count every request outside ``/__sandbox__/`` that reaches the server, faulted
or not, per (method, route template) such as ("GET", "/sendings/{id}").  Requests to no
route share the template ``UNMATCHED`` and unusual methods the method ``OTHER``, so that
random URLs cannot grow the counters without bound.

Fault fields are range-checked where they arrive, in ``admin_rules.fault_from``.
"""
from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any, Awaitable, Callable

from starlette.routing import Match

from ..core import spec
from .jsonwire import error
from .limits import read_body, replay

KINDS = ("status", "latency", "drop_before", "drop_after", "garbage", "truncated")
ADMIN_PREFIX = "/__sandbox__"
UNMATCHED = "(no route)"
OTHER = "OTHER"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
GARBAGE_BODY = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


@dataclass
class Fault:
    """One queued fault; its fields arrive checked (``admin_rules.fault_from``)."""

    kind: str
    path: str | None = None
    method: str | None = None
    count: int = 1
    status: int | None = None
    retry_after: float | None = None
    seconds: float | None = None
    exact: bool = False  # match ``path`` only, not the paths below it

    def __post_init__(self) -> None:
        self.method = self.method.upper() if self.method else None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        if self.path is None:
            return True
        if self.exact:
            return path == self.path
        prefix = self.path.rstrip("/")
        return path == self.path or path.startswith(prefix + "/")


class FaultQueue:
    """Queued faults (first match wins) and per-route request counts; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._stats: Counter[tuple[str, str]] = Counter()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def count(self, method: str, template: str) -> None:
        with self._lock:
            self._stats[(method, template)] += 1

    def stats(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._stats)

    def reset_stats(self) -> None:
        with self._lock:
            self._stats.clear()


def status_body_message(status: int) -> str:
    """The message Laravel would put in a bare error of this status."""
    laravel = {401: spec.MSG_UNAUTHENTICATED, 429: spec.MSG_TOO_MANY_ATTEMPTS, 500: spec.MSG_SERVER_ERROR}
    if status in laravel:
        return laravel[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # an unassigned code such as 599
        return "Error"


class FaultMiddleware:
    """Counts requests and plays the queued faults; everything else passes straight through."""

    def __init__(self, app: Any, faults: FaultQueue, routes: list[Any] | None = None) -> None:
        self.app = app
        self.faults = faults
        self.routes = routes if routes is not None else getattr(app, "routes", [])

    def _template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match in (Match.FULL, Match.PARTIAL):
                return route.path
        return UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.faults.count(method if method in METHODS else OTHER, self._template(scope))
        fault = self.faults.take(method, path)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "status":
            headers = {}
            retry_after = fault.retry_after if fault.retry_after is not None else (1 if fault.status == 429 else None)
            if retry_after is not None:
                headers["Retry-After"] = _seconds(retry_after)
            await error(fault.status or 500, status_body_message(fault.status or 500), headers=headers)(scope, receive, send)
        elif fault.kind == "latency":
            # Read the request first: a client that times out meanwhile must not stop the
            # (slow) server from handling it, which is the case this fault exists to test.
            # Past the body limit reading stops: the limits behind answer 413 anyway.
            body = await read_body(receive)
            await asyncio.sleep(fault.seconds or 0)
            await self.app(scope, replay(body, receive), send)
        elif fault.kind == "drop_before":
            await _abort(receive)
        elif fault.kind == "garbage":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                    (b"content-length", str(len(GARBAGE_BODY)).encode())]})
            await send({"type": "http.response.body", "body": GARBAGE_BODY})
        else:  # drop_after, truncated: handle (and commit) first, then spoil the answer
            start, body = await _capture(self.app, scope, receive)
            half = body[: len(body) // 2]
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            if fault.kind == "truncated":
                headers.append((b"content-length", str(len(half)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": half})
            else:
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": half, "more_body": True})
                await _abort(receive)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


async def _capture(app: Any, scope: Scope, receive: Receive) -> tuple[dict, bytes]:
    """Run the app to completion and return its response start message and whole body."""
    start: dict = {}
    chunks: list[bytes] = []

    async def capture(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return start, b"".join(chunks)


async def _abort(receive: Receive) -> None:
    """Close the client connection at once, whatever has been sent so far.

    ASGI has no "abort" message, so this reaches uvicorn's transport through its bound
    ``receive``; then it yields to the loop so uvicorn sees the disconnect and does not try
    to answer (or log) on its own.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("connection faults need the sandbox's own uvicorn server (h11)")
    transport.close()
    for _ in range(3):
        await asyncio.sleep(0)
