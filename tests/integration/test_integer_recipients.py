"""Integers lose the country (issue 18, item 5), over real HTTP against the sandbox.

``pd.read_csv`` reads the UK number ``07400123456`` as the integer ``7400123456``; as digits
that is +7 (Russia).  The client must refuse it -- naming the row, the value and the fix --
before any request, even with ``default_region="GB"``, and post nothing; an integer whose
digits are a valid international number (``447400123456``) is sent as it is.
"""
from __future__ import annotations

import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.core import spec

POST_SENDINGS = ("POST", spec.SENDINGS)
POST_CALCULATE = ("POST", spec.CALCULATE)


def test_an_integer_that_lost_its_zero_is_refused_and_nothing_is_posted(make_client, fresh_token, sandbox):
    client = make_client(token=fresh_token)
    phones = pd.Series([447400123456, 7400123456], index=["ann", "bob"], dtype="int64")
    sandbox.reset_stats()
    with pytest.raises(sa.errors.InvalidRecipientsError) as sent:
        client.send("Hi", phones, "MegaShop", confirm=True, default_region="GB")
    with pytest.raises(sa.errors.InvalidRecipientsError) as priced:
        client.calculate("Hi", phones, progress=False, default_region="GB")
    assert sandbox.stats() == {}  # neither a quote nor a send reached the server
    for error in (sent.value, priced.value):
        assert "1 of 2 recipients are invalid" in str(error)
        assert "row 'bob' 7400123456: an integer" in str(error)
        assert "pd.read_csv(path, dtype=str)" in str(error) and "sa.read_audience" in str(error)
        assert error.invalid["index"].tolist() == ["bob"]
    assert client.sendings().empty  # the account never sent anything

    # A valid international integer is accepted as its own digits, priced as the UK and sent.
    good = pd.Series([447400123456, 37120012345], index=["ann", "cy"], dtype="int64")
    quote = client.calculate("Hi", good, progress=False, default_region="GB")
    assert quote.numbers["number"].tolist() == ["447400123456", "37120012345"]
    assert quote.numbers["country"].tolist() == ["United Kingdom", "Latvia"]
    result = client.send("Hi", good, "MegaShop", confirm=True, default_region="GB")
    assert result.recipients == 2 and result.sending_id is not None
    assert sandbox.stats()[POST_SENDINGS] == 1
    assert client.sendings()["id"].tolist() == [result.sending_id]
