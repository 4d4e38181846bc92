"""The ledger names an account by its server and its token together: a fresh sandbox with the
same demo token never inherits another server's sends, and old ledgers stay readable."""
from __future__ import annotations

import socket
import sqlite3
from decimal import Decimal
from urllib.parse import urlparse

from phonebook import phone_numbers

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.core.config import account_key, legacy_account_key
from smsgic_analytics.sending.ledger import LEDGER_FILENAME, Ledger


def test_two_servers_with_the_same_token_keep_separate_ledgers(make_client, sandbox_factory, cache_dir):
    first_url, _ = sandbox_factory(tokens=("demo-token",))
    second_url, _ = sandbox_factory(tokens=("demo-token",))
    numbers = phone_numbers(4, seed=41)
    first = make_client("demo-token", url=first_url)  # one user cache folder for both
    sent = first.send("Doors open at 9", numbers, "MegaShop", confirm=True)
    second = make_client("demo-token", url=second_url)
    assert first.settings.account != second.settings.account
    assert second.ledger.sends(second.settings.account).empty  # nothing inherited from the other server
    again = second.send("Doors open at 9", numbers, "MegaShop", confirm=True)  # not a duplicate here
    assert again.sending_id is not None and first.ledger.path == second.ledger.path
    assert {int(s) for s in first.spend()["sending_id"]} == {sent.sending_id}


def test_an_old_ledger_stays_readable_and_the_real_api_adopts_its_rows(cache_dir, monkeypatch):
    api_host = urlparse(spec.BASE_URL).hostname
    resolve = socket.getaddrinfo

    def no_api(host, *args, **kwargs):  # every connection starts with a lookup: none may be of the API
        assert host != api_host, "the test contacted the real API"
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_api)
    token = "live-token-for-a-migration-test"
    old = legacy_account_key(token)
    ledger = Ledger(cache_dir / LEDGER_FILENAME)
    ledger.record_balance(old, Decimal("12.500"), "GBP")  # written by the previous release
    with sqlite3.connect(cache_dir / LEDGER_FILENAME) as conn:
        assert conn.execute("SELECT account FROM balance_snapshots").fetchall() == [(old,)]

    # A sandbox client with that token does not claim rows whose server is unknown...
    sandbox_client = sa.connect(token=token, base_url="http://127.0.0.1:9", cache_dir=cache_dir)
    assert sandbox_client.balance_history().empty
    assert ledger.balance_history(old)["amount"].tolist() == [Decimal("12.500")]  # still readable
    sandbox_client.close()
    # ...the real API's client does: on the API a token is one account.  (No request is made.)
    api_client = sa.connect(token=token, base_url=spec.BASE_URL, cache_dir=cache_dir)
    assert api_client.settings.account == account_key(token, spec.BASE_URL) != old
    assert api_client.balance_history()["amount"].tolist() == [Decimal("12.500")]
    assert ledger.balance_history(old).empty
    api_client.close()
