"""The three estimation modes against a real sandbox: offline vs exact, what-if vs the API, compare.

The sandbox prices a number at its operator's row when its rate card has one, else at its
country's default row, else at the card's highest rate ("Unknown ").  An offline estimate
from the sandbox's own /rates must therefore expect exactly what the quote charges for every
number it places, and leave unplaced exactly the numbers the sandbox calls "Unknown ".
"""
from __future__ import annotations

import random
from decimal import Decimal

import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.numbers.samples import sample_numbers
from smsgic_analytics.pricing.offline import OfflineEstimate
from smsgic_analytics.sandbox import SandboxControl
from smsgic_analytics.text.segments import segments

MESSAGE = "Flash sale today only: 20% off everything in store. Reply STOP to opt out."  # 73 GSM-7 chars
AUDIENCE = sample_numbers(3000, seed=11)  # campaign mix + a long tail the card does not cover
CALC = ("POST", spec.CALCULATE)


def api_requests(control: SandboxControl) -> dict:
    """Requests to the documented API (the controls' own routes are not counted by the sandbox)."""
    return {k: v for k, v in control.stats().items() if not k[1].startswith("/__sandbox__")}


def test_offline_estimate_from_the_sandbox_rates_predicts_its_quote(make_client):
    client = make_client()
    offline = sa.estimate(AUDIENCE, MESSAGE, rates=client.rates())
    quote = sa.estimate(AUDIENCE, MESSAGE, client=client, progress=False)
    assert isinstance(offline, OfflineEstimate) and isinstance(quote, sa.Quote) and quote.source == "api"
    assert offline.currency == quote.currency == "GBP"
    assert set(offline.rows["number"]) == set(quote.numbers["number"])
    assert offline.duplicates["index"].tolist() == quote.duplicates["index"].tolist()

    both = offline.rows.merge(quote.numbers[["number", "destination", "sms", "total"]], on="number",
                              suffixes=("", "_quote"))
    placed = both[both["basis"] != "unplaced"]
    counts = placed["basis"].value_counts()
    assert counts["operator rate"] > 100 and counts["country default"] > 100
    assert (placed["expected"] == placed["total"]).all()
    assert all(lo <= t <= hi for lo, t, hi in zip(placed["low"], placed["total"], placed["high"]))
    assert (placed["sms"] == placed["sms_quote"]).all()

    unknown = set(quote.numbers.loc[quote.numbers["destination"] == "Unknown ", "number"])
    assert 0 < len(unknown) == len(offline.unplaced)
    assert set(offline.unplaced["number"]) == unknown
    assert offline.totals.expected + sum(both.loc[both["basis"] == "unplaced", "total"], Decimal(0)) == quote.subtotal

    # compare: the only disagreements are the groups holding numbers the estimate could not place
    every = sa.compare(offline, quote, by="number", only_mismatches=False)
    assert set(every.loc[every["status"] != "match", "status"]) == {"unplaced"}
    key = lambda f: set(zip(f["country"].fillna("?"), f["operator"].fillna("?")))  # noqa: E731
    groups = sa.compare(offline, quote)
    assert key(groups[~groups["agrees"]]) == key(every[every["status"] == "unplaced"])
    assert groups.loc[groups["agrees"], "within"].all()


def test_offline_mode_with_only_a_client_fetches_rates_but_never_calculates(make_client, sandbox):
    client = make_client()
    before = api_requests(sandbox).get(CALC, 0)
    offline = sa.estimate(AUDIENCE[:200], MESSAGE, client=client, mode="offline")
    assert isinstance(offline, OfflineEstimate) and len(offline.rows) == 200
    assert api_requests(sandbox).get(CALC, 0) == before


def test_what_if_with_the_same_text_reproduces_the_quote_without_a_request(make_client, sandbox):
    quote = make_client().calculate(MESSAGE, AUDIENCE, progress=False)
    before = api_requests(sandbox)
    again = quote.reprice(message=MESSAGE)
    assert api_requests(sandbox) == before
    assert again.source == "what-if" and again.chunks == 0
    pd.testing.assert_frame_equal(again.numbers, quote.numbers)
    pd.testing.assert_frame_equal(again.destinations, quote.destinations)
    assert (again.sms_count, again.subtotal, again.tax, again.total) == (quote.sms_count, quote.subtotal,
                                                                        quote.tax, quote.total)


