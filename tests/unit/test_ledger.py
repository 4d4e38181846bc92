"""The spend ledger over real SQLite files: exact money, send states, the duplicate window,
two processes writing at once, reopening, spend joins and the token's absence from the file."""
from __future__ import annotations

import json
import multiprocessing
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgic_analytics.analytics.spend import period_start, spend_frame, spend_summary
from smsgic_analytics.core.config import account_key
from smsgic_analytics.core.errors import DuplicateSendError, ValidationError
from smsgic_analytics.core.money import allocate
from smsgic_analytics.sending.ledger import InvalidTransitionError, Ledger, LedgerError, SendNotFoundError, campaign_key

TOKEN = "sk-live-THE-SECRET-token-0123456789"
ACCOUNT = account_key(TOKEN)
OTHER = account_key("another-token")


class Clock:
    """A clock the test moves by hand, so windows are tested without sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def make_quote(rows: list[tuple], tax="0", currency="GBP", sms_count=None):
    """A quote-like object as client.calculate() returns: totals plus a destinations frame."""
    dest = pd.DataFrame(rows, columns=["destination", "country", "operator", "numbers", "sms_count", "price", "total"])
    subtotal = sum((Decimal(str(t)) for t in dest["total"]), Decimal(0))
    return SimpleNamespace(
        sms_count=int(dest["sms_count"].sum()) if sms_count is None else sms_count,
        subtotal=subtotal, tax=Decimal(tax), total=subtotal + Decimal(tax), currency=currency, destinations=dest,
    )


DK_LV = [("Denmark Telenor", "Denmark", "Telenor", 2, 2, Decimal("0.45"), Decimal("0.9")),
         ("Latvia LMT", "Latvia", "LMT", 1, 1, "0.4397", Decimal("0.4397"))]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 3, 4, 10, 0, tzinfo=UTC))  # a Monday


@pytest.fixture
def ledger(tmp_path: Path, clock: Clock) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite", clock=clock)


def new_send(ledger: Ledger, key: str = "k1", account: str = ACCOUNT, quote_id=None) -> int:
    return ledger.claim_send(account, key, quote_id, "MEGA", None, "default", 3, duplicate_window=None)[0]


def step(ledger: Ledger, sid: int, method: str, arg) -> None:
    """One move of a send: a ledger method by name, or a reconcile event (found / absent)."""
    if method == "found":
        ledger.apply(sid, "found", sending_id=arg)
    elif method == "absent":
        ledger.apply(sid, "absent", note=arg)
    else:
        getattr(ledger, method)(sid, arg)


# --------------------------------------------------------------------------- quotes


def test_quote_round_trip_keeps_exact_decimals(ledger: Ledger, clock: Clock) -> None:
    quote = make_quote(DK_LV, tax="0.2679")
    qid = ledger.record_quote(ACCOUNT, "Sale today", ["4512345678", "4587654321", "37120000000"], quote)
    q = ledger.quotes(ACCOUNT).iloc[0]
    assert q["id"] == qid
    assert (q["subtotal"], q["tax"], q["total"]) == (Decimal("1.3397"), Decimal("0.2679"), Decimal("1.6076"))
    assert str(q["total"]) == "1.6076" and isinstance(q["total"], Decimal)
    assert q["recipients"] == 3 and q["sms_count"] == 3 and q["currency"] == "GBP" and q["message"] == "Sale today"
    assert q["created_at"] == pd.Timestamp(clock.now)
    d = ledger.quote_destinations(qid)
    assert d["destination"].tolist() == ["Denmark Telenor", "Latvia LMT"]
    assert d["total"].tolist() == [Decimal("0.9"), Decimal("0.4397")]
    assert d["price"].tolist() == [Decimal("0.45"), Decimal("0.4397")]
    assert d["numbers"].tolist() == [2, 1]


def test_quote_keeps_trailing_zeros_and_tiny_amounts(ledger: Ledger) -> None:
    quote = make_quote([("Singapore ", "Singapore", None, [{"phone_number": 1}, {"phone_number": 2}], 2,
                         "0.0000001", "0.0000002")], tax="0.000")
    qid = ledger.record_quote(ACCOUNT, "x", ["6512345678", "6512345679"], quote)
    d = ledger.quote_destinations(qid).iloc[0]
    assert d["destination"] == "Singapore "  # verbatim, trailing space included
    assert str(d["total"]) == "2E-7" and d["total"] == Decimal("0.0000002")
    assert d["operator"] is None or pd.isna(d["operator"])  # unknown operator ("Singapore ")
    assert d["numbers"] == 2  # a list of per-number rows is stored as its count
    assert str(ledger.quotes(ACCOUNT).iloc[0]["tax"]) == "0.000"


def test_recipients_are_hashed_not_stored(ledger: Ledger, tmp_path: Path) -> None:
    ledger.record_quote(ACCOUNT, "hi", ["4512345678", "37120000000"], make_quote(DK_LV))
    a = ledger.quotes(ACCOUNT).iloc[0]["recipients_hash"]
    ledger.record_quote(ACCOUNT, "hi", ["37120000000", "4512345678"], make_quote(DK_LV))
    assert ledger.quotes(ACCOUNT).iloc[1]["recipients_hash"] == a  # order does not matter
    assert b"4512345678" not in (tmp_path / "ledger.sqlite").read_bytes()


@pytest.mark.parametrize(("column", "value", "needle"), [
    ("total", "abc", "quote.destinations row 1: total"),
    ("total", float("nan"), "quote.destinations row 1: total"),
    ("price", 0.4397, "quote.destinations row 1: price: expected an exact amount, got the float 0.4397"),
    ("sms_count", 1.5, "quote.destinations row 1: sms_count"),
    ("destination", "  ", "quote.destinations row 1: destination is empty"),
])
def test_bad_destination_names_row_and_field(ledger: Ledger, column: str, value, needle: str) -> None:
    quote = make_quote(DK_LV)
    quote.destinations[column] = quote.destinations[column].astype(object)
    quote.destinations.loc[1, column] = value
    with pytest.raises(ValueError, match=needle):
        ledger.record_quote(ACCOUNT, "m", ["4512345678"], quote)
    assert ledger.quotes(ACCOUNT).empty  # nothing half-written


def test_quote_needs_currency_and_all_columns(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="quote.currency"):
        ledger.record_quote(ACCOUNT, "m", ["4512345678"], make_quote(DK_LV, currency=None))
    quote = make_quote(DK_LV)
    quote.destinations = quote.destinations.drop(columns=["operator"])
    with pytest.raises(ValueError, match="missing column.*operator"):
        ledger.record_quote(ACCOUNT, "m", ["4512345678"], quote)
    assert ledger.record_quote(ACCOUNT, "m", ["4512345678"], make_quote(DK_LV, currency=None), currency="EUR") > 0
    assert ledger.quotes(ACCOUNT)["currency"].tolist() == ["EUR"]


def test_records_the_clients_own_quote(ledger: Ledger) -> None:
    """The seam with quote.py: a real Quote built from the documentation's calculate answer."""
    quote_mod = pytest.importorskip("smsgic_analytics.pricing.quote")
    recipients_mod = pytest.importorskip("smsgic_analytics.audience.recipients")
    answer = json.loads(DOCS_CALCULATE, parse_float=Decimal)
    recipients = recipients_mod.normalize_recipients(["45879921", "6523478945", "7554684221"])
    quote = quote_mod.Quote.build("message", [list(recipients.numbers)], [answer],
                                  countries=["Denmark", "Singapore", "Russia"], currency="GBP", recipients=recipients)
    qid = ledger.record_quote(ACCOUNT, "message", list(recipients.numbers), quote)
    stored = ledger.quotes(ACCOUNT).iloc[0]
    assert (stored["sms_count"], stored["subtotal"], stored["total"]) == (3, Decimal("1.35"), Decimal("1.35"))
    d = ledger.quote_destinations(qid).sort_values("destination").reset_index(drop=True)
    assert d["destination"].tolist() == ["Denmark Telenor", "Russia ", "Singapore "]
    assert d["country"].tolist() == ["Denmark", "Russia", "Singapore"]
    assert d["operator"].iloc[0] == "Telenor" and d["operator"].iloc[1:].isna().all()
    assert d["total"].tolist() == [Decimal("0.45")] * 3


