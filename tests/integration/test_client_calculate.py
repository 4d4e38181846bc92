"""client.calculate: chunked, concurrent, resumable quotes that reconcile, over the sandbox."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from phonebook import phone_numbers

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.pricing.exact import plan_chunks
from smsgic_analytics.pricing.quote import DESTINATIONS_COLUMNS, NUMBERS_COLUMNS

CALC = ("POST", spec.CALCULATE)
MESSAGE = "Spring sale: 20% off everything until Sunday. Reply STOP to opt out. " * 5  # 345 GSM-7 chars: 3 parts


def test_chunked_quote_equals_the_single_request_quote(make_client, sandbox):
    numbers = phone_numbers(2_500, seed=1)
    client = make_client()
    sandbox.reset_stats()
    whole = client.calculate(MESSAGE, numbers, progress=False, chunk_size=10_000)
    chunked = client.calculate(MESSAGE, numbers, progress=False, chunk_size=300, workers=4)
    assert sandbox.stats()[CALC] == 1 + 9  # one request, then ceil(2500 / 300) chunks
    assert chunked.chunks == 9 and whole.chunks == 1
    pd.testing.assert_frame_equal(chunked.numbers, whole.numbers)
    pd.testing.assert_frame_equal(chunked.destinations, whole.destinations)
    assert (chunked.sms_count, chunked.subtotal, chunked.tax, chunked.total) == \
           (whole.sms_count, whole.subtotal, whole.tax, whole.total)
    # shape and exactness
    assert list(chunked.numbers.columns) == NUMBERS_COLUMNS and list(chunked.destinations.columns) == DESTINATIONS_COLUMNS
    assert chunked.numbers["number"].tolist() == numbers  # every recipient once, in input order
    assert sum(chunked.numbers["total"], Decimal(0)) == chunked.total == sum(chunked.destinations["total"], Decimal(0))
    assert chunked.sms_count == 3 * len(numbers) == chunked.destinations["sms_count"].sum()
    assert all(isinstance(v, Decimal) for v in chunked.numbers["total"])
    assert chunked.numbers["country"].nunique() >= 15
    assert chunked.numbers["operator"].notna().any() and chunked.numbers["operator"].isna().any()
    assert chunked.currency == "GBP"


def test_destinations_are_split_into_known_countries(make_client):
    client = make_client()
    quote = client.calculate("Hi", phone_numbers(200, seed=2), progress=False)
    countries = set(client.rates()["country"].cat.categories)
    assert set(quote.destinations["country"]) <= countries | {"Unknown"}
    for row in quote.destinations.itertuples():
        expected = row.country if pd.isna(row.operator) else f"{row.country} {row.operator}"
        assert row.destination.strip() == expected
    by_country = quote.by_country()
    assert by_country["numbers"].sum() == 200 and sum(by_country["total"], Decimal(0)) == quote.subtotal
    assert by_country["total"].map(float).is_monotonic_decreasing
    by_operator = quote.by_operator()
    assert by_operator["numbers"].sum() == 200 and sum(by_operator["total"], Decimal(0)) == quote.subtotal
    html = quote._repr_html_()
    assert "<table>" in html and f"{quote.total} GBP" in html


def test_invalid_rows_raise_with_reasons_and_nothing_is_sent(make_client, sandbox):
    client = make_client()
    sandbox.reset_stats()
    with pytest.raises(sa.errors.InvalidRecipientsError) as info:
        client.calculate("Hi", ["4915123456789", "12ab", "123", None], progress=False)
    assert info.value.invalid[["index", "value"]].values.tolist() == [[1, "12ab"], [2, "123"], [3, None]]
    assert "3 of 4 recipients are invalid" in str(info.value)
    assert CALC not in sandbox.stats()


def test_report_mode_prices_the_valid_rows_and_lists_the_rest(make_client):
    client = make_client()
    quote = client.calculate("Hi", pd.Series(["+49 151 23456789", "oops", "0049-151-23456789", "37121234567"],
                                             index=[10, 11, 12, 13]), progress=False, on_invalid="report")
    assert quote.numbers["number"].tolist() == ["4915123456789", "37121234567"]
    assert quote.invalid.to_dict("records") == [
        {"index": 11, "value": "oops", "reason": "contains characters other than digits: 'o', 'p', 's'"}]
    assert quote.duplicates.to_dict("records") == [
        {"index": 12, "value": "0049-151-23456789", "number": "4915123456789", "first_index": 10}]
    assert "invalid=1, duplicates=1" in repr(quote)


def test_nothing_valid_to_price(make_client):
    with pytest.raises(sa.ValidationError, match="recipients"):
        make_client().calculate("Hi", ["bad"], progress=False, on_invalid="report")
    with pytest.raises(sa.ValidationError, match="message"):
        make_client().calculate("", ["4915123456789"], progress=False)


def test_a_failed_chunk_names_itself_and_a_rerun_fetches_only_what_is_missing(make_client, sandbox):
    numbers = phone_numbers(1_000, seed=3)
    client = make_client(max_retries=0)
    chunks = plan_chunks(numbers, 100)
    sandbox.inject("status", path=spec.CALCULATE, status=503, count=1)
    sandbox.reset_stats()
    with pytest.raises(sa.ServerError) as info:
        client.calculate("Resumable", numbers, progress=False, chunk_size=100, workers=2)
    error = info.value
    assert error.http_status == 503
    failed = chunks[error.chunk]
    assert f"calculate chunk {error.chunk + 1} of 10" in str(error)
    assert set(failed) <= set(error.unpriced) and f"{len(error.unpriced)} numbers are unpriced" in str(error)
    first_run = sandbox.stats()[CALC]
    missing_chunks = len(error.unpriced) // 100
    assert first_run == 10 - missing_chunks + 1  # the priced chunks + the one that failed
    sandbox.reset_stats()
    quote = client.calculate("Resumable", numbers, progress=False, chunk_size=100, workers=2)
    assert sandbox.stats()[CALC] == missing_chunks  # only the unpriced chunks went out again
    assert quote.numbers["number"].tolist() == numbers


def test_chunks_are_retried_and_none_is_lost(make_client, sandbox):
    numbers = phone_numbers(600, seed=4)
    client = make_client(max_retries=3)
    sandbox.inject("status", path=spec.CALCULATE, status=500, count=2)
    sandbox.inject("drop_after", path=spec.CALCULATE, count=1)
    sandbox.reset_stats()
    quote = client.calculate("Retried", numbers, progress=False, chunk_size=100, workers=3)
    assert sandbox.stats()[CALC] == 6 + 3
    assert quote.numbers["number"].tolist() == numbers and len(quote.invalid) == 0


def test_progress_bar(make_client, capsys):
    make_client().calculate("Progress", phone_numbers(300, seed=5), progress=True, chunk_size=100)
    assert "300/300" in capsys.readouterr().err


def test_numbers_hold_destinations_as_categories_and_one_rate_object_per_rate(make_client):
    quote = make_client().calculate(MESSAGE, phone_numbers(1_500, seed=3), progress=False, chunk_size=400)
    destination = quote.numbers["destination"]
    assert isinstance(destination.dtype, pd.CategoricalDtype)  # codes re-pricing groups by, no string hashing
    assert set(destination) == set(quote.destinations["destination"]) and destination.notna().all()
    rates = quote.numbers["rate"].tolist()
    by_text = {}
    for r in rates:  # equal text, same object, across chunks: re-pricing groups the rows by object
        assert by_text.setdefault(str(r), r) is r
    again = quote.reprice(message=MESSAGE)  # the same text gives the quote back
    pd.testing.assert_frame_equal(again.numbers, quote.numbers)
    pd.testing.assert_frame_equal(again.destinations, quote.destinations)
    assert (again.subtotal, again.total) == (quote.subtotal, quote.total)
