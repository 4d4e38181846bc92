"""phone.py: the one normaliser.  The vectorised path must agree with the scalar one on every
input, so that a number is the same digits (or refused for the same reason) in every path."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smsgic_analytics.core import spec
from smsgic_analytics.numbers import normalize as phone
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
    # integers that are, or are not, valid international numbers by their digits; numpy ones too
    st.sampled_from([447400123456, 7400123456, 37120012345, 45879921, 440207946058]).flatmap(
        lambda v: st.sampled_from([v, np.int64(v), np.uint64(v), Decimal(v)])),
)


# Example counts come from the Hypothesis profile (tests/conftest.py); the two paths' agreement is
# where the normaliser's bugs were found, so it takes twice the profile's budget.
@settings(max_examples=2 * settings.default.max_examples)
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


# --- integers: a number read as a number has lost its leading 0 or '+' (issue 18, item 5) ----------

# Hand-written oracle: what each integer is, as the digits the API takes, or None (refused).
# 7400123456 is the UK 07400 123456 after pd.read_csv dropped its 0: as digits it would be +7 (Russia).
INTEGERS = [
    (447400123456, "447400123456"),  # a UK mobile, written internationally: valid by its digits
    (37120012345, "37120012345"),    # a Latvian mobile
    (4522334455, "4522334455"),      # a Danish number
    (7400123456, None),              # 07400 123456 read by pd.read_csv: never +7, never GB
    (45879921, None),                # +45 879921: too short for Denmark
    (440207946058, None),            # +44 0 20...: phonenumbers would rewrite it, so not these digits
    (12345678901234567890123, None),
]
FIX_WORDS = ("integer", "dtype=str", "read_audience", "default_region")


def _refused_as_integer(reason):
    return reason is not None and all(word in reason for word in FIX_WORDS)


@pytest.mark.parametrize("region", [None, "GB", "RU"])
@pytest.mark.parametrize("make", [int, np.int64, np.uint64, lambda v: Decimal(str(v))])
@pytest.mark.parametrize("value, expected", INTEGERS[:-1])
def test_an_integer_is_kept_only_when_valid_internationally_and_never_read_as_national(value, expected, make, region):
    number, reason = normalize_number(make(value), default_region=region)
    assert number == expected
    if expected is None:
        assert _refused_as_integer(reason), reason
    else:
        assert reason is None
        # independent oracle: phonenumbers says these digits are a valid number as they stand
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + number))


def test_a_huge_integer_and_a_bool_are_refused():
    assert _refused_as_integer(normalize_number(12345678901234567890123)[1])
    for value in (True, False, np.bool_(True)):
        number, reason = normalize_number(value, default_region="GB")
        assert number is None and reason.startswith("not a phone number")


@pytest.mark.parametrize("kind", ["int64", "Int64", "uint64", "object", "list", "ndarray", "Index"])
def test_an_integer_column_of_any_dtype_gives_the_same_answers(kind):
    values = [v for v, _ in INTEGERS[:-1]]
    expected = [e for _, e in INTEGERS[:-1]]
    column = {"int64": lambda: pd.Series(values, dtype="int64"),
              "Int64": lambda: pd.Series(values + [None], dtype="Int64"),
              "uint64": lambda: pd.Series(values, dtype="uint64"),
              "object": lambda: pd.Series([np.int64(v) for v in values] + ["07400 123456"], dtype=object),
              "list": lambda: values + [True],
              "ndarray": lambda: np.array(values, dtype=np.int64),
              "Index": lambda: pd.Index(values, dtype="int64")}[kind]()
    digits, reasons = normalize_numbers(column, default_region="GB")
    assert digits.tolist()[:len(values)] == expected
    assert all(_refused_as_integer(r) for r, e in zip(reasons.tolist(), expected) if e is None)
    tail = {"Int64": (None, "missing value"), "object": ("447400123456", None),  # text keeps its 0: GB
            "list": (None, "not a phone number: True")}
    if kind in tail:
        assert (digits[-1], reasons[-1]) == tail[kind]
    scalar = [normalize_number(v, "GB") for v in pd.Series(column).tolist()]
    assert list(zip(digits.tolist(), reasons.tolist())) == scalar


def test_an_int64_column_is_decided_once_per_distinct_value(monkeypatch):
    calls = []
    real_parse = phonenumbers.parse
    monkeypatch.setattr(phonenumbers, "parse", lambda *a, **k: calls.append(a) or real_parse(*a, **k))
    uk = [447400000000 + i for i in range(500)]  # UK mobiles, international: kept
    lost = [7400000000 + i for i in range(500)]  # the same after losing their 0: refused
    column = pd.Series(np.tile(np.array(uk + lost, dtype=np.int64), 400))  # 400,000 rows, 1,000 distinct
    digits, reasons = normalize_numbers(column, default_region="GB")
    assert len(calls) <= 1000  # phonenumbers once per distinct value at most, never per row
    assert digits.tolist() == ([str(v) for v in uk] + [None] * 500) * 400
    assert all(_refused_as_integer(r) for r in reasons[500:1000].tolist())


@given(st.lists(st.one_of(st.integers(min_value=0, max_value=2**63 - 1),
                          st.sampled_from([v for v, _ in INTEGERS[:-1]])), max_size=30),
       st.sampled_from([None, "GB", "RU"]))
def test_an_int64_column_agrees_with_the_scalar_normaliser(items, region):
    digits, reasons = normalize_numbers(pd.Series(items, dtype="int64"), default_region=region)
    assert list(zip(digits.tolist(), reasons.tolist())) == [normalize_number(v, region) for v in items]
