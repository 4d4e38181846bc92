"""The sandbox answers as the API's documentation shows, byte for byte where the docs give the
bytes: every expected body below is read from ``tests/fixtures/smsgic-api.txt`` (``api_doc``),
not from the constants the sandbox or the client use.  Requests go over real HTTP with plain
``requests``.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
from api_doc import example, examples, request_body

SECURED = sorted({(e.method, e.path) for e in examples() if e.status == 401})


def call(url: str, method: str, path: str, token: str | None, body=None) -> requests.Response:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, url + path.replace("{id}", "301"), json=body, headers=headers, timeout=30)


def decoded(response: requests.Response):
    return json.loads(response.content, parse_float=Decimal)


def keys(value) -> object:
    """The shape of a JSON value: its keys, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return type(value).__name__ if not isinstance(value, (int, Decimal)) or isinstance(value, bool) else "number"


def test_the_fixture_is_the_documentation():
    assert len(examples()) == 22 and len(SECURED) == 7  # every endpoint but /status needs a token


@pytest.mark.parametrize("method, path", SECURED, ids=lambda x: x if isinstance(x, str) else None)
def test_no_token_gets_the_documented_401(sandbox_url, method, path):
    documented = example(method, path, "Auth token invalid")
    for token in (None, "not-a-token"):
        response = call(sandbox_url, method, path, token)
        assert (response.status_code, decoded(response)) == (documented.status, documented.body)


def test_status(sandbox_url):
    response = call(sandbox_url, "GET", "/status", None)
    assert (response.status_code, response.json()) == (200, example("GET", "/status", "success").body)


@pytest.mark.parametrize("path", ["/balance", "/senders"])
def test_a_new_account_answers_exactly_as_documented(sandbox_url, fresh_token, path):
    response = call(sandbox_url, "GET", path, fresh_token)
    assert (response.status_code, decoded(response)) == (200, example("GET", path, "success").body)


@pytest.mark.parametrize("label, leave_out", [
    ("message not sent", ["message"]),
    ("recipients not sent", ["recipients"]),
    ("data not sent", ["message", "recipients"]),
])
def test_calculate_422s_are_the_documented_bodies(sandbox_url, fresh_token, label, leave_out):
    body = {k: v for k, v in request_body("POST", "/sendings/calculate").items() if k not in leave_out}
    response = call(sandbox_url, "POST", "/sendings/calculate", fresh_token, body)
    documented = example("POST", "/sendings/calculate", label)
    assert (response.status_code, decoded(response)) == (documented.status, documented.body)


@pytest.mark.parametrize("label, leave_out", [
    ("Message not sent", "message"), ("Recipients not sent", "recipients"), ("Sender not sent", "sender")])
def test_sendings_422s_are_the_documented_bodies(sandbox_url, fresh_token, label, leave_out):
    body = {k: v for k, v in request_body("POST", "/sendings").items() if k != leave_out}
    response = call(sandbox_url, "POST", "/sendings", fresh_token, body)
    documented = example("POST", "/sendings", label)
    assert (response.status_code, decoded(response)) == (documented.status, documented.body)


def test_the_documented_send_request_is_accepted(sandbox_url, fresh_token):
    # recipients as a JSON-encoded string, sender INFO, a past scheduled_at: exactly the docs' -d body.
    response = call(sandbox_url, "POST", "/sendings", fresh_token, request_body("POST", "/sendings"))
    documented = example("POST", "/sendings", "success").body
    answer = decoded(response)
    assert response.status_code == 200 and keys(answer) == keys(documented)
    assert answer["message"] == documented["message"] and isinstance(answer["sending_id"], int)
    listed = decoded(call(sandbox_url, "GET", "/sendings", fresh_token))
    assert keys(listed) == keys(example("GET", "/sendings", "success").body)
    row = next(s for s in listed["sendings"] if s["id"] == answer["sending_id"])
    assert row["scheduled_at"] == request_body("POST", "/sendings")["scheduled_at"]
    one = decoded(call(sandbox_url, "GET", f"/sendings/{answer['sending_id']}".replace("{id}", ""), fresh_token))
    assert keys(one) == keys(example("GET", "/sendings/{id}", "success").body)


def test_an_unknown_sending_is_the_documented_404(sandbox_url, fresh_token):
    response = call(sandbox_url, "GET", "/sendings/{id}", fresh_token)  # id 301, as documented
    documented = example("GET", "/sendings/{id}", "SMS Sending not found")
    assert (response.status_code, decoded(response)) == (documented.status, documented.body)


def test_calculate_and_rates_have_the_documented_shape(sandbox_url, fresh_token):
    documented = example("POST", "/sendings/calculate", "success").body
    answer = decoded(call(sandbox_url, "POST", "/sendings/calculate", fresh_token,
                          request_body("POST", "/sendings/calculate")))
    assert keys(answer) == keys(documented)
    number = answer["calculate"]["destinations"][0]["numbers"][0]
    assert number["phone_number"] == int(request_body("POST", "/sendings/calculate")["recipients"][0])
    rates = decoded(call(sandbox_url, "GET", "/rates", fresh_token))["rates"]
    documented_rates = example("GET", "/rates", "success").body["rates"]
    assert {tuple(r) for r in rates} == {tuple(r) for r in documented_rates} == {("mcc", "mnc", "country", "rate")}
    for rows in (rates, documented_rates):  # text codes, a number rate, mnc null for the country default
        assert all(isinstance(r["mcc"], str) and isinstance(r["rate"], Decimal) for r in rows)
        assert {type(r["mnc"]) for r in rows} == {str, type(None)}
