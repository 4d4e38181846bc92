"""Schemathesis against the sandbox's /openapi.json: generated requests (valid and invalid)
never get a 5xx, and every 4xx has the documented Laravel shape.  The same generated
requests are then spoiled in hostile ways -- nested 100,000 levels deep, past the body
limit (declared or chunked), huge or many headers, unicode in header names and values,
wrong content types, bodies that are not UTF-8 -- and sent as raw bytes over a socket
with a timeout: none gets a 5xx or hangs, and each answers as the sandbox README's limits say
(typed by hand in ``tests/by_hand.py``, not imported from ``sandbox/limits.py``).

Why not ``@schema.parametrize()``: schemathesis 4.32's pytest plugin reads
``request.node._nodeid``, which pytest 9 no longer has.  The same generation runs here
through schemathesis' Python API (``operation.as_strategy`` + Hypothesis ``@given``),
one test per documented operation and generation mode, bounded by ``MAX_EXAMPLES`` each.
"""
from __future__ import annotations

import http.client
import json
import socket
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import api_doc
import by_hand
import pytest
import requests
import schemathesis
from by_hand import MAX_BODY_BYTES, MAX_JSON_DEPTH
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from smsgic_analytics.core import spec

TOKEN = "fuzz-token"
# Each example is a real HTTP request: a tenth of the Hypothesis profile's budget (tests/conftest.py;
# 20 under ``ci``, 200 under ``thorough``).
MAX_EXAMPLES = max(1, settings.default.max_examples // 10)
OPERATIONS = [("GET", spec.STATUS), ("GET", spec.BALANCE), ("GET", spec.SENDERS), ("GET", spec.RATES),
              ("POST", spec.CALCULATE), ("GET", spec.SENDINGS), ("POST", spec.SENDINGS), ("GET", spec.SENDING)]


def check_error_body(where: str, status: int, content_type: str, content: bytes) -> None:
    """A 4xx is JSON ``{"message": str, ...}``; a 422 also carries ``errors``, a dict of lists
    of strings; a 401 says exactly "Unauthenticated."."""
    assert content_type.startswith("application/json"), f"{where}: content-type {content_type!r}"
    body = json.loads(content)
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], \
        f"{where}: body {body!r} lacks a message string"
    if status == 401:
        assert body["message"] == api_doc.UNAUTHENTICATED, f"{where}: {body!r}"
    if status == 422:
        errors = body.get("errors")
        assert isinstance(errors, dict) and errors, f"{where}: 422 without an errors object: {body!r}"
        for field, texts in errors.items():
            assert isinstance(texts, list) and texts and all(isinstance(t, str) and t for t in texts), \
                f"{where}: errors[{field!r}] = {texts!r} is not a list of messages"


def documented_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schemathesis check: every 4xx passes ``check_error_body``."""
    status = response.status_code
    if not 400 <= status < 500:
        return None
    # schemathesis' Response keeps every header as a list of values
    content_type = " ".join(response.headers.get("content-type", []))
    check_error_body(f"{case.method} {case.formatted_path} -> {status}", status, content_type, response.content)
    return True


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A private sandbox (a frozen clock, its own db): fuzzed sends must not touch other tests' accounts."""
    from smsgic_analytics.sandbox import running

    db = tmp_path_factory.mktemp("fuzz") / "sandbox.sqlite"
    with running(tokens=(TOKEN,), db=db, seed=0, clock="2024-01-01T12:00:00Z") as url:
        yield schemathesis.openapi.from_url(url + "/openapi.json"), url


