"""Sandbox support for issue 18's send-safety regressions, over real HTTP: prices that change
between a quote and a send (``PUT /__sandbox__/rates``), the server's clock in every answer's
``Date`` header, a clock running hours or days off wall time (``POST /__sandbox__/clock/offset``,
``--clock-offset``).

Oracles are worked out here by hand: a rate set times the SMS a short GSM-7 text takes, the
balance a debit leaves, half-even rounding to 4 decimals, a Date parsed with
``email.utils.parsedate_to_datetime`` against the clock the test set.
"""
from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from email.utils import parsedate_to_datetime

import pytest
import requests

from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControl, SandboxControlError, running

AUTH = {"Authorization": "Bearer demo-token"}
VODAFONE_UK = "447771234567"  # classified United Kingdom Vodafone, MCC 234 MNC 15
THREE_UK = "447400123456"  # United Kingdom, operator without an MNC on the card: the country default
SHORT = "Hello"  # GSM-7, 5 septets: 1 SMS
LONG = "a" * 161  # GSM-7, 161 septets: past 160, so 153 + 8 = 2 SMS
FROZEN = "2026-12-04T16:20:00Z"
FROZEN_AT = datetime(2026, 12, 4, 16, 20, tzinfo=timezone.utc)
FROZEN_DATE = "Fri, 04 Dec 2026 16:20:00 GMT"
CENT_MILL = Decimal("0.0001")


