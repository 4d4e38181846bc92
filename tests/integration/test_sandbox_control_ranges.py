"""Every test-control input is range-checked: out of range is a 422 naming the field, and
nothing changes.  Regressions of issue #11: ``{"seconds": 1e308}`` answered 500
(OverflowError), a clock set to 9999-12-31 made ``GET /sendings`` answer 500, and a
balance of 1e30 answered 500 (too big for SQLite's INTEGER).  The rates and clock-offset
controls (issue 18) are held to the same rule: any body gets a 200 or a 4xx, never a 5xx.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControl
from smsgic_analytics.sandbox.admin_rules import (
    MAX_ADVANCE_SECONDS,
    MAX_BALANCE,
    MAX_FAULT_COUNT,
    MAX_QUEUED_FAULTS,
    MAX_TOKEN_CHARS,
)

CLOCK = "2024-01-01T12:00:00Z"


def control_call(control: SandboxControl, method: str, path: str, body: object) -> requests.Response:
    """A control request as SandboxControl sends it (its session carries the admin token)."""
    return control._session.request(method, f"{control.url}/__sandbox__{path}", json=body, timeout=30)


def assert_refused(response: requests.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert list(body["errors"]) == [field], body
    assert body["message"] == body["errors"][field][0] and field.split("_")[0] in body["message"]


@pytest.fixture
def frozen(sandbox_factory) -> tuple[str, SandboxControl]:
    return sandbox_factory(clock=CLOCK)


@pytest.mark.parametrize("path,body,field", [
    ("/clock", {"now": "9999-12-31T23:59:59Z"}, "now"),
    ("/clock", {"now": "1999-12-31T23:59:59Z"}, "now"),
    ("/clock", {"now": "2101-01-01T00:00:00Z"}, "now"),
    ("/clock", {"now": 1704110400}, "now"),
    ("/clock", {"now": "9" * 5000}, "now"),
    ("/clock/advance", {"seconds": 1e308}, "seconds"),
    ("/clock/advance", {"seconds": -1e308}, "seconds"),
    ("/clock/advance", {"seconds": "inf"}, "seconds"),
    ("/clock/advance", {"seconds": "nan"}, "seconds"),
    ("/clock/advance", {"seconds": 10 ** 400}, "seconds"),
    ("/clock/advance", {"seconds": True}, "seconds"),
    ("/clock/advance", {"seconds": MAX_ADVANCE_SECONDS + 1}, "seconds"),
    ("/clock/advance", {"seconds": MAX_ADVANCE_SECONDS}, "seconds"),  # 2024 + 100 years is past 2100
    ("/clock/advance", {"seconds": -25 * 365 * 86400}, "seconds"),  # before 2000
])
def test_clock_inputs_out_of_range_are_refused_by_field(frozen, path, body, field):
    url, control = frozen
    assert_refused(control_call(control, "POST", path, body), field)
    assert control.now().isoformat() == "2024-01-01T12:00:00+00:00"


def test_the_clock_range_is_inclusive_and_the_api_answers_at_its_ends(frozen):
    url, control = frozen
    auth = {"Authorization": "Bearer demo-token"}
    send = {"message": "far future", "recipients": ["4591234567"], "sender": "INFO", "scheduled_at": "9999-12-31 23:59:59"}
    assert requests.post(url + spec.SENDINGS, json=send, headers=auth, timeout=30).status_code == 200
    for instant in ("2000-01-01T00:00:00+00:00", "2100-12-31T23:59:59+00:00"):
        assert control.set_now(instant).isoformat() == instant
        for path in (spec.SENDINGS, "/sendings/301"):
            assert requests.get(url + path, headers=auth, timeout=30).status_code == 200
    assert control.advance(-MAX_ADVANCE_SECONDS).year == 2000  # 100 years back from the end lands in range


def test_a_real_clock_cannot_be_sent_to_year_9999(sandbox, sandbox_url):
    assert_refused(control_call(sandbox, "POST", "/clock", {"now": "9999-12-31T23:59:59Z"}), "now")
    listed = requests.get(sandbox_url + spec.SENDINGS, headers={"Authorization": "Bearer demo-token"}, timeout=30)
    assert listed.status_code == 200


@pytest.mark.parametrize("body,field", [
    ({"kind": "explode"}, "kind"),
    ({"kind": "latency", "seconds": 1e308}, "seconds"),
    ({"kind": "latency", "seconds": -1}, "seconds"),
    ({"kind": "latency", "seconds": "nan"}, "seconds"),
    ({"kind": "latency"}, "seconds"),
    ({"kind": "status", "status": 200}, "status"),
    ({"kind": "status", "status": 1e308}, "status"),
    ({"kind": "status", "status": "abc"}, "status"),
    ({"kind": "status", "status": 503.5}, "status"),
    ({"kind": "status", "status": 503, "retry_after": 1e308}, "retry_after"),
    ({"kind": "status", "status": 503, "retry_after": -1}, "retry_after"),
    ({"kind": "garbage", "count": -1}, "count"),
    ({"kind": "garbage", "count": 0}, "count"),
    ({"kind": "garbage", "count": 1e308}, "count"),
    ({"kind": "garbage", "count": 10 ** 30}, "count"),
    ({"kind": "garbage", "count": MAX_FAULT_COUNT + 1}, "count"),
    ({"kind": "garbage", "count": 2.5}, "count"),
    ({"kind": "garbage", "path": "balance"}, "path"),
    ({"kind": "garbage", "path": "/" + "a" * 5000}, "path"),
    ({"kind": "garbage", "method": "GE T"}, "method"),
    ({"kind": "garbage", "method": ["GET"]}, "method"),
])
def test_fault_inputs_out_of_range_are_refused_by_field(sandbox, body, field):
    assert_refused(control_call(sandbox, "POST", "/faults", body), field)
    assert sandbox.faults() == []


def test_fault_bounds_are_inclusive_and_the_queue_is_bounded(sandbox):
    sandbox.inject("garbage", path="/nowhere", count=MAX_FAULT_COUNT)
    sandbox.inject("status", path="/nowhere", status=599, retry_after=86_400)
    sandbox.inject("latency", path="/nowhere", seconds=600)
    for _ in range(MAX_QUEUED_FAULTS - 3):
        sandbox.inject("garbage", path="/nowhere")
    assert len(sandbox.faults()) == MAX_QUEUED_FAULTS
    assert_refused(control_call(sandbox, "POST", "/faults", {"kind": "garbage", "path": "/nowhere"}), "faults")


@pytest.mark.parametrize("balance", ["1e30", "-1", "-0.0001", "NaN", "Infinity", "0.00001", True, None, [],
                                     str(MAX_BALANCE + 1), "1E+999999999"])
@pytest.mark.parametrize("method,path", [("POST", "/accounts"), ("PUT", "/accounts/balance")])
def test_balances_out_of_range_are_refused_by_field(sandbox, fresh_token, method, path, balance):
    if balance is None and method == "POST":
        balance = "x"  # POST defaults a missing balance; null is refused on PUT only
    assert_refused(control_call(sandbox, method, path, {"token": fresh_token, "balance": balance}), "balance")
    answer = requests.get(sandbox.url + spec.BALANCE, headers={"Authorization": f"Bearer {fresh_token}"}, timeout=30)
    assert answer.json()["balance"] == "450.000"


@pytest.mark.parametrize("token", ["", "x" * (MAX_TOKEN_CHARS + 1), 12, None])
def test_account_tokens_are_bounded(sandbox, token):
    assert_refused(control_call(sandbox, "POST", "/accounts", {"token": token}), "token")


def test_balance_bounds_are_inclusive(sandbox, fresh_token):
    auth = {"Authorization": f"Bearer {fresh_token}"}
    for amount, shown in ((MAX_BALANCE, f"{MAX_BALANCE}.000"), (Decimal("0"), "0.000"), (Decimal("0.45000"), "0.450")):
        sandbox.set_balance(fresh_token, amount)
        assert requests.get(sandbox.url + spec.BALANCE, headers=auth, timeout=30).json()["balance"] == shown


# -- clock offset (POST /__sandbox__/clock/offset) ----------------------------------------

@pytest.mark.parametrize("body", [
    {}, {"seconds": None}, {"seconds": True}, {"seconds": "two hours"}, {"seconds": "nan"}, {"seconds": "inf"},
    {"seconds": 1e308}, {"seconds": -1e308}, {"seconds": 10 ** 400}, {"seconds": [7200]},
    {"seconds": 200 * 366 * 86400},  # past 2100 from any wall time this century
    {"seconds": -60 * 366 * 86400},  # before 2000 from any wall time after 2060... and now: 1966
])
def test_clock_offsets_out_of_range_are_refused_by_field(frozen, body):
    url, control = frozen
    assert_refused(control_call(control, "POST", "/clock/offset", body), "seconds")
    assert control.now().isoformat() == "2024-01-01T12:00:00+00:00"
    assert control._call("GET", "/clock")["frozen"] is True


# -- rates (PUT /__sandbox__/rates) --------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({}, "rate"),
    ({"rate": "0.06"}, "mcc"),
    ({"mcc": 234, "mnc": "15", "rate": "0.06"}, "mcc"),
    ({"mcc": "23", "mnc": "15", "rate": "0.06"}, "mcc"),
    ({"mcc": "999", "mnc": None, "rate": "0.06"}, "mcc"),  # no country has MCC 999
    ({"mcc": "234", "rate": "0.06"}, "mnc"),  # mnc must be given: null is the country default
    ({"mcc": "234", "mnc": "1", "rate": "0.06"}, "mnc"),
    ({"mcc": "234", "mnc": 15, "rate": "0.06"}, "mnc"),
    ({"mcc": "234", "mnc": "null", "rate": "0.06"}, "mnc"),
    ({"mcc": "234", "mnc": "99", "rate": "0.06"}, "mnc"),  # no such operator row
    ({"mcc": "234", "mnc": None, "rate": "0.06"}, "country_id"),  # four countries share MCC 234
    ({"mcc": "234", "mnc": None, "rate": "0.06", "country_id": 0}, "country_id"),
    ({"mcc": "234", "mnc": None, "rate": "0.06", "country_id": "x"}, "country_id"),
    ({"mcc": "234", "mnc": None, "rate": "0.06", "country_id": True}, "country_id"),
    ({"mcc": "234", "mnc": None, "rate": "0.06", "country_id": "9" * 5000}, "country_id"),
    ({"mcc": "234", "mnc": None, "rate": "0.06", "country_id": 1}, "country_id"),  # Afghanistan: MCC 412
    ({"mcc": "234", "mnc": "15"}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": None}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": "0"}, "rate"),  # never free
    ({"mcc": "234", "mnc": "15", "rate": "-0.06"}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": "0.00001"}, "rate"),  # 5 decimals
    ({"mcc": "234", "mnc": "15", "rate": "1000.0001"}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": "1e30"}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": "1E+999999999"}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": "NaN"}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": "Infinity"}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": "six pence"}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": True}, "rate"),
    ({"mcc": "234", "mnc": "15", "rate": [0.06]}, "rate"),
    ({"factor": "0"}, "factor"),
    ({"factor": "-1.5"}, "factor"),
    ({"factor": "0.0009"}, "factor"),
    ({"factor": "100.00000001"}, "factor"),
    ({"factor": "1.000000001"}, "factor"),  # 9 decimals
    ({"factor": 1e308}, "factor"),
    ({"factor": "1E-999999999"}, "factor"),
    ({"factor": "NaN"}, "factor"),
    ({"factor": "sNaN"}, "factor"),
    ({"factor": "double"}, "factor"),
    ({"factor": True}, "factor"),
    ({"factor": {"x": 1}}, "factor"),
    ({"factor": "1.5", "mcc": "234"}, "factor"),  # one or the other
    ({"factor": "1.5", "rate": "0.06"}, "factor"),
])
def test_rate_changes_out_of_range_are_refused_by_field(frozen, body, field):
    url, control = frozen
    before = requests.get(url + spec.RATES, headers={"Authorization": "Bearer demo-token"}, timeout=30).json()
    assert_refused(control_call(control, "PUT", "/rates", body), field)
    after = requests.get(url + spec.RATES, headers={"Authorization": "Bearer demo-token"}, timeout=30).json()
    assert after == before


@pytest.mark.parametrize("body", [[], [1], "rates", 42, False])
def test_rate_bodies_that_are_not_objects_are_refused(frozen, body):
    url, control = frozen
    assert_refused(control_call(control, "PUT", "/rates", body), "body")


def test_scaling_that_would_take_a_rate_past_1000_is_refused_whole(frozen):
    url, control = frozen
    control.set_rate("234", "15", "20")
    assert_refused(control_call(control, "PUT", "/rates", {"factor": "100"}), "factor")  # 20 x 100 = 2000
    rates = requests.get(url + spec.RATES, params={"mcc": "234", "mnc": "15"},
                         headers={"Authorization": "Bearer demo-token"}, timeout=30).json()["rates"]
    assert [r["rate"] for r in rates] == [20]
    control.set_rate("234", "15", "1000")  # the bounds are inclusive
    control.set_rate("234", "15", "0.0001")
    control.scale_rates("100")
    control.scale_rates("0.001")


JUNK = [None, True, False, 0, -1, 1.5, 1e308, -1e308, "", " ", "0", "nan", "-inf", "1e999999999", "x" * 5000,
        "234", "15", "0.06", [], {}, ["234"], {"mcc": "234"}]


def test_no_rate_or_offset_body_gets_a_5xx(frozen):
    """Every key of the two controls with junk in it (and pairs of them): 200 or 422, never 5xx."""
    url, control = frozen
    answers = []
    keys = ("mcc", "mnc", "rate", "factor", "country_id")
    for key, value in itertools.product(keys, JUNK):
        answers.append(control_call(control, "PUT", "/rates", {key: value}))
        answers.append(control_call(control, "PUT", "/rates", {"mcc": "234", "mnc": "15", "rate": "0.06", key: value}))
    for value in JUNK:
        answers.append(control_call(control, "POST", "/clock/offset", {"seconds": value}))
    statuses = {r.status_code for r in answers}
    assert statuses <= {200, 422}, statuses
    for response in answers:
        body = response.json()
        if response.status_code == 422:
            assert body["errors"] and body["message"]
    # and the API still prices and dates its answers afterwards
    answer = requests.post(url + spec.CALCULATE, json={"message": "hi", "recipients": ["447771234567"]},
                           headers={"Authorization": "Bearer demo-token"}, timeout=30)
    assert answer.status_code == 200
    assert abs(datetime.now(timezone.utc) - control.now()) < timedelta(days=400 * 366)