# The calculate example from shared/api/smsgic-api.txt (trailing commas removed).
DOCS_CALCULATE = """{"calculate": {"info": {"sms_count": 3, "subtotal": 1.35, "total": 1.35, "tax": 0},
 "destinations": [
  {"numbers": [{"phone_number": 45879921, "destination": "Denmark Telenor", "sms": 1, "rate": 0.45, "total": 0.45}],
   "destination": "Denmark Telenor", "sms_count": 1, "price": 0.45, "total": 0.45},
  {"numbers": [{"phone_number": 6523478945, "destination": "Singapore ", "sms": 1, "rate": 0.45, "total": 0.45}],
   "destination": "Singapore ", "sms_count": 1, "price": 0.45, "total": 0.45},
  {"numbers": [{"phone_number": 7554684221, "destination": "Russia ", "sms": 1, "rate": 0.45, "total": 0.45}],
   "destination": "Russia ", "sms_count": 1, "price": 0.45, "total": 0.45}]}}"""


# --------------------------------------------------------------------------- the token


def test_token_is_refused_as_account_and_not_echoed(ledger: Ledger) -> None:
    for call in (lambda: ledger.record_balance(TOKEN, Decimal(1), "GBP"),
                 lambda: ledger.claim_send(TOKEN, "k", None, "MEGA", None, "default", 1, duplicate_window=None)[0],
                 lambda: ledger.sends(TOKEN)):
        with pytest.raises(ValueError) as info:
            call()
        assert TOKEN not in str(info.value) and "account_key" in str(info.value)


def test_token_never_in_file_bytes(tmp_path: Path, ledger: Ledger) -> None:
    qid = ledger.record_quote(ACCOUNT, "Sale", ["4512345678"], make_quote(DK_LV))
    sid = ledger.claim_send(ACCOUNT, campaign_key("Sale", ["4512345678"], "MEGA"), qid, "MEGA", None, "default", 1, duplicate_window=None)[0]
    ledger.mark_unknown(sid, "connection reset after POST /sendings")
    ledger.apply(sid, "found", sending_id=458)
    ledger.record_balance(ACCOUNT, Decimal("449.100"), "GBP")
    files = list(tmp_path.iterdir())
    blob = b"".join(f.read_bytes() for f in files)
    assert ACCOUNT.encode() in blob  # we are reading the file that holds the data
    assert TOKEN.encode() not in blob and TOKEN.encode("utf-16-le") not in blob
    assert "Ledger(" in repr(ledger) and TOKEN not in repr(ledger)


