"""Error mapping and retries over real HTTP, with faults injected into the sandbox."""
from __future__ import annotations

import socket

import api_doc
import by_hand
import pytest

import smsgic_analytics as sa
from smsgic_analytics.core import spec

SENDING = {"message": "Hi", "recipients": ["4915123456789"], "sender": "MegaShop", "type": "default"}


def assert_no_token(error: BaseException, token: str = "demo-token") -> None:
    for text in (str(error), repr(error), str(getattr(error, "body", "")), str(getattr(error, "headers", ""))):
        assert token not in text


def test_401_bad_token(make_client):
    with pytest.raises(sa.AuthenticationError) as info:
        make_client(token="wrong-token").balance()
    assert info.value.http_status == 401 and info.value.message == api_doc.UNAUTHENTICATED
    assert info.value.body == {"message": api_doc.UNAUTHENTICATED}
    assert_no_token(info.value, "wrong-token")


def test_404(make_client):
    with pytest.raises(sa.NotFoundError) as info:
        make_client().sending(123456789)
    assert info.value.http_status == 404
    assert_no_token(info.value)


def test_422_field_errors_from_calculate(make_client):
    client = make_client()
    with pytest.raises(sa.ValidationError) as info:
        client.http.call("POST", spec.CALCULATE, json_body={})
    assert info.value.message == api_doc.INVALID_DATA
    assert info.value.field_errors == {"message": [api_doc.MISSING_MESSAGE], "recipients": [api_doc.MISSING_RECIPIENTS]}
    with pytest.raises(sa.ValidationError) as info:
        client.http.call("POST", spec.CALCULATE, json_body={"message": "hi", "recipients": ["123"]})
    assert info.value.field_errors == {"recipients.0": [by_hand.invalid_recipient(0)]}
    assert_no_token(info.value)


def test_429_from_the_server_limit(make_client, sandbox_factory):
    url, _ = sandbox_factory(calculate_per_minute=2)
    client = make_client(url=url, max_retries=0)
    for i in range(2):
        client.calculate(f"message {i}", ["4915123456789"], progress=False)
    with pytest.raises(sa.RateLimitError) as info:
        client.calculate("message 3", ["4915123456789"], progress=False)
    assert info.value.http_status == 429 and info.value.message == by_hand.TOO_MANY_ATTEMPTS
    assert info.value.retry_after is not None and 1 <= info.value.retry_after <= 60
    assert_no_token(info.value)


@pytest.mark.parametrize("status, error", [(500, sa.ServerError), (503, sa.ServerError), (429, sa.RateLimitError)])
def test_retries_are_bounded_then_the_error_surfaces(make_client, sandbox, status, error):
    client = make_client(max_retries=2)
    sandbox.inject("status", path=spec.SENDERS, status=status, count=5, retry_after=0 if status == 429 else None)
    sandbox.reset_stats()
    with pytest.raises(error) as info:
        client.senders()
    assert info.value.http_status == status
    assert sandbox.stats()[("GET", spec.SENDERS)] == 3  # first attempt + 2 retries, no more
    assert_no_token(info.value)


def test_a_transient_5xx_is_retried_away(make_client, sandbox):
    client = make_client(max_retries=3)
    sandbox.inject("status", path=spec.BALANCE, status=503, count=2)
    sandbox.reset_stats()
    assert client.balance().currency == "GBP"
    assert sandbox.stats()[("GET", spec.BALANCE)] == 3


def test_429_is_retried_after_retry_after(make_client, sandbox):
    client = make_client(max_retries=3)
    sandbox.inject("status", path=spec.CALCULATE, status=429, retry_after=0.2, count=1)
    sandbox.reset_stats()
    quote = client.calculate("Retry me", ["4915123456789"], progress=False)
    assert quote.sms_count == 1
    assert sandbox.stats()[("POST", spec.CALCULATE)] == 2


