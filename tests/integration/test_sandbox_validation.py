"""Validation edge cases of the sandbox: exact 422 bodies (texts from the API document through
``api_doc``, or Laravel's wording typed in ``by_hand``), and nothing done on a refusal."""
from __future__ import annotations

import json
from decimal import Decimal

import api_doc
import by_hand
import pytest
import requests

from smsgic_analytics.core import spec

GOOD = "4591234567"


def call(url, method, path, token="demo-token", **kw) -> requests.Response:
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    return requests.request(method, url + path, headers=headers, timeout=60, **kw)


def invalid(errors: dict[str, list[str]]) -> dict:
    texts = [t for v in errors.values() for t in v]
    return {"message": texts[0] if len(texts) == 1 else api_doc.INVALID_DATA, "errors": errors}


# -- GET /rates -----------------------------------------------------------------------

@pytest.mark.parametrize("params,errors", [
    ({"mnc": "01"}, {"mcc": [by_hand.MCC_REQUIRED]}),
    ({"mnc": "null"}, {"mcc": [by_hand.MCC_REQUIRED]}),
    ({"mcc": "24"}, {"mcc": [by_hand.MCC_FORMAT]}),
    ({"mcc": "2477"}, {"mcc": [by_hand.MCC_FORMAT]}),
    ({"mcc": "abc"}, {"mcc": [by_hand.MCC_FORMAT]}),
    ({"mcc": "٢٤٧"}, {"mcc": [by_hand.MCC_FORMAT]}),  # Arabic-Indic digits are not \d in PCRE
    ({"mcc": "247", "mnc": "0001"}, {"mnc": [by_hand.MNC_FORMAT]}),
    ({"mcc": "247", "mnc": "NULL"}, {"mnc": [by_hand.MNC_FORMAT]}),
    ({"country_id": "abc"}, {"country_id": [by_hand.COUNTRY_ID_INTEGER]}),
    ({"country_id": "1.5"}, {"country_id": [by_hand.COUNTRY_ID_INTEGER]}),
    ({"country_id": "999999"}, {"country_id": [by_hand.COUNTRY_ID_INVALID]}),
    ({"country_id": "9" * 5000}, {"country_id": [by_hand.COUNTRY_ID_INVALID]}),  # int() of it raised: 500
    ({"country_id": "0" * 5000 + "1"}, {"country_id": [by_hand.COUNTRY_ID_INVALID]}),
    ({"mcc": "1", "mnc": "x", "country_id": "y"},
     {"mcc": [by_hand.MCC_FORMAT], "mnc": [by_hand.MNC_FORMAT], "country_id": [by_hand.COUNTRY_ID_INTEGER]}),
])
def test_rates_filter_violations(sandbox_url, params, errors):
    response = call(sandbox_url, "GET", spec.RATES, params=params)
    assert response.status_code == 422
    assert response.json() == invalid(errors)


def test_rates_json_body_types_are_checked_too(sandbox_url):
    response = call(sandbox_url, "GET", spec.RATES, json={"country": 12, "country_id": 1.5})
    assert response.status_code == 422
    assert response.json() == invalid({"country": [by_hand.COUNTRY_STRING], "country_id": [by_hand.COUNTRY_ID_INTEGER]})


def test_rates_numeric_json_filters_are_read_as_text(sandbox_url):
    by_number = call(sandbox_url, "GET", spec.RATES, json={"mcc": 247, "country_id": "-0"})
    assert by_number.status_code == 422 and by_number.json()["errors"] == {"country_id": [by_hand.COUNTRY_ID_INVALID]}
    ok = call(sandbox_url, "GET", spec.RATES, json={"mcc": 247})
    assert ok.status_code == 200 and {r["mcc"] for r in ok.json()["rates"]} == {"247"}


def test_rates_empty_filters_are_ignored(sandbox_url):
    everything = call(sandbox_url, "GET", spec.RATES).json()
    assert call(sandbox_url, "GET", spec.RATES, params={"mcc": "", "mnc": "", "country": ""}).json() == everything