# --------------------------------------------------------------------------- sends


def test_claim_send_is_pending_with_its_details(ledger: Ledger, clock: Clock) -> None:
    qid = ledger.record_quote(ACCOUNT, "m", ["4512345678"], make_quote(DK_LV))
    sid, scheduled = ledger.claim_send(ACCOUNT, "key", qid, "MegaShop", datetime(2024, 3, 5, 9, 30), "twilio", 3,
                                       duplicate_window=None)
    row = ledger.get_send(sid)
    assert row["state"] == "pending" and row["sending_id"] is None and row["resolved_at"] is None
    assert scheduled == row["scheduled_at"] == "2024-03-05 09:30:00" and row["auto_schedule"] == 0
    assert row["type"] == "twilio" and row["quote_id"] == qid
    assert row["created_at"] == clock.now and row["recipients"] == 3
    frame = ledger.sends(ACCOUNT)
    assert frame.loc[0, "scheduled_at"] == pd.Timestamp("2024-03-05 09:30", tz="UTC")
    assert str(frame["sending_id"].dtype) == "Int64" and frame["auto_schedule"].tolist() == [False]


@pytest.mark.parametrize(("kwargs", "error", "needle"), [
    ({"type": "sms"}, ValueError, "type: must be one of default, infobip"),
    ({"scheduled_at": "05/03/2024"}, ValidationError, "does not match the format Y-m-d H:i:s. Got '05/03/2024'"),
    ({"sender": ""}, ValueError, "sender: required"),
    ({"quote_id": 999}, ValueError, "quote_id: no quote 999"),
    ({"n_recipients": -1}, ValueError, "n_recipients: must be >= 0"),
])
def test_claim_send_validates(ledger: Ledger, kwargs: dict, error: type, needle: str) -> None:
    args = {"account": ACCOUNT, "campaign_key": "k", "quote_id": None, "sender": "MEGA",
            "scheduled_at": None, "type": "default", "n_recipients": 1, "duplicate_window": None, **kwargs}
    with pytest.raises(error, match=needle):
        ledger.claim_send(**args)
    assert ledger.sends(ACCOUNT).empty


def test_scheduled_at_is_the_same_in_every_spelling(ledger: Ledger) -> None:
    spellings = ["2026-12-01 10:00:00", "2026-12-01T10:00:00", "2026-12-01T11:00:00+01:00",
                 datetime(2026, 12, 1, 10), datetime(2026, 12, 1, 10, tzinfo=UTC), pd.Timestamp("2026-12-01 10:00Z")]
    stored = set()
    for i, when in enumerate(spellings):
        sid = ledger.claim_send(ACCOUNT, f"k{i}", None, "MEGA", when, "default", 1, duplicate_window=None)[0]
        stored.add(ledger.get_send(sid)["scheduled_at"])
        ledger.fail_send(sid, "422")  # not live: the next claim may use the same second
    assert stored == {"2026-12-01 10:00:00"}
    assert len({campaign_key("Hi", ["4478"], "MEGA", when) for when in spellings}) == 1


def test_quote_of_another_account_cannot_be_used(ledger: Ledger) -> None:
    qid = ledger.record_quote(OTHER, "m", ["4512345678"], make_quote(DK_LV))
    with pytest.raises(ValueError, match=f"no quote {qid} recorded for this account"):
        new_send(ledger, quote_id=qid)


@pytest.mark.parametrize(("steps", "final", "sending_id"), [
    ([("complete_send", 458)], "created", 458),
    ([("fail_send", "422 The selected sender is invalid.")], "failed", None),
    ([("mark_unknown", "timeout"), ("found", 459)], "reconciled", 459),
    ([("mark_unknown", "timeout"), ("absent", "not on the server")], "failed", None),
    ([("found", 460)], "reconciled", 460),  # a pending row left by a crashed kernel
])
def test_valid_transitions(ledger: Ledger, clock: Clock, steps, final: str, sending_id) -> None:
    sid = new_send(ledger)
    for method, arg in steps:
        clock.advance(seconds=5)
        step(ledger, sid, method, arg)
    row = ledger.get_send(sid)
    assert row["state"] == final and row["sending_id"] == sending_id
    assert row["resolved_at"] == clock.now


def test_unknown_then_not_found_keeps_both_errors(ledger: Ledger) -> None:
    sid = new_send(ledger)
    ledger.mark_unknown(sid, "read timeout")
    assert ledger.get_send(sid)["resolved_at"] is None
    ledger.apply(sid, "absent", note="reconcile: not on the server")
    assert ledger.get_send(sid)["error"] == "read timeout; reconcile: not on the server"


