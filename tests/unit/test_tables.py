"""Tables for reading (``sa.readable``, the apps' ``frame_html``, the quote's summary): money with
the API's 4 decimals and the currency once, "country default" for a missing operator, padded
columns.  Checked on a quote the client really built from a calculate answer."""
from __future__ import annotations

import re
from decimal import Decimal

import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.apps.widgets import frame_html
from smsgic_analytics.audience.recipients import normalize_recipients
from smsgic_analytics.pricing.quote import Quote

# The quote the issue saw: 110.424 beside 121.5616, and an operator-less (country default) row.
ANSWER = {"calculate": {"info": {"sms_count": 3, "subtotal": Decimal("231.9856"), "tax": Decimal(0),
                                 "total": Decimal("231.9856")},
                        "destinations": [
                            {"destination": "Latvia LMT", "sms_count": 1, "price": Decimal("121.5616"),
                             "total": Decimal("121.5616"),
                             "numbers": [{"phone_number": 37120000001, "sms": 1, "rate": Decimal("121.5616"),
                                          "total": Decimal("121.5616")}]},
                            {"destination": "Singapore ", "sms_count": 2, "price": Decimal("55.212"),
                             "total": Decimal("110.424"),
                             "numbers": [{"phone_number": 6581234567, "sms": 1, "rate": Decimal("55.212"),
                                          "total": Decimal("55.212")},
                                         {"phone_number": 6581234568, "sms": 1, "rate": Decimal("55.212"),
                                          "total": Decimal("55.212")}]}]}}
NUMBERS = ["37120000001", "6581234567", "6581234568"]


@pytest.fixture
def quote() -> Quote:
    people = normalize_recipients(NUMBERS, on_invalid="report")
    return Quote.build("Hello", [NUMBERS], [ANSWER], countries=["Latvia", "Singapore"], currency="GBP",
                       recipients=people)


def test_money_has_four_decimals_and_the_currency_once_in_its_header(quote: Quote) -> None:
    shown = sa.readable(quote.by_country(), quote.currency)
    assert list(shown.columns) == ["country", "numbers", "sms", "total (GBP)", "share"]
    assert shown["total (GBP)"].tolist() == ["121.5616", "110.4240"]
    assert shown["share"].tolist() == ["52.4%", "47.6%"]
    text = shown.to_string()
    assert "110.424 " not in text and "GBP" not in text.split("\n", 1)[1]  # not repeated per row
    # The data itself is untouched: exact Decimals to compute with.
    assert quote.by_country()["total"].tolist() == [Decimal("121.5616"), Decimal("110.424")]


def test_an_operator_priced_at_the_country_default_says_so(quote: Quote) -> None:
    assert quote.by_operator()["operator"].isna().tolist() == [False, True]  # the API named none
    shown = sa.readable(quote.by_operator(), quote.currency)
    assert shown["operator"].tolist() == ["LMT", "country default"]
    assert "<NA>" not in shown.to_string()


def test_a_currency_column_becomes_the_header_and_several_currencies_stay_apart() -> None:
    df = pd.DataFrame({"sending_id": [301, 302], "cost": [Decimal("1.5"), None], "currency": ["GBP", None]})
    shown = sa.readable(df)
    assert list(shown.columns) == ["sending_id", "cost (GBP)"] and shown["cost (GBP)"].tolist() == ["1.5000", "unpriced"]
    mixed = sa.readable(df.assign(currency=["GBP", "EUR"], cost=[Decimal("1"), Decimal("2")]))
    assert list(mixed.columns) == ["sending_id", "cost", "currency"]  # two currencies: said per row


def test_the_quote_summary_uses_the_same_formatting(quote: Quote) -> None:
    html = quote._repr_html_()
    assert "231.9856 GBP" in html and "110.4240" in html and "110.424<" not in html
    assert "total (GBP)" in html


def test_app_tables_are_padded_right_aligned_numbers_with_four_decimals(quote: Quote) -> None:
    html = frame_html(quote.by_operator(), currency="GBP")
    cells = re.findall(r"<td style='([^']*)'>([^<]*)</td>", html)
    assert ("110.4240" in [text for _, text in cells]) and "country default" in [text for _, text in cells]
    for style, text in cells:
        assert "padding:2px 10px" in style, style  # the estimator's columns no longer run together
        if re.fullmatch(r"[\d,.]+%?", text):
            assert "text-align:right" in style, (text, style)
    assert "<th style=" in html and ">total (GBP)</th>" in html
