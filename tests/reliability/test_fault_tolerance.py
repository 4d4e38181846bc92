"""Faults injected into a real sandbox: a big chunked quote loses and double-counts nothing,
and the client never hangs past its timeouts.

(The send-side guarantee - a lost POST /sendings answer is reconciled, never re-sent - is in
test_send_safety.py.)
"""
from __future__ import annotations

import time
from collections import Counter

import pytest
from reliability_support import phone_numbers, reference_quote

import smsgic_analytics as sa
from smsgic_analytics.core import spec

CALC = ("POST", spec.CALCULATE)
AUDIENCE = 20_000
CHUNK = 1_000
MESSAGE = "Spring sale: 20% off everything this weekend only. Reply STOP to opt out."


@pytest.mark.slow
def test_big_quote_survives_latency_5xx_429_and_drops(make_client, fresh_token, control, sandbox_url):
    numbers = phone_numbers(AUDIENCE, seed=7)
    timeout = 3.0
    faults = [  # (kind, count, extra, fails the request?) on POST /sendings/calculate, met by the next requests
        ("latency", 2, {"seconds": 0.5}, False),            # slow but inside the timeout: answered
        ("latency", 1, {"seconds": timeout + 0.5}, True),   # past the timeout: ReadTimeout, retried (server still prices it)
        ("status", 2, {"status": 503}, True),
        ("status", 1, {"status": 500}, True),
        ("status", 3, {"status": 429, "retry_after": 1}, True),  # a 429 burst with Retry-After
        ("drop_before", 2, {}, True),                        # connection closed before handling
    ]
    injected = sum(count for _, count, _, _ in faults)
    failing = sum(count for _, count, _, fails in faults if fails)
    for kind, count, extra, _ in faults:
        control.inject(kind, path=spec.CALCULATE, method="POST", count=count, **extra)
    control.reset_stats()
    # More retries per request than faults in total: whichever chunks the faults land on,
    # none can run out of attempts, so the outcome does not depend on thread timing.
    client = make_client(fresh_token, timeout=timeout, max_retries=injected + 1)

    quote = client.calculate(MESSAGE, numbers, progress=False, chunk_size=CHUNK, workers=4)

    assert control.faults() == []  # every fault was met by some request
    chunks = AUDIENCE // CHUNK
    # each chunk reached the server once, plus one retry per failed request: nothing re-asked needlessly
    assert control.stats()[CALC] == chunks + failing
    # every number priced exactly once
    assert len(quote.numbers) == AUDIENCE
    assert quote.numbers["number"].is_unique
    assert set(quote.numbers["number"]) == set(numbers)
    # and the money equals the sandbox's price for the whole audience in one request, to the last digit
    reference = reference_quote(sandbox_url, fresh_token, MESSAGE, numbers)
    assert (quote.total, quote.subtotal, quote.sms_count) == (reference["total"], reference["subtotal"],
                                                            reference["sms_count"])
    per_number = dict(zip(quote.numbers["number"], quote.numbers["total"]))
    assert per_number == reference["per_number"]
    print(f"{AUDIENCE} numbers, {chunks} chunks, {injected} injected faults, "
          f"{len(quote.numbers)} priced, 0 lost, 0 duplicated, total {quote.total} {quote.currency}")


def test_a_get_that_outlives_its_timeout_fails_within_the_bound(make_client, fresh_token, control):
    timeout, retries = 0.5, 2
    attempts = retries + 1
    control.inject("latency", path=spec.BALANCE, method="GET", count=attempts, seconds=5)
    client = make_client(fresh_token, timeout=timeout, max_retries=retries, backoff_factor=0.05)
    control.reset_stats()
    started = time.monotonic()
    with pytest.raises(sa.errors.APIConnectionError) as caught:
        client.balance()
    elapsed = time.monotonic() - started
    assert "GET /balance" in str(caught.value) and "Timeout" in str(caught.value)
    assert not isinstance(caught.value, sa.UnknownOutcomeError)  # a GET has no outcome to lose
    assert control.stats()[("GET", spec.BALANCE)] == attempts  # retried, and bounded
    backoff = sum(0.05 * 2 ** i for i in range(retries))
    # Generous bound (a noisy machine): the point is "no hang", not a speed target.
    bound = timeout * attempts + backoff + 5.0
    print(f"timeout {timeout}s x {attempts} attempts: APIConnectionError after {elapsed:.2f}s (bound {bound:.2f}s)")
    assert elapsed < bound


def test_a_quote_chunk_that_times_out_every_time_fails_naming_the_chunk(make_client, fresh_token, control):
    numbers = phone_numbers(40, seed=3)
    client = make_client(fresh_token, timeout=0.5, max_retries=1)
    client.calculate("Hi", numbers[:20], progress=False, chunk_size=20)  # chunk 1 priced and cached earlier
    control.inject("latency", path=spec.CALCULATE, method="POST", count=2, seconds=3)  # both attempts of chunk 2
    started = time.monotonic()
    with pytest.raises(sa.errors.APIConnectionError) as caught:
        client.calculate("Hi", numbers, progress=False, chunk_size=20, workers=2)
    assert time.monotonic() - started < 0.5 * 2 + 10.0
    error = caught.value
    assert "calculate chunk 2 of 2" in str(error) and "20 numbers are unpriced" in str(error)
    assert error.chunk == 1 and list(error.unpriced) == numbers[20:]
    # the resumed quote asks only for what was missing
    control.reset_stats()
    quote = client.calculate("Hi", numbers, progress=False, chunk_size=20, workers=2)
    assert control.stats()[CALC] == 1
    assert Counter(quote.numbers["number"]) == Counter(numbers)
