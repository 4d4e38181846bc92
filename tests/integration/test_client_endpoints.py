"""Every Client method over real HTTP against the sandbox."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import api_doc
import by_hand
import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.api import frames
from smsgic_analytics.api.frames import Balance
from smsgic_analytics.core import spec
from smsgic_analytics.core.dates import format_scheduled_at


def test_status_needs_no_token(make_client):
    client = make_client(token=None)
    assert client.status() is True


def test_status_is_false_when_nothing_listens(make_client, unused_url):
    assert make_client(url=unused_url, max_retries=0).status() is False


def test_missing_token_is_raised_only_by_authenticated_endpoints(make_client, sandbox, monkeypatch):
    monkeypatch.delenv("SMSGIC_TOKEN", raising=False)
    client = make_client(token=None)
    sandbox.reset_stats()
    for call in (client.balance, client.senders, client.rates, client.sendings, lambda: client.sending(301),
                 lambda: client.calculate("hi", ["4915123456789"], progress=False)):
        with pytest.raises(sa.errors.MissingTokenError, match="SMSGIC_TOKEN"):
            call()
    assert sandbox.stats() == {}  # refused before anything was sent


def test_connect_reads_the_environment(sandbox_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SMSGIC_TOKEN", "demo-token")
    monkeypatch.setenv("SMSGIC_BASE_URL", sandbox_url + "/")
    monkeypatch.setenv("SMSGIC_CACHE_DIR", str(tmp_path / "env-cache"))
    with sa.connect() as client:
        assert client.settings.base_url == sandbox_url
        assert client.balance().currency == "GBP"
        client.senders()
    assert (tmp_path / "env-cache" / "http-cache.sqlite").exists()


def test_balance_is_exact(make_client, fresh_token, sandbox):
    sandbox.set_balance(fresh_token, "12.3456")
    balance = make_client(token=fresh_token).balance()
    assert balance == Balance(amount=Decimal("12.345"), sign="£", currency="GBP")  # the API shows 3 decimals
    assert isinstance(balance.amount, Decimal)
    with pytest.raises(AttributeError):
        balance.amount = Decimal(0)  # type: ignore[misc]  # frozen


def test_senders(make_client):
    df = make_client().senders()
    assert df.to_dict("records") == [{"id": 45, "sender": "MegaShop"}, {"id": 46, "sender": "DSTLCKDM"},
                                     {"id": 136, "sender": "MEGA"}]
    assert str(df["id"].dtype) == "int64"


def test_rates_and_filters(make_client):
    client = make_client()
    everything = client.rates()
    assert list(everything.columns) == frames.RATES_COLUMNS and len(everything) > 100
    assert (everything["currency"] == "GBP").all()
    assert everything["mcc"].str.fullmatch(r"\d{3}").all()
    assert everything["is_default"].sum() == everything["country"].nunique()  # one default per country
    latvia = client.rates(country="Latv")
    assert set(latvia["country"]) == {"Latvia"} and latvia["is_default"].sum() == 1
    operator = latvia[~latvia["is_default"]].iloc[0]
    one = client.rates(mcc=operator["mcc"], mnc=operator["mnc"])
    assert one["mnc"].tolist() == [operator["mnc"]] and one["rate"].tolist() == [operator["rate"]]
    defaults = client.rates(mcc=operator["mcc"], mnc="null")
    assert defaults["is_default"].all() and len(defaults) == 1


def test_rates_filter_errors_come_back_as_field_errors(make_client):
    with pytest.raises(sa.ValidationError) as info:
        make_client().rates(mnc="05")
    assert info.value.http_status == 422
    assert info.value.field_errors == {"mcc": [by_hand.MCC_REQUIRED]}


def test_an_mnc_given_as_a_number_is_refused_before_asking(make_client):
    client = make_client()
    tele2 = client.rates(mcc="247", mnc="02")
    assert len(tele2) == 1  # the operator exists: as the number 2 it would come back as no rows
    with pytest.raises(sa.ValidationError, match=r"^mnc is text such as '02' \(a number loses its leading zeros\), "
                                                  r"not 2"):
        client.rates(mcc="247", mnc=2)


def test_a_lone_surrogate_is_refused_by_the_client_and_nothing_is_asked_or_sent(make_client, fresh_token):
    client = make_client(token=fresh_token)
    numbers = ["+49 151 23456789"]
    said = "character 5 is a lone surrogate U+D800, not text that can be sent (UTF-8 has no bytes for it)"
    with pytest.raises(sa.ValidationError, match=rf"^message: {re.escape(said)}"):
        client.calculate("Hello\ud800", numbers, progress=False)
    quote = client.calculate("Hello", numbers, progress=False)
    with pytest.raises(sa.ValidationError, match=rf"^message: {re.escape(said)}"):
        quote.reprice(message="Hello\ud800")
    for message, sender, field in (("Hello\ud800", "MegaShop", "message"), ("Hello", "Mega\udfff", "sender")):
        with pytest.raises(sa.ValidationError) as refused:
            client.send(message, numbers, sender, confirm=True)
        assert refused.value.field_errors[field][0].endswith("not text that can be sent (UTF-8 has no bytes for it)")
    assert client.sendings().empty and client.balance().amount == Decimal("450.000")


def test_send_then_read_it_back(make_client, fresh_token, sandbox):
    client = make_client(token=fresh_token)
    before = client.balance().amount
    when = datetime(2030, 1, 2, 12, 30, 0, tzinfo=timezone(timedelta(hours=2)))  # 10:30 UTC
    with pytest.warns(UserWarning, match="1 duplicate recipients will get the SMS once"):
        result = client.send("Hello from the tests", ["+49 151 23456789", "4915123456789", "4915123456790"],
                             "MegaShop", scheduled_at=when, confirm=True)
    sending_id = result.sending_id  # send() is the safe path (campaign.py) and returns a SendResult
    assert isinstance(sending_id, int)
    record = client.sending(sending_id)
    assert record["id"] == sending_id and record["status"] == spec.PENDING
    assert record["scheduled_at"] == pd.Timestamp("2030-01-02 10:30:00", tz="UTC")
    assert isinstance(record["updated_at"], pd.Timestamp) and str(record["updated_at"].tz) == "UTC"
    listed = client.sendings()
    assert list(listed.columns) == frames.SENDINGS_COLUMNS
    row = listed.set_index("id").loc[sending_id]
    assert row["text"] == "Hello from the tests" and row["total_sms"] == 2  # duplicate sent once: 2 numbers x 1 part
    assert row["scheduled_at"] == pd.Timestamp("2030-01-02 10:30:00", tz="UTC")
    assert client.balance().amount < before  # debited


def test_send_requires_confirmation_and_sends_nothing_without_it(make_client, fresh_token, sandbox):
    client = make_client(token=fresh_token)
    sandbox.reset_stats()
    with pytest.raises(sa.errors.ConfirmationRequiredError):
        client.send("Hi", ["4915123456789"], "MegaShop")
    assert ("POST", spec.SENDINGS) not in sandbox.stats()
    assert client.sendings().empty


@pytest.mark.parametrize("kwargs, field", [
    ({"message": ""}, "message"),
    ({"sender": ""}, "sender"),
    ({"type": "carrier-pigeon"}, "type"),
    ({"scheduled_at": "next tuesday"}, "scheduled_at"),
    ({"recipients": ["12ab"]}, "recipients.0"),
    ({"recipients": []}, "recipients"),
])
def test_send_validates_before_posting(make_client, sandbox, kwargs, field):
    client = make_client()
    sandbox.reset_stats()
    args = {"message": "Hi", "recipients": ["4915123456789"], "sender": "MegaShop", "confirm": True, **kwargs}
    with pytest.raises(sa.ValidationError) as info:
        client.send(**args)
    assert field in info.value.field_errors
    assert ("POST", spec.SENDINGS) not in sandbox.stats()


def test_send_rejected_by_the_api(make_client, fresh_token):
    client = make_client(token=fresh_token)
    with pytest.raises(sa.ValidationError) as info:
        client.send("Hi", ["4915123456789"], "NotMySender", confirm=True)
    assert info.value.field_errors == {"sender": [by_hand.INVALID_SENDER]}


def test_the_docs_quirk_message_key_is_refiled_under_the_field(make_client, fresh_token):
    # POST /sendings files "recipients/sender not sent" under "message"; the raw door shows it.
    client = make_client(token=fresh_token)
    with pytest.raises(sa.ValidationError) as info:
        client.api.create_sending({"message": "Hi"})
    assert info.value.field_errors == {"recipients": [api_doc.MISSING_RECIPIENTS], "sender": [api_doc.MISSING_SENDER]}
    assert info.value.body["errors"] == {"message": [api_doc.MISSING_RECIPIENTS, api_doc.MISSING_SENDER]}


def test_insufficient_balance(make_client, fresh_token, sandbox):
    sandbox.set_balance(fresh_token, "0.01")
    client = make_client(token=fresh_token)
    with pytest.raises(sa.InsufficientBalanceError) as info:  # the API's own refusal, via the raw door
        client.api.create_sending({"message": "Hi", "recipients": ["4915123456789"], "sender": "MegaShop"})
    assert info.value.http_status == 422 and "balance" in info.value.field_errors
    with pytest.raises(sa.InsufficientBalanceError) as info:  # send() refuses before posting
        client.send("Hi", ["4915123456789"], "MegaShop", confirm=True)
    assert info.value.http_status is None and "balance" in info.value.field_errors


def test_unknown_sending_is_not_found(make_client, fresh_token):
    with pytest.raises(sa.NotFoundError) as info:
        make_client(token=fresh_token).sending(999_999)
    assert str(info.value) == "[404] " + api_doc.not_found(999_999)


def test_another_accounts_sending_is_not_found(make_client, fresh_token):
    mine = make_client(token=fresh_token).send("Hi", ["4915123456789"], "MegaShop", confirm=True)
    with pytest.raises(sa.NotFoundError):
        make_client(token="other-token").sending(mine.sending_id)


@pytest.mark.parametrize("value, expected", [
    (datetime(2030, 5, 1, 9, 0, 0), "2030-05-01 09:00:00"),  # naive = UTC
    (datetime(2030, 5, 1, 9, 0, 0, tzinfo=timezone(timedelta(hours=-5))), "2030-05-01 14:00:00"),
    (pd.Timestamp("2030-05-01 09:00", tz="Europe/Riga"), "2030-05-01 06:00:00"),
    ("2030-05-01 09:00:00", "2030-05-01 09:00:00"),
    ("2030-05-01T09:00:00+02:00", "2030-05-01 07:00:00"),
    (None, None),
])
def test_format_scheduled_at(value, expected):
    assert format_scheduled_at(value) == expected


def test_repr_and_context_manager(make_client):
    client = make_client()
    assert "Client(base_url=" in repr(client) and client.settings.account in repr(client)
    with sa.connect(token="demo-token", base_url=client.settings.base_url, cache_dir=client.settings.cache_dir) as c:
        assert c.status()


@pytest.fixture
def unused_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # closed again: nothing listens there
