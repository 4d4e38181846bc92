"""Regression tests of issue 10: the money path as an attacker would try it.

Each test is one item of the issue, run against the real sandbox with its fault injection
(latency that commits after the client gave up, connections dropped before the server
handled the request) and two notebooks (two clients with their own cache folders and
ledgers) on one account.  What the server really holds is read with plain ``requests``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
from manual_clock import ManualClock
from reliability_support import child_env, phone_numbers, server_balance, server_sendings, wait_for

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.sending.campaign import campaign_key
from smsgic_analytics.sending.ledger import LEDGER_FILENAME, Ledger

POST_SENDINGS = ("POST", spec.SENDINGS)




# --- item 1: a send that commits after the client timed out ---------------------------------

def test_a_late_commit_is_never_declared_safe_to_repeat_and_is_charged_once(make_client, fresh_token, control,
                                                                             sandbox_url):
    client = make_client(fresh_token, timeout=3.0)
    numbers = phone_numbers(6, seed=21)
    text = "Your order has shipped"
    quote = client.calculate(text, numbers, progress=False)
    control.set_balance(fresh_token, Decimal(100) + quote.total)
    control.inject("latency", path=spec.SENDINGS, method="POST", exact=True, seconds=10)
    control.reset_stats()

    with pytest.raises(sa.UnknownOutcomeError):
        client.send(text, numbers, "MegaShop", confirm=True)
    # Right away the request is still being handled: it must stay unknown, never "safe to send again".
    report = client.reconcile()
    assert list(report["state"]) == ["unknown"]
    assert "in flight" in report["note"].iloc[0]
    for forced in (False, True):
        with pytest.raises(sa.DuplicateSendError):
            client.send(text, numbers, "MegaShop", confirm=True, allow_duplicate=forced)

    wait_for(lambda: len(server_sendings(sandbox_url, fresh_token)) == 1, 30, "the late commit")
    [sending] = server_sendings(sandbox_url, fresh_token)
    report = client.reconcile()
    assert list(report["state"]) == ["reconciled"]
    assert int(report["sending_id"].iloc[0]) == sending["id"]

    spend = client.spend()
    mine = spend[spend["sending_id"] == sending["id"]]
    assert mine["priced"].all() and sum(mine["cost"], Decimal(0)) == quote.total
    assert control.stats()[POST_SENDINGS] == 1
    assert server_balance(sandbox_url, fresh_token) == Decimal(100)  # debited exactly once


# --- item 2: numbers that are not what they look like ---------------------------------------

@pytest.mark.parametrize("value", ["37129123457.0", "37129123457.00", "3.7129123457e+10", "3.7129123457E+10",
                                   37129123457.0])
def test_a_number_read_through_a_float_is_refused_with_the_fix(value):
    with pytest.raises(sa.errors.InvalidRecipientsError) as caught:
        sa.normalize_recipients(["37120012345", value])
    text = str(caught.value)
    assert "row 1" in text and repr(value) in text
    assert "float" in text and "dtype=str" in text
    assert list(caught.value.invalid["index"]) == [1]


def test_a_float_rendered_number_never_reaches_the_server(make_client, fresh_token, control):
    client = make_client(fresh_token)
    control.reset_stats()
    for attempt in (lambda: client.calculate("Hi", ["37129123457.0"], progress=False),
                    lambda: client.send("Hi", ["37129123457.0"], "MegaShop", confirm=True)):
        with pytest.raises(sa.errors.InvalidRecipientsError, match="float"):
            attempt()
    assert control.stats().get(("POST", spec.CALCULATE), 0) == 0
    assert control.stats().get(POST_SENDINGS, 0) == 0


def test_a_domestic_number_needs_a_default_region(make_client, fresh_token):
    with pytest.raises(sa.errors.InvalidRecipientsError) as caught:
        sa.normalize_recipients(["07400 123456"])
    assert "country code" in str(caught.value) and "default_region" in str(caught.value)
    assert sa.normalize_recipients(["07400 123456", "+371 2001 2345"], default_region="GB").numbers == (
        "447400123456", "37120012345")
    placed = sa.classify(["07400 123456"], default_region="GB")
    assert placed.loc[0, "number"] == "447400123456" and placed.loc[0, "region"] == "GB"
    assert not sa.classify(["07400 123456"]).loc[0, "valid"]  # never silently read as some other number

    client = make_client(fresh_token)
    with pytest.raises(sa.errors.InvalidRecipientsError, match="default_region"):
        client.calculate("Hi", ["07400 123456"], progress=False)
    quote = client.calculate("Hi", ["07400 123456"], progress=False, default_region="GB")
    assert list(quote.numbers["number"]) == ["447400123456"]
    assert list(quote.numbers["country"]) == ["United Kingdom"]


# --- item 3: confirm is True, nothing else ------------------------------------------------

@pytest.mark.parametrize("flag", ["no", "False", "True", [0], 1, "yes"], ids=repr)
def test_confirm_must_be_exactly_true(make_client, fresh_token, control, flag):
    client = make_client(fresh_token)
    numbers = phone_numbers(3, seed=3)
    control.reset_stats()
    with pytest.raises(sa.errors.ConfirmationRequiredError) as caught:
        client.send("Flag check", numbers, "MegaShop", confirm=flag)
    quote = client.calculate("Flag check", numbers, progress=False)
    assert str(quote.total) in str(caught.value)
    assert control.stats().get(POST_SENDINGS, 0) == 0
    assert client.ledger.sends(client.settings.account).empty


def test_allow_duplicate_must_be_exactly_true(make_client, fresh_token, control):
    client = make_client(fresh_token)
    numbers = phone_numbers(3, seed=4)
    client.send("Once only", numbers, "MegaShop", confirm=True)
    for flag in ("yes", 1, [True]):
        with pytest.raises(sa.DuplicateSendError):
            client.send("Once only", numbers, "MegaShop", confirm=True, allow_duplicate=flag)
    assert control.stats()[POST_SENDINGS] >= 1
    assert len(client.sendings()) == 1


# --- item 4: a colleague's sending is not ours -------------------------------------------

def test_reconcile_never_links_a_colleagues_sending(make_client, fresh_token, control, sandbox_url, tmp_path):
    # Both notebooks send within the same second (their clocks read the same instant): each
    # ledger schedules in its own lane (drawn once per ledger file; fixed here so that the test
    # does not depend on the 29-in-30 chance of two random lanes differing).
    Ledger(tmp_path / "alice" / LEDGER_FILENAME, lane=3)
    Ledger(tmp_path / "bob" / LEDGER_FILENAME, lane=4)
    clock = ManualClock()
    mine = make_client(fresh_token, cache_dir=tmp_path / "alice", clock=clock, timeout=3.0)
    colleague = make_client(fresh_token, cache_dir=tmp_path / "bob", clock=ManualClock(clock.now))
    text = "Team meeting moved to 3pm"
    ours, theirs = phone_numbers(5, seed=31), phone_numbers(5, seed=32)

    campaign = mine.campaign(text, ours, "MegaShop", progress=False)
    campaign.preview()  # quoted first: the fault below meets POST /sendings itself
    control.inject("drop_before", path=spec.SENDINGS, method="POST", exact=True)
    with pytest.raises(sa.UnknownOutcomeError):
        campaign.run(confirm=True)
    assert server_sendings(sandbox_url, fresh_token) == []  # it never reached the server
    other = colleague.send(text, theirs, "MegaShop", confirm=True)  # same text, same SMS count

    clock.advance(3600)  # long past any request still in flight
    report = mine.reconcile()
    assert list(report["state"]) == ["unknown"]  # not proven either way: a person decides
    assert list(report["candidates"].iloc[0]) == [other.sending_id]
    assert mine.ledger.sends(mine.settings.account)["sending_id"].isna().all()

    send_id = int(report["send_id"].iloc[0])
    mine.resolve_send(send_id, sending_id=None)  # the person checked: ours never went out
    with pytest.raises(sa.DuplicateSendError, match=str(other.sending_id)):
        mine.send(text, ours, "MegaShop", confirm=True)  # the server has the same text and count
    again = mine.send(text, ours, "MegaShop", confirm=True, allow_duplicate=True)

    spend = mine.spend()
    own = spend[spend["sending_id"] == again.sending_id]
    assert own["priced"].all() and sum(own["cost"], Decimal(0)) == again.total
    foreign = spend[spend["sending_id"] == other.sending_id]
    assert len(foreign) == 1 and not foreign["priced"].iloc[0] and foreign["cost"].iloc[0] is None
    assert int(foreign["sms_count"].iloc[0]) == 5  # unpriced, not free: its SMS count is shown
    summary = sa.spend_summary(spend, by="sender")
    assert int(summary["unpriced"].sum()) == 1


# --- item 5: one fact, one home ----------------------------------------------------------

SAME_NUMBER = ["+44 7400/123456", "+44\u20137400 123456", "\uff0b\uff14\uff14\uff17\uff14\uff10\uff10\uff11\uff12\uff13\uff14\uff15\uff16"]


def test_every_path_normalises_a_number_the_same_way(make_client, fresh_token):
    client = make_client(fresh_token)
    rates = client.rates()
    for value in SAME_NUMBER:
        assert sa.normalize_recipients([value]).numbers == ("447400123456",)
        assert sa.classify([value]).loc[0, "number"] == "447400123456"
        offline = sa.estimate([value], "Hi", rates=rates)
        assert list(offline.rows["number"]) == ["447400123456"] and offline.unplaced.empty
        quote = client.calculate("Hi", [value], progress=False)
        assert list(quote.numbers["number"]) == ["447400123456"]
        mismatches = sa.compare(offline, quote, by="number")
        assert not mismatches["status"].isin(["only offline", "only quote"]).any()
    bad = "+447400+123456"
    with pytest.raises(sa.errors.InvalidRecipientsError):
        sa.normalize_recipients([bad])
    assert sa.classify([bad]).loc[0, "valid"] == False  # noqa: E712 - numpy bool
    assert len(sa.estimate([bad], "Hi", rates=rates).unplaced) == 1


def test_a_schedule_is_the_same_in_every_spelling(make_client, fresh_token):
    client = make_client(fresh_token)
    numbers = phone_numbers(2, seed=5)
    spellings = ["2099-12-01 10:00:00", "2099-12-01T10:00:00", "2099-12-01T10:00:00+00:00",
                 datetime(2099, 12, 1, 10, tzinfo=UTC), datetime(2099, 12, 1, 11, tzinfo=timezone(timedelta(hours=1)))]
    keys = {sa.Campaign(client, "Hi", numbers, "MegaShop", scheduled_at=when).key for when in spellings}
    keys |= {campaign_key("Hi", numbers, "MegaShop", when) for when in spellings}
    assert len(keys) == 1


def test_rates_are_exact_decimals_from_the_wire(make_client, fresh_token, sandbox_url):
    client = make_client(fresh_token)
    frame = client.rates(country="Latvia")
    response = requests.get(sandbox_url + spec.RATES, params={"country": "Latvia"},
                            headers={"Authorization": f"Bearer {fresh_token}"}, timeout=30)
    wire = json.loads(response.content, parse_float=Decimal)["rates"]
    assert all(isinstance(r, Decimal) for r in frame["rate"])
    assert list(frame["rate"]) == [r["rate"] for r in wire]
    assert [str(r) for r in frame["rate"]] == [str(r["rate"]) for r in wire]


# --- item 6: the cache folder is user-writable; cache=False; retry=False -------------------

PLANT = """
import os, pickle, sys
class Boom:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
path = sys.argv[1]
with open(path, "wb") as fh:
    pickle.dump(Boom(), fh)
