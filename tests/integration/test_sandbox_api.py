"""Every documented endpoint of the sandbox, answered over real HTTP, against the documentation.

Expected texts are the documentation's (``tests/fixtures/smsgic-api.txt``, read by ``api_doc``)
or Laravel's (``tests/by_hand.py``), never the constants the sandbox uses.  Prices are re-derived
here from GET /rates and a hand-written table of where each test number goes (checked against
phonenumbers and mobile_codes, not against the sandbox's ``classify``), and SMS counts are
counted by hand: a numbering or segment bug shared by the sandbox and the client fails here.
"""
from __future__ import annotations

import http.client
import json
import re
import sqlite3
from decimal import Decimal
from urllib.parse import urlsplit

import api_doc
import by_hand
import pytest
import requests

from smsgic_analytics.core import spec

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000000Z$")
SCHEDULED_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DOCUMENTED_PATHS = {spec.STATUS, spec.BALANCE, spec.SENDERS, spec.RATES, spec.CALCULATE, spec.SENDINGS, spec.SENDING}


def call(url: str, method: str, path: str, token: str | None = "demo-token", **kw) -> requests.Response:
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, url + path, headers=headers, timeout=60, **kw)


def body(response: requests.Response):
    """The JSON body with numbers as exact Decimals (ints stay ints)."""
    assert response.headers["content-type"].startswith("application/json")
    return response.json(parse_float=Decimal)


def decimals(value) -> int:
    return max(0, -Decimal(str(value)).as_tuple().exponent)


# -- auth -----------------------------------------------------------------------------

PROTECTED = [
    ("GET", spec.BALANCE, None),
    ("GET", spec.SENDERS, None),
    ("GET", spec.RATES, None),
    ("POST", spec.CALCULATE, {"message": "message", "recipients": ["50670503888225"]}),
    ("GET", spec.SENDINGS, None),
    ("POST", spec.SENDINGS, {"message": "m", "recipients": ["4591234567"], "sender": "MEGA"}),
    ("GET", "/sendings/301", None),
]


@pytest.mark.parametrize("method,path,payload", PROTECTED)
@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_protected_endpoints_answer_401_without_a_known_token(sandbox_url, method, path, payload, token):
    response = call(sandbox_url, method, path, token=token, json=payload)
    assert response.status_code == 401
    assert body(response) == {"message": api_doc.UNAUTHENTICATED}