@pytest.mark.parametrize(("setup", "bad"), [
    ([("complete_send", 1)], ("fail_send", "x")),
    ([("complete_send", 1)], ("complete_send", 2)),
    ([("complete_send", 1)], ("mark_unknown", "x")),
    ([("complete_send", 1)], ("found", 1)),
    ([("fail_send", "x")], ("found", 1)),
    ([("mark_unknown", "x")], ("complete_send", 1)),
    ([("mark_unknown", "x")], ("fail_send", "x")),
    ([("mark_unknown", "x"), ("found", 3)], ("found", 3)),
    ([("mark_unknown", "x"), ("absent", "x")], ("absent", "x")),
])
def test_invalid_transitions_raise_and_change_nothing(ledger: Ledger, setup, bad) -> None:
    sid = new_send(ledger)
    for method, arg in setup:
        step(ledger, sid, method, arg)
    before = ledger.get_send(sid)
    with pytest.raises(InvalidTransitionError, match=f"send {sid}: a '{before['state']}' send cannot take"):
        step(ledger, sid, *bad)
    assert ledger.get_send(sid) == before


@pytest.mark.parametrize(("setup", "before"), [
    ([("absent", "reconciled too early")], "failed"),      # a reconciler ruled while it was in flight
    ([("found", 3)], "reconciled"),                         # ... or linked another sending
])
def test_a_late_answer_after_a_verdict_is_recorded_with_a_note(ledger: Ledger, setup, before: str) -> None:
    sid = new_send(ledger)
    for method, arg in setup:
        step(ledger, sid, method, arg)
    assert ledger.get_send(sid)["state"] == before
    ledger.complete_send(sid, 4)  # the sender's own answer arrives: no InvalidTransitionError
    row = ledger.get_send(sid)
    assert (row["state"], row["sending_id"]) == ("created", 4)
    assert f"answered late with sending 4, after this send had been settled as '{before}'" in row["error"]
    assert ledger.linked_sendings(ACCOUNT) == {4}


def test_unknown_send_id(ledger: Ledger) -> None:
    with pytest.raises(SendNotFoundError, match="send 42"):
        ledger.complete_send(42, 1)
    with pytest.raises(SendNotFoundError):
        ledger.get_send(42)


def test_unresolved_lists_pending_and_unknown_only(ledger: Ledger) -> None:
    ids = [new_send(ledger, key=f"k{i}") for i in range(5)]
    ledger.complete_send(ids[0], 1)
    ledger.fail_send(ids[1], "422")
    ledger.mark_unknown(ids[2], "timeout")
    ledger.mark_unknown(ids[3], "timeout")
    ledger.apply(ids[3], "found", sending_id=9)
    new_send(ledger, key="other", account=OTHER)
    got = ledger.unresolved(ACCOUNT)
    assert sorted(got["id"]) == [ids[2], ids[4]]
    assert set(got["state"]) == {"unknown", "pending"}


# --------------------------------------------------------------------------- duplicate guard


def test_campaign_key_identity() -> None:
    base = campaign_key("Hi", ["4478", "4479"], "MEGA", "2024-03-05 09:30:00")
    assert base == campaign_key("Hi", ["4479", "4478"], "MEGA", datetime(2024, 3, 5, 9, 30))
    assert base == campaign_key("Hi", ["4479", "4478"], "MEGA", datetime(2024, 3, 5, 10, 30, tzinfo=UTC) + timedelta(hours=-1))
    assert len({base, campaign_key("Hi!", ["4478", "4479"], "MEGA", "2024-03-05 09:30:00"),
                campaign_key("Hi", ["4478"], "MEGA", "2024-03-05 09:30:00"),
                campaign_key("Hi", ["4478", "4479"], "MegaShop", "2024-03-05 09:30:00"),
                campaign_key("Hi", ["4478", "4479"], "MEGA", None)}) == 5


def test_find_recent_send_window(ledger: Ledger, clock: Clock) -> None:
    window = timedelta(hours=1)
    assert ledger.find_recent_send(ACCOUNT, "k", window) is None
    sid = new_send(ledger, key="k")
    ledger.complete_send(sid, 458)
    clock.advance(minutes=59)
    found = ledger.find_recent_send(ACCOUNT, "k", window)
    assert found is not None and found["id"] == sid and found["sending_id"] == 458
    assert ledger.find_recent_send(ACCOUNT, "other-key", window) is None
    assert ledger.find_recent_send(OTHER, "k", window) is None
    clock.advance(minutes=1)
    assert ledger.find_recent_send(ACCOUNT, "k", window)["id"] == sid  # the window's edge is inside
    clock.advance(seconds=1)
    assert ledger.find_recent_send(ACCOUNT, "k", window) is None
    assert ledger.find_recent_send(ACCOUNT, "k", timedelta(days=1))["id"] == sid
    with pytest.raises(ValueError, match="within: must be a positive timedelta"):
        ledger.find_recent_send(ACCOUNT, "k", timedelta(0))


@pytest.mark.parametrize(("steps", "counts"), [
    ([], True),  # pending: the POST may be on its way
    ([("mark_unknown", "timeout")], True),
    ([("mark_unknown", "timeout"), ("found", 5)], True),
    ([("fail_send", "422")], False),  # definitely not created: sending again is fine
    ([("mark_unknown", "timeout"), ("absent", "not on the server")], False),
])
def test_duplicate_lookup_states(ledger: Ledger, steps, counts: bool) -> None:
    sid = new_send(ledger, key="k")
    for method, arg in steps:
        step(ledger, sid, method, arg)
    assert (ledger.find_recent_send(ACCOUNT, "k", timedelta(minutes=10)) is not None) is counts