@pytest.mark.parametrize("text", [
    "Grüße aus Riga — 20 % Rabatt auf alles, nur heute! Antworte STOP zum Abbestellen. " * 2,  # UCS-2, 3 parts
    "Winter offer: {code} gives you 30% off [members only] ~ until 31/12 | T&C apply €. " * 4,  # GSM-7 extension, 3
])
def test_what_if_for_a_new_text_equals_the_api_quote_for_that_text(make_client, sandbox, text):
    client = make_client()
    quote = client.calculate(MESSAGE, AUDIENCE, progress=False)
    before = api_requests(sandbox)
    what_if = quote.reprice(message=text)
    assert api_requests(sandbox) == before  # re-priced locally
    parts = segments(text).segments
    assert parts == 3 and (what_if.numbers["sms"] == parts).all() and what_if.sms_count == 3 * quote.sms_count
    exact = client.calculate(text, AUDIENCE, progress=False)
    pd.testing.assert_frame_equal(what_if.numbers, exact.numbers)
    pd.testing.assert_frame_equal(what_if.destinations, exact.destinations)
    assert (what_if.sms_count, what_if.subtotal, what_if.tax, what_if.total) == (exact.sms_count, exact.subtotal,
                                                                                exact.tax, exact.total)


def test_what_if_with_a_template_equals_the_api_price_of_each_personal_text(make_client, sandbox):
    client = make_client()
    audience = AUDIENCE[:600]
    rng = random.Random(5)
    names = [rng.choice(["Ann", "Bartholomew-Alexander", "Zoë 👋", "Jo"]) for _ in audience]
    data = pd.DataFrame({"number": ["+" + n for n in audience], "name": names}).sample(frac=1, random_state=2)
    template = "Hi {name}! " + MESSAGE + " Your code: SAVE20 at the till."
    quote = client.calculate(MESSAGE, audience, progress=False)
    before = api_requests(sandbox)
    what_if = quote.reprice(template=template, data=data)
    assert api_requests(sandbox) == before
    texts = {n: template.format(name=name) for n, name in zip(audience, names)}
    assert {segments(t).segments for t in texts.values()} == {1, 2}  # the long name crosses into a 2nd part

    # The truth: one API quote per distinct personal text, for the numbers that get it.
    truth = pd.concat(
        [client.calculate(text, [n for n in audience if texts[n] == text], progress=False).numbers
         for text in sorted(set(texts.values()))])
    merged = what_if.numbers.merge(truth, on="number", suffixes=("", "_api"))
    assert len(merged) == len(audience)
    assert (merged["sms"] == merged["sms_api"]).all() and (merged["total"] == merged["total_api"]).all()
    assert what_if.subtotal == sum(truth["total"], Decimal(0))


def test_compare_flags_a_deliberately_altered_rate_table(make_client):
    client = make_client()
    rates = client.rates()
    quote = client.calculate(MESSAGE, AUDIENCE, progress=False)
    honest = sa.estimate(AUDIENCE, MESSAGE, rates=rates).rows
    # the operator row and the country default that price the most numbers
    on_operator = honest[honest["basis"] == "operator rate"]
    mcc, mnc = on_operator.groupby(["mcc", "mnc"], observed=True).size().idxmax()
    # (among countries with operator rows too, so the raised default leaves a range below it)
    with_operators = set(rates.loc[rates["mnc"].notna(), "country"])
    on_default = honest[(honest["basis"] == "country default") & honest["country"].isin(with_operators)]
    country = on_default.groupby("country", observed=True).size().idxmax()

    altered = rates.copy()
    operator_row = (altered["mcc"] == mcc) & (altered["mnc"] == mnc)
    default_row = (altered["country"] == country) & altered["mnc"].isna()
    assert operator_row.sum() == 1 and default_row.sum() == 1
    altered.loc[operator_row, "rate"] += Decimal("0.01")  # cheaper in truth: outside the (single-rate) range
    altered.loc[default_row, "rate"] += Decimal("0.05")  # dearer default: the quote stays within [low, high]
    offline = sa.estimate(AUDIENCE, MESSAGE, rates=altered)

    per_number = sa.compare(offline, quote, by="number").set_index("number")
    outside = set(per_number.index[per_number["status"] == "outside range"])
    within = set(per_number.index[per_number["status"] == "within range"])
    assert outside == set(on_operator.loc[(on_operator["mcc"] == mcc) & (on_operator["mnc"] == mnc), "number"])
    assert within == set(on_default.loc[on_default["country"] == country, "number"])
    assert (per_number.loc[sorted(outside), "difference"] == Decimal("-0.01")).all()
    assert (per_number.loc[sorted(within), "difference"] == Decimal("-0.05")).all()

    by_operator = sa.compare(offline, quote).set_index(["country", "operator"])
    changed = on_operator.loc[(on_operator["mcc"] == mcc) & (on_operator["mnc"] == mnc)].iloc[0]
    group = by_operator.loc[(changed["country"], changed["operator"])]
    assert not group["agrees"] and not group["within"] and group["difference"] < 0
    by_country = sa.compare(offline, quote, by="country").set_index("country")
    every = sa.compare(offline, quote, by="number", only_mismatches=False)
    in_country = every[every["country"] == country]
    assert by_country.loc[country, "difference"] == sum(in_country["difference"].dropna(), Decimal(0)) < 0
    assert not by_country.loc[country, "agrees"] and by_country.loc[country, "within"]
