"""The HTTP cache: policy per endpoint, refresh/bypass, info, per-account isolation, secrecy."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from phonebook import phone_numbers

import smsgic_analytics as sa
from smsgic_analytics.core import spec

CALC = ("POST", spec.CALCULATE)
RATES = ("GET", spec.RATES)
SENDERS = ("GET", spec.SENDERS)


def network(sandbox, key):
    return sandbox.stats().get(key, 0)


def test_rates_senders_and_calculate_are_cached(make_client, sandbox):
    client = make_client()
    sandbox.reset_stats()
    for _ in range(3):
        client.rates()
        client.senders()
        client.calculate("Hello", ["4915123456789", "37121234567"], progress=False)
    assert network(sandbox, RATES) == 1 and network(sandbox, SENDERS) == 1 and network(sandbox, CALC) == 1
    info = client.cache_info()
    # rates: 6 calls (3 direct + 3 country look-ups in calculate) = 1 miss + 5 hits;
    # senders 1 miss + 2 hits; calculate 1 miss + 2 hits
    assert (info.misses, info.hits) == (3, 9)


def test_balance_status_and_sendings_are_never_cached(make_client, sandbox):
    client = make_client()
    sandbox.reset_stats()
    for _ in range(2):
        client.balance()
        client.status()
        client.sendings()
    stats = sandbox.stats()
    assert stats[("GET", spec.BALANCE)] == 2 and stats[("GET", spec.STATUS)] == 2 and stats[("GET", spec.SENDINGS)] == 2
    assert client.cache_info().entries.empty


def test_only_calculate_posts_are_cached(make_client, fresh_token, sandbox):
    client = make_client(token=fresh_token)
    sandbox.reset_stats()
    payload = {"message": "Hi", "recipients": ["4915123456789"], "sender": "MegaShop", "type": "default"}
    first, second = client.api.create_sending(payload), client.api.create_sending(payload)
    assert first != second and network(sandbox, ("POST", spec.SENDINGS)) == 2
    sending = client.sending(first)
    client.sending(first)
    assert network(sandbox, ("GET", spec.SENDING)) == 2 and sending["id"] == first
    assert client.cache_info().entries.empty


def test_refresh_forces_the_network_and_stores_the_new_answer(make_client, sandbox):
    client = make_client()
    client.senders()
    sandbox.reset_stats()
    client.senders(refresh=True)
    client.senders()
    assert network(sandbox, SENDERS) == 1  # the refresh; the next call is a hit on what it stored


def test_cache_false_skips_read_and_write(make_client, sandbox):
    client = make_client()
    sandbox.reset_stats()
    client.senders(cache=False)
    client.senders(cache=False)
    assert network(sandbox, SENDERS) == 2
    assert client.cache_info().entries.empty
    client.calculate("Hi", ["4915123456789"], progress=False, cache=False)
    client.calculate("Hi", ["4915123456789"], progress=False, cache=False)
    assert network(sandbox, CALC) == 2


def test_entries_expire(make_client, sandbox):
    client = make_client(senders_expire=1)
    sandbox.reset_stats()
    client.senders()
    client.senders()
    assert network(sandbox, SENDERS) == 1
    time.sleep(1.2)  # let the 1-second entry expire (no timing is asserted)
    client.senders()
    assert network(sandbox, SENDERS) == 2


def test_cache_info_ages_and_clear(make_client, sandbox):
    client = make_client()
    client.senders()
    client.rates(country="Latvia")
    info = client.cache_info()
    assert info.path.name == "http-cache.sqlite" and info.path.exists()
    assert sorted(info.entries["endpoint"]) == [spec.RATES, spec.SENDERS]
    assert (info.entries["age"] >= pd_timedelta(0)).all()
    assert info.entries["age"].max() < pd_timedelta(minutes=5)
    assert "token" not in repr(info)
    client.clear_cache()
    cleared = client.cache_info()
    assert cleared.entries.empty and (cleared.hits, cleared.misses) == (0, 0)
    sandbox.reset_stats()
    client.senders()
    assert network(sandbox, SENDERS) == 1


def test_clear_cache_leaves_other_accounts_alone(make_client, sandbox):
    demo, other = make_client(token="demo-token"), make_client(token="other-token")
    demo.senders()
    other.senders()
    demo.clear_cache()
    assert demo.cache_info().entries.empty and len(other.cache_info().entries) == 1


def test_accounts_never_share_entries(make_client, fresh_token, sandbox):
    """Same cache file, same URLs and bodies, different tokens: every account asks for itself."""
    one, two = make_client(token=fresh_token), make_client(token="other-token")
    sandbox.reset_stats()
    one.senders()
    one.calculate("Hi", ["4915123456789"], progress=False)
    two.senders()
    two.calculate("Hi", ["4915123456789"], progress=False)
    assert network(sandbox, SENDERS) == 2 and network(sandbox, CALC) == 2
    # a token the server refuses gets a 401, never the other accounts' cached answers
    intruder = make_client(token="not-a-real-token")
    for call in (intruder.senders, intruder.rates,
                 lambda: intruder.calculate("Hi", ["4915123456789"], progress=False)):
        with pytest.raises(sa.AuthenticationError):
            call()
    assert one.cache_info().path == two.cache_info().path == intruder.cache_info().path


def test_the_token_never_reaches_the_cache_file_or_any_output(make_client, cache_dir, caplog):
    token = "s3cr3t-token-" + "x" * 20
    # the sandbox only knows demo/other tokens: use one it accepts for a full round trip
    from smsgic_analytics.sandbox import SandboxControl

    client = make_client(token=token)
    SandboxControl(client.settings.base_url).add_account(token)
    with caplog.at_level(logging.DEBUG):
        client.rates()
        client.senders()
        quote = client.calculate("Secret check", phone_numbers(30), progress=False, chunk_size=10)
        client.sendings()
        try:
            client.sending(987654)
        except sa.NotFoundError as exc:
            assert token not in str(exc) and token not in repr(exc) and token not in str(exc.body)
    blobs = [p.read_bytes() for p in Path(cache_dir).glob("http-cache.sqlite*")]
    assert blobs and sum(map(len, blobs)) > 10_000  # the answers are in there...
    assert all(token.encode() not in blob for blob in blobs)  # ...the token is not
    assert any(b"REDACTED" in blob for blob in blobs)  # requests-cache's redaction (main file or WAL)
    texts = [repr(client), repr(client.settings), repr(client.http), repr(client.cache_info()), repr(quote),
             quote.numbers.to_csv(), quote.destinations.to_csv(), client.cache_info().entries.to_csv(),
             caplog.text, *(str(r.args) for r in caplog.records)]
    assert all(token not in text for text in texts)


def test_cache_hits_do_not_spend_the_rate_limit(make_client, sandbox):
    client = make_client(calculate_per_minute=100)
    bucket = client.http.limiter.bucket_factory.buckets["calculate"]
    for _ in range(5):
        client.calculate("Limit check", ["4915123456789"], progress=False)
    assert bucket.count() == 1  # one network request went through the limiter; four hits did not


def pd_timedelta(*args, **kwargs):
    import pandas as pd

    return pd.Timedelta(*args, **kwargs)


def test_the_limiter_delays_instead_of_failing(make_client, sandbox):
    """120/min -> at most 2 calculate requests in any second: the sixth request waits its turn."""
    client = make_client(calculate_per_minute=120)
    bucket = client.http.limiter.bucket_factory.buckets["calculate"]
    sandbox.reset_stats()
    quotes = [client.calculate(f"Paced {i}", ["4915123456789"], progress=False) for i in range(6)]
    assert all(q.sms_count == 1 for q in quotes) and network(sandbox, CALC) == 6
    stamps = sorted(item.timestamp for item in bucket.items)  # the limiter's own log (ms)
    assert len(stamps) == 6
    assert all(later - earlier >= 1000 for earlier, later in zip(stamps, stamps[2:]))
