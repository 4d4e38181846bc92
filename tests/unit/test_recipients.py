"""recipients.py: normalisation, de-duplication and per-row reasons (nothing dropped silently)."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgic_analytics.audience.recipients import normalize_recipients
from smsgic_analytics.core import spec
from smsgic_analytics.core.errors import InvalidRecipientsError
from smsgic_analytics.numbers import normalize as phone
from smsgic_analytics.numbers.normalize import normalize_number


@pytest.mark.parametrize("raw, expected", [
    ("+44 7700 900123", "447700900123"),
    ("0044 7700 900123", "447700900123"),
    ("(+371) 2000-0001", "37120000001"),
    ("371.2000.0001", "37120000001"),
    ("  45879921\n", "45879921"),
    ("+1\u00a0(202)\u2013555\u20110143", "12025550143"),  # NBSP, en dash, non-breaking hyphen
    ("\uff14\uff15\uff18\uff17\uff19\uff19\uff12\uff11", "45879921"),  # full-width digits
    ("\u0664\u0665\u0668\u0667\u0669\u0669\u0662\u0661", "45879921"),  # Arabic-Indic digits
    (4522334455, "4522334455"),  # integers: valid international numbers by their digits
    (np.int64(6581234567), "6581234567"),
    (Decimal("4522334455"), "4522334455"),
    ("+44 (0)20 7946 0958", "442079460958"),  # the trunk 0 shown for domestic callers
    ("\u200b+44 7400\u00ad123456", "447400123456"),  # zero-width space, soft hyphen from a web page
    ("9" * 20, "9" * 20),
])
def test_normalize_number_accepts_formatted_numbers(raw, expected):
    assert normalize_number(raw) == (expected, None)


@pytest.mark.parametrize("raw, reason", [
    (None, "missing value"),
    (float("nan"), "missing value"),
    ("", "missing value"),
    ("   ", "missing value"),
    (pd.NA, "missing value"),
    ("+", "empty after removing formatting"),
    ("12ab5678", "contains characters other than digits: 'a', 'b'"),
    ("44*7700900", "contains characters other than digits: '*'"),
    ("44+7700900123", "'+' may only start a number (it marks the country code)"),
    ("01234567", phone.NATIONAL),  # a national number: whose country?
    ("+00 1234 567", "a country code never starts with 0"),
    ("37129123457.0", phone.FLOAT_TEXT),  # a float column turned into text
    ("3.7129123457e+10", phone.FLOAT_TEXT),
    (447700900123.0, phone.FLOAT_VALUE),  # a float: digits may already be lost

    ("1234567", "too short: 7 digits, the API needs 8-20"),
    ("1" * 21, "too long: 21 digits, the API needs 8-20"),
    (4477009001.5, phone.FLOAT_VALUE),
    (-45879921, "negative number"),
    (True, "not a phone number: True"),
    (1e20, phone.FLOAT_VALUE),
    (Decimal("4477009001.5"), "not a whole number: Decimal('4477009001.5')"),
    (b"45879921", "not a phone number: bytes"),
])
def test_normalize_number_gives_the_reason(raw, reason):
    assert normalize_number(raw) == (None, reason)


def test_duplicates_are_merged_and_reported_with_their_first_row():
    result = normalize_recipients(["+44 7700 900123", "37120000001", "0044-7700-900123", "371 2000 0001"])
    assert result.numbers == ("447700900123", "37120000001")
    assert result.duplicates.to_dict("records") == [
        {"index": 2, "value": "0044-7700-900123", "number": "447700900123", "first_index": 0},
        {"index": 3, "value": "371 2000 0001", "number": "37120000001", "first_index": 1},
    ]
    assert result.invalid.empty and result.total == 4


def test_invalid_rows_raise_by_default_and_every_one_is_named():
    values = pd.Series(["+44 7700 900123", "12ab", None, "123"], index=["a", "b", "c", "d"])
    with pytest.raises(InvalidRecipientsError) as info:
        normalize_recipients(values)
    error = info.value
    assert "3 of 4 recipients are invalid" in str(error)
    for label in ("'b'", "'c'", "'d'"):
        assert f"row {label}" in str(error)
    assert error.invalid["index"].tolist() == ["b", "c", "d"]
    assert error.invalid["reason"].tolist() == [
        "contains characters other than digits: 'a', 'b'", "missing value", "too short: 3 digits, the API needs 8-20"]
    assert set(error.field_errors) == {"recipients.b", "recipients.c", "recipients.d"}


def test_report_mode_keeps_going_and_accounts_for_every_row():
    values = ["45879921", "bad", "+45 8799 21", "6523478945", "", "45879921"]
    result = normalize_recipients(values, on_invalid="report")
    assert result.numbers == ("45879921", "6523478945")
    assert result.invalid["index"].tolist() == [1, 4]
    assert result.duplicates["index"].tolist() == [2, 5]
    assert len(result.numbers) + len(result.invalid) + len(result.duplicates) == result.total == len(values)
    assert "6 rows: 2 unique valid numbers, 2 duplicates, 2 invalid" == result.summary()


def test_long_error_lists_twenty_rows_and_keeps_all_in_invalid():
    with pytest.raises(InvalidRecipientsError) as info:
        normalize_recipients([f"x{i}" for i in range(50)])
    assert "and 30 more (see .invalid)" in str(info.value)
    assert len(info.value.invalid) == 50 and len(info.value.field_errors) == 50


def test_a_single_string_is_one_number_not_its_characters():
    assert normalize_recipients("+44 7700 900123").numbers == ("447700900123",)


def test_a_dataframe_is_refused_with_advice():
    with pytest.raises(TypeError, match="one column"):
        normalize_recipients(pd.DataFrame({"phone": ["45879921"]}))


def test_on_invalid_must_be_known():
    with pytest.raises(ValueError, match="on_invalid"):
        normalize_recipients(["45879921"], on_invalid="drop")  # type: ignore[arg-type]


@given(st.lists(st.one_of(st.text(max_size=25), st.integers(min_value=-10, max_value=10**21), st.none()), max_size=40))
def test_property_every_row_is_accounted_for_and_valid_numbers_match_the_api_rule(values):
    result = normalize_recipients(values, on_invalid="report")
    assert len(result.numbers) + len(result.invalid) + len(result.duplicates) == result.total == len(values)
    assert all(spec.RECIPIENT_RE.match(n) for n in result.numbers)
    assert len(set(result.numbers)) == len(result.numbers)
    assert result.invalid["reason"].notna().all()


def test_plain_digits_with_international_prefix_lose_the_00():
    # "0044..." is all digits and the right length, so it must not take the already-clean path.
    result = normalize_recipients(["00447700900123", "447700900123"], on_invalid="report")
    assert result.numbers == ("447700900123",)
    assert result.duplicates["number"].tolist() == ["447700900123"]


# --- integers (issue 18, item 5): pd.read_csv turns 07400123456 into 7400123456 -----------------

def test_an_integer_column_that_lost_its_zero_is_refused_naming_the_row_the_value_and_the_fix():
    phones = pd.Series([447400123456, 7400123456, 37120012345, 7400123456], index=["ann", "bob", "cy", "dee"],
                       dtype="int64")
    with pytest.raises(InvalidRecipientsError) as info:
        normalize_recipients(phones, default_region="GB")
    message = str(info.value)
    assert "2 of 4 recipients are invalid" in message
    assert "row 'bob' 7400123456: an integer" in message and "row 'dee' 7400123456: an integer" in message
    assert "pd.read_csv(path, dtype=str)" in message and "sa.read_audience" in message
    assert info.value.invalid["index"].tolist() == ["bob", "dee"]
    assert info.value.invalid["value"].tolist() == [7400123456, 7400123456]  # as it came: nothing changed
    assert set(info.value.field_errors) == {"recipients.bob", "recipients.dee"}
    report = normalize_recipients(phones, default_region="GB", on_invalid="report")
    assert report.numbers == ("447400123456", "37120012345")  # never "7400123456" (Russia)
    assert report.total == 4 and len(report.invalid) == 2 and report.duplicates.empty


@pytest.mark.parametrize("column", [
    [7400123456, "07400 123456", 447400123456, True],
    pd.Series([7400123456, "07400 123456", 447400123456, True], dtype=object),
    np.array([7400123456, "07400 123456", 447400123456, True], dtype=object),
])
def test_integers_among_text_follow_the_integer_rule_and_text_keeps_its_zero(column):
    result = normalize_recipients(column, default_region="GB", on_invalid="report")
    assert result.numbers == ("447400123456",)  # the text 07400 123456, read as GB
    assert result.duplicates["index"].tolist() == [2]  # the valid integer is the same number
    assert result.invalid["index"].tolist() == [0, 3]
    assert result.invalid["value"].tolist() == [7400123456, True]
    integer, boolean = result.invalid["reason"].tolist()
    assert "integer" in integer and "dtype=str" in integer and "read_audience" in integer
    assert boolean == "not a phone number: True"


def test_every_reader_of_numbers_takes_one_str_as_one_number_and_refuses_a_mapping():
    import smsgic_analytics as sa

    rates = pd.DataFrame({"mcc": ["247"], "mnc": [None], "country": ["Latvia"], "rate": ["0.04"]})
    one = "+371 2001 2345"
    assert sa.classify(one)["number"].tolist() == ["37120012345"]  # not 14 rows, one per character
    assert phone.normalize_numbers(one)[0].tolist() == ["37120012345"]
    assert normalize_recipients(one).numbers == ("37120012345",)
    assert len(sa.estimate(one, "Hi", rates=rates).rows) == 1
    assert sa.compare_copies(one, ["Hi"], rates=rates)["recipients"].tolist() == [1]
    by_customer = {"C1": one}
    readers = [sa.classify, phone.normalize_numbers, normalize_recipients, lambda d: sa.estimate(d, "Hi", rates=rates),
               lambda d: sa.compare_copies(d, ["Hi"], rates=rates), sa.audit]
    for read in readers:
        with pytest.raises(TypeError, match=r"^numbers is a mapping: pass pd.Series\(d\) for its values"):
            read(by_customer)