def test_find_recent_send_returns_latest(ledger: Ledger, clock: Clock) -> None:
    first = new_send(ledger, key="k")
    ledger.complete_send(first, 1)
    clock.advance(minutes=1)
    second = new_send(ledger, key="k")
    assert ledger.find_recent_send(ACCOUNT, "k", timedelta(hours=1))["id"] == second != first


def test_claim_send_with_window_refuses_duplicate(ledger: Ledger, clock: Clock) -> None:
    def claim() -> int:
        return ledger.claim_send(ACCOUNT, "k", None, "MEGA", None, "default", 1, duplicate_window=timedelta(hours=1))[0]

    ledger.complete_send(claim(), 458)
    with pytest.raises(DuplicateSendError, match=r"sending 458, ledger send 1\).*allow_duplicate=True"):
        claim()
    assert len(ledger.sends(ACCOUNT)) == 1
    clock.advance(hours=2)
    assert claim() == 2


# --------------------------------------------------------------------------- balance


def test_balance_history(ledger: Ledger, clock: Clock) -> None:
    ledger.record_balance(ACCOUNT, Decimal("450.000"), "GBP")
    ledger.record_balance(ACCOUNT, "448.3924", "GBP", taken_at=datetime(2024, 3, 4, 12, 0))  # naive: UTC
    ledger.record_balance(ACCOUNT, Decimal("449.5"), "GBP", taken_at=datetime(2024, 3, 4, 13, 0, tzinfo=UTC) - timedelta(hours=2))
    ledger.record_balance(OTHER, Decimal("1"), "EUR")
    h = ledger.balance_history(ACCOUNT)
    assert h.columns.tolist() == ["taken_at", "amount", "currency"]
    assert h["taken_at"].tolist() == [pd.Timestamp(clock.now), pd.Timestamp("2024-03-04 11:00", tz="UTC"),
                                      pd.Timestamp("2024-03-04 12:00", tz="UTC")]
    assert h["amount"].tolist() == [Decimal("450.000"), Decimal("449.5"), Decimal("448.3924")]
    assert str(h["amount"].iloc[0]) == "450.000"
    assert h["amount"].map(type).eq(Decimal).all()  # exact: no float column to drift from
    for bad in (float("inf"), 448.3924, "NaN"):  # money is never a float, nor a non-number
        with pytest.raises(ValueError, match="amount: "):
            ledger.record_balance(ACCOUNT, bad, "GBP")
    with pytest.raises(ValueError, match="currency: required"):
        ledger.record_balance(ACCOUNT, Decimal(1), "")


# --------------------------------------------------------------------------- the file


def test_reopen_keeps_everything_and_schema_is_versioned(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "sub" / "ledger.sqlite"
    first = Ledger(path, clock=clock)
    qid = first.record_quote(ACCOUNT, "m", ["4512345678"], make_quote(DK_LV, tax="0.01"))
    sid = first.claim_send(ACCOUNT, "k", qid, "MEGA", None, "default", 1, duplicate_window=None)[0]
    first.mark_unknown(sid, "timeout")
    first.record_balance(ACCOUNT, Decimal("12.340"), "GBP")
    before = (first.quotes(ACCOUNT), first.sends(ACCOUNT), first.balance_history(ACCOUNT))
    del first  # a kernel restart: nothing of the first object survives but the file

    again = Ledger(path)
    pd.testing.assert_frame_equal(again.quotes(ACCOUNT), before[0])
    pd.testing.assert_frame_equal(again.sends(ACCOUNT), before[1])
    pd.testing.assert_frame_equal(again.balance_history(ACCOUNT), before[2])
    assert again.unresolved(ACCOUNT)["id"].tolist() == [sid]
    assert again.schema_version() == 4
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"quotes", "quote_destinations", "sends", "balance_snapshots", "meta", "server_epochs",
                      "server_sendings"}


V1_SENDS = """CREATE TABLE sends (id INTEGER PRIMARY KEY, account TEXT NOT NULL, created_at TEXT NOT NULL,
    campaign_key TEXT NOT NULL, quote_id INTEGER, sender TEXT NOT NULL, scheduled_at TEXT, type TEXT NOT NULL,
    recipients INTEGER NOT NULL, state TEXT NOT NULL, sending_id INTEGER, error TEXT, resolved_at TEXT)"""


def test_a_version_1_ledger_is_upgraded_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as conn:  # the file as the first release wrote it
        conn.execute(V1_SENDS)
        conn.execute("INSERT INTO sends (account, created_at, campaign_key, sender, type, recipients, state,"
                     " sending_id) VALUES (?, '2024-03-04T10:00:00.000000+00:00', 'k', 'MEGA', 'default', 3,"
                     " 'created', 458)", (ACCOUNT,))
        conn.execute("PRAGMA user_version = 1")
    ledger = Ledger(path)
    assert ledger.schema_version() == 4
    sends = ledger.sends(ACCOUNT)
    assert sends[["sending_id", "state", "auto_schedule", "server_epoch"]].values.tolist() == [
        [458, "created", False, 1]]
    assert pd.isna(sends["scheduled_at"].iloc[0])  # a send from before fingerprints: none is made up
    assert pd.isna(sends["in_flight"].iloc[0])  # nor a window its sender never stored
    assert ledger.linked_sendings(ACCOUNT) == {458}  # the first server's sending, as before the upgrade
    assert sends["plan_hash"].tolist() == [None]  # nor a plan: sends from before plans have none


