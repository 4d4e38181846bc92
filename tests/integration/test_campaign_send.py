"""Safe sending over real HTTP against the sandbox, with the real SQLite ledger.

Every test uses a fresh account (exact balances, empty history) and its own cache dir (so
its own ledger).  ``sandbox.stats()`` counts the requests that reached the server: the
proof that a refused send never posted.

Fault paths match by prefix ("/sendings" also matches "/sendings/calculate") unless
``exact=True``: the send path prices afresh just before it posts, so a fault meant for POST
/sendings itself is injected with ``exact=True``.
"""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import by_hand
import pandas as pd
import pytest
from manual_clock import ManualClock
from phonebook import phone_numbers

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.sending.campaign import Campaign, SendResult
from smsgic_analytics.sending.ledger import LEDGER_FILENAME, Ledger

POST_SENDINGS = ("POST", spec.SENDINGS)
POST_CALCULATE = ("POST", spec.CALCULATE)


@pytest.fixture
def client(make_client, fresh_token):
    return make_client(token=fresh_token)


def posts(sandbox) -> int:
    return sandbox.stats().get(POST_SENDINGS, 0)


def wait_for(predicate, what: str, timeout: float = 10.0) -> None:
    """Poll until ``predicate()`` (a synchronisation point, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# --- the happy path -----------------------------------------------------------------------

def test_send_debits_the_balance_by_exactly_the_quote_total(client, fresh_token, sandbox, cache_dir):
    campaign = Campaign(client, "Spring sale: 20% off everything", phone_numbers(5, seed=1), "MegaShop", progress=False)
    preview = campaign.preview()
    # The balance is shown rounded down to 3 decimals: start from 100 + total so that the
    # balance after the send is a round 100.000 and the debit can be checked to the last digit.
    sandbox.set_balance(fresh_token, Decimal("100") + preview.total)
    sandbox.reset_stats()

    result = campaign.run(confirm=True)

    assert isinstance(result, SendResult)
    assert result.total == preview.total and isinstance(result.total, Decimal) and result.total > 0
    assert (result.currency, result.state, result.recipients) == ("GBP", "created", 5)
    assert client.balance().amount == Decimal("100.000")
    assert posts(sandbox) == 1
    listed = client.sendings().set_index("id").loc[result.sending_id]
    assert listed["text"] == "Spring sale: 20% off everything" and listed["total_sms"] == result.sms_count

    sends = client.ledger.sends(client.settings.account)
    assert len(sends) == 1
    row = sends.iloc[0]
    assert (row["state"], row["sending_id"], row["sender"], row["recipients"]) == ("created", result.sending_id,
                                                                                  "MegaShop", 5)
    quotes = client.ledger.quotes(client.settings.account).set_index("id")
    assert quotes.loc[row["quote_id"], "total"] == result.total  # the send points at the quote it paid
    history = client.balance_history()
    assert history["amount"].iloc[-1] == Decimal("100.000")
    assert Decimal("100") + preview.total - history["amount"].iloc[-2] < Decimal("0.001")  # the pre-send check

    raw = b"".join(p.read_bytes() for p in cache_dir.glob(LEDGER_FILENAME + "*"))
    assert fresh_token.encode() not in raw


def test_client_send_is_the_safe_path_and_the_default_sender_is_accepted(client, sandbox):
    sandbox.reset_stats()
    result = client.send("Hello from INFO", ["+49 151 23456789"], "INFO", type="twilio", confirm=True)
    assert result.state == "created" and client.sending(result.sending_id)["id"] == result.sending_id
    assert posts(sandbox) == 1
    assert client.ledger.sends(client.settings.account)["type"].tolist() == ["twilio"]


def test_confirmation_is_required_and_shows_the_exact_total(client, sandbox):
    numbers = phone_numbers(3, seed=2)
    expected = client.calculate("Flash sale", numbers, progress=False)
    sandbox.reset_stats()
    with pytest.raises(sa.errors.ConfirmationRequiredError) as info:
        client.send("Flash sale", numbers, "MEGA")
    text = str(info.value)
    assert f"{expected.total} GBP" in text and "3 recipients" in text and "Nothing was sent" in text
    assert info.value.preview.total == expected.total and info.value.preview.recipients == 3
    assert posts(sandbox) == 0
    assert client.ledger.sends(client.settings.account).empty
    assert client.sendings().empty


# --- refusals before anything is posted ------------------------------------------------------

def test_insufficient_balance_posts_nothing(client, fresh_token, sandbox):
    sandbox.set_balance(fresh_token, "0.01")
    numbers = phone_numbers(4, seed=3)
    total = client.calculate("Too dear", numbers, progress=False).total
    sandbox.reset_stats()
    with pytest.raises(sa.InsufficientBalanceError) as info:
        client.send("Too dear", numbers, "MegaShop", confirm=True)
    text = str(info.value)
    assert f"costs {total} GBP" in text and "balance is 0.010 GBP" in text
    assert "balance" in info.value.field_errors
    assert posts(sandbox) == 0
    assert client.ledger.sends(client.settings.account).empty
    assert client.balance_history()["amount"].iloc[-1] == Decimal("0.010")  # the snapshot of the check


def test_unapproved_sender_names_it_and_lists_the_approved_ones(client, sandbox):
    sandbox.reset_stats()
    with pytest.raises(sa.ValidationError) as info:
        client.send("Hi", ["4915123456789"], "NotMySender", confirm=True)
    text = str(info.value)
    assert "'NotMySender'" in text and "MegaShop, DSTLCKDM, MEGA, INFO" in text
    assert info.value.field_errors == {"sender": [by_hand.INVALID_SENDER]}
    stats = sandbox.stats()
    assert POST_SENDINGS not in stats and POST_CALCULATE not in stats  # refused before pricing
    assert stats[("GET", spec.SENDERS)] == 2  # the cached list, then a fresh look before refusing


@pytest.mark.parametrize("scheduled_at, needles", [
    (datetime(2020, 1, 1, 9, 0), ["scheduled_at 2020-01-01 09:00:00 UTC is in the past", "compared against now"]),
    ("2020-01-01 09:00:00", ["is in the past"]),
    ("next tuesday", [by_hand.INVALID_SCHEDULED_AT, "'next tuesday'"]),
    ("2030-02-30 10:00:00", [by_hand.INVALID_SCHEDULED_AT]),
])
def test_bad_schedules_are_refused_before_any_request(client, sandbox, scheduled_at, needles):
    sandbox.reset_stats()
    with pytest.raises(sa.ValidationError) as info:
        client.send("Hi", ["4915123456789"], "MegaShop", scheduled_at=scheduled_at, confirm=True)
    assert list(info.value.field_errors) == ["scheduled_at"]
    for needle in needles:
        assert needle in str(info.value)
    assert sandbox.stats() == {}


@pytest.mark.parametrize("kwargs, error, fields", [
    ({"message": ""}, sa.ValidationError, ["message"]),
    ({"message": "   "}, sa.ValidationError, ["message"]),
    ({"type": "carrier-pigeon"}, sa.ValidationError, ["type"]),
    ({"recipients": ["4915123456789", "12ab", "123"]}, sa.errors.InvalidRecipientsError, ["recipients.1", "recipients.2"]),
    ({"recipients": []}, sa.ValidationError, ["recipients"]),
    ({"message": "", "recipients": ["12ab"]}, sa.ValidationError, ["message", "recipients.0"]),
])
def test_invalid_input_is_refused_before_any_request(client, sandbox, kwargs, error, fields):
    sandbox.reset_stats()
    args = {"message": "Hi", "recipients": ["4915123456789"], "sender": "MegaShop", "confirm": True, **kwargs}
    with pytest.raises(error) as info:
        client.send(**args)
    assert type(info.value) is error and sorted(info.value.field_errors) == fields
    assert sandbox.stats() == {}


def test_invalid_recipients_are_named_by_row(client):
    with pytest.raises(sa.errors.InvalidRecipientsError) as info:
        client.send("Hi", pd.Series(["4915123456789", "12ab"], index=["ann", "bob"]), "MegaShop", confirm=True)
    assert "row 'bob' '12ab': contains characters other than digits" in str(info.value)
    assert info.value.invalid["index"].tolist() == ["bob"]


# --- the duplicate guard --------------------------------------------------------------------

def test_a_second_send_of_the_same_campaign_is_refused(client, sandbox):
    numbers = phone_numbers(3, seed=4)
    sandbox.reset_stats()
    first = client.send("Weekend offer", numbers, "MegaShop", confirm=True)
    # Same campaign: recipients reordered and written differently.
    again = ["+" + n[:3] + " " + n[3:] for n in reversed(numbers)]
    with pytest.raises(sa.DuplicateSendError) as info:
        client.send("Weekend offer", again, "MegaShop", confirm=True)
    text = str(info.value)
    assert f"sending {first.sending_id}" in text and "allow_duplicate=True" in text
    assert info.value.previous["created_at"].strftime("%Y-%m-%d %H:%M:%S") in text
    assert posts(sandbox) == 1

    second = client.send("Weekend offer", again, "MegaShop", confirm=True, allow_duplicate=True)
    later = client.send("Weekend offer", numbers, "MegaShop", scheduled_at=datetime.now(UTC) + timedelta(days=1),
                        confirm=True)  # another schedule: another campaign
    assert len({first.sending_id, second.sending_id, later.sending_id}) == 3
    assert posts(sandbox) == 3
    assert client.ledger.sends(client.settings.account)["state"].tolist() == ["created"] * 3


def test_an_earlier_send_outside_the_window_does_not_block(client, sandbox):
    numbers = phone_numbers(2, seed=5)
    first = Campaign(client, "Monthly news", numbers, "MEGA", duplicate_window=timedelta(hours=1), progress=False)
    first.run(confirm=True)
    with sa.connect(token=client.settings.token, base_url=client.settings.base_url,
                    cache_dir=client.settings.cache_dir) as later_client:
        # The same ledger file, read two hours later.
        later = datetime.now(UTC) + timedelta(hours=2)
        later_client.ledger = Ledger(client.ledger.path, clock=lambda: later)
        second = Campaign(later_client, "Monthly news", numbers, "MEGA", duplicate_window=timedelta(hours=1),
                          progress=False)
        assert second.run(confirm=True).state == "created"
        third = Campaign(later_client, "Monthly news", numbers, "MEGA", duplicate_window=timedelta(hours=1),
                         progress=False)
        with pytest.raises(sa.DuplicateSendError):
            third.run(confirm=True)


class RacingCampaign(Campaign):
    """A campaign whose run() waits, after the early duplicate check, until the other click
    has passed it too: the worst interleaving, every time.  Only the ledger's atomic claim
    can then stop the second send."""

    barrier: threading.Barrier

    def check_duplicate(self, allow_duplicate: bool = False) -> None:
        super().check_duplicate(allow_duplicate)
        self.barrier.wait(timeout=10)


@pytest.mark.parametrize("same_object", [True, False], ids=["one-campaign", "two-notebooks"])
def test_a_double_click_sends_once(make_client, fresh_token, sandbox, same_object):
    numbers = phone_numbers(3, seed=6)
    clients = [make_client(token=fresh_token) for _ in range(2)]  # same cache dir: one ledger file
    campaigns = [RacingCampaign(c, "Double click", numbers, "MegaShop", progress=False) for c in clients]
    if same_object:
        campaigns[1] = campaigns[0]
    RacingCampaign.barrier = threading.Barrier(2)
    for campaign in campaigns:
        campaign.quote()  # priced before the race, so both threads race on the send itself
    sandbox.reset_stats()
    outcomes: list[object] = [None, None]

    def click(i: int) -> None:
        try:
            outcomes[i] = campaigns[i].run(confirm=True)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            outcomes[i] = exc

    threads = [threading.Thread(target=click, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [o for o in outcomes if isinstance(o, SendResult)]
    refused = [o for o in outcomes if isinstance(o, sa.DuplicateSendError)]
    assert len(results) == 1 and len(refused) == 1, outcomes
    assert posts(sandbox) == 1
    assert len(clients[0].sendings()) == 1
    assert clients[0].ledger.sends(clients[0].settings.account)["state"].tolist() == ["created"]


def test_a_send_in_flight_blocks_the_second_click(client, sandbox):
    campaign = Campaign(client, "Slow network", phone_numbers(2, seed=7), "MegaShop", progress=False)
    campaign.preview()
    sandbox.inject("latency", path=spec.SENDINGS, method="POST", exact=True, seconds=1.0)
    sandbox.reset_stats()
    first: list[object] = []
    thread = threading.Thread(target=lambda: first.append(campaign.run(confirm=True)))
    thread.start()
    wait_for(lambda: not client.ledger.unresolved(client.settings.account).empty, "the pending ledger row")
    with pytest.raises(sa.DuplicateSendError, match="still 'pending'") as info:
        campaign.run(confirm=True, allow_duplicate=True)  # even a deliberate duplicate waits for the outcome
    assert info.value.previous["state"] == "pending"
    thread.join()
    assert isinstance(first[0], SendResult)
    assert posts(sandbox) == 1


# --- lost answers and reconciliation ---------------------------------------------------------

def test_lost_answer_is_unknown_then_reconciled_to_the_right_sending(client, sandbox):
    numbers = phone_numbers(2, seed=8)
    # Decoys on the server: the same text already linked to an earlier send, and another text.
    earlier = client.send("Last chance", phone_numbers(2, seed=9), "MegaShop", confirm=True)
    other = client.api.create_sending({"message": "Something else", "recipients": numbers, "sender": "MEGA"})
    campaign = Campaign(client, "Last chance", numbers, "MegaShop", progress=False)
    campaign.preview()
    sandbox.inject("drop_after", path=spec.SENDINGS, method="POST", exact=True)
    sandbox.reset_stats()

    with pytest.raises(sa.UnknownOutcomeError, match=r"client\.reconcile\(\)") as info:
        campaign.run(confirm=True)
    assert "demo-token" not in str(info.value) and client.settings.token not in str(info.value)
    assert posts(sandbox) == 1
    unresolved = client.ledger.unresolved(client.settings.account)
    assert unresolved["state"].tolist() == ["unknown"]
    created = set(client.sendings()["id"]) - {earlier.sending_id, other}
    assert len(created) == 1  # the server did create it: that is why it must not be re-sent
    with pytest.raises(sa.DuplicateSendError, match="reconcile"):
        campaign.run(confirm=True)
    with pytest.raises(sa.DuplicateSendError, match="reconcile"):
        campaign.run(confirm=True, allow_duplicate=True)
    assert posts(sandbox) == 1

    report = client.reconcile()
    assert report[["previous_state", "state"]].values.tolist() == [["unknown", "reconciled"]]
    assert report["sending_id"].tolist() == list(created)
    send = client.ledger.get_send(int(unresolved["id"].iloc[0]))
    assert (send["state"], send["sending_id"]) == ("reconciled", created.pop())
    assert client.reconcile().empty  # nothing left to settle
    with pytest.raises(sa.DuplicateSendError, match=f"sending {send['sending_id']}"):
        campaign.run(confirm=True)  # now a plain duplicate of a sending that exists
    assert posts(sandbox) == 1
    spend = client.spend()
    assert spend.loc[spend["sending_id"] == send["sending_id"], "cost"].sum() == campaign.quote().total


def in_flight(client) -> float:
    """Seconds after a send during which its request may still commit on the server."""
    return client.settings.timeout + client.settings.commit_grace


def test_connection_dropped_before_the_server_acted_reconciles_to_failed(make_client, fresh_token, sandbox):
    clock = ManualClock()
    client = make_client(token=fresh_token, clock=clock)
    campaign = Campaign(client, "Dropped", phone_numbers(2, seed=10), "MegaShop", progress=False)
    campaign.preview()
    sandbox.inject("drop_before", path=spec.SENDINGS, method="POST", exact=True)
    sandbox.reset_stats()
    with pytest.raises(sa.UnknownOutcomeError):
        campaign.run(confirm=True)
    assert client.sendings().empty
    report = client.reconcile()  # absent, but the request could still be committing: proves nothing yet
    assert report["state"].tolist() == ["unknown"] and report["seconds_left"].iloc[0] > 0
    clock.advance(in_flight(client) + 1)
    report = client.reconcile()
    assert report["state"].tolist() == ["failed"] and "safe to send again" in report["note"].iloc[0]
    assert "can no longer be in flight" in client.ledger.sends(client.settings.account)["error"].iloc[0]
    result = campaign.run(confirm=True)  # failed sends do not count as duplicates
    assert result.state == "created" and posts(sandbox) == 2
    assert client.sendings()["id"].tolist() == [result.sending_id]


def test_a_server_error_is_unknown_and_a_refusal_is_failed(make_client, fresh_token, sandbox):
    clock = ManualClock()
    client = make_client(token=fresh_token, clock=clock)
    campaign = Campaign(client, "Errors", phone_numbers(2, seed=11), "MegaShop", progress=False)
    campaign.preview()
    sandbox.inject("status", path=spec.SENDINGS, method="POST", exact=True, status=500)
    with pytest.raises(sa.UnknownOutcomeError, match="Server Error"):
        campaign.run(confirm=True)
    clock.advance(in_flight(client) + 1)
    assert client.reconcile()["state"].tolist() == ["failed"]  # the 500 created nothing
    sandbox.inject("status", path=spec.SENDINGS, method="POST", exact=True, status=422)
    with pytest.raises(sa.ValidationError) as info:
        campaign.run(confirm=True)
    assert info.value.http_status == 422
    sends = client.ledger.sends(client.settings.account)
    assert sends["state"].tolist() == ["failed", "failed"]
    assert sends["error"].iloc[1].startswith("[422]")
    assert campaign.run(confirm=True).state == "created"


def test_reconcile_leaves_a_young_pending_send_alone_and_settles_a_stale_one(make_client, fresh_token, sandbox):
    # A kernel that died between its ledger row and the answer: the row stays 'pending'.
    clock = ManualClock()
    client = make_client(token=fresh_token, clock=clock)
    numbers = phone_numbers(3, seed=12)
    campaign = Campaign(client, "Crashed kernel", numbers, "MegaShop", progress=False)
    campaign.quote()
    account = client.settings.account
    send_id, scheduled = client.ledger.claim_send(account, campaign.key, campaign._quote_id, "MegaShop", None,
                                                  "default", 3, duplicate_window=timedelta(hours=24))
    sending_id = client.api.create_sending(campaign.payload(scheduled))

    report = client.reconcile()
    assert report["state"].tolist() == ["pending"] and "another thread or notebook" in report["note"].iloc[0]
    with pytest.raises(sa.DuplicateSendError, match="still 'pending'"):
        campaign.run(confirm=True)
    clock.advance(in_flight(client) + 1)
    report = client.reconcile()
    assert report[["send_id", "state", "sending_id"]].values.tolist() == [[send_id, "reconciled", sending_id]]


# --- spend analytics ------------------------------------------------------------------------

def test_spend_joins_the_ledger_with_statuses(make_client, sandbox_factory):
    url, control = sandbox_factory(tokens=("spend-token",))
    client = make_client(token="spend-token", url=url)
    first = client.send("Spend one", phone_numbers(6, seed=13), "MegaShop", confirm=True)
    second = client.send("Spend two: a longer message " + "x" * 150, phone_numbers(3, seed=14), "MEGA",
                         confirm=True)
    unpriced = client.api.create_sending({"message": "Sent elsewhere", "recipients": ["4915123456789"], "sender": "MEGA"})

    spend = client.spend()
    assert set(spend["status"]) <= {spec.PENDING, spec.PROCESSING}
    control.advance(3600)
    spend = client.spend()
    assert set(spend["status"]) <= set(spec.FINAL_STATUSES)
    priced = spend[spend["priced"]]
    for result in (first, second):
        rows = priced[priced["sending_id"] == result.sending_id]
        assert sum(rows["cost"], Decimal(0)) == result.total  # exact, Decimal
        assert rows["sms_count"].sum() == result.sms_count and rows["numbers"].sum() == result.recipients
        assert rows["sender"].nunique() == 1
    assert second.sms_count == 2 * second.recipients  # 178 GSM-7 characters: 2 parts each
    lost = spend[spend["sending_id"] == unpriced]
    assert lost["priced"].tolist() == [False] and lost["cost"].isna().all()
    assert (spend["period"] == spend["created_at"].dt.floor("D")).all()
    assert set(client.spend("M")["period"].dt.day) == {1}

    by_sender = sa.spend_summary(spend, by="sender").set_index("sender")
    assert by_sender.loc["MegaShop", "cost"] == first.total
    assert by_sender.loc["MEGA", "cost"] == second.total
    assert by_sender["unpriced"].sum() == 1  # the sending the ledger never saw: counted, not dropped

    history = client.balance_history()
    assert history["amount"].map(type).eq(Decimal).all() and len(history) >= 2
    assert history["amount"].iloc[0] - client.balance().amount >= first.total + second.total - Decimal("0.001")
    with pytest.raises(ValueError, match="freq"):
        client.spend("Y")
