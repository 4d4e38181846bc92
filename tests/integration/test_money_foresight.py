"""Issue 20 against a real sandbox over HTTP: rate-card history, re-pricing at an old card and the
budget guard.  The sandbox's clock is frozen and moved by the test, so every snapshot's date is
known.  Expected prices come from the sandbox's own answers before the change (GET /rates and a
calculate asked with plain ``requests``), and differences from the rates the test sets by hand.
"""
from __future__ import annotations

import re
import warnings
from decimal import Decimal

import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests

import smsgic_analytics as sa
from smsgic_analytics.pricing.history import RateHistoryWarning, at
from smsgic_analytics.pricing.whatif import reprice

TOKEN = "demo-token"
TELE2 = "37120012345"  # Latvia Tele2, 247/02
LV_DEFAULT = "37125012345"  # Latvia, priced on the country default row
UK = "447400123456"  # United Kingdom, country default
NUMBERS = [TELE2, LV_DEFAULT, UK]
T0, T1 = "2026-10-20T09:00:00Z", "2026-11-10T09:00:00Z"


@pytest.fixture
def world(sandbox_factory, tmp_path):
    url, control = sandbox_factory(seed=0, clock=T0)
    client = sa.connect(token=TOKEN, base_url=url, cache_dir=tmp_path / "cache", clock=control.now,
                        backoff_factor=0.01, timeout=30)
    yield url, control, client
    client.close()


