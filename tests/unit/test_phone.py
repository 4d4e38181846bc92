"""phone.py: the one normaliser.  The vectorised path must agree with the scalar one on every
input, so that a number is the same digits (or refused for the same reason) in every path."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smsgic_analytics.numbers import normalize as phone
from smsgic_analytics.core import spec
from smsgic_analytics.numbers.normalize import normalize_number, normalize_numbers

# Characters people (and spreadsheets) put in phone numbers, plus a few that break the rules.
ASCII_PARTS = list("0123456789") * 4 + list(" +-.()/\t") + ["00", "(0)", "e+", "E", ".0", "x", "\x00"]
UNICODE_PARTS = ["\u00a0", "\u2013", "\u2212", "\u200b", "\u00ad", "\uff14", "\u0664", "\uff0b", "\u2009", "\u0301"]

numberish = st.lists(st.sampled_from(ASCII_PARTS + UNICODE_PARTS), max_size=30).map("".join)
values = st.one_of(
    numberish,
    numberish.map(lambda s: "+" + s),
    numberish.map(lambda s: "0" + s),
    st.text(max_size=25),
    st.integers(min_value=-10, max_value=10**21),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, places=1, min_value=-10, max_value=10**15),
    st.none(),
    st.booleans(),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(values, max_size=40), st.sampled_from([None, "GB", "LV", "US"]))
@example(["+44 7400/123456", "+44\u20137400 123456", "+447400+123456", "37129123457.0"], None)
@example(["07400 123456", "0044 (0) 7400 123456", "   ", ""], "GB")
def test_the_vectorised_normaliser_agrees_with_the_scalar_one(items, region):
    digits, reasons = normalize_numbers(items, default_region=region)
    assert [(d, r) for d, r in zip(digits.tolist(), reasons.tolist())] == [normalize_number(v, region) for v in items]


@given(st.lists(values, max_size=40))
def test_every_value_is_normalised_or_refused_with_a_reason(items):
    digits, reasons = normalize_numbers(items)
    for d, r in zip(digits.tolist(), reasons.tolist()):
        assert (d is None) != (r is None)
        if d is not None:
            assert spec.RECIPIENT_RE.match(d) and not d.startswith("0")


def test_columns_of_every_kind_take_the_same_path():
    texts = ["+44 7400 123456", "447400123456", "0044-7400-123456"]
    expected = ["447400123456"] * 3
    for column in (texts, pd.Series(texts), pd.Series(texts, dtype="string"), np.array(texts, dtype=object)):
        assert normalize_numbers(column)[0].tolist() == expected
    assert normalize_numbers(np.array([447400123456, 37120012345]))[0].tolist() == ["447400123456", "37120012345"]


@pytest.mark.parametrize("value", ["37129123457.0", "37129123457.000", "+37129123457.0", "3.7129123457e10",
                                   "3.7129123457E+10", 37129123457.0, np.float64(37129123457.0)])
def test_a_float_or_its_rendering_is_refused_with_the_fix(value):
    number, reason = normalize_number(value)
    assert number is None and "float" in reason and "dtype=str" in reason


def test_a_national_number_needs_its_region_and_becomes_international():
    assert normalize_number("07400 123456") == (None, phone.NATIONAL)
    assert normalize_number("07400 123456", default_region="GB") == ("447400123456", None)
    assert normalize_number("07400 123456", default_region="gb") == ("447400123456", None)
    # International numbers are read as such whatever the default region.
    assert normalize_number("+371 2001 2345", default_region="GB") == ("37120012345", None)
    assert normalize_number("37120012345", default_region="GB") == ("37120012345", None)
    assert normalize_number("0123", default_region="GB") == (None, "too short: 6 digits, the API needs 8-20")
    number, reason = normalize_number("0999 999 999 999 999", default_region="GB")
    assert number is None and "not a possible GB number" in reason
    with pytest.raises(ValueError, match="default_region"):
        normalize_number("07400 123456", default_region="Britain")


def test_integral_decimals_are_digits_but_not_fractional_ones():
    assert normalize_number(Decimal("447400123456")) == ("447400123456", None)
    assert normalize_number(Decimal("4474001234.5"))[0] is None