def test_a_non_bearer_scheme_is_unauthenticated(sandbox_url):
    response = requests.get(sandbox_url + spec.BALANCE, headers={"Authorization": "Basic demo-token"}, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": api_doc.UNAUTHENTICATED}


def test_status_needs_no_token_and_ignores_a_bad_one(sandbox_url):
    assert call(sandbox_url, "GET", spec.STATUS, token=None).json() == api_doc.STATUS_OK
    response = call(sandbox_url, "GET", spec.STATUS, token="nobody")
    assert response.status_code == 200 and response.text == '["OK"]'


# -- balance, senders -----------------------------------------------------------------

def test_balance_of_a_new_account_is_the_documented_one(sandbox_url, fresh_token):
    response = call(sandbox_url, "GET", spec.BALANCE, token=fresh_token)
    assert response.status_code == 200
    assert body(response) == {"balance": "450.000", "sign": "£", "code": "GBP"}


def test_senders_are_the_documented_demo_senders(sandbox_url, fresh_token):
    for token in ("demo-token", "other-token", fresh_token):
        response = call(sandbox_url, "GET", spec.SENDERS, token=token)
        assert response.status_code == 200
        assert body(response) == {"senders": [{"id": 45, "sender": "MegaShop"}, {"id": 46, "sender": "DSTLCKDM"},
                                              {"id": 136, "sender": "MEGA"}]}


# -- rates ----------------------------------------------------------------------------

def test_rates_rows_have_the_documented_shape(sandbox_url):
    response = call(sandbox_url, "GET", spec.RATES)
    assert response.status_code == 200
    data = body(response)
    assert set(data) == {"rates"} and len(data["rates"]) > 200
    for row in data["rates"]:
        assert set(row) == {"mcc", "mnc", "country", "rate"}
        assert isinstance(row["mcc"], str) and spec.MCC_RE.fullmatch(row["mcc"])
        assert row["mnc"] is None or (isinstance(row["mnc"], str) and re.fullmatch(r"\d{2,3}", row["mnc"]))
        assert isinstance(row["country"], str) and row["country"]
        assert isinstance(row["rate"], (Decimal, int)) and 0 < row["rate"] <= 1
        assert decimals(row["rate"]) <= 4


def test_rate_card_rules_hold_for_every_country(sandbox_url):
    rows = body(call(sandbox_url, "GET", spec.RATES))["rates"]
    defaults = {r["country"]: r for r in rows if r["mnc"] is None}
    assert len(defaults) == len({r["country"] for r in rows}), "every country has exactly one default row"
    seen_codes = set()
    for row in rows:
        assert Decimal("0.0001") <= row["rate"] <= Decimal("0.325"), row  # base band 0.02-0.25 x 1.3
        if row["mnc"] is not None:
            assert (row["mcc"], row["mnc"]) not in seen_codes, f"duplicate MCC/MNC row {row}"
            seen_codes.add((row["mcc"], row["mnc"]))
            assert defaults[row["country"]]["rate"] >= row["rate"], f"default cheaper than operator {row}"
    assert len(seen_codes) > 100, "operator rows with real MCC/MNC"


def test_latvia_operator_rows_carry_real_mcc_mnc(sandbox_url):
    rows = body(call(sandbox_url, "GET", spec.RATES, params={"country": "latvia"}))["rates"]
    assert {r["country"] for r in rows} == {"Latvia"}
    assert {r["mcc"] for r in rows} == {"247"}
    assert None in {r["mnc"] for r in rows} and "01" in {r["mnc"] for r in rows}  # LMT is 247/01


def test_rates_filters_from_query_string_and_json_body_agree(sandbox_url):
    by_query = call(sandbox_url, "GET", spec.RATES, params={"mcc": "247", "mnc": "01"})
    by_body = call(sandbox_url, "GET", spec.RATES, json={"mcc": "247", "mnc": "01"})
    assert by_query.status_code == by_body.status_code == 200
    assert body(by_query) == body(by_body)
    rows = body(by_query)["rates"]
    assert len(rows) == 1 and rows[0]["mcc"] == "247" and rows[0]["mnc"] == "01"


def test_rates_mnc_null_selects_the_country_default(sandbox_url):
    rows = body(call(sandbox_url, "GET", spec.RATES, params={"mcc": "247", "mnc": "null"}))["rates"]
    assert len(rows) == 1 and rows[0]["mnc"] is None and rows[0]["country"] == "Latvia"


def test_rates_mcc_alone_and_country_substring(sandbox_url):
    all_rows = body(call(sandbox_url, "GET", spec.RATES))["rates"]
    by_mcc = body(call(sandbox_url, "GET", spec.RATES, params={"mcc": "247"}))["rates"]
    assert by_mcc == [r for r in all_rows if r["mcc"] == "247"]
    by_name = body(call(sandbox_url, "GET", spec.RATES, params={"country": "KINGD"}))["rates"]
    assert by_name == [r for r in all_rows if "kingd" in r["country"].lower()] and by_name


def test_rates_country_id_is_the_position_in_name_order(sandbox_url, sandbox):
    countries = sandbox.countries()
    names = [c["country"] for c in countries]
    assert names == sorted(names) and [c["country_id"] for c in countries] == list(range(1, len(names) + 1))
    latvia = next(c for c in countries if c["country"] == "Latvia")
    rows = body(call(sandbox_url, "GET", spec.RATES, params={"country_id": latvia["country_id"]}))["rates"]
    assert rows and {r["country"] for r in rows} == {"Latvia"}
    first = body(call(sandbox_url, "GET", spec.RATES, json={"country_id": 1}))["rates"]
    assert {r["country"] for r in first} == {names[0]}


def test_rates_filters_combine_with_and(sandbox_url):
    rows = body(call(sandbox_url, "GET", spec.RATES, params={"mcc": "247", "country": "Estonia"}))["rates"]
    assert rows == []


# -- calculate ------------------------------------------------------------------------

NUMBERS = ["50670503888225", "37129123456", "4591234567", "79161234567", "6591234567", "99999999",
           "37129123456", "447911123456", "12025550123"]


# Where each test number goes, typed by hand: country and operator as libphonenumber's region
# and carrier prefix data name them (the operator is the range's original carrier; none for a
# number that is not a valid mobile or has no carrier name), MCC/MNC as mobile_codes lists that
# operator.  None: no country (the API's "Unknown ").
WHERE: dict[str, tuple[str, str | None, str, str | None] | None] = {
    "50670503888225": ("Costa Rica", None, "712", None),  # +506, 14 digits: not a valid number
    "37129123456": ("Latvia", "LMT", "247", "01"),  # +371 29...: LMT, 247/01
    "4591234567": ("Denmark", "tdc", "238", "01"),  # +45 91...: TDC, 238/01
    "79161234567": ("Russia", None, "250", None),  # +7 916...: no carrier name in the data
    "6591234567": ("Singapore", "SingTel", "525", "07"),  # +65 9123...: SingTel, 525/07
    "99999999": None,  # no country calling code 9, 99 or 999
    "447911123456": ("Guernsey", "JT", "234", "50"),  # +44 7911 12...: JT in Guernsey, 234/50
    "12025550123": ("United States", None, "310", None),  # +1 202: a fixed-or-mobile US range
}


def expected_prices(sandbox_url: str, numbers: list[str]) -> list[tuple[str, Decimal]]:
    """(destination, rate) per number by the documented rule, from /rates and ``WHERE``."""
    rows = body(call(sandbox_url, "GET", spec.RATES))["rates"]
    operator_rate = {(r["mcc"], r["mnc"]): r["rate"] for r in rows if r["mnc"] is not None}
    default_rate = {r["country"]: r["rate"] for r in rows if r["mnc"] is None}
    highest = max(r["rate"] for r in rows)
    out = []
    for number in numbers:
        where = WHERE[number]
        country = where[0] if where is not None and where[0] in default_rate else None
        if country and where[1] is not None and (where[2], where[3]) in operator_rate:
            out.append((f"{country} {where[1]}", operator_rate[(where[2], where[3])]))
        elif country:
            out.append((f"{country} ", default_rate[country]))
        else:
            out.append(("Unknown ", highest))
    return out


def test_the_hand_written_numbering_table_agrees_with_phonenumbers():
    """Keeps ``WHERE`` honest: phonenumbers names the same country and carrier for each number."""
    import phonenumbers
    from phonenumbers import carrier, geocoder

    for number, where in WHERE.items():
        if where is None:
            with pytest.raises(phonenumbers.NumberParseException):
                phonenumbers.parse("+" + number)
            continue
        parsed = phonenumbers.parse("+" + number)
        assert geocoder.country_name_for_number(parsed, "en") == where[0], number
        assert (carrier.name_for_number(parsed, "en") or None) == where[1], number


def test_calculate_documented_example(sandbox_url):
    response = call(sandbox_url, "POST", spec.CALCULATE, json={"message": "message", "recipients": ["50670503888225"]})
    assert response.status_code == 200
    data = body(response)
    assert set(data) == {"calculate"}
    assert set(data["calculate"]) == {"info", "destinations"}
    info = data["calculate"]["info"]
    assert set(info) == {"sms_count", "subtotal", "total", "tax"}
    [destination] = data["calculate"]["destinations"]
    assert set(destination) == {"numbers", "destination", "sms_count", "price", "total"}
    [number] = destination["numbers"]
    assert set(number) == {"phone_number", "destination", "sms", "rate", "total"}
    assert number["phone_number"] == 50670503888225 and isinstance(number["phone_number"], int)
    [(where, rate)] = expected_prices(sandbox_url, ["50670503888225"])
    assert number["destination"] == destination["destination"] == where == "Costa Rica "
    assert number["sms"] == 1 and number["rate"] == rate and number["total"] == rate
    assert destination["sms_count"] == 1 and destination["price"] == rate and destination["total"] == rate
    assert info == {"sms_count": 1, "subtotal": rate, "total": rate, "tax": 0}
    assert isinstance(info["tax"], int)


def test_calculate_prices_every_number_by_the_documented_rule(sandbox_url):
    message = "Ünïcode ✓ " * 10  # 'ï' and '✓' are not GSM 03.38: UCS-2, 100 units = 67 + 33: 2 parts
    sms = 2
    data = body(call(sandbox_url, "POST", spec.CALCULATE, json={"message": message, "recipients": NUMBERS}))["calculate"]
    expected = expected_prices(sandbox_url, NUMBERS)
    assert {"Latvia LMT", "Denmark tdc", "Costa Rica ", "Unknown "} <= {where for where, _ in expected}
    flat = [(n["phone_number"], n["destination"], n["sms"], n["rate"], n["total"])
            for d in data["destinations"] for n in d["numbers"]]
    assert sorted(flat) == sorted((int(num), where, sms, rate, rate * sms) for num, (where, rate) in zip(NUMBERS, expected))
    # destinations: one per (destination, rate), in order of first appearance
    pairs = list(dict.fromkeys(expected))
    assert [(d["destination"], d["price"]) for d in data["destinations"]] == pairs
    for d in data["destinations"]:
        assert {n["destination"] for n in d["numbers"]} == {d["destination"]}
        assert d["sms_count"] == sum(n["sms"] for n in d["numbers"])
        assert d["total"] == sum(n["total"] for n in d["numbers"])
    info = data["info"]
    assert info["sms_count"] == sms * len(NUMBERS)
    assert info["subtotal"] == sum(d["total"] for d in data["destinations"])
    assert info["total"] == info["subtotal"] + info["tax"] and info["tax"] == 0


def test_calculate_duplicates_are_priced_each_time_and_unknown_costs_the_top_rate(sandbox_url):
    data = body(call(sandbox_url, "POST", spec.CALCULATE,
                     json={"message": "hi", "recipients": ["37129123456", "37129123456", "99999999"]}))["calculate"]
    numbers = [n for d in data["destinations"] for n in d["numbers"]]
    assert [n["phone_number"] for n in numbers].count(37129123456) == 2
    unknown = next(d for d in data["destinations"] if d["destination"] == "Unknown ")
    top = max(r["rate"] for r in body(call(sandbox_url, "GET", spec.RATES))["rates"])
    assert unknown["price"] == top > 0


def test_calculate_accepts_recipients_as_json_numbers(sandbox_url):
    data = body(call(sandbox_url, "POST", spec.CALCULATE, json={"message": "hi", "recipients": [37129123456]}))
    assert data["calculate"]["destinations"][0]["numbers"][0]["phone_number"] == 37129123456


@pytest.mark.parametrize("payload,expected", [
    ({"recipients": ["4591234567"]}, {"message": api_doc.MISSING_MESSAGE,
                                      "errors": {"message": [api_doc.MISSING_MESSAGE]}}),
    ({"message": "hi"}, {"message": api_doc.MISSING_RECIPIENTS,
                         "errors": {"recipients": [api_doc.MISSING_RECIPIENTS]}}),
    ({}, {"message": api_doc.INVALID_DATA,
          "errors": {"message": [api_doc.MISSING_MESSAGE], "recipients": [api_doc.MISSING_RECIPIENTS]}}),
    ({"message": "", "recipients": []}, {"message": api_doc.INVALID_DATA,
          "errors": {"message": [api_doc.MISSING_MESSAGE], "recipients": [api_doc.MISSING_RECIPIENTS]}}),
])
def test_calculate_documented_422s(sandbox_url, payload, expected):
    response = call(sandbox_url, "POST", spec.CALCULATE, json=payload)
    assert response.status_code == 422
    assert body(response) == expected
    assert list(body(response)["errors"]) == list(expected["errors"])  # field order too


# -- sendings -------------------------------------------------------------------------

def test_send_documented_example_then_list_and_get_it(sandbox_url, fresh_token):
    payload = {"message": "message", "recipients": "[\"951490713339111991\"]", "sender": "INFO",
               "scheduled_at": "2023-08-22 09:03:42"}
    response = call(sandbox_url, "POST", spec.SENDINGS, token=fresh_token, json=payload)
    assert response.status_code == 200
    created = body(response)
    assert set(created) == {"message", "sending_id"}
    assert created["message"] == api_doc.SENDING_CREATED
    assert isinstance(created["sending_id"], int) and created["sending_id"] >= 301

    listing = body(call(sandbox_url, "GET", spec.SENDINGS, token=fresh_token))
    assert set(listing) == {"sendings"}
    [row] = listing["sendings"]
    assert set(row) == {"id", "text", "created_at", "scheduled_at", "status", "total_sms"}
    assert row["id"] == created["sending_id"] and row["text"] == "message"
    assert TIMESTAMP_RE.match(row["created_at"]) and row["scheduled_at"] == "2023-08-22 09:03:42"
    assert row["status"] in spec.STATUSES and row["total_sms"] == 1

    one = body(call(sandbox_url, "GET", f"/sendings/{created['sending_id']}", token=fresh_token))
    assert set(one) == {"sending"}
    assert set(one["sending"]) == {"id", "status", "updated_at", "scheduled_at"}
    assert one["sending"]["id"] == created["sending_id"]
    assert one["sending"]["status"] == row["status"]
    assert TIMESTAMP_RE.match(one["sending"]["updated_at"]) and one["sending"]["scheduled_at"] == "2023-08-22 09:03:42"


def test_send_debits_exactly_the_calculated_total(sandbox_url, fresh_token):
    recipients = ["37129123456", "4591234567", "99999999"]
    quote = body(call(sandbox_url, "POST", spec.CALCULATE, token=fresh_token,
                      json={"message": "x" * 200, "recipients": recipients}))["calculate"]["info"]
    response = call(sandbox_url, "POST", spec.SENDINGS, token=fresh_token,
                    json={"message": "x" * 200, "recipients": recipients, "sender": "MegaShop", "type": "twilio"})
    assert response.status_code == 200
    balance = body(call(sandbox_url, "GET", spec.BALANCE, token=fresh_token))["balance"]
    assert Decimal(balance) == (Decimal("450.000") - quote["total"]).quantize(Decimal("0.001"), rounding="ROUND_FLOOR")
    [row] = body(call(sandbox_url, "GET", spec.SENDINGS, token=fresh_token))["sendings"]
    assert row["total_sms"] == quote["sms_count"] == 2 * len(recipients)


def test_scheduled_at_defaults_to_the_creation_time(sandbox_url, fresh_token):
    call(sandbox_url, "POST", spec.SENDINGS, token=fresh_token,
         json={"message": "now", "recipients": ["4591234567"], "sender": "MEGA"})
    [row] = body(call(sandbox_url, "GET", spec.SENDINGS, token=fresh_token))["sendings"]
    assert row["scheduled_at"] == row["created_at"][:19].replace("T", " ")


def test_sendings_are_listed_in_id_order(sandbox_url, fresh_token):
    ids = [body(call(sandbox_url, "POST", spec.SENDINGS, token=fresh_token,
                     json={"message": f"m{i}", "recipients": ["4591234567"], "sender": "MEGA"}))["sending_id"]
           for i in range(3)]
    listing = body(call(sandbox_url, "GET", spec.SENDINGS, token=fresh_token))["sendings"]
    assert [r["id"] for r in listing] == sorted(ids) and [r["text"] for r in listing] == ["m0", "m1", "m2"]


@pytest.mark.parametrize("path", ["/sendings/999999999", "/sendings/abc", "/sendings/0"])
def test_unknown_sending_is_404_with_the_documented_text(sandbox_url, path):
    response = call(sandbox_url, "GET", path)
    assert response.status_code == 404
    assert body(response) == {"message": api_doc.not_found(path.rsplit("/", 1)[1])}


def test_first_sending_id_is_301(sandbox_factory):
    url, _ = sandbox_factory()
    first = call(url, "POST", spec.SENDINGS, json={"message": "a", "recipients": ["4591234567"], "sender": "MEGA"})
    second = call(url, "POST", spec.SENDINGS, token="other-token",
                  json={"message": "b", "recipients": ["4591234567"], "sender": "MEGA"})
    assert body(first)["sending_id"] == 301 and body(second)["sending_id"] == 302


# -- openapi, unknown routes, crashes -------------------------------------------------

def test_openapi_lists_every_documented_path_and_bearer_auth(sandbox_url):
    schema = requests.get(sandbox_url + "/openapi.json", timeout=10).json()
    assert DOCUMENTED_PATHS <= set(schema["paths"])
    assert not [p for p in schema["paths"] if p.startswith("/__sandbox__")]
    assert schema["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": "An access token from the SMSgic dashboard."}
    assert set(schema["paths"][spec.SENDINGS]) == {"get", "post"}
    assert "security" not in schema["paths"][spec.STATUS]["get"]
    assert schema["paths"][spec.BALANCE]["get"]["security"] == [{"HTTPBearer": []}]
    rate_params = {p["name"] for p in schema["paths"][spec.RATES]["get"]["parameters"]}
    assert rate_params == {"mcc", "mnc", "country", "country_id"}
    calc_body = schema["paths"][spec.CALCULATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(calc_body["required"]) == {"message", "recipients"}
    send_body = schema["paths"][spec.SENDINGS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(send_body["properties"]) == {"message", "recipients", "sender", "scheduled_at", "type"}
    assert send_body["properties"]["type"]["enum"] == list(api_doc.send_types())
    assert {"200", "401", "422", "429"} <= set(schema["paths"][spec.CALCULATE]["post"]["responses"])


def test_unknown_route_and_wrong_method_answer_laravel_json(sandbox_url):
    missing = call(sandbox_url, "GET", "/nothing/here")
    assert missing.status_code == 404
    assert body(missing) == {"message": by_hand.route_not_found("nothing/here")}
    wrong = call(sandbox_url, "DELETE", spec.BALANCE)
    assert wrong.status_code == 405 and set(body(wrong)) == {"message"}
    assert body(wrong)["message"].startswith("The DELETE method is not supported for route balance.")


def test_an_unexpected_failure_answers_server_error(sandbox_factory, tmp_path):
    db = tmp_path / "broken.sqlite"
    url, _ = sandbox_factory(db=db)
    with sqlite3.connect(db) as conn:  # a real storage failure: the table is gone
        conn.execute("DROP TABLE sendings")
    response = call(url, "GET", spec.SENDINGS)
    assert response.status_code == 500
    assert body(response) == {"message": by_hand.SERVER_ERROR}


def test_documented_rates_curl_sends_raw_json_as_query_and_filters_nothing(sandbox_url):
    """``curl -G -d '{"mcc":...}'`` appends the JSON itself as the query string: as in Laravel,
    that names no known parameter, so the answer is the whole card (not a 422, not a 500)."""
    parts = urlsplit(sandbox_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", '/rates?{"mcc":"742","mnc":"551","country":"Latvia","country_id":1}',
                       headers={"Authorization": "Bearer demo-token", "Content-Type": "application/json",
                                "Accept": "application/json"})
    answer = connection.getresponse()
    assert answer.status == 200
    assert json.loads(answer.read()) == call(sandbox_url, "GET", spec.RATES).json()
    connection.close()
