"""frames.py: records from the documentation's own examples -> DataFrames with honest dtypes."""
from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pytest

from smsgic_analytics.api import frames
from smsgic_analytics.core import spec
from smsgic_analytics.pricing.quote import split_destination

# The documentation's examples, as the client parses them (floats as Decimal).
RATES = json.loads("""[
  {"mcc": "218", "mnc": "90", "country": "Latvia", "rate": 0.4397},
  {"mcc": "218", "mnc": null, "country": "Latvia", "rate": 0.4397},
  {"mcc": "218", "mnc": "05", "country": "Latvia", "rate": 0.4397},
  {"mcc": "218", "mnc": "03", "country": "Latvia", "rate": 0.4397}]""", parse_float=Decimal)
SENDINGS = [
    {"id": 301, "text": "Test Message", "created_at": "2023-04-11T15:46:26.000000Z",
     "scheduled_at": "2023-04-11 15:46:26", "status": "Pending", "total_sms": 1},
    {"id": 452, "text": "SEND SMS FOR ME", "created_at": "2023-06-06T12:39:35.000000Z",
     "scheduled_at": "2023-06-06 12:39:35", "status": "Pending", "total_sms": 2},
    {"id": 457, "text": "ANOTHER text of SMS", "created_at": "2023-06-06T13:41:57.000000Z",
     "scheduled_at": None, "status": "Sent", "total_sms": 2},
]


def test_senders_frame():
    df = frames.senders_frame([{"id": 45, "sender": "MegaShop"}, {"id": 46, "sender": "DSTLCKDM"},
                               {"id": 136, "sender": "MEGA"}])
    assert list(df.columns) == ["id", "sender"]
    assert str(df["id"].dtype) == "int64" and isinstance(df["sender"].dtype, pd.StringDtype)
    assert df["sender"].tolist() == ["MegaShop", "DSTLCKDM", "MEGA"]


def test_rates_frame_keeps_codes_as_strings_and_marks_the_country_default():
    df = frames.rates_frame(RATES, "GBP")
    assert list(df.columns) == frames.RATES_COLUMNS
    assert df["mnc"].tolist()[0] == "90" and df["mnc"].tolist()[2] == "05"  # leading zero kept
    assert df["mnc"].isna().tolist() == [False, True, False, False]
    assert df["is_default"].tolist() == [False, True, False, False]
    assert isinstance(df["mcc"].dtype, pd.StringDtype) and isinstance(df["mnc"].dtype, pd.StringDtype)
    assert isinstance(df["country"].dtype, pd.CategoricalDtype)
    assert df["rate"].map(type).eq(Decimal).all() and df["rate"].iloc[0] == Decimal("0.4397")  # exact, as sent
    assert df["currency"].unique().tolist() == ["GBP"]


def test_rates_frame_treats_the_string_null_as_default():
    df = frames.rates_frame([{"mcc": "218", "mnc": "null", "country": "Latvia", "rate": Decimal("1")}], "EUR")
    assert df["is_default"].tolist() == [True] and df["mnc"].isna().all()


def test_sendings_frame_dtypes_and_utc():
    df = frames.sendings_frame(SENDINGS)
    assert list(df.columns) == frames.SENDINGS_COLUMNS
    assert str(df["id"].dtype) == "int64" and str(df["total_sms"].dtype) == "int64"
    assert str(df["created_at"].dtype) == frames.UTC and str(df["scheduled_at"].dtype) == frames.UTC
    assert df["created_at"].iloc[0] == pd.Timestamp("2023-04-11 15:46:26", tz="UTC")
    # scheduled_at is naive in the API and taken as UTC
    assert df["scheduled_at"].iloc[1] == pd.Timestamp("2023-06-06 12:39:35", tz="UTC")
    assert pd.isna(df["scheduled_at"].iloc[2])
    assert df["status"].cat.ordered and list(df["status"].cat.categories) == list(spec.STATUSES)
    assert df["status"].tolist() == ["Pending", "Pending", "Sent"]
    assert df["status"].iloc[0] < df["status"].iloc[2]  # Pending comes before Sent


def test_unknown_status_is_kept_not_turned_into_nan():
    records = [dict(SENDINGS[0], status="Cancelled")]
    df = frames.sendings_frame(records)
    assert df["status"].tolist() == ["Cancelled"]
    assert list(df["status"].cat.categories)[-1] == "Cancelled"


