"""Request limits of the sandbox, enforced at the door by an ASGI middleware.

No request may make the server hold unbounded memory or recurse without bound, and none
may reach a handler past these limits (the answers are the API's error shapes):

* a body larger than ``MAX_BODY_BYTES`` -> ``413 {"message": "The POST data is too large."}``
  (Laravel's PostTooLargeException).  A declared Content-Length is checked before a byte
  of the body is read; a chunked body is counted while it streams and nothing past the
  limit is kept.  Before answering, what the client is still sending is read and dropped
  (at most ``DRAIN_BYTES`` for ``DRAIN_SECONDS``, and never when it waits for
  ``100-continue``): closing a socket with unread data resets the connection, and the
  client, busy sending, would lose the 413 (nginx's "lingering close" for the same reason).
* JSON nested deeper than ``MAX_JSON_DEPTH`` -> ``422 {"message", "errors": {"body": [...]}}``,
  found by a linear byte scan before ``json.loads`` (which recurses once per level and
  crashes with RecursionError near 1,000 levels) ever sees it.  ``load_json`` is the one
  JSON reader of the sandbox: handlers, controls and JSON-in-a-string fields use it.
* a message longer than ``MAX_MESSAGE_CHARS`` (the validators apply it: a 422 naming
  ``message``) -- the body limit alone would let one request price a 4 MB text.
* request headers larger than ``MAX_HEADER_BYTES`` in all -> ``431 {"message": "Request
  Header Fields Too Large"}``.  h11 (uvicorn's parser) refuses the same 16 KiB only when
  the headers arrive in more than one read (then ``400 Invalid HTTP request received.``,
  text, and the connection closed); headers that fit one read (up to 256 KiB) it accepts.
"""
from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import numpy as np

from ..core import spec
from ..text.alphabet import GSM7_PART
from .jsonwire import error

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

# The largest realistic request: one calculate with 100,000 recipients of the longest valid
# number (20 digits), written as Python's json.dumps writes a list ('"...", ' = 24 bytes
# each), with the longest allowed message escaped as \uXXXX (6 bytes a character).
SIZED_FOR_RECIPIENTS = 100_000
MAX_MESSAGE_CHARS = spec.MAX_MESSAGE_PARTS * GSM7_PART  # 39,015: the most GSM-7 characters 255 parts hold
LARGEST_REALISTIC_BODY = SIZED_FOR_RECIPIENTS * len('"12345678901234567890", ') + MAX_MESSAGE_CHARS * 6 + 64
MAX_BODY_BYTES = 4 * 1024 * 1024  # 4 MiB = 1.6 x LARGEST_REALISTIC_BODY (2.64 MB)
MAX_JSON_DEPTH = 32  # the API's bodies are 2 levels deep; json.loads recurses once per level
MAX_HEADER_BYTES = 16 * 1024  # h11's own cap (max_incomplete_event_size), whatever the reads
DRAIN_BYTES = 64 * 1024 * 1024  # read and dropped, never kept, so a refused client hears why
DRAIN_SECONDS = 10.0


class JSONTooDeep(ValueError):
    """The JSON text nests deeper than ``MAX_JSON_DEPTH`` (a ValueError: not JSON we read)."""