def money(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    return json.loads(response.content, parse_float=Decimal)


def rates(url: str, **params: str) -> list[dict]:
    return money(requests.get(url + spec.RATES, params=params, headers=AUTH, timeout=30))["rates"]


def calculate(url: str, message: str, recipients: list[str]) -> dict:
    return money(requests.post(url + spec.CALCULATE, json={"message": message, "recipients": recipients},
                               headers=AUTH, timeout=30))["calculate"]


def balance(url: str) -> str:
    return requests.get(url + spec.BALANCE, headers=AUTH, timeout=30).json()["balance"]


def per_number(calc: dict) -> list[tuple[str, int, Decimal, Decimal]]:
    return [(n["destination"], n["sms"], n["rate"], n["total"]) for d in calc["destinations"] for n in d["numbers"]]


def uk_country_id(control: SandboxControl) -> int:
    return next(c["country_id"] for c in control.countries() if c["country"] == "United Kingdom")


def dates(response: requests.Response) -> list[str]:
    """Every Date header of the answer as sent (requests would join two into one string)."""
    return response.raw.headers.getlist("Date")


def server_time(response: requests.Response) -> datetime:
    [date] = dates(response)
    return parsedate_to_datetime(date)


# -- prices -----------------------------------------------------------------------------


def test_a_rate_set_applies_to_rates_calculate_and_the_debit_at_the_moment_of_the_send(sandbox_factory):
    url, control = sandbox_factory()
    control.set_balance("demo-token", "10")
    changed = control.set_rate("234", "15", "0.0600")
    assert [(r["mcc"], r["mnc"], r["rate"]) for r in changed] == [("234", "15", Decimal("0.06"))]
    assert [(r["mcc"], r["mnc"], r["rate"]) for r in rates(url, mcc="234", mnc="15")] == [("234", "15", Decimal("0.06"))]

    quote = calculate(url, SHORT, [VODAFONE_UK] * 3)
    assert per_number(quote) == [("United Kingdom Vodafone", 1, Decimal("0.06"), Decimal("0.06"))] * 3
    assert (quote["info"]["sms_count"], quote["info"]["total"]) == (3, Decimal("0.18"))  # 3 x 1 SMS x 0.06
    long_quote = calculate(url, LONG, [VODAFONE_UK] * 3)
    assert (long_quote["info"]["sms_count"], long_quote["info"]["total"]) == (6, Decimal("0.36"))  # 3 x 2 x 0.06

    # The price goes up between the quote and the send: the send costs the new price.
    control.set_rate("234", "15", "0.08")
    sent = requests.post(url + spec.SENDINGS, headers=AUTH, timeout=30,
                         json={"message": SHORT, "recipients": [VODAFONE_UK] * 3, "sender": "INFO"})
    assert sent.status_code == 200, sent.text
    assert balance(url) == "9.760"  # 10 - 3 x 1 x 0.08, not 10 - 0.18

    # A price above the balance: refused whole, nothing debited.
    control.set_rate("234", "15", "4")
    refused = requests.post(url + spec.SENDINGS, headers=AUTH, timeout=30,
                            json={"message": SHORT, "recipients": [VODAFONE_UK] * 3, "sender": "INFO"})
    assert refused.status_code == 422 and "Insufficient balance" in refused.json()["message"]
    assert "12" in refused.json()["message"]  # the total it would cost: 3 x 4
    assert balance(url) == "9.760"


def test_a_country_default_row_is_named_by_mcc_null_mnc_and_country_id(sandbox_factory):
    url, control = sandbox_factory()
    uk = uk_country_id(control)
    with pytest.raises(SandboxControlError, match="country id field is required"):
        control.set_rate("234", None, "0.07")  # 234 is also Guernsey's, Jersey's and the Isle of Man's
    changed = control.set_rate("234", None, "0.0700", country_id=uk)
    assert [(r["country"], r["mnc"], r["rate"]) for r in changed] == [("United Kingdom", None, Decimal("0.07"))]
    assert [r["rate"] for r in rates(url, mcc="234", mnc="null", country_id=str(uk))] == [Decimal("0.07")]
    quote = calculate(url, LONG, [THREE_UK])
    assert per_number(quote) == [("United Kingdom ", 2, Decimal("0.07"), Decimal("0.14"))]


def test_scaling_every_rate_rounds_half_even_to_4_decimals_and_a_reset_restores_the_card(sandbox_factory):
    url, control = sandbox_factory()
    original = rates(url)
    control.set_rate("234", "15", "0.0003")  # x 1.5 = 0.00045: half-even down to 0.0004 (half-up: 0.0005)
    control.set_rate("234", "03", "0.0001")  # x 1.5 = 0.00015: half-even up to 0.0002
    control.set_rate("247", "01", "0.0005")  # x 1.5 = 0.00075: half-even up to 0.0008
    control.set_rate("247", "02", "0.1111")  # x 1.5 = 0.16665: half-even down to 0.1666
    before = rates(url)
    scaled = control.scale_rates("1.5")
    after = rates(url)
    assert len(scaled) == len(after) == len(before) > 500
    assert [(r["mcc"], r["mnc"], r["country"], r["rate"]) for r in scaled] == \
           [(r["mcc"], r["mnc"], r["country"], r["rate"]) for r in after]
    operator = {(r["mcc"], r["mnc"]): r["rate"] for r in after if r["mnc"] is not None}  # MCC/MNC: one row each
    assert operator[("234", "15")] == Decimal("0.0004")
    assert operator[("234", "03")] == Decimal("0.0002")
    assert operator[("247", "01")] == Decimal("0.0008")
    assert operator[("247", "02")] == Decimal("0.1666")
    for old, new in zip(before, after):
        assert (old["mcc"], old["mnc"], old["country"]) == (new["mcc"], new["mnc"], new["country"])
        exact = old["rate"] * Decimal("1.5")
        assert new["rate"] == exact.quantize(CENT_MILL, rounding=ROUND_HALF_EVEN), (old, new)
    # the quote follows the scaled card
    assert per_number(calculate(url, SHORT, [VODAFONE_UK])) == [
        ("United Kingdom Vodafone", 1, Decimal("0.0004"), Decimal("0.0004"))]

    # Halving 0.0001 would make it 0.00005 -> 0.0000: a rate is never free, it stays 0.0001.
    control.set_rate("234", "15", "0.0001")
    control.scale_rates("0.5")
    assert rates(url, mcc="234", mnc="15")[0]["rate"] == Decimal("0.0001")

    control.reset_rates()
    assert rates(url) == original


def test_rate_changes_are_kept_in_the_db_across_a_restart(tmp_path):
    db = tmp_path / "rates.sqlite"
    with running(db=db) as url:
        original = rates(url)
        SandboxControl(url).scale_rates("2")
        SandboxControl(url).set_rate("234", "15", "0.0123")
        changed = rates(url)
    assert changed != original
    with running(db=db) as url:  # the same db: the same prices
        assert rates(url) == changed
        assert per_number(calculate(url, SHORT, [VODAFONE_UK])) == [
            ("United Kingdom Vodafone", 1, Decimal("0.0123"), Decimal("0.0123"))]
        SandboxControl(url).reset_rates()
    with running(db=db) as url:  # and the reset is kept too
        assert rates(url) == original


def test_concurrent_scalings_all_apply(sandbox_factory):
    url, control = sandbox_factory()
    control.set_rate("234", "15", "0.0100")
    threads = [threading.Thread(target=SandboxControl(url).scale_rates, args=("2",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rates(url, mcc="234", mnc="15")[0]["rate"] == Decimal("0.16")  # 0.01 x 2^4


# -- the Date header ------------------------------------------------------------------------


def test_every_answer_carries_the_sandbox_clock_in_exactly_one_date_header(sandbox_factory):
    url, control = sandbox_factory(clock=FROZEN, calculate_per_minute=1)
    admin = control._session.headers["Authorization"]

    def req(method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
        return requests.request(method, url + path, headers=headers if headers is not None else AUTH,
                                timeout=30, **kwargs)

    control.inject("status", path="/senders", status=503)
    control.inject("garbage", path="/sendings/302")
    answers = {
        "status 200": req("GET", spec.STATUS, headers={}),
        "balance 200": req("GET", spec.BALANCE),
        "no token 401": req("GET", spec.BALANCE, headers={}),
        "unknown route 404": req("GET", "/nowhere"),
        "wrong method 405": req("DELETE", spec.BALANCE),
        "calculate 200": req("POST", spec.CALCULATE, json={"message": SHORT, "recipients": [VODAFONE_UK]}),
        "throttled 429": req("POST", spec.CALCULATE, json={"message": SHORT, "recipients": [VODAFONE_UK]}),
        "validation 422": req("POST", spec.SENDINGS, json={}),
        "no sending 404": req("GET", "/sendings/999"),
        "too large 413": req("POST", spec.SENDINGS, data=b"x" * (5 * 1024 * 1024),
                             headers={**AUTH, "Content-Type": "application/json"}),
        "fault 503": req("GET", spec.SENDERS),
        "garbage fault": req("GET", "/sendings/302"),
        "control 200": req("GET", "/__sandbox__/clock", headers={"Authorization": admin}),
        "control 401": req("GET", "/__sandbox__/clock", headers={}),
        "control 422": req("PUT", "/__sandbox__/rates", headers={"Authorization": admin}, json={"factor": "0"}),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {"status 200": 200, "balance 200": 200, "no token 401": 401, "unknown route 404": 404,
                        "wrong method 405": 405, "calculate 200": 200, "throttled 429": 429, "validation 422": 422,
                        "no sending 404": 404, "too large 413": 413, "fault 503": 503, "garbage fault": 200,
                        "control 200": 200, "control 401": 401, "control 422": 422}
    for name, response in answers.items():
        assert dates(response) == [FROZEN_DATE], name
        assert parsedate_to_datetime(dates(response)[0]) == FROZEN_AT, name

    control.advance(90)
    assert dates(req("GET", spec.STATUS)) == ["Fri, 04 Dec 2026 16:21:30 GMT"]
    control.set_now("2031-02-28T23:59:59Z")
    assert server_time(req("GET", spec.BALANCE)) == datetime(2031, 2, 28, 23, 59, 59, tzinfo=timezone.utc)


def test_the_date_header_of_a_wall_clock_sandbox_is_wall_time(sandbox_url):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    seen = server_time(requests.get(sandbox_url + spec.STATUS, timeout=30))
    after = datetime.now(timezone.utc)
    assert before <= seen <= after


# -- a clock off wall time ------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [-7200, 7200, -3 * 86400, 3 * 86400])
def test_an_offset_clock_runs_that_far_from_wall_time(sandbox_factory, seconds):
    url, control = sandbox_factory(clock=FROZEN)  # a frozen clock: the offset sets it running
    offset = timedelta(seconds=seconds)
    now = control.set_offset(seconds)
    assert abs(now - (datetime.now(timezone.utc) + offset)) < timedelta(seconds=5)
    assert control._call("GET", "/clock")["frozen"] is False
    # the Date header and a new sending's created_at are that clock
    assert abs(server_time(requests.get(url + spec.STATUS, timeout=30)) - (datetime.now(timezone.utc) + offset)) \
        < timedelta(seconds=5)
    sent = requests.post(url + spec.SENDINGS, headers=AUTH, timeout=30,
                         json={"message": SHORT, "recipients": [VODAFONE_UK], "sender": "INFO"})
    assert sent.status_code == 200, sent.text
    [row] = requests.get(url + spec.SENDINGS, headers=AUTH, timeout=30).json()["sendings"]
    created = datetime.strptime(row["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs(created - (datetime.now(timezone.utc) + offset)) < timedelta(seconds=5)


def test_an_offset_clock_keeps_ticking_and_survives_a_restart(tmp_path):
    db = tmp_path / "offset.sqlite"
    with running(db=db, clock=FROZEN) as url:
        control = SandboxControl(url)
        first = control.set_offset(-7200)
        time.sleep(1.5)
        second = control.now()
        assert timedelta(seconds=1.4) <= second - first <= timedelta(seconds=5)
    with running(db=db) as url:  # the clock saved in the db: still 2 hours behind, still running
        behind = datetime.now(timezone.utc) - SandboxControl(url).now()
        assert abs(behind - timedelta(hours=2)) < timedelta(seconds=5)


def test_set_now_on_a_real_clock_also_gives_a_running_offset(sandbox_factory):
    url, control = sandbox_factory(clock="real")
    target = datetime.now(timezone.utc) + timedelta(days=3)
    first = control.set_now(target)
    time.sleep(1.2)
    assert control.now() - first >= timedelta(seconds=1.1)


def test_running_takes_a_clock_offset(tmp_path):
    with running(clock_offset=-3 * 86400) as url:
        seen = server_time(requests.get(url + spec.STATUS, timeout=30))
        assert abs(seen - (datetime.now(timezone.utc) - timedelta(days=3))) < timedelta(seconds=5)
    with pytest.raises(ValueError, match="real clock"):
        with running(clock=FROZEN, clock_offset=60):
            pass
    with pytest.raises(ValueError, match="clock offset"):
        with running(clock_offset=1e308):
            pass


# -- the command line ------------------------------------------------------------------------


def cli(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "smsgic_analytics.lab.cli", "sandbox", "--port", "0",
                                "--log-level", "warning", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        return process, lines.get(timeout=60).strip()
    except queue.Empty:
        process.kill()
        raise AssertionError("the sandbox printed no URL: " + process.stderr.read()) from None


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


def test_the_command_line_serves_one_date_header_from_its_clock(tmp_path):
    process, url = cli("--db", str(tmp_path / "frozen.sqlite"), "--clock", FROZEN)
    try:
        answer = requests.get(url + spec.BALANCE, headers=AUTH, timeout=30)
        assert dates(answer) == [FROZEN_DATE]  # uvicorn's own wall-clock Date is off
    finally:
        assert stop(process) == 0
    process, url = cli("--db", str(tmp_path / "behind.sqlite"), "--clock-offset", "-7200")
    try:
        seen = server_time(requests.get(url + spec.STATUS, timeout=30))
        assert abs(seen - (datetime.now(timezone.utc) - timedelta(hours=2))) < timedelta(seconds=5)
    finally:
        assert stop(process) == 0


@pytest.mark.parametrize("args,says", [
    (["--clock", FROZEN, "--clock-offset", "60"], "--clock-offset"),
    (["--clock-offset", "nan"], "--clock-offset"),
    (["--clock-offset", "1e308"], "--clock-offset"),
    (["--clock-offset", "two hours"], "--clock-offset"),
])
def test_bad_clock_offsets_exit_2_before_serving(tmp_path, args, says):
    done = subprocess.run([sys.executable, "-m", "smsgic_analytics.lab.cli", "sandbox", "--port", "0",
                           "--db", str(tmp_path / "x.sqlite"), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and says in done.stderr and done.stdout == ""
