"""Fault injection: each kind does what faults.py documents, as a ``requests`` client sees it."""
from __future__ import annotations

import time

import by_hand
import pytest
import requests

from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControlError

SEND = {"message": "fault", "recipients": ["4591234567"], "sender": "MEGA"}


def call(url, method, path, token, **kw) -> requests.Response:
    kw.setdefault("timeout", 30)
    return requests.request(method, url + path, headers={"Authorization": f"Bearer {token}"}, **kw)


def history(url, token) -> list[dict]:
    return call(url, "GET", spec.SENDINGS, token).json()["sendings"]


def balance(url, token) -> str:
    return call(url, "GET", spec.BALANCE, token).json()["balance"]


def test_status_fault_answers_laravel_body_for_count_requests(sandbox, sandbox_url, fresh_token):
    sandbox.inject("status", path=spec.BALANCE, status=503, count=2)
    for _ in range(2):
        response = call(sandbox_url, "GET", spec.BALANCE, fresh_token)
        assert response.status_code == 503
        assert response.json() == {"message": "Service Unavailable"}
        assert "Retry-After" not in response.headers
    assert call(sandbox_url, "GET", spec.BALANCE, fresh_token).status_code == 200
    assert sandbox.faults() == []


def test_status_429_fault_carries_retry_after(sandbox, sandbox_url, fresh_token):
    sandbox.inject("status", path=spec.CALCULATE, status=429, retry_after=7)
    response = call(sandbox_url, "POST", spec.CALCULATE, fresh_token, json={"message": "m", "recipients": ["4591234567"]})
    assert response.status_code == 429
    assert response.json() == {"message": by_hand.TOO_MANY_ATTEMPTS}
    assert response.headers["Retry-After"] == "7"
    sandbox.inject("status", path=spec.CALCULATE, status=500)
    crashed = call(sandbox_url, "POST", spec.CALCULATE, fresh_token, json={"message": "m", "recipients": ["4591234567"]})
    assert crashed.status_code == 500 and crashed.json() == {"message": by_hand.SERVER_ERROR}


def test_faults_match_by_method_and_path_prefix(sandbox, sandbox_url, fresh_token):
    sandbox.inject("status", path="/sendings", method="post", status=502)
    assert call(sandbox_url, "GET", spec.SENDINGS, fresh_token).status_code == 200  # other method
    assert call(sandbox_url, "GET", spec.BALANCE, fresh_token).status_code == 200  # other path
    response = call(sandbox_url, "POST", spec.CALCULATE, fresh_token, json={"message": "m", "recipients": ["4591234567"]})
    assert response.status_code == 502 and response.json() == {"message": "Bad Gateway"}  # prefix match
    sandbox.inject("status", path="/send", status=503)  # not a "/" boundary: never matches /sendings
    assert call(sandbox_url, "GET", spec.SENDINGS, fresh_token).status_code == 200
    sandbox.clear_faults()
    assert sandbox.faults() == []


def test_an_exact_fault_matches_its_path_alone(sandbox, sandbox_url, fresh_token):
    sandbox.inject("status", path=spec.SENDINGS, method="POST", status=503, exact=True)
    priced = call(sandbox_url, "POST", spec.CALCULATE, fresh_token, json={"message": "m", "recipients": ["4591234567"]})
    assert priced.status_code == 200  # /sendings/calculate is below /sendings: not matched
    assert call(sandbox_url, "POST", spec.SENDINGS, fresh_token, json=SEND).status_code == 503
    assert sandbox.faults() == []
    with pytest.raises(SandboxControlError, match="exact"):
        sandbox._call("POST", "/faults", {"kind": "drop_before", "path": "/sendings", "exact": "yes"})


def test_status_fault_commits_nothing(sandbox, sandbox_url, fresh_token):
    sandbox.inject("status", path=spec.SENDINGS, method="POST", status=503)
    assert call(sandbox_url, "POST", spec.SENDINGS, fresh_token, json=SEND).status_code == 503
    assert history(sandbox_url, fresh_token) == [] and balance(sandbox_url, fresh_token) == "450.000"


