"""The client learns the server's clock from the ``Date`` header of answers that came over the
network -- never from a cached answer -- and the ledger it stamps rows with follows it."""
from __future__ import annotations

from datetime import UTC, datetime

import requests

from smsgic_analytics.core import spec


def sandbox_now(url: str) -> datetime:
    header = requests.get(url + spec.STATUS, timeout=30).headers["Date"]
    return datetime.strptime(header, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)


def test_the_skew_is_learned_from_network_answers_only_and_caching_is_unchanged(sandbox_factory, make_client):
    url, control = sandbox_factory(clock="real", clock_offset=-7200)  # a server 2 hours behind
    client = make_client("demo-token", url=url)
    assert client.clock_skew() is None  # nothing asked yet: nothing known

    client.rates()  # from the network, and now cached
    assert abs(client.clock_skew().total_seconds() + 7200) < 3
    assert abs((client.ledger.now() - sandbox_now(url)).total_seconds()) < 3  # the ledger follows the server

    control.set_offset(3 * 86_400)  # the server's clock jumps 3 days ahead
    entries = len(client.cache_info().entries)
    hits = client.cache_info().hits
    client.rates()  # a cache hit: its Date is the old clock's, and teaches nothing
    assert client.cache_info().hits == hits + 1
    assert abs(client.clock_skew().total_seconds() + 7200) < 3
    client.balance()  # never cached: from the network
    assert abs(client.clock_skew().total_seconds() - 3 * 86_400) < 3
    assert len(client.cache_info().entries) == entries  # learning the clock caches nothing
    assert "ahead of this computer's" in client.clock.note()


def test_a_clock_given_to_connect_is_used_as_it_is(sandbox_factory, make_client):
    url, _ = sandbox_factory(clock="real", clock_offset=86_400)
    given = datetime(2031, 1, 1, 12, 0, tzinfo=UTC)
    client = make_client("demo-token", url=url, clock=lambda: given)
    client.balance()
    assert client.ledger.now() == given  # a test's or a notebook's clock is not second-guessed
    assert client.clock_skew() is not None  # but the skew is still measured


def test_a_server_clock_given_to_connect_follows_the_server_from_the_given_computer_clock(sandbox_factory,
                                                                                        make_client):
    from smsgic_analytics.core.dates import ServerClock

    url, _ = sandbox_factory(clock="real", clock_offset=-3 * 86_400)  # a server 3 days behind
    computer = datetime(2031, 1, 1, 12, 0, tzinfo=UTC)  # a test's manual clock: this computer's time
    client = make_client("demo-token", url=url, clock=ServerClock(lambda: computer))
    client.balance()
    # the ledger is on the server's clock, not the given one (nor the wall clock)
    assert abs((client.ledger.now() - sandbox_now(url)).total_seconds()) < 3
    assert abs((client.clock_skew() - (sandbox_now(url) - computer)).total_seconds()) < 3