# -- POST /sendings/calculate ---------------------------------------------------------

def test_calculate_names_every_bad_recipient_index(sandbox_url):
    recipients = [GOOD, "1234567", "123456789012345678901", "45 91234567", GOOD, True, 45.5, None, ["4591234567"], "٤٥٩١٢٣٤٥٦٧"]
    response = call(sandbox_url, "POST", spec.CALCULATE, json={"message": "hi", "recipients": recipients})
    assert response.status_code == 422
    bad = [1, 2, 3, 5, 6, 7, 8, 9]
    assert response.json() == invalid({f"recipients.{i}": [by_hand.invalid_recipient(i)] for i in bad})


def test_calculate_single_bad_recipient_message_is_its_own_text(sandbox_url):
    response = call(sandbox_url, "POST", spec.CALCULATE, json={"message": "hi", "recipients": [GOOD, "12"]})
    assert response.json() == {"message": "The recipients.1 format is invalid.",
                               "errors": {"recipients.1": ["The recipients.1 format is invalid."]}}


def test_calculate_refuses_a_trailing_newline_in_a_number(sandbox_url):
    response = call(sandbox_url, "POST", spec.CALCULATE, json={"message": "hi", "recipients": [GOOD + "\n"]})
    assert response.status_code == 422 and list(response.json()["errors"]) == ["recipients.0"]


@pytest.mark.parametrize("recipients", ["4591234567", "[\"4591234567\"]", {"a": "4591234567"}, 4591234567])
def test_calculate_recipients_must_be_an_array(sandbox_url, recipients):
    response = call(sandbox_url, "POST", spec.CALCULATE, json={"message": "hi", "recipients": recipients})
    assert response.status_code == 422
    assert response.json() == invalid({"recipients": [by_hand.RECIPIENTS_ARRAY]})


def test_calculate_message_must_be_text(sandbox_url):
    response = call(sandbox_url, "POST", spec.CALCULATE, json={"message": 42, "recipients": [GOOD]})
    assert response.json() == invalid({"message": [by_hand.MESSAGE_STRING]})