def test_latency_fault_delays_then_handles(sandbox, sandbox_url, fresh_token):
    sandbox.inject("latency", path=spec.BALANCE, seconds=0.2)
    assert call(sandbox_url, "GET", spec.BALANCE, fresh_token).json()["balance"] == "450.000"
    # a client that gives up early sees a timeout -- and the send still happens afterwards
    sandbox.inject("latency", path=spec.SENDINGS, method="POST", seconds=1.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(sandbox_url, "POST", spec.SENDINGS, fresh_token, json=SEND, timeout=0.3)
    deadline = time.monotonic() + 20
    while not history(sandbox_url, fresh_token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(history(sandbox_url, fresh_token)) == 1


def test_drop_before_closes_without_answer_and_commits_nothing(sandbox, sandbox_url, fresh_token):
    sandbox.inject("drop_before", path=spec.SENDINGS, method="POST")
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        call(sandbox_url, "POST", spec.SENDINGS, fresh_token, json=SEND)
    assert "without response" in str(caught.value) or "aborted" in str(caught.value).lower()
    assert history(sandbox_url, fresh_token) == [] and balance(sandbox_url, fresh_token) == "450.000"
    with requests.Session() as session:  # a pooled keep-alive connection is dropped the same way
        session.headers["Authorization"] = f"Bearer {fresh_token}"
        assert session.get(sandbox_url + spec.BALANCE, timeout=10).status_code == 200
        sandbox.inject("drop_before", path=spec.BALANCE)
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(sandbox_url + spec.BALANCE, timeout=10)
        assert session.get(sandbox_url + spec.BALANCE, timeout=10).status_code == 200


def test_drop_after_commits_then_breaks_the_answer(sandbox, sandbox_url, fresh_token):
    sandbox.inject("drop_after", path=spec.SENDINGS, method="POST")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        call(sandbox_url, "POST", spec.SENDINGS, fresh_token, json=SEND)
    assert len(history(sandbox_url, fresh_token)) == 1
    assert balance(sandbox_url, fresh_token) != "450.000"
    # stream=True shows the status line arrived before the connection broke
    sandbox.inject("drop_after", path=spec.BALANCE)
    response = call(sandbox_url, "GET", spec.BALANCE, fresh_token, stream=True)
    assert response.status_code == 200 and int(response.headers["Content-Length"]) > 0
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        response.content


def test_garbage_is_200_html_and_commits_nothing(sandbox, sandbox_url, fresh_token):
    sandbox.inject("garbage", path=spec.SENDINGS, method="POST")
    response = call(sandbox_url, "POST", spec.SENDINGS, fresh_token, json=SEND)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert history(sandbox_url, fresh_token) == []


def test_truncated_is_half_the_json_and_commits(sandbox, sandbox_url, fresh_token):
    sandbox.inject("truncated", path=spec.SENDINGS, method="POST")
    response = call(sandbox_url, "POST", spec.SENDINGS, fresh_token, json=SEND)
    assert response.status_code == 200
    assert response.text.startswith('{"message":"SMS champing') and int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert len(history(sandbox_url, fresh_token)) == 1


def test_stats_count_requests_per_route_template_including_faulted(sandbox, sandbox_url, fresh_token):
    sandbox.reset_stats()
    sandbox.inject("status", path=spec.BALANCE, status=503)
    for _ in range(3):
        call(sandbox_url, "GET", spec.BALANCE, fresh_token)
    call(sandbox_url, "GET", "/sendings/301", fresh_token)
    call(sandbox_url, "GET", "/sendings/999", fresh_token)
    call(sandbox_url, "GET", spec.STATUS, None)
    sandbox.now()  # control calls are not counted
    counts = sandbox.stats()
    assert counts[("GET", spec.BALANCE)] == 3
    assert counts[("GET", spec.SENDING)] == 2
    assert counts[("GET", spec.STATUS)] == 1
    assert not [key for key in counts if key[1].startswith("/__sandbox__")]
    sandbox.reset_stats()
    assert sandbox.stats() == {}


@pytest.mark.parametrize("kwargs", [
    {"kind": "explode"},
    {"kind": "status"},
    {"kind": "status", "status": 200},
    {"kind": "latency"},
    {"kind": "garbage", "count": 0},
    {"kind": "garbage", "path": "balance"},
])
def test_bad_fault_requests_are_refused(sandbox, kwargs):
    with pytest.raises(SandboxControlError):
        sandbox.inject(**kwargs)
    assert sandbox.faults() == []
