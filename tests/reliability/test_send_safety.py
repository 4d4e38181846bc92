"""A send is never duplicated: whatever happens to the answer of POST /sendings, the request
goes out once, the outcome is settled from GET /sendings, the balance is debited once, and
sending the same campaign again is refused.
"""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from reliability_support import phone_numbers, server_balance, server_sendings, wait_for

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.sending import ledger as ledger_mod
from smsgic_analytics.sending.campaign import SendResult

POST_SENDINGS = ("POST", spec.SENDINGS)




@pytest.mark.parametrize("fault", [
    {"kind": "drop_after"},               # handled and committed, answer cut mid-body
    {"kind": "truncated"},                # handled and committed, half a JSON body
    {"kind": "latency", "seconds": 3.0},  # handled after the client gave up (read timeout)
], ids=lambda f: f["kind"])
def test_a_lost_answer_is_reconciled_and_never_resent(make_client, fresh_token, control, sandbox_url, fault):
    client = make_client(fresh_token, timeout=1.0)
    campaign = sa.Campaign(client, "Your parcel is on its way", phone_numbers(25, seed=5), "MegaShop",
                           progress=False)
    preview = campaign.preview()  # frozen and priced first; the fault (exact=True) meets POST /sendings itself
    control.set_balance(fresh_token, Decimal(100) + preview.total)
    control.inject(path=spec.SENDINGS, method="POST", exact=True, **fault)
    control.reset_stats()

    with pytest.raises(sa.UnknownOutcomeError) as caught:
        campaign.run(confirm=True)
    assert "reconcile" in str(caught.value)
    account = client.settings.account
    assert list(client.ledger.sends(account)["state"]) == [ledger_mod.UNKNOWN]

    # The server did create it (once); the client never asked twice.
    if fault["kind"] == "latency":
        wait_for(lambda: len(server_sendings(sandbox_url, fresh_token)) == 1, 30, "the slow send to commit")
    created = server_sendings(sandbox_url, fresh_token)
    assert len(created) == 1
    # A second attempt of the same campaign is refused while the outcome is unknown.
    with pytest.raises(sa.DuplicateSendError):
        campaign.run(confirm=True)
    with pytest.raises(sa.DuplicateSendError):
        campaign.run(confirm=True, allow_duplicate=True)  # even forced: reconcile first

    settled = client.reconcile()
    assert list(settled["state"]) == [ledger_mod.RECONCILED]
    assert int(settled["sending_id"].iloc[0]) == created[0]["id"]
    with pytest.raises(sa.DuplicateSendError):
        campaign.run(confirm=True)  # now a known duplicate within the window

    assert control.stats()[POST_SENDINGS] == 1
    assert len(server_sendings(sandbox_url, fresh_token)) == 1
    assert server_balance(sandbox_url, fresh_token) == Decimal(100)  # debited exactly once


def test_two_threads_clicking_send_at_once_post_once(make_client, fresh_token, control, sandbox_url):
    client = make_client(fresh_token)
    numbers = phone_numbers(10, seed=6)
    client.calculate("Flash sale", numbers, progress=False)  # the send path prices afresh anyway
    control.reset_stats()
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def click() -> None:
        barrier.wait()
        try:
            outcomes.append(client.send("Flash sale", numbers, "MegaShop", confirm=True))
        except sa.DuplicateSendError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [o for o in outcomes if isinstance(o, SendResult)]
    assert len(sent) == 1 and len(outcomes) == 4
    assert control.stats()[POST_SENDINGS] == 1
    assert [s["id"] for s in server_sendings(sandbox_url, fresh_token)] == [sent[0].sending_id]
