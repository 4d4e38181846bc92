"""Request limits of the sandbox, over real HTTP: oversized bodies get 413 before they are
read, JSON nested too deeply gets 422 before it is parsed, and neither reaches a handler.

Regressions of issue #11: a 100,000-level body answered 500 (RecursionError), a 50 MB body
was read whole and a 5 MB message was priced.

The limits checked are typed by hand in ``tests/by_hand.py`` from the sandbox README, never
imported from ``sandbox/limits.py``: a limit changed there by accident fails here.
"""
from __future__ import annotations

import http.client
import json
import socket
import time
from urllib.parse import urlsplit

import api_doc
import by_hand
import pytest
import requests
from by_hand import MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_JSON_DEPTH, MAX_MESSAGE_CHARS
from by_hand import REALISTIC_BODY_BYTES as LARGEST_REALISTIC_BODY
from by_hand import REALISTIC_RECIPIENTS as SIZED_FOR_RECIPIENTS

from smsgic_analytics.core import spec
from smsgic_analytics.sandbox.faults import OTHER, UNMATCHED

GOOD = "4591234567"
TOO_LARGE = {"message": by_hand.POST_TOO_LARGE}
DEEP = 100_000


def deep_text(attribute: str) -> str:
    return by_hand.too_deep(attribute=attribute, depth=MAX_JSON_DEPTH)


def post(url: str, path: str, data, token: str = "demo-token", **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **kw.pop("headers", {})}
    return requests.post(url + path, data=data, headers=headers, timeout=kw.pop("timeout", 60), **kw)


def nested(depth: int) -> bytes:
    """``{"message": "m", "recipients": [[...]]}`` whose deepest bracket is ``depth`` levels down."""
    return b'{"message":"m","recipients":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize("method,path", [("POST", spec.CALCULATE), ("POST", spec.SENDINGS), ("GET", spec.RATES)])