# A JSON string, escapes included.  The closing quote is optional so an unterminated string
# swallows the rest in one match: the scan stays linear whatever the input.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
# Openers -> 1, closers -> 255 (-1 as int8): a running sum is the depth at each bracket.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def _utf8_depth(raw: bytes) -> int:
    """The deepest bracket nesting of UTF-8 JSON text, outside strings, in linear time: an
    upper bound of how deep ``json.loads`` would recurse (any bytes give some depth >= 0)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    steps = np.frombuffer(brackets.translate(_STEPS), dtype=np.int8)
    return max(0, int(np.cumsum(steps, dtype=np.int64).max()))


def _as_utf8(data: bytes | str) -> bytes:
    """The text as UTF-8 bytes, in which '"', '\\\\' and brackets never occur inside a
    multi-byte character; UTF-16/32 bodies (``json.loads`` reads those too) are re-encoded."""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    encoding = json.detect_encoding(data)
    if encoding in ("utf-8", "utf-8-sig"):
        return data
    try:
        return data.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
    except UnicodeError:
        return b""  # json.loads cannot decode it either: it fails without recursing


def nested_too_deep(data: bytes | str) -> bool:
    """Whether the text nests past ``MAX_JSON_DEPTH``.  Counting openers first settles the
    usual body (a calculate has two) at C speed; only bracket-heavy ones are scanned."""
    raw = _as_utf8(data)
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False
    return _utf8_depth(raw) > MAX_JSON_DEPTH


def too_deep_message(attribute: str) -> str:
    """The 422 text for JSON nested too deeply in ``attribute`` ("body", "recipients")."""
    return spec.MSG_JSON_TOO_DEEP.format(attribute=attribute, depth=MAX_JSON_DEPTH)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # \uD800-\uDFFF, either half of a pair


def load_json(data: bytes | str) -> Any:
    """``json.loads`` that refuses (``JSONTooDeep``) text nested past ``MAX_JSON_DEPTH``, and
    (``ValueError``, as PHP's json_decode does) a document holding a lone surrogate: a pair of
    escapes is one character, a half of one is not text and could not even be stored."""
    if nested_too_deep(data):
        raise JSONTooDeep(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    # decoded once, as json.loads decodes bytes (UTF-8/16/32, surrogates passed through): a lone
    # surrogate may come escaped, as raw bytes or inside a UTF-16 body
    text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(data, (bytes, bytearray)) else data
    value = json.loads(text)
    if (_SURROGATE_ESCAPE.search(text) or spec.lone_surrogate_at(text) is not None) and _holds_lone_surrogate(value):
        raise ValueError("a lone UTF-16 surrogate in a string: not JSON text PHP reads (JSON_ERROR_UTF16)")
    return value


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether any string of a parsed document (keys included) holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if spec.lone_surrogate_at(item) is not None:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


@dataclass
class Body:
    """What ``read_body`` read.  ``too_large``: it stopped past its limit and ``data`` is
    only the start; ``ended``: no more of the body is coming (or the client left)."""

    data: bytes
    ended: bool
    too_large: bool = False
    disconnected: bool = False


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> Body:
    """Read the request body, but stop as soon as more than ``limit`` bytes have come."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return Body(b"".join(chunks), ended=True, disconnected=True)
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        ended = not message.get("more_body", False)
        if size > limit or ended:
            return Body(b"".join(chunks), ended=ended, too_large=size > limit)


def replay(body: Body, receive: Receive) -> Receive:
    """A ``receive`` that hands the app ``body`` first, then defers to the real one."""
    first = {"type": "http.disconnect"} if body.disconnected else \
        {"type": "http.request", "body": body.data, "more_body": not body.ended}
    pending = [first]

    async def again() -> dict:
        return pending.pop() if pending else await receive()

    return again


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope.get("headers", []) if key == name), None)


def _declared_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None  # h11 refuses a malformed Content-Length before we see it


async def _drop_rest(receive: Receive) -> None:
    """Read and drop the rest of the body, within DRAIN_BYTES and DRAIN_SECONDS."""
    async def drain() -> None:
        dropped = 0
        while dropped <= DRAIN_BYTES:
            message = await receive()
            dropped += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    try:
        await asyncio.wait_for(drain(), DRAIN_SECONDS)
    except asyncio.TimeoutError:
        pass  # a client that drips forever gets its answer anyway


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str, *,
                  more_coming: bool = True) -> None:
    """Answer ``status``, after dropping what the client still sends (unless it awaits 100-continue)."""
    if more_coming and (_header(scope, b"expect") or b"").lower() != b"100-continue":
        await _drop_rest(receive)
    await error(status, message)(scope, receive, send)


def _header_bytes(scope: Scope) -> int:
    """The size of the request's header lines as sent ("name: value\\r\\n")."""
    return sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))


def too_deep() -> Any:
    text = too_deep_message("body")
    return error(422, text, {"body": [text]})


class RequestLimits:
    """Answers 431/413/422 for oversized headers or body or too deep JSON; else passes the
    request on, its body read."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _header_bytes(scope) > MAX_HEADER_BYTES:
            await _refuse(scope, receive, send, 431, spec.MSG_HEADERS_TOO_LARGE)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > MAX_BODY_BYTES:
            await _refuse(scope, receive, send, 413, spec.MSG_POST_TOO_LARGE)  # not a byte of the body kept
            return
        body = await read_body(receive)
        if body.disconnected:
            return  # nobody is left to answer
        if body.too_large:
            await _refuse(scope, receive, send, 413, spec.MSG_POST_TOO_LARGE, more_coming=not body.ended)
        elif nested_too_deep(body.data):
            await too_deep()(scope, receive, send)
        else:
            await self.app(scope, replay(body, receive), send)