"""

LOAD = """
import sys
from smsgic_analytics.numbers.tables import load_tables
tables = load_tables(sys.argv[1])
print(len(tables.regions))
"""


def test_a_planted_file_in_the_cache_folder_never_runs(tmp_path):
    import phonenumbers

    cache = tmp_path / "cache"
    cache.mkdir()
    marker = tmp_path / "pwned"
    # Everything the numbering cache has ever been called, and anything else in the folder.
    for name in (f"numbering-{phonenumbers.__version__}.pkl", f"numbering-{phonenumbers.__version__}.npz",
                 f"numbering-{phonenumbers.__version__}.json", "numbering.pkl"):
        subprocess.run([sys.executable, "-c", PLANT, str(cache / name), str(marker)], check=True)
    done = subprocess.run([sys.executable, "-c", LOAD, str(cache)], env=child_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 200  # the tables were rebuilt and work
    assert not marker.exists()


def test_calculate_without_cache_reads_nothing_cached(make_client, fresh_token, control):
    client = make_client(fresh_token)
    numbers = phone_numbers(3, seed=8)
    client.calculate("Cached once", numbers, progress=False)  # caches /rates and the quote
    control.reset_stats()
    client.calculate("Cached once", numbers, progress=False, cache=False)
    stats = control.stats()
    assert stats.get(("GET", spec.RATES), 0) == 1
    assert stats.get(("POST", spec.CALCULATE), 0) == 1


def test_a_calculate_without_retries_is_a_plain_connection_error(make_client, fresh_token, control):
    client = make_client(fresh_token)
    control.inject("drop_before", path=spec.CALCULATE, method="POST")
    with pytest.raises(sa.errors.APIConnectionError) as caught:
        client.http.call("POST", spec.CALCULATE, json_body={"message": "Hi", "recipients": ["447400123456"]},
                         retry=False, cache=False)
    assert not isinstance(caught.value, sa.UnknownOutcomeError)  # calculate is safe to repeat
