"""Accounts: isolation between tokens, persistence across restarts, exact concurrent debits."""
from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_FLOOR, Decimal

import api_doc
import requests

from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import running


def call(url, method, path, token, **kw) -> requests.Response:
    return requests.request(method, url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60, **kw)


def shown(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.001"), rounding=ROUND_FLOOR))


def test_accounts_are_isolated(sandbox_factory):
    url, _ = sandbox_factory(tokens=("alice", "bob"))
    sent = call(url, "POST", spec.SENDINGS, "alice", json={"message": "a", "recipients": ["4591234567"], "sender": "MEGA"})
    sending_id = sent.json()["sending_id"]
    assert call(url, "GET", spec.SENDINGS, "bob").json() == {"sendings": []}
    assert call(url, "GET", f"/sendings/{sending_id}", "bob").json() == {"message": api_doc.not_found(sending_id)}
    assert call(url, "GET", f"/sendings/{sending_id}", "bob").status_code == 404
    assert call(url, "GET", f"/sendings/{sending_id}", "alice").status_code == 200
    assert call(url, "GET", spec.BALANCE, "bob").json()["balance"] == "450.000"
    assert call(url, "GET", spec.BALANCE, "alice").json()["balance"] != "450.000"


def test_add_account_and_set_balance(sandbox, sandbox_url):
    sandbox.add_account("carol-token", balance="12.5")
    assert call(sandbox_url, "GET", spec.BALANCE, "carol-token").json()["balance"] == "12.500"
    sandbox.set_balance("carol-token", Decimal("0.0009"))
    assert call(sandbox_url, "GET", spec.BALANCE, "carol-token").json()["balance"] == "0.000"  # shown rounded down
    assert call(sandbox_url, "GET", spec.SENDERS, "carol-token").json()["senders"][0] == {"id": 45, "sender": "MegaShop"}


def test_state_survives_a_restart_on_the_same_db(tmp_path):
    db = tmp_path / "keep.sqlite"
    payload = {"message": "keep me", "recipients": ["37129123456", "4591234567"], "sender": "DSTLCKDM",
               "scheduled_at": "2030-01-01 00:00:00"}
    with running(tokens=("keeper",), db=db, clock="2029-12-31T23:00:00Z") as url:
        sending_id = call(url, "POST", spec.SENDINGS, "keeper", json=payload).json()["sending_id"]
        balance = call(url, "GET", spec.BALANCE, "keeper").json()
        listing = call(url, "GET", spec.SENDINGS, "keeper").json()
        status = call(url, "GET", f"/sendings/{sending_id}", "keeper").json()
    assert balance["balance"] != "450.000"
    with running(tokens=("keeper",), db=db) as url:  # clock=None resumes the frozen clock saved in the db
        assert call(url, "GET", spec.BALANCE, "keeper").json() == balance
        assert call(url, "GET", spec.SENDINGS, "keeper").json() == listing
        assert call(url, "GET", f"/sendings/{sending_id}", "keeper").json() == status
        assert listing["sendings"][0]["status"] == spec.PENDING
        next_id = call(url, "POST", spec.SENDINGS, "keeper", json=payload).json()["sending_id"]
        assert next_id == sending_id + 1


def test_the_db_never_holds_a_token(tmp_path):
    db = tmp_path / "secret.sqlite"
    token = "very-secret-token-value-123"
    with running(tokens=(token,), db=db) as url:
        call(url, "POST", spec.SENDINGS, token, json={"message": "m", "recipients": ["4591234567"], "sender": "MEGA"})
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert token.encode() not in raw
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_sends_never_lose_a_debit(sandbox_url, sandbox, fresh_token):
    payload = {"message": "race", "recipients": ["37129123456", "4591234567", "99999999"], "sender": "MEGA"}
    total = call(sandbox_url, "POST", spec.CALCULATE, fresh_token,
                 json={"message": "race", "recipients": payload["recipients"]}).json(parse_float=Decimal)["calculate"]["info"]["total"]

    def five_sends(_: int) -> list[int]:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {fresh_token}"
            return [session.post(sandbox_url + spec.SENDINGS, json=payload, timeout=60).json()["sending_id"] for _ in range(5)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = [i for batch in pool.map(five_sends, range(20)) for i in batch]
    assert len(set(ids)) == 100
    balance = call(sandbox_url, "GET", spec.BALANCE, fresh_token).json()["balance"]
    assert balance == shown(Decimal("450.000") - 100 * total)
    listing = call(sandbox_url, "GET", spec.SENDINGS, fresh_token).json()["sendings"]
    assert sorted(r["id"] for r in listing) == sorted(ids)


def test_concurrent_sends_stop_exactly_at_the_balance(sandbox_url, sandbox, fresh_token):
    payload = {"message": "race", "recipients": ["37129123456"], "sender": "MEGA"}
    total = call(sandbox_url, "POST", spec.CALCULATE, fresh_token,
                 json={"message": "race", "recipients": payload["recipients"]}).json(parse_float=Decimal)["calculate"]["info"]["total"]
    sandbox.set_balance(fresh_token, total * 7)

    def one(_: int) -> int:
        return call(sandbox_url, "POST", spec.SENDINGS, fresh_token, json=payload).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(one, range(12)))
    assert sorted(codes) == [200] * 7 + [422] * 5
    assert call(sandbox_url, "GET", spec.BALANCE, fresh_token).json()["balance"] == "0.000"