def test_a_version_2_ledger_gets_the_plan_hash_column_and_claims_store_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as conn:  # release 0.2's sends table (version 2)
        conn.execute(V1_SENDS.replace("resolved_at TEXT)", "resolved_at TEXT, auto_schedule INTEGER NOT NULL DEFAULT 0)"))
        conn.execute("PRAGMA user_version = 2")
    ledger = Ledger(path)
    assert ledger.schema_version() == 4
    digest = "ab" * 32
    sid = ledger.claim_send(ACCOUNT, "k", None, "MEGA", None, "default", 1, duplicate_window=None, plan_hash=digest)[0]
    assert ledger.get_send(sid)["plan_hash"] == digest and ledger.sends(ACCOUNT)["plan_hash"].tolist() == [digest]
    with pytest.raises(ValueError, match="plan_hash: expected a sha256 hex digest"):
        ledger.claim_send(ACCOUNT, "k2", None, "MEGA", None, "default", 1, duplicate_window=None, plan_hash="token")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(LedgerError, match="schema version 99 is newer"):
        Ledger(path)


def test_for_settings_puts_the_file_next_to_the_cache(tmp_path: Path) -> None:
    settings = SimpleNamespace(cache_dir=tmp_path / "cache")
    assert Ledger.for_settings(settings).path == tmp_path / "cache" / "ledger.sqlite"
    assert (tmp_path / "cache" / "ledger.sqlite").exists()


def test_threads_share_one_ledger(ledger: Ledger) -> None:
    def work(i: int) -> int:
        sid = new_send(ledger, key=f"t{i}")
        ledger.complete_send(sid, 1000 + i)
        return sid

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(work, range(80)))
    sends = ledger.sends(ACCOUNT)
    assert len(set(ids)) == 80 and len(sends) == 80
    assert sorted(sends["sending_id"].tolist()) == list(range(1000, 1080))


def _process_worker(path: str, worker: int, n: int, barrier, errors) -> None:
    """One 'notebook': records n quotes and sends as fast as it can."""
    try:
        barrier.wait(timeout=60)
        ledger = Ledger(path)  # both create the file at the same moment
        account = account_key(f"token-{worker % 2}")
        quote = make_quote(DK_LV, tax="0.01")
        for i in range(n):
            qid = ledger.record_quote(account, f"w{worker}-{i}", ["4512345678"], quote)
            sid = ledger.claim_send(account, f"w{worker}-{i}", qid, "MEGA", None, "default", 1, duplicate_window=None)[0]
            ledger.complete_send(sid, worker * 10_000 + i)
            ledger.record_balance(account, Decimal("450") - i, "GBP")
    except BaseException as exc:  # report every failure, including "database is locked"
        errors.put(f"worker {worker}: {type(exc).__name__}: {exc}")
        raise


def _run_processes(target, args_for, n_proc: int = 2):
    ctx = multiprocessing.get_context("spawn")
    barrier, errors = ctx.Barrier(n_proc), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(w), barrier, errors)) for w in range(n_proc)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    messages = []
    while not errors.empty():
        messages.append(errors.get())
    return procs, messages


@pytest.mark.slow
def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    procs, errors = _run_processes(_process_worker, lambda w: (str(path), w, 200))
    assert errors == []
    assert [p.exitcode for p in procs] == [0, 0]
    ledger = Ledger(path)
    for worker in (0, 1):
        account = account_key(f"token-{worker}")
        quotes, sends = ledger.quotes(account), ledger.sends(account)
        assert len(quotes) == 200 and len(sends) == 200
        assert (sends["state"] == "created").all()
        assert sorted(sends["sending_id"]) == [worker * 10_000 + i for i in range(200)]
        assert len(ledger.balance_history(account)) == 200
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM quote_destinations").fetchone()[0] == 800
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _duplicate_worker(path: str, worker: int, barrier, errors) -> None:
    barrier.wait(timeout=60)
    try:
        Ledger(path).claim_send(ACCOUNT, "same-campaign", None, "MEGA", None, "default", 1,
                                duplicate_window=timedelta(minutes=10))[0]
    except DuplicateSendError:
        errors.put("duplicate")