def test_the_schema_lists_exactly_the_documented_operations(api):
    schema, _ = api
    listed = {(op.method.upper(), op.path) for op in (r.ok() for r in schema.get_all_operations())}
    assert listed == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_get_no_5xx_and_documented_4xx(api, method, path, mode):
    schema, url = api
    operation = schema[path][method]
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if (method, path, mode) == ("POST", spec.SENDINGS, GenerationMode.POSITIVE) and isinstance(case.body, dict):
            # Generated senders are random text, never an approved one: use the documented
            # default sender so valid bodies reach the create-and-debit path too.
            case.body["sender"] = api_doc.request_body("POST", spec.SENDINGS)["sender"]  # "INFO"
        # A valid Bearer token on every request (negative cases may still spoil it: 401 is checked too).
        response = case.call(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error, documented_error_shape])

    try:
        run()
    except Unsatisfiable:
        # GET /status has no parameters, body or auth: there is nothing to make invalid.
        assert (mode, path) == (GenerationMode.NEGATIVE, spec.STATUS), f"{method} {path}: no {mode.value} example"
        return
    assert statuses, f"{method} {path}: no request was made"
    assert not any(s >= 500 for s in statuses)
    print(f"{method} {path} {mode.value}: {dict(sorted(statuses.items()))}")


# -- hostile requests ---------------------------------------------------------------------