def test_dropped_and_slow_gets_are_retried(make_client, sandbox):
    client = make_client(max_retries=2, timeout=0.5)
    sandbox.inject("drop_before", path=spec.SENDERS, count=1)
    sandbox.inject("drop_after", path=spec.RATES, count=1)
    sandbox.inject("latency", path=spec.BALANCE, seconds=1.5, count=1)
    sandbox.reset_stats()
    assert len(client.senders()) == 3
    assert client.balance().currency == "GBP"  # (first: rates() would otherwise ask /balance for the currency)
    assert len(client.rates(country="Latvia")) > 1
    stats = sandbox.stats()
    assert stats[("GET", spec.SENDERS)] == 2 and stats[("GET", spec.RATES)] == 2 and stats[("GET", spec.BALANCE)] == 2


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_unreadable_bodies_are_server_errors_and_never_cached(make_client, sandbox, kind):
    client = make_client()
    sandbox.inject(kind, path=spec.SENDERS, count=1)
    sandbox.reset_stats()
    with pytest.raises(sa.ServerError, match="not valid JSON") as info:
        client.senders()
    assert info.value.http_status == 200
    assert client.cache_info().entries.empty
    assert len(client.senders()) == 3  # asked again, not served from the cache
    assert sandbox.stats()[("GET", spec.SENDERS)] == 2
    assert_no_token(info.value)


def test_connection_refused(make_client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client(url=f"http://127.0.0.1:{port}", max_retries=1)
    with pytest.raises(sa.errors.APIConnectionError) as info:
        client.balance()
    assert not isinstance(info.value, sa.UnknownOutcomeError)
    assert info.value.http_status is None
    assert_no_token(info.value)
    with pytest.raises(sa.errors.APIConnectionError) as info:  # never sent, so a POST is not "unknown" either
        client.api.create_sending(SENDING)
    assert not isinstance(info.value, sa.UnknownOutcomeError)


@pytest.mark.parametrize("kind", ["drop_after", "drop_before", "truncated"])
def test_post_sendings_is_never_retried_and_a_lost_answer_is_an_unknown_outcome(make_client, fresh_token, sandbox, kind):
    client = make_client(token=fresh_token, max_retries=5)
    sandbox.inject(kind, path=spec.SENDINGS, method="POST", exact=True, count=1)
    sandbox.reset_stats()
    with pytest.raises(sa.UnknownOutcomeError) as info:
        client.api.create_sending(SENDING)
    assert sandbox.stats()[("POST", spec.SENDINGS)] == 1  # exactly one POST reached the server
    assert_no_token(info.value, fresh_token)
    created = len(client.sendings())
    assert created == (0 if kind == "drop_before" else 1)  # why the outcome must be reconciled


def test_post_sendings_5xx_and_429_are_not_retried(make_client, fresh_token, sandbox):
    client = make_client(token=fresh_token, max_retries=5)
    # send() prices afresh first; the faults match POST /sendings alone (exact=True), not calculate.
    client.calculate(SENDING["message"], SENDING["recipients"])
    sandbox.inject("status", path=spec.SENDINGS, method="POST", exact=True, status=503, count=1)
    sandbox.inject("status", path=spec.SENDINGS, method="POST", exact=True, status=429, count=1, retry_after=0)
    sandbox.reset_stats()
    with pytest.raises(sa.ServerError):
        client.api.create_sending(SENDING)
    with pytest.raises(sa.RateLimitError):
        client.send(**SENDING, confirm=True)
    assert sandbox.stats()[("POST", spec.SENDINGS)] == 2
    assert client.sendings().empty


def test_post_sendings_slow_answer_is_an_unknown_outcome(make_client, fresh_token, sandbox):
    client = make_client(token=fresh_token, timeout=0.5)
    client.calculate(SENDING["message"], SENDING["recipients"])  # the fault (exact=True) meets POST /sendings only
    sandbox.inject("latency", path=spec.SENDINGS, method="POST", exact=True, seconds=1.5, count=1)
    sandbox.reset_stats()
    with pytest.raises(sa.UnknownOutcomeError, match="may have taken effect|reconcile"):
        client.send(**SENDING, confirm=True)
    assert sandbox.stats()[("POST", spec.SENDINGS)] == 1