@pytest.mark.parametrize("raw,content_type", [
    (b"not json at all", "application/json"),
    (b"{\"message\": ", "application/json"),
    (b"[1, 2, 3]", "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"message=hi&recipients=4591234567", "application/x-www-form-urlencoded"),
    # half of a UTF-16 pair escaped on its own: PHP's json_decode refuses the whole document
    (b'{"message": "a\\ud800b", "recipients": ["4591234567"]}', "application/json"),
    (b'{"message": "hi", "recipients": ["4591234567", "\\udfff"]}', "application/json"),
])
def test_calculate_body_that_is_not_a_json_object_counts_as_empty(sandbox_url, raw, content_type):
    response = requests.post(sandbox_url + spec.CALCULATE, data=raw, timeout=10,
                             headers={"Authorization": "Bearer demo-token", "Content-Type": content_type})
    assert response.status_code == 422
    assert response.json() == invalid({"message": [api_doc.MISSING_MESSAGE], "recipients": [api_doc.MISSING_RECIPIENTS]})


# -- POST /sendings -------------------------------------------------------------------

def send(url, token, **payload) -> requests.Response:
    return call(url, "POST", spec.SENDINGS, token=token, json=payload)


@pytest.mark.parametrize("payload,texts", [
    ({"recipients": [GOOD], "sender": "MEGA"}, [api_doc.MISSING_MESSAGE]),
    ({"message": "m", "sender": "MEGA"}, [api_doc.MISSING_RECIPIENTS]),
    ({"message": "m", "recipients": [GOOD]}, [api_doc.MISSING_SENDER]),
    ({"message": "m", "recipients": "[]", "sender": ""}, [api_doc.MISSING_RECIPIENTS, api_doc.MISSING_SENDER]),
    ({}, [api_doc.MISSING_MESSAGE, api_doc.MISSING_RECIPIENTS, api_doc.MISSING_SENDER]),
])
def test_send_missing_fields_are_keyed_under_message_as_documented(sandbox_url, fresh_token, payload, texts):
    response = send(sandbox_url, fresh_token, **payload)
    assert response.status_code == 422
    assert response.json() == {"message": texts[0] if len(texts) == 1 else api_doc.INVALID_DATA,
                               "errors": {"message": texts}}


@pytest.mark.parametrize("extra,errors", [
    ({"recipients": [GOOD, "123"]}, {"recipients.1": [by_hand.invalid_recipient(1)]}),
    ({"recipients": "[\"4591234567\", \"x\"]"}, {"recipients.1": [by_hand.invalid_recipient(1)]}),
    ({"recipients": "not-json"}, {"recipients": [by_hand.RECIPIENTS_ARRAY]}),
    ({"sender": "NOT-APPROVED"}, {"sender": [by_hand.INVALID_SENDER]}),
    ({"sender": "megashop"}, {"sender": [by_hand.INVALID_SENDER]}),
    ({"scheduled_at": "2024-01-05T09:00:00"}, {"scheduled_at": [by_hand.INVALID_SCHEDULED_AT]}),
    ({"scheduled_at": "2024-1-5 9:00:00"}, {"scheduled_at": [by_hand.INVALID_SCHEDULED_AT]}),
    ({"scheduled_at": "2024-02-30 09:00:00"}, {"scheduled_at": [by_hand.INVALID_SCHEDULED_AT]}),
    ({"scheduled_at": 1700000000}, {"scheduled_at": [by_hand.INVALID_SCHEDULED_AT]}),
    ({"type": "sms77"}, {"type": [by_hand.INVALID_TYPE]}),
    ({"type": "Twilio"}, {"type": [by_hand.INVALID_TYPE]}),
    ({"sender": "NOPE", "type": "x", "scheduled_at": "soon"},
     {"sender": [by_hand.INVALID_SENDER], "scheduled_at": [by_hand.INVALID_SCHEDULED_AT], "type": [by_hand.INVALID_TYPE]}),
])
def test_send_field_violations_are_keyed_by_field_and_change_nothing(sandbox_url, fresh_token, extra, errors):
    payload = {"message": "m", "recipients": [GOOD], "sender": "MEGA", **extra}
    response = send(sandbox_url, fresh_token, **payload)
    assert response.status_code == 422
    assert response.json() == invalid(errors)
    assert call(sandbox_url, "GET", spec.SENDINGS, token=fresh_token).json() == {"sendings": []}
    assert call(sandbox_url, "GET", spec.BALANCE, token=fresh_token).json()["balance"] == "450.000"


@pytest.mark.parametrize("send_type", api_doc.send_types())
def test_send_accepts_every_documented_type_and_each_own_sender(sandbox_url, fresh_token, send_type):
    for sender in ("MegaShop", "DSTLCKDM", "MEGA", "INFO"):
        response = send(sandbox_url, fresh_token, message="m", recipients=[GOOD], sender=sender, type=send_type)
        assert response.status_code == 200, response.text


def test_send_recipients_as_json_string_and_as_array_are_the_same(sandbox_url, fresh_token):
    a = send(sandbox_url, fresh_token, message="m", recipients="[\"37129123456\", 4591234567]", sender="MEGA")
    b = send(sandbox_url, fresh_token, message="m", recipients=["37129123456", "4591234567"], sender="MEGA")
    assert a.status_code == b.status_code == 200
    rows = call(sandbox_url, "GET", spec.SENDINGS, token=fresh_token).json()["sendings"]
    assert [r["total_sms"] for r in rows] == [2, 2]


def test_insufficient_balance_creates_and_debits_nothing(sandbox_url, sandbox, fresh_token):
    recipients = ["37129123456"] * 10
    quote = call(sandbox_url, "POST", spec.CALCULATE, token=fresh_token,
                 json={"message": "m", "recipients": recipients}).json(parse_float=Decimal)["calculate"]["info"]
    short = quote["total"] - Decimal("0.0001")
    sandbox.set_balance(fresh_token, short)
    response = send(sandbox_url, fresh_token, message="m", recipients=recipients, sender="MEGA")
    assert response.status_code == 422
    text = by_hand.insufficient_balance(total=quote["total"], code="GBP",
                                                balance=short.quantize(Decimal("0.001"), rounding="ROUND_FLOOR"))
    assert response.json() == {"message": text, "errors": {"balance": [text]}}
    assert call(sandbox_url, "GET", spec.SENDINGS, token=fresh_token).json() == {"sendings": []}
    shown = call(sandbox_url, "GET", spec.BALANCE, token=fresh_token).json()["balance"]
    assert Decimal(shown) == short.quantize(Decimal("0.001"), rounding="ROUND_FLOOR")
    # exactly enough is enough, and leaves zero
    sandbox.set_balance(fresh_token, quote["total"])
    assert send(sandbox_url, fresh_token, message="m", recipients=recipients, sender="MEGA").status_code == 200
    assert call(sandbox_url, "GET", spec.BALANCE, token=fresh_token).json()["balance"] == "0.000"


def test_send_body_that_is_not_json_is_a_documented_422(sandbox_url, fresh_token):
    response = requests.post(sandbox_url + spec.SENDINGS, data=b"<xml/>", timeout=10,
                             headers={"Authorization": f"Bearer {fresh_token}", "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"message": [api_doc.MISSING_MESSAGE, api_doc.MISSING_RECIPIENTS,
                                                     api_doc.MISSING_SENDER]}


SURROGATE_SPELLINGS = {  # one lone U+D800 in the message, as a JSON escape, as raw bytes, in a UTF-16 body
    "escape": lambda raw: raw.encode(),
    "raw bytes": lambda raw: raw.replace("\\ud800", "\ud800").encode("utf-8", "surrogatepass"),
    "utf-16 body": lambda raw: raw.replace("\\ud800", "\ud800").encode("utf-16", "surrogatepass"),
}


@pytest.mark.parametrize("field,spelling", [("message", "escape"), ("sender", "escape"), ("recipients", "escape"),
                                            ("message", "raw bytes"), ("message", "utf-16 body")])
def test_send_with_a_lone_surrogate_is_an_undecodable_body_and_changes_nothing(sandbox_url, fresh_token, field,
                                                                               spelling):
    body = {"message": "Sale", "recipients": [GOOD], "sender": "MEGA"}
    raw = json.dumps(body).replace('"Sale"' if field == "message" else '"MEGA"' if field == "sender" else f'"{GOOD}"',
                                   '"x\\ud800"' if field != "recipients" else f'"{GOOD}", "\\ud800"')
    assert "\\ud800" in raw
    response = requests.post(sandbox_url + spec.SENDINGS, data=SURROGATE_SPELLINGS[spelling](raw), timeout=10,
                             headers={"Authorization": f"Bearer {fresh_token}", "Content-Type": "application/json"})
    assert response.status_code == 422  # never a 500: the body could not even be stored
    assert response.json()["errors"] == {"message": [api_doc.MISSING_MESSAGE, api_doc.MISSING_RECIPIENTS,
                                                     api_doc.MISSING_SENDER]}
    assert call(sandbox_url, "GET", spec.SENDINGS, token=fresh_token).json() == {"sendings": []}
    assert call(sandbox_url, "GET", spec.BALANCE, token=fresh_token).json()["balance"] == "450.000"
    # a whole pair of escapes is one character (U+1F600) and is sent
    paired = json.dumps(body | {"message": "Sale \U0001F600"})  # ensure_ascii: written as \ud83d\ude00
    assert "\\ud83d\\ude00" in paired
    ok = requests.post(sandbox_url + spec.SENDINGS, data=paired.encode(), timeout=10,
                       headers={"Authorization": f"Bearer {fresh_token}", "Content-Type": "application/json"})
    assert ok.status_code == 200 and "sending_id" in ok.json()