def wire_rates(url: str) -> list[dict]:
    response = requests.get(url + "/rates", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    response.raise_for_status()
    return response.json(parse_float=Decimal)["rates"]


def wire_rate(url: str, mcc: str, mnc: str | None, country: str) -> Decimal:
    [row] = [r for r in wire_rates(url) if r["mcc"] == mcc and r["mnc"] == mnc and r["country"] == country]
    return Decimal(str(row["rate"]))


def uk_id(control) -> int:
    return next(c["country_id"] for c in control.countries() if c["country"] == "United Kingdom")


def change_prices(url: str, control) -> dict[tuple[str, str | None, str], tuple[Decimal, Decimal]]:
    """Move Latvia Tele2 up by 0.0123 and the UK default to 0.3001; (old, new) by row, old read off the wire."""
    tele2 = wire_rate(url, "247", "02", "Latvia")
    uk = wire_rate(url, "234", None, "United Kingdom")
    control.set_rate("247", "02", tele2 + Decimal("0.0123"))
    control.set_rate("234", None, "0.3001", country_id=uk_id(control))
    return {("247", "02", "Latvia"): (tele2, tele2 + Decimal("0.0123")),
            ("234", None, "United Kingdom"): (uk, Decimal("0.3001"))}


def test_a_price_change_shows_in_rate_changes_with_the_exact_difference(world) -> None:
    url, control, client = world
    client.rates()  # snapshot at T0
    moved = change_prices(url, control)
    control.set_now(T1)
    client.rates(refresh=True)  # snapshot at T1: the change is seen
    changes = sa.rate_changes(client, since="2026-11-01")
    assert len(changes) == 2
    for row in changes.itertuples():
        old, new = moved[(row.mcc, None if pd.isna(row.mnc) else row.mnc, row.country)]
        assert (row.old, row.new, row.change) == (old, new, new - old)
        assert row.change_pct == (100 * (new - old) / old).quantize(Decimal("0.01"))
        assert row.changed_at == pd.Timestamp(T1)
        assert row.currency == "GBP"
    tele2 = changes[changes["mnc"] == "02"].iloc[0]
    assert tele2["change"] == Decimal("0.0123") and tele2["operator"] == "Tele2"
    # sorted by money at stake (per SMS here): the bigger move first
    assert list(changes["at_stake"]) == sorted(changes["at_stake"], key=abs, reverse=True)
    assert sa.rate_changes(client, since="2026-11-11").empty  # nothing moved after the 10th
    history = sa.rate_history(client, country="latvia", operator="tele2")
    assert list(history["date"]) == [pd.Timestamp(T0), pd.Timestamp(T1)]
    assert list(history["price"]) == list(moved[("247", "02", "Latvia")])


def test_repricing_at_an_old_card_equals_a_calculate_made_before_the_change(world) -> None:
    url, control, client = world
    message = "Black Friday: 20% off everything — today only!"
    before = client.calculate(message, NUMBERS, progress=False)  # also keeps the card of T0
    change_prices(url, control)
    control.set_now(T1)
    now = client.calculate(message, NUMBERS, progress=False, refresh=True)
    assert now.total != before.total
    old = reprice(now, message, rates=at("2026-10-20", client))
    assert (old.total, old.subtotal, old.tax, old.sms_count) == (before.total, before.subtotal, before.tax,
                                                                  before.sms_count)
    columns = ["number", "destination", "country", "operator", "sms", "rate", "total"]
    pd.testing.assert_frame_equal(old.numbers[columns].astype(str), before.numbers[columns].astype(str))
    key = ["destination", "price", "total"]
    assert sorted(map(tuple, old.destinations[key].astype(str).values)) == \
        sorted(map(tuple, before.destinations[key].astype(str).values))
    # the Quote method and no text: the quote's own message
    assert now.reprice(rates=client.rates_at("2026-10-20")).total == before.total
    # and at today's card, the same as the fresh calculate
    assert now.reprice(rates=client.rates_at("2026-11-10")).total == now.total


def test_repricing_at_a_card_of_ones_own_checks_it_as_an_estimate_does(world) -> None:
    _, _, client = world
    quote = client.calculate("Hello", NUMBERS, progress=False)
    card = client.rates()
    at_4dp = quote.reprice(rates=card)
    # floats and text read as the digits written; every rate in the new quote is an exact Decimal
    for spelled in (card.assign(rate=[float(r) for r in card["rate"]]), card.assign(rate=[str(r) for r in card["rate"]])):
        again = quote.reprice(rates=spelled)
        assert again.total == at_4dp.total and {type(r) for r in again.numbers["rate"]} == {Decimal}
    # a rate finer than 4 places is priced rounded half-even, and said
    finer = card.assign(rate=[r + Decimal("0.00004") for r in card["rate"]])
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        rounded = quote.reprice(rates=finer)
    assert rounded.total == at_4dp.total and str(rounded.total) == str(at_4dp.total)
    assert [str(w.message).split(":")[0] for w in said] == [f"{len(card)} rate(s) have more than 4 decimal places, "
                                                            "the API's precision"]
    # a bad row is named by its label in the card, not blamed on the quote
    bad = card.assign(rate=[-r if i == 3 else r for i, r in enumerate(card["rate"])])
    with pytest.raises(ValueError, match=r"^rates row 3: rate must be a finite number >= 0"):
        quote.reprice(rates=bad)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['rate'\]"):
        quote.reprice(rates=card.drop(columns="rate"))
    with pytest.raises(TypeError, match="rates must be a DataFrame"):
        quote.reprice(rates=[1, 2])
    # two prices for one operator: which one the API charges is unknown, so neither is guessed
    tele2 = card[(card["mcc"] == "247") & (card["mnc"] == "02")]
    twice = pd.concat([card, tele2.assign(rate=tele2["rate"] + Decimal("0.01"))], ignore_index=True)
    with pytest.raises(ValueError, match=rf"^rates row {len(card)}: a second rate for mcc 247 mnc 02: "):
        quote.reprice(rates=twice)


def test_rates_at_before_the_first_snapshot_says_so(world) -> None:
    _, _, client = world
    client.rates()
    with pytest.raises(sa.errors.ValidationError, match="no rate-card snapshot at or before 2026-10-19"):
        client.rates_at("2026-10-19")
    # what is not a date is refused by name: a number is not nanoseconds since 1970, a word is not a day
    for when in (5, 1.5, True, "yesterday"):
        with pytest.raises(sa.errors.ValidationError, match=rf"^since: expected a date \(YYYY-MM-DD\) or an instant, "
                                                             rf"got {re.escape(repr(when))}"):
            sa.rate_changes(client, since=when)


def test_snapshots_are_deduplicated_and_never_hold_the_token(world) -> None:
    url, control, client = world
    folder = client.rate_card_history.folder
    client.rates()
    client.rates(refresh=True)
    client.rates(country="Latvia", refresh=True)  # a filtered answer with nothing new
    control.advance(3600)
    client.rates(refresh=True)
    assert len(list(folder.glob("*.parquet"))) == 1
    assert folder.parent.name == client.settings.account and TOKEN not in str(folder)
    control.set_rate("247", "02", "0.4444")
    client.rates(country="Latvia", refresh=True)  # a filtered answer with a change: kept
    files = sorted(folder.glob("*.parquet"))
    assert len(files) == 2
    for path in folder.parent.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    schema = pq.read_schema(files[0])
    assert str(schema.field("rate").type).startswith("decimal128(")
    assert set(schema.names) == {"taken_at", "mcc", "mnc", "country", "rate", "currency"}


def test_a_corrupted_snapshot_is_named_and_the_rest_stays_readable(world) -> None:
    url, control, client = world
    first = wire_rate(url, "247", "02", "Latvia")
    client.rates()
    for rate in ("0.4444", "0.5555"):
        control.set_rate("247", "02", rate)
        control.advance(86400)
        client.rates(refresh=True)
    files = sorted(client.rate_card_history.folder.glob("*.parquet"))
    assert len(files) == 3
    files[1].write_bytes(b"PAR1 this is not a parquet file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = sa.rate_history(client, country="Latvia", operator="Tele2")
    said = [str(w.message) for w in caught if issubclass(w.category, RateHistoryWarning)]
    assert len(said) == 1 and str(files[1]) in said[0] and "cannot be read" in said[0]
    assert list(history["price"]) == [first, Decimal("0.5555")]
    assert history.attrs["unreadable"] == [str(files[1])]
    with pytest.raises(sa.errors.RateHistoryError) as raised:
        sa.rate_history(client, on_error="raise")
    assert raised.value.path == str(files[1]) and str(files[1]) in str(raised.value)


# --- the budget guard ---------------------------------------------------------------------------

def posts(control) -> int:
    return control.stats().get(("POST", "/sendings"), 0)


def test_a_send_over_budget_is_refused_with_nothing_posted(world) -> None:
    url, control, client = world
    quote = client.calculate("Budget test", NUMBERS, progress=False)
    client.set_budget(month=quote.total - Decimal("0.0001"))
    control.reset_stats()
    with pytest.raises(sa.errors.BudgetExceededError) as caught:
        client.send("Budget test", NUMBERS, "MegaShop", confirm=True)
    error = caught.value
    assert (error.budget, error.spent, error.scheduled, error.this_send) == (
        quote.total - Decimal("0.0001"), Decimal(0), Decimal(0), quote.total)
    assert posts(control) == 0
    response = requests.get(url + "/sendings", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert response.json()["sendings"] == []
    assert TOKEN not in str(error)
    # also refused without confirm=True: the budget speaks before the confirmation
    with pytest.raises(sa.errors.BudgetExceededError):
        client.send("Budget test", NUMBERS, "MegaShop")


def test_scheduled_sends_count_as_committed(world) -> None:
    url, control, client = world
    first = client.send("Scheduled for later", NUMBERS, "MegaShop", scheduled_at="2026-10-28 10:00:00", confirm=True)
    second = client.calculate("Right now", NUMBERS, progress=False)
    client.set_budget(month=first.total + second.total - Decimal("0.0001"))
    status = client.budget()
    assert (status.spent, status.scheduled) == (Decimal(0), first.total)
    control.reset_stats()
    with pytest.raises(sa.errors.BudgetExceededError) as caught:
        client.send("Right now", NUMBERS, "MegaShop", confirm=True)
    assert (caught.value.spent, caught.value.scheduled, caught.value.this_send) == (Decimal(0), first.total,
                                                                                   second.total)
    assert posts(control) == 0
    client.set_budget(month=first.total + second.total)  # exactly enough
    result = client.send("Right now", NUMBERS, "MegaShop", confirm=True)
    assert result.sending_id is not None
    assert client.budget().alert() == 100
    control.set_now("2026-10-29T00:00:00Z")
    status = client.budget()
    assert (status.spent, status.scheduled) == (first.total + second.total, Decimal(0))


def test_a_campaign_over_its_cap_is_refused(world) -> None:
    url, control, client = world
    quote = client.calculate("Capped", NUMBERS, progress=False)
    client.set_budget(campaign=quote.total - Decimal("0.0001"))
    control.reset_stats()
    with pytest.raises(sa.errors.BudgetExceededError, match="per-campaign cap"):
        client.send("Capped", NUMBERS, "MegaShop", confirm=True)
    assert posts(control) == 0


def test_forecast_of_a_client(world) -> None:
    url, control, client = world
    result = client.send("Forecast me", NUMBERS, "MegaShop", confirm=True)
    client.set_budget(month=Decimal("5.00"))
    control.set_now("2026-10-21T09:00:00Z")
    fc = sa.forecast(client)
    # one send on the 20th (09:00 and a few seconds); now is the 21st 09:00: 20 days and 9 hours elapsed
    assert fc.mtd == result.total and fc.committed == 0 and fc.budget == Decimal("5.00")
    assert fc.run_rate == (result.total / (Decimal(20) + Decimal(9) / 24)).quantize(Decimal("0.0001"))
    assert fc.currency == "GBP" and "budget of 5.00" in fc.sentence


# --- the apps: the budget gauge and "rates changed since your last quote" -------------------------

def test_sender_app_shows_the_budget_and_rates_changed_since_the_last_quote(world) -> None:
    url, control, client = world
    app = sa.SenderApp(client)
    app.recipients_input.value = "\n".join(NUMBERS)
    app.message_input.value = "Gauge me"
    first = client.calculate("Gauge me", NUMBERS, progress=False)
    assert first.total == Decimal("0.5177")  # typed from the seed-0 card: 0.1362 + 0.1678 + 0.2137
    client.set_budget(month=first.total * 2)  # this send alone: 50 %
    assert app.quote() is not None
    shown = app.money.widget.value
    assert "data-alert='50'" in shown and "half the budget used" in shown
    assert "Rates changed" not in shown
    control.set_rate("247", "02", "0.6321")  # the quote goes from 0.5177 to 0.5177 + 0.4959 = 1.0136
    control.advance(60)
    app.message_input.value = "Gauge me!"  # an edit drops the quote; quote again
    assert app.quote() is not None
    shown = app.money.widget.value
    assert "Rates changed since your last quote" in shown and "Latvia Tele2 (247/02)" in shown and "0.6321" in shown
    assert "data-alert='80'" in shown and "GBP" in shown  # 1.0136 of 1.0354: past 80 %


def test_estimator_app_warns_of_changed_rates(world) -> None:
    url, control, client = world
    app = sa.EstimatorApp(client, numbers=NUMBERS, message="Estimate me")
    assert app.exact_quote() is not None
    assert "Rates changed" not in app.money.widget.value
    control.set_rate("234", None, "0.3333", country_id=uk_id(control))
    control.advance(60)
    client.rates(refresh=True)  # the estimator quotes from cached rates: a fresh answer is what shows a change
    assert app.exact_quote() is not None
    assert "United Kingdom" in app.money.widget.value and "Rates changed since your last quote" in app.money.widget.value


# --- the sandbox's dated price changes --------------------------------------------------------------

def test_a_dated_price_change_comes_into_force_when_the_clock_gets_there(world) -> None:
    url, control, client = world
    before = wire_rate(url, "247", "02", "Latvia")
    control.set_rate("247", "02", "0.2222", at="2026-10-25T00:00:00Z")
    assert wire_rate(url, "247", "02", "Latvia") == before  # not yet
    assert [c["rate"] for c in control.scheduled_rates()] == ["0.2222"]
    control.set_now("2026-10-25T00:00:00Z")
    assert wire_rate(url, "247", "02", "Latvia") == Decimal("0.2222")
    assert control.scheduled_rates() == []
    with pytest.raises(sa.errors.SMSgicError, match="mcc"):
        control.set_rate("999", "02", "0.2", at="2026-12-01T00:00:00Z")  # refused now, not when due


def test_the_seeded_price_history_repeats_and_reset_drops_it(sandbox_factory) -> None:
    plans = []
    for _ in range(2):
        url, control = sandbox_factory(seed=3, clock=T0)
        plans.append(control.seed_price_history(T0, changes=4, every_days=3, countries=["Latvia"]))
    assert plans[0] == plans[1] and len(plans[0]) == 4
    assert all(p["mcc"] == "247" for p in plans[0])
    assert [p["at"] for p in plans[0]] == ["2026-10-23T09:00:00+00:00", "2026-10-26T09:00:00+00:00",
                                         "2026-10-29T09:00:00+00:00", "2026-11-01T09:00:00+00:00"]
    control.reset_rates()
    assert control.scheduled_rates() == []