def test_empty_records_keep_columns_and_dtypes():
    df = frames.sendings_frame([])
    assert list(df.columns) == frames.SENDINGS_COLUMNS and len(df) == 0
    assert str(df["created_at"].dtype) == frames.UTC and str(df["id"].dtype) == "int64"
    assert list(frames.rates_frame([], "GBP").columns) == frames.RATES_COLUMNS
    assert list(frames.senders_frame([]).columns) == ["id", "sender"]


@pytest.mark.parametrize("records, message", [
    ([{"text": "x"}], "sendings[0]: missing field 'id'"),
    ([SENDINGS[0], {**SENDINGS[1], "id": "452"}], "sendings[1].id: expected an integer, got '452'"),
    (["oops"], "sendings[0]: expected an object, got str"),
])
def test_bad_records_name_the_row_and_field(records, message):
    with pytest.raises(ValueError) as info:
        frames.sendings_frame(records)
    assert str(info.value) == message


def test_bad_rate_names_the_row():
    with pytest.raises(ValueError, match=r"rates\[0\]\.rate: expected an amount, got str 'cheap'"):
        frames.rates_frame([{"mcc": "218", "mnc": None, "country": "Latvia", "rate": "cheap"}], "GBP")


def test_sending_record_parses_timestamps_and_keeps_extra_fields():
    record = frames.sending_record({"id": 301, "status": "Draft", "updated_at": "2023-04-11T15:46:26.000000Z",
                                    "scheduled_at": "2023-04-11 15:46:26", "extra": 1})
    assert record["id"] == 301 and record["status"] == "Draft" and record["extra"] == 1
    assert record["updated_at"] == pd.Timestamp("2023-04-11 15:46:26", tz="UTC")
    assert record["scheduled_at"] == pd.Timestamp("2023-04-11 15:46:26", tz="UTC")
    with pytest.raises(ValueError, match="missing field 'status'"):
        frames.sending_record({"id": 1})


@pytest.mark.parametrize("destination, expected", [
    ("Denmark Telenor", ("Denmark", "Telenor")),
    ("Singapore ", ("Singapore", None)),
    ("Russia ", ("Russia", None)),
    ("United Kingdom Vodafone UK", ("United Kingdom", "Vodafone UK")),
    ("United Kingdom ", ("United Kingdom", None)),
    ("Niger Airtel", ("Niger", "Airtel")),
    ("Nigeria MTN", ("Nigeria", "MTN")),  # "Niger" is a prefix of "Nigeria" but not followed by a space
    ("Atlantis ", ("Atlantis", None)),  # unknown country, operator unknown
    ("Atlantis Telecom One", ("Atlantis", "Telecom One")),  # unknown country: first word
])
def test_split_destination(destination, expected):
    countries = sorted(["Denmark", "Singapore", "Russia", "United Kingdom", "United States", "Niger", "Nigeria"],
                       key=len, reverse=True)
    assert split_destination(destination, countries) == expected


# --- Quote.build: the merge of calculate answers is a pure function of records too -------------

from smsgic_analytics.audience.recipients import normalize_recipients  # noqa: E402
from smsgic_analytics.core.errors import ServerError  # noqa: E402
from smsgic_analytics.pricing.exact import plan_chunks  # noqa: E402
from smsgic_analytics.pricing.quote import Quote  # noqa: E402

COUNTRIES = ["Denmark", "Singapore", "Russia"]


def calculate_answer(rows, *, tax="0"):
    """The documented calculate body for rows of (phone_number, destination, sms, rate)."""
    groups: dict = {}
    for phone, dest, sms, rate in rows:
        groups.setdefault((dest, Decimal(rate)), []).append(
            {"phone_number": int(phone), "destination": dest, "sms": sms, "rate": Decimal(rate),
             "total": Decimal(rate) * sms})
    destinations = [{"numbers": items, "destination": dest, "sms_count": sum(i["sms"] for i in items),
                     "price": price, "total": sum((i["total"] for i in items), Decimal(0))}
                    for (dest, price), items in groups.items()]
    subtotal = sum((d["total"] for d in destinations), Decimal(0))
    info = {"sms_count": sum(d["sms_count"] for d in destinations), "subtotal": subtotal,
            "tax": Decimal(tax), "total": subtotal + Decimal(tax)}
    return {"calculate": {"info": info, "destinations": destinations}}