def test_two_processes_cannot_both_pass_the_duplicate_guard(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    procs, outcomes = _run_processes(_duplicate_worker, lambda w: (str(path), w))
    assert [p.exitcode for p in procs] == [0, 0]
    assert outcomes == ["duplicate"]
    assert len(Ledger(path).sends(ACCOUNT)) == 1


# --------------------------------------------------------------------------- money helpers


def test_allocate_examples() -> None:
    # 0.2679 over 0.90 and 0.4397: 0.17997... and 0.08792...; the spare unit goes to the larger remainder.
    assert allocate(Decimal("0.2679"), [Decimal("0.90"), Decimal("0.4397")]) == [Decimal("0.1800"), Decimal("0.0879")]
    assert allocate(Decimal("0"), [Decimal("1.5"), Decimal("2")]) == [Decimal("0.0"), Decimal("0.0")]
    assert allocate(Decimal("0.05"), [Decimal(0), Decimal(0)]) == [Decimal("0.00"), Decimal("0.05")]
    assert allocate(Decimal("-0.10"), [Decimal(1), Decimal(1), Decimal(1)]) == [Decimal("-0.04"), Decimal("-0.03"), Decimal("-0.03")]
    assert allocate(Decimal("1"), []) == []


@given(
    amount=st.decimals(min_value=0, max_value=10_000, places=4),
    weights=st.lists(st.decimals(min_value=0, max_value=1_000, places=3), min_size=1, max_size=12),
)
def test_allocate_is_exact_and_proportional(amount: Decimal, weights: list[Decimal]) -> None:
    shares = allocate(amount, weights)
    assert sum(shares, Decimal(0)) == amount
    assert all(s >= 0 for s in shares)
    total = sum(weights, Decimal(0))
    if total:
        quantum = Decimal("0.0001")
        for share, weight in zip(shares, weights):
            assert abs(share - amount * weight / total) < quantum


def test_period_start() -> None:
    times = pd.Series(pd.to_datetime(["2024-03-06 23:59:59", "2024-03-10 00:00:00", "2024-02-29 12:00:00"], utc=True))
    assert period_start(times, "D").tolist() == [pd.Timestamp(d, tz="UTC") for d in ("2024-03-06", "2024-03-10", "2024-02-29")]
    assert period_start(times, "W").tolist() == [pd.Timestamp(d, tz="UTC") for d in ("2024-03-04", "2024-03-04", "2024-02-26")]
    assert period_start(times, "M").tolist() == [pd.Timestamp(d, tz="UTC") for d in ("2024-03-01", "2024-03-01", "2024-02-01")]
    with pytest.raises(ValueError, match="freq: must be one of D, W, M"):
        period_start(times, "Q")


# --------------------------------------------------------------------------- spend


@pytest.fixture
def spent(ledger: Ledger, clock: Clock) -> Ledger:
    """Three sendings over two months, plus sends that must not count as spend."""
    q1 = ledger.record_quote(ACCOUNT, "Sale", ["1"] * 3, make_quote(DK_LV, tax="0.2679"))
    q2 = ledger.record_quote(ACCOUNT, "News", ["1"] * 3, make_quote([("Denmark TDC", "Denmark", "TDC", 3, 6, "0.45", "2.70")]))
    q3 = ledger.record_quote(ACCOUNT, "Hi", ["1"], make_quote([("Singapore ", "Singapore", None, 1, 1, "0.05", "0.05")], tax="0.01"))
    s1 = ledger.claim_send(ACCOUNT, "a", q1, "MEGA", None, "default", 3, duplicate_window=None)[0]  # Mon 2024-03-04
    ledger.complete_send(s1, 501)
    clock.advance(days=2)  # Wed 2024-03-06
    s2 = ledger.claim_send(ACCOUNT, "b", q2, "MegaShop", None, "default", 3, duplicate_window=None)[0]
    ledger.mark_unknown(s2, "timeout")
    ledger.apply(s2, "found", sending_id=502)
    for state in ("fail_send", "mark_unknown", None):  # failed, unknown and pending: not spent
        sid = ledger.claim_send(ACCOUNT, f"x{state}", q2, "MEGA", None, "default", 3, duplicate_window=None)[0]
        if state:
            getattr(ledger, state)(sid, "error")
    clock.now = datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
    s3 = ledger.claim_send(ACCOUNT, "c", q3, "MEGA", None, "default", 1, duplicate_window=None)[0]
    ledger.complete_send(s3, 503)
    other_q = ledger.record_quote(OTHER, "Sale", ["1"], make_quote(DK_LV))
    ledger.complete_send(ledger.claim_send(OTHER, "a", other_q, "MEGA", None, "default", 1, duplicate_window=None)[0], 601)
    return ledger


SENDINGS = pd.DataFrame({
    "id": [501, 502, 999],
    "text": ["Sale", "News", "From the web dashboard"],
    "created_at": pd.to_datetime(["2024-03-04T10:00:01Z", "2024-03-06T10:00:01Z", "2024-03-05T07:00:00Z"], utc=True),
    "scheduled_at": ["2024-03-04 10:00:01", "2024-03-06 10:00:01", "2024-03-05 07:00:00"],
    "status": ["Sent", "Failed", "Pending"],
    "total_sms": [3, 6, 4],
})


def test_spend_rows_join_quotes_and_statuses(spent: Ledger) -> None:
    df = spend_frame(*spent.spent(ACCOUNT), SENDINGS)
    assert df.columns.tolist() == ["period", "sending_id", "send_id", "created_at", "sender", "status", "destination",
                                   "country", "operator", "numbers", "sms_count", "net", "tax", "cost",
                                   "currency", "priced", "server_epoch"]
    assert df["sending_id"].tolist() == [501, 501, 999, 502, 503]  # in time order
    assert df["status"].tolist() == ["Sent", "Sent", "Pending", "Failed", "unknown"]  # 503 is not in /sendings
    assert df["country"].tolist()[:2] == ["Denmark", "Latvia"] and df["sender"].tolist()[3] == "MegaShop"
    assert df["cost"].tolist()[:2] == [Decimal("1.0800"), Decimal("0.5276")]  # 0.90 + 0.1800 tax, 0.4397 + 0.0879
    assert df["tax"].tolist()[:2] == [Decimal("0.1800"), Decimal("0.0879")]
    assert df["cost"].tolist()[3:] == [Decimal("2.70"), Decimal("0.06")]
    unpriced = df[~df["priced"]]
    assert unpriced["sending_id"].tolist() == [999] and unpriced["cost"].tolist() == [None]
    assert unpriced["sms_count"].tolist() == [4]  # charged, at a cost this ledger does not know: never 0
    # Each sending's rows add up to its quote's total, the amount the balance is debited.
    by_sending = df[df["priced"]].groupby("sending_id")["cost"].apply(lambda s: sum(s, Decimal(0)))
    assert by_sending.to_dict() == {501: Decimal("1.6076"), 502: Decimal("2.70"), 503: Decimal("0.06")}
    assert 601 not in df["sending_id"].tolist()  # another account's sending


def test_spend_without_statuses(spent: Ledger) -> None:
    df = spend_frame(*spent.spent(ACCOUNT), None)
    assert df["sending_id"].tolist() == [501, 501, 502, 503]
    assert set(df["status"]) == {"unknown"} and df["priced"].all()


@pytest.mark.parametrize(("freq", "expected"), [
    ("D", [("2024-03-04", "GBP", "1.6076"), ("2024-03-05", None, None), ("2024-03-06", "GBP", "2.70"),
           ("2024-04-02", "GBP", "0.06")]),
    ("W", [("2024-03-04", "GBP", "4.3076"), ("2024-03-04", None, None), ("2024-04-01", "GBP", "0.06")]),
    ("M", [("2024-03-01", "GBP", "4.3076"), ("2024-03-01", None, None), ("2024-04-01", "GBP", "0.06")]),
])
def test_spend_summary_by_period(spent: Ledger, freq: str, expected: list) -> None:
    summary = spend_summary(spend_frame(*spent.spent(ACCOUNT), SENDINGS, freq=freq), by="period")
    got = [(p.strftime("%Y-%m-%d"), None if pd.isna(cur) else cur, c)
           for p, cur, c in zip(summary["period"], summary["currency"], summary["cost"])]
    assert got == [(p, cur, None if c is None else Decimal(c)) for p, cur, c in expected]
    # The unpriced web-dashboard sending has its own row (no currency), counted, not dropped.
    assert summary["unpriced"].tolist() == [0 if cur else 1 for _, cur, _ in expected]


def test_spend_summary_by_country_operator_status(spent: Ledger) -> None:
    df = spend_frame(*spent.spent(ACCOUNT), SENDINGS)
    country = spend_summary(df, by="country")
    priced = country[country["cost"].notna()]
    assert priced["country"].tolist() == ["Denmark", "Latvia", "Singapore"]  # largest first
    assert priced["cost"].tolist() == [Decimal("3.7800"), Decimal("0.5276"), Decimal("0.06")]
    assert priced["sms_count"].tolist() == [8, 1, 1] and priced["sendings"].tolist() == [2, 1, 1]
    assert country["unpriced"].sum() == 1  # the web-dashboard sending is counted, not dropped
    operator = spend_summary(df, by=["country", "operator"]).dropna(subset=["cost"])
    assert [(None if pd.isna(o) else o, c) for o, c in zip(operator["operator"], operator["cost"])] == [
        ("TDC", Decimal("2.70")), ("Telenor", Decimal("1.0800")), ("LMT", Decimal("0.5276")), (None, Decimal("0.06"))]
    status = spend_summary(df, by="status").set_index("status")
    assert status.loc["Sent", "cost"] == Decimal("1.6076") and status.loc["unknown", "cost"] == Decimal("0.06")
    assert status.loc["Pending", "cost"] is None and status.loc["Pending", "unpriced"] == 1
    total = sum((c for c in country["cost"] if c is not None), Decimal(0))
    assert total == Decimal("4.3676")


def test_spend_rejects_bad_arguments(spent: Ledger) -> None:
    with pytest.raises(ValueError, match="freq: must be one of"):
        spend_frame(*spent.spent(ACCOUNT), None, freq="Y")
    with pytest.raises(ValueError, match="sendings: missing column"):
        spend_frame(*spent.spent(ACCOUNT), SENDINGS.drop(columns=["status"]))
    with pytest.raises(ValueError, match="by: must name columns among"):
        spend_summary(spend_frame(*spent.spent(ACCOUNT)), by="colour")


def test_spend_of_empty_ledger(ledger: Ledger) -> None:
    df = spend_frame(*ledger.spent(ACCOUNT), SENDINGS.iloc[0:0])
    assert df.empty and "cost" in df.columns
    assert spend_summary(df, by="country").empty


def test_spend_of_a_send_without_quote(ledger: Ledger) -> None:
    sid = new_send(ledger, key="no-quote")
    ledger.complete_send(sid, 700)
    df = spend_frame(*ledger.spent(ACCOUNT), None)
    assert df["sending_id"].tolist() == [700] and df["priced"].tolist() == [False]
    assert df["cost"].tolist() == [None]
