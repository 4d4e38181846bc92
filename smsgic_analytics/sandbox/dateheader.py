"""The HTTP ``Date`` header from the sandbox clock: an ASGI middleware around the whole app.

RFC 7231 (section 7.1.1.2) has every origin server with a clock send ``Date``, in the
IMF-fixdate form (``Fri, 04 Dec 2026 16:20:00 GMT``).  The sandbox's clock is its own
(frozen, moved or running off wall time), so its answers -- API, errors, faults, controls
-- carry that clock, never the machine's: a client can learn the server's clock offset
from it, as it would from api.smsgic.com.  uvicorn adds a wall-clock Date of its own by
default; ``running()`` turns that off (``date_header=False``) so there is exactly one.
Only what uvicorn answers without the app (a request h11 cannot parse: ``400 Invalid HTTP
request received.``) goes out with no Date at all.
"""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def http_date(instant: datetime) -> str:
    """An aware datetime as an IMF-fixdate, whole seconds (``Fri, 04 Dec 2026 16:20:00 GMT``)."""
    return format_datetime(instant.astimezone(timezone.utc), usegmt=True)


class ServerDate:
    """Sets ``Date`` on every response start to ``now()`` at the moment the answer starts,
    replacing any the app set."""

    def __init__(self, app: Any, now: Callable[[], datetime]) -> None:
        self.app = app
        self.now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", http_date(self.now()).encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dated)