def test_quote_merges_chunks_exactly():
    people = normalize_recipients(["45879921", "+65 2347 8945", "7554684221", "45000001"])
    chunks = plan_chunks(people.numbers, 2)
    answers = [
        calculate_answer([("45879921", "Denmark Telenor", 2, "0.45"), ("6523478945", "Singapore ", 2, "0.0321")]),
        calculate_answer([("7554684221", "Russia ", 2, "0.45"), ("45000001", "Denmark Telenor", 2, "0.45")]),
    ]
    quote = Quote.build("hi", chunks, answers, countries=COUNTRIES, currency="GBP", recipients=people)
    assert quote.numbers["number"].tolist() == ["45879921", "6523478945", "7554684221", "45000001"]
    assert quote.subtotal == quote.total == Decimal("2.7642") and quote.sms_count == 8
    assert sum(quote.numbers["total"], Decimal(0)) == quote.subtotal
    assert all(isinstance(v, Decimal) for v in quote.numbers["rate"])
    denmark = quote.destinations.iloc[0]
    assert (denmark["destination"], denmark["country"], denmark["operator"]) == ("Denmark Telenor", "Denmark", "Telenor")
    assert (denmark["numbers"], denmark["sms_count"], denmark["price"], denmark["total"]) == (2, 4, Decimal("0.45"), Decimal("1.80"))
    singapore = quote.numbers.set_index("number").loc["6523478945"]
    assert singapore["country"] == "Singapore" and pd.isna(singapore["operator"])
    by_country = quote.by_country()
    assert by_country["country"].tolist() == ["Denmark", "Russia", "Singapore"]
    assert by_country["total"].tolist() == [Decimal("1.80"), Decimal("0.90"), Decimal("0.0642")]
    assert abs(sum(by_country["share"]) - 1) < 1e-12
    assert quote.by_operator()["operator"].tolist()[0] == "Telenor"
    assert "Total" in quote._repr_html_() and "2.7642 GBP" in quote._repr_html_()


def test_normalised_numbers_never_start_with_zero_so_integer_answers_map_back():
    # The API answers phone_number as a JSON integer: a leading 0 would be lost.  No normalised
    # number has one (national numbers need default_region, then phonenumbers writes them
    # internationally), so each answer maps back to exactly one asked number.
    people = normalize_recipients(["012345678", "0044 7400 123456", "+44 7400 123457"], on_invalid="report")
    assert people.numbers == ("447400123456", "447400123457") and people.invalid["index"].tolist() == [0]
    chunks = plan_chunks(people.numbers, 1)
    assert chunks == [["447400123456"], ["447400123457"]]
    answers = [calculate_answer([(n, "United Kingdom ", 1, "0.1")]) for [n] in chunks]
    quote = Quote.build("hi", chunks, answers, countries=COUNTRIES + ["United Kingdom"], currency="GBP",
                        recipients=people)
    assert quote.numbers["number"].tolist() == ["447400123456", "447400123457"]


@pytest.mark.parametrize("spoil, message", [
    (lambda a: a["calculate"]["info"].update(subtotal=Decimal("9")), "Σ numbers.total = 0.90 but info.subtotal = 9"),
    (lambda a: a["calculate"]["info"].update(total=Decimal("1")), "info.subtotal + info.tax = 0.90 but info.total = 1"),
    (lambda a: a.update(calculate_answer([("45879921", "Denmark ", 1, "0.45")])),
     "1 of 2 numbers were not priced: ['6523478945']"),
    (lambda a: a["calculate"]["destinations"][0]["numbers"][1].update(phone_number=99999999),
     "priced a number that was not asked for: 99999999"),
    (lambda a: a["calculate"]["destinations"][0].update(total=Decimal("5")), "Σ numbers.total = 0.90 but total = 5"),
    (lambda a: a["calculate"]["destinations"][0]["numbers"][0].update(rate=0.45), "expected an exact amount, got the float 0.45"),
    (lambda a: a.pop("calculate"), "lacks calculate.info"),
])
def test_an_answer_that_does_not_reconcile_is_refused(spoil, message):
    people = normalize_recipients(["45879921", "6523478945"])
    answer = calculate_answer([("45879921", "Denmark ", 1, "0.45"), ("6523478945", "Denmark ", 1, "0.45")])
    spoil(answer)
    with pytest.raises(ServerError) as info:
        Quote.build("hi", [list(people.numbers)], [answer], countries=COUNTRIES, currency="GBP", recipients=people)
    assert message in str(info.value) and "chunk 1 of 1" in str(info.value)