# Generated requests spoiled per operation and hostility, 1 request each: a fiftieth of the
# profile's budget (4 under ``ci``, 40 under ``thorough``).
HOSTILE_EXAMPLES = max(1, settings.default.max_examples // 50)
SOCKET_TIMEOUT = 30.0  # s, on every connect, send and read: a hang fails the test
HOSTILE_TIME_LIMIT = 120  # s for one test (pytest-timeout)
DEEP = 100_000
WRONG_CONTENT_TYPES = ["text/plain", "application/xml", "multipart/form-data; boundary=x",
                       "application/x-www-form-urlencoded", "application/json; charset=utf-16", None]


class Raw:
    """One HTTP/1.1 request as bytes, built from a generated case and then spoiled."""

    def __init__(self, prepared: requests.PreparedRequest) -> None:
        self.method = prepared.method or "GET"
        self.target = prepared.path_url
        self.headers: list[tuple[bytes, bytes]] = [
            (k.encode(), v.encode("latin-1")) for k, v in prepared.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        body = prepared.body or b""
        self.body = body.encode() if isinstance(body, str) else body
        self.chunked = False

    def set_header(self, name: bytes, value: bytes | None) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        if value is not None:
            self.headers.append((name, value))

    def pieces(self) -> Iterable[bytes]:
        framing = [(b"Transfer-Encoding", b"chunked")] if self.chunked else [(b"Content-Length", str(len(self.body)).encode())]
        head = [f"{self.method} {self.target} HTTP/1.1".encode(), b"Host: sandbox", b"Connection: close"]
        head += [k + b": " + v for k, v in self.headers + framing]
        yield b"\r\n".join(head) + b"\r\n\r\n"
        if not self.chunked:
            yield self.body
            return
        for start in range(0, len(self.body), 65_536):
            chunk = self.body[start:start + 65_536]
            yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        yield b"0\r\n\r\n"


def exchange(url: str, raw: Raw) -> "Answer":
    """Send ``raw``; (status, content type, body), or None when the server closed the
    connection without an answer.  A timeout raises: the server hung."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT) as sock:
        try:
            for piece in raw.pieces():
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may have answered early and stopped reading: read what it said
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            return response.status, response.getheader("content-type", ""), response.read()
        except (ConnectionResetError, http.client.RemoteDisconnected, http.client.IncompleteRead):
            return None


def deep(raw: Raw, _: Any) -> None:
    raw.body = b'{"message":"m","recipients":' + b"[" * DEEP + b"]" * DEEP + b"}"
    raw.set_header(b"Content-Type", b"application/json")


def oversize(raw: Raw, _: Any) -> None:
    raw.body = raw.body + b" " * (MAX_BODY_BYTES + 1 - len(raw.body))


def oversize_chunked(raw: Raw, _: Any) -> None:
    oversize(raw, _)
    raw.chunked = True


def huge_header(raw: Raw, _: Any) -> None:
    raw.set_header(b"X-Padding", b"a" * 100_000)


def many_headers(raw: Raw, _: Any) -> None:
    raw.headers += [(f"X-Header-{i}".encode(), b"v" * 40) for i in range(2_000)]


def unicode_header_values(raw: Raw, _: Any) -> None:
    raw.set_header(b"X-Note", "naïve ✨ ü".encode())
    raw.set_header(b"Authorization", "Bearer tökén✨".encode())
    raw.set_header(b"Accept-Language", "ру́сский".encode())


def unicode_header_name(raw: Raw, _: Any) -> None:
    raw.set_header("X-Ünïcødé✨".encode(), b"1")


def wrong_content_type(raw: Raw, content_type: str | None) -> None:
    raw.set_header(b"Content-Type", None if content_type is None else content_type.encode())
    if content_type and "utf-16" in content_type:
        raw.body = raw.body.decode().encode("utf-16")
    elif content_type == "application/x-www-form-urlencoded":
        raw.body = b"message=hi&recipients[]=4591234567"


def not_utf8(raw: Raw, _: Any) -> None:
    raw.body = b'{"message":"\xff\xfe\xc3","recipients":["\xc3\x28"]}'
    raw.set_header(b"Content-Type", b"application/json")


Answer = tuple[int, str, bytes] | None  # (status, content type, body); None: closed unanswered


def exactly(status: int, body: dict) -> Callable[[str, Answer], None]:
    def check(where: str, answer: Answer) -> None:
        assert answer is not None, f"{where}: the connection closed without an answer"
        assert (answer[0], json.loads(answer[2])) == (status, body), f"{where}: {answer}"
    return check


def documented(where: str, answer: Answer) -> None:
    """Any answer below 500; a 4xx in the documented error shape."""
    assert answer is not None, f"{where}: the connection closed without an answer"
    status, content_type, content = answer
    assert status < 500, f"{where} -> {status}: {content[:200]!r}"
    if status >= 400:
        check_error_body(f"{where} -> {status}", status, content_type, content)


def header_refusal(where: str, answer: Answer) -> None:
    """The limits' 431, or -- when h11 saw the headers over several reads, or their names
    are not tokens -- h11's ``400 Invalid HTTP request received.`` or a closed connection."""
    if answer is None or answer[0] == 400 and answer[1].startswith("text/plain"):
        return
    exactly(431, {"message": by_hand.HEADERS_TOO_LARGE})(where, answer)


TOO_DEEP_TEXT = by_hand.too_deep(attribute="body", depth=MAX_JSON_DEPTH)
HOSTILITIES: dict[str, tuple[Callable[[Raw, Any], None], Callable[[str, Answer], None]]] = {
    "deep nesting": (deep, exactly(422, {"message": TOO_DEEP_TEXT, "errors": {"body": [TOO_DEEP_TEXT]}})),
    "oversize body": (oversize, exactly(413, {"message": by_hand.POST_TOO_LARGE})),
    "oversize chunked body": (oversize_chunked, exactly(413, {"message": by_hand.POST_TOO_LARGE})),
    "huge header": (huge_header, header_refusal),
    "many headers": (many_headers, header_refusal),
    "unicode header values": (unicode_header_values, documented),
    "unicode header name": (unicode_header_name, header_refusal),
    "wrong content type": (wrong_content_type, documented),
    "body not UTF-8": (not_utf8, documented),
}


@pytest.mark.timeout(HOSTILE_TIME_LIMIT)
@pytest.mark.parametrize("hostility", list(HOSTILITIES))
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_hostile_requests_get_no_5xx_and_never_hang(api, method, path, hostility):
    schema, url = api
    spoil, check = HOSTILITIES[hostility]
    outcomes: Counter[int | None] = Counter()

    @given(case=schema[path][method].as_strategy(generation_mode=GenerationMode.POSITIVE),
           content_type=st.sampled_from(WRONG_CONTENT_TYPES))
    @settings(max_examples=HOSTILE_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any, content_type: str | None) -> None:
        kwargs = case.as_transport_kwargs(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"})
        raw = Raw(requests.Request(**kwargs).prepare())
        spoil(raw, content_type)
        answer = exchange(url, raw)
        outcomes[answer and answer[0]] += 1
        check(f"{method} {raw.target} ({hostility})", answer)

    run()
    assert 0 < sum(outcomes.values()) <= HOSTILE_EXAMPLES
    assert requests.get(url + spec.STATUS, timeout=10).json() == api_doc.STATUS_OK  # still serving
    print(f"{method} {path} {hostility}: {dict(outcomes)}")