def test_a_body_nested_100000_levels_is_a_422_not_a_crash(sandbox_url, method, path):
    body = b'{"message":"m","recipients":' + b"[" * DEEP + b"]" * DEEP + b"}"
    response = requests.request(method, sandbox_url + path, data=body, timeout=60,
                                headers={"Authorization": "Bearer demo-token", "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"message": deep_text("body"), "errors": {"body": [deep_text("body")]}}


def test_the_depth_limit_is_exact_and_refused_bodies_never_reach_a_handler(sandbox_factory):
    # calculate counts an attempt before it validates: a refused body must not count.
    url, _ = sandbox_factory(calculate_per_minute=2)
    for _ in range(3):
        assert post(url, spec.CALCULATE, nested(MAX_JSON_DEPTH + 1)).status_code == 422
    at_limit = post(url, spec.CALCULATE, nested(MAX_JSON_DEPTH))  # reaches the validator
    assert at_limit.status_code == 422 and list(at_limit.json()["errors"]) == ["recipients.0"]
    assert post(url, spec.CALCULATE, json.dumps({"message": "m", "recipients": [GOOD]})).status_code == 200
    assert post(url, spec.CALCULATE, json.dumps({"message": "m", "recipients": [GOOD]})).status_code == 429


def test_brackets_inside_strings_do_not_count(sandbox_url):
    message = '[{"' * 1000 + "\\" + "]"  # 3,002 characters of brackets, quotes and a backslash
    response = post(sandbox_url, spec.CALCULATE, json.dumps({"message": message, "recipients": [GOOD]}))
    assert response.status_code == 200, response.text


def test_deep_json_inside_the_recipients_string_is_a_422(sandbox_url, fresh_token):
    before = post(sandbox_url, spec.SENDINGS, b"{}", fresh_token)  # nothing sent yet
    assert before.status_code == 422
    body = json.dumps({"message": "m", "sender": "INFO", "recipients": "[" * DEEP + "]" * DEEP})
    response = post(sandbox_url, spec.SENDINGS, body, fresh_token)
    assert response.status_code == 422
    assert response.json()["errors"] == {"recipients": [deep_text("recipients")]}
    listed = requests.get(sandbox_url + spec.SENDINGS, headers={"Authorization": f"Bearer {fresh_token}"}, timeout=30)
    assert listed.json() == {"sendings": []}


def test_a_50_mb_body_gets_413_at_once_and_the_connection_still_serves(sandbox_url):
    with requests.Session() as session:
        started = time.monotonic()
        response = session.post(sandbox_url + spec.CALCULATE, data=b" " * 50_000_000, timeout=60,
                                headers={"Authorization": "Bearer demo-token", "Content-Type": "application/json"})
        assert response.status_code == 413 and response.json() == TOO_LARGE
        assert time.monotonic() - started < 30
        assert session.get(sandbox_url + spec.STATUS, timeout=10).json() == api_doc.STATUS_OK


def test_a_chunked_body_is_cut_off_past_the_limit(sandbox_url):
    def chunks():  # 50 MB with no Content-Length: the server has to count
        for _ in range(800):
            yield b" " * 65_536

    response = post(sandbox_url, spec.CALCULATE, chunks())
    assert response.status_code == 413 and response.json() == TOO_LARGE
    assert "content-length" not in {k.lower() for k in response.request.headers}


def test_a_chunked_body_crossing_the_limit_in_its_last_chunk_is_413(sandbox_url):
    head = json.dumps({"message": "m", "recipients": [GOOD], "pad": ""}).encode()
    pieces = [head[:-2] + b" " * (MAX_BODY_BYTES - len(head)), b"  " + head[-2:]]  # MAX + 2 bytes
    response = post(sandbox_url, spec.CALCULATE, iter(pieces))
    assert response.status_code == 413 and response.json() == TOO_LARGE


def test_a_client_awaiting_100_continue_gets_413_without_sending_the_body(sandbox_url):
    parts = urlsplit(sandbox_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"POST {spec.CALCULATE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-token\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {50_000_000}\r\n"
                     f"Expect: 100-continue\r\n\r\n".encode())
        answer = http.client.HTTPResponse(sock)  # no body sent: only a final answer can come
        answer.begin()
        assert answer.status == 413 and json.loads(answer.read()) == TOO_LARGE


def raw_get(url: str, header_lines: list[str]) -> tuple[int, bytes]:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall((f"GET {spec.STATUS} HTTP/1.1\r\n" + "".join(h + "\r\n" for h in header_lines) + "\r\n").encode())
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, answer.read()


def test_the_header_limit_is_exact(sandbox_url):
    # Counted as "name: value\r\n" per line: "host: x" takes 9 bytes, "x-pad: " + CRLF 9 more.
    room = MAX_HEADER_BYTES - 18
    assert raw_get(sandbox_url, ["Host: x", "X-Pad: " + "a" * room]) == (200, b'["OK"]')
    status, body = raw_get(sandbox_url, ["Host: x", "X-Pad: " + "a" * (room + 1)])
    assert (status, json.loads(body)) == (431, {"message": by_hand.HEADERS_TOO_LARGE})
    status, body = raw_get(sandbox_url, ["Host: x"] + [f"X-Header-{i}: {'v' * 40}" for i in range(1000)])
    assert (status, json.loads(body)) == (431, {"message": by_hand.HEADERS_TOO_LARGE})


def test_the_body_limit_is_exact(sandbox_url):
    def padded(size: int) -> bytes:
        head = json.dumps({"message": "m", "recipients": [GOOD], "pad": ""}).encode()
        body = head[:-2] + b" " * (size - len(head)) + head[-2:]
        assert len(body) == size
        return body

    assert post(sandbox_url, spec.CALCULATE, padded(MAX_BODY_BYTES)).status_code == 200
    too_big = post(sandbox_url, spec.CALCULATE, padded(MAX_BODY_BYTES + 1))
    assert too_big.status_code == 413 and too_big.json() == TOO_LARGE


def test_a_5_mb_message_is_refused_by_the_size_limit(sandbox_url):
    response = post(sandbox_url, spec.CALCULATE, json.dumps({"message": "a" * 5_000_000, "recipients": [GOOD]}))
    assert response.status_code == 413 and response.json() == TOO_LARGE


def test_the_message_length_limit_is_exact(sandbox_url):
    longest = post(sandbox_url, spec.CALCULATE, json.dumps({"message": "a" * MAX_MESSAGE_CHARS, "recipients": [GOOD]}))
    assert longest.status_code == 200 and longest.json()["calculate"]["info"]["sms_count"] == 255
    text = by_hand.message_too_long(MAX_MESSAGE_CHARS)
    for path, extra in ((spec.CALCULATE, {}), (spec.SENDINGS, {"sender": "INFO"})):
        body = json.dumps({"message": "a" * (MAX_MESSAGE_CHARS + 1), "recipients": [GOOD], **extra})
        response = post(sandbox_url, path, body)
        assert response.status_code == 422 and response.json() == {"message": text, "errors": {"message": [text]}}


def test_the_largest_realistic_calculate_fits_with_headroom(sandbox_url):
    # 100,000 of the longest numbers the API accepts, as requests/json.dumps writes them.
    recipients = [f"{44_7400_000000 + i:020d}" for i in range(SIZED_FOR_RECIPIENTS)]
    body = json.dumps({"message": "m" * MAX_MESSAGE_CHARS, "recipients": recipients}).encode()
    assert len(body) <= LARGEST_REALISTIC_BODY and LARGEST_REALISTIC_BODY * 3 // 2 <= MAX_BODY_BYTES
    response = post(sandbox_url, spec.CALCULATE, body, timeout=300)
    assert response.status_code == 200
    assert sum(len(d["numbers"]) for d in response.json()["calculate"]["destinations"]) == SIZED_FOR_RECIPIENTS


def test_random_urls_and_methods_share_one_statistics_row(sandbox, sandbox_url):
    # One counter per distinct URL would let a stream of random URLs grow the server's memory.
    sandbox.reset_stats()
    for i in range(50):
        requests.get(f"{sandbox_url}/no-such-route-{i}", timeout=10)
        requests.request(f"BREW{i}", sandbox_url + spec.STATUS, timeout=10)
    counts = sandbox.stats()
    assert counts[("GET", UNMATCHED)] == 50
    assert counts[(OTHER, spec.STATUS)] == 50
    assert len(counts) == 2
