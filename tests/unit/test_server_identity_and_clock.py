"""Issue 18's parts that need no server: the server's clock (``ServerClock``), server identity
(``sending.identity``), the ledger's server epochs and stored in-flight windows, its schema 4
upgrade, spend across a server replacement, and the clock taught by the ledger's own sendings.
Real SQLite files; expectations written out by hand."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.analytics.spend import spend_frame, spend_summary, spend_totals
from smsgic_analytics.core.config import account_key
from smsgic_analytics.core.dates import ServerClock, clock_note, describe_skew, parse_http_date
from smsgic_analytics.sending import identity
from smsgic_analytics.sending.identity import Known
from smsgic_analytics.sending.ledger import Ledger
from smsgic_analytics.sending.reconcile import observe_clock

ACCOUNT = account_key("identity-token", "http://127.0.0.1:8765")
T0 = datetime(2026, 12, 4, 16, 20, 0, tzinfo=UTC)


class Wall:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# --- the server's clock -------------------------------------------------------------------------

def test_the_date_header_sets_the_offset_to_within_a_second():
    wall = Wall(T0)
    clock = ServerClock(wall)
    assert clock.skew() is None and clock() == T0  # nothing learned: this computer's time
    # Asked at 16:20:00.0, answered at 16:20:00.2 by a server 2 hours behind: Date 14:20:00.
    clock.observe_date("Fri, 04 Dec 2026 14:20:00 GMT", T0, T0 + timedelta(milliseconds=200))
    assert abs(clock.skew().total_seconds() - (-7200)) <= 1
    assert abs((clock() - (T0 - timedelta(hours=2))).total_seconds()) <= 1
    assert "2 h" in clock.note() and "behind" in clock.note() and "follow the server's clock" in clock.note()


def test_the_offset_holds_still_inside_each_answers_interval_and_follows_a_jump():
    wall = Wall(T0)
    clock = ServerClock(wall)
    clock.observe(-10.0, -9.0)
    first = clock.skew()
    for low, high in [(-10.4, -9.4), (-9.8, -8.8), (-10.0, -9.0)]:  # each contains the estimate
        clock.observe(low, high)
        assert clock.skew() == first  # no jitter from the header's one-second resolution
    clock.observe(3 * 86_400 - 1, 3 * 86_400)  # the server's clock jumped 3 days ahead
    assert clock.skew() == timedelta(days=3, seconds=-1)
    clock.observe(5.0, 4.0)  # an impossible interval teaches nothing
    assert clock.skew() == timedelta(days=3, seconds=-1)


def test_a_clock_given_by_the_caller_is_measured_but_never_moved():
    wall = Wall(T0)
    clock = ServerClock(wall, follow=False)
    clock.observe(-3 * 86_400, -3 * 86_400 + 1)
    assert clock() == T0  # used as the server's time as it is
    assert abs(clock.skew().total_seconds() + 3 * 86_400) <= 1
    assert "given" in clock.note()
    assert clock_note(wall) == ""  # any other callable: nothing is known of it


@pytest.mark.parametrize("seconds, words, shown", [
    (-7199.7, "2 h 0 min behind", True), (299, "5 min ahead", False), (301, "5 min ahead", True),
    (3 * 86_400, "3 d 0 h 0 min ahead", True), (-20, "20 s behind", False), (-300, "5 min behind", False),
])
def test_a_skew_over_five_minutes_is_shown_in_words(seconds, words, shown):
    assert describe_skew(timedelta(seconds=seconds)) == words
    clock = ServerClock(Wall(T0))
    clock.observe(seconds, seconds)
    expected = words.replace("ahead", "ahead of") + " this computer's"
    assert clock.note().startswith(f"the server's clock is {expected}:") if shown else clock.note() == ""


def test_unreadable_date_headers_teach_nothing():
    clock = ServerClock(Wall(T0))
    for header in (None, "", "yesterday", "Fri, 99 Dec 2026 14:20:00 GMT"):
        assert parse_http_date(header) is None
        clock.observe_date(header, T0, T0)
    assert clock.skew() is None


# --- server identity: pure ------------------------------------------------------------------------

def listing(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "text", "created_at", "scheduled_at", "status", "total_sms"])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["scheduled_at"] = pd.to_datetime(frame["scheduled_at"], utc=True)
    return frame


OLD_301 = Known(301, identity.text_hash("Opening hours"), datetime(2026, 12, 4, 9, 0, 5, tzinfo=UTC),
                "2026-12-04 09:00:20")


@pytest.mark.parametrize("row, reason", [
    ((301, "Opening hours", "2026-12-04T09:00:05.000000Z", "2026-12-04 09:00:20", "Sent", 3), None),
    ((301, "  Opening hours\n", "2026-12-04T09:00:05Z", "2026-12-04 09:00:20", "Sent", 3), None),  # trimmed: same
    ((301, "Table booked", "2026-12-04T09:00:05Z", "2026-12-04 09:00:20", "Pending", 3), "sending 301 now has another text"),
    ((301, "Opening hours", "2026-12-04T11:30:00Z", "2026-12-04 09:00:20", "Pending", 3), "created at"),
    ((301, "Opening hours", "2026-12-04T09:00:05Z", "2026-12-04 11:00:00", "Pending", 3), "scheduled at"),
    ((302, "Other", "2026-12-04T09:00:05Z", "2026-12-04 11:00:00", "Pending", 3), None),  # 301 not listed: see missing
])
def test_a_known_sending_that_comes_back_different_proves_another_server(row, reason):
    found = identity.changed([OLD_301], listing(row))
    assert (found is None) if reason is None else (reason in found)


def test_missing_ids_are_asked_about_only_where_the_listing_should_show_them():
    known = [Known(i, "h", None, None) for i in (290, 301, 305)]
    assert identity.missing(known, listing()) == [305, 301, 290]  # an empty listing: all of them, newest first
    assert identity.missing(known, listing((300, "a", "2026-12-04T09:00:00Z", None, "Sent", 1))) == [305, 301]
    assert identity.missing(known, listing(*[(i, "a", "2026-12-04T09:00:00Z", None, "Sent", 1)
                                             for i in (290, 301, 305)])) == []


def test_a_matching_listing_records_own_sendings_and_the_newest():
    rows = listing((301, "Ours", "2026-12-04T09:00:05Z", "2026-12-04 09:00:20", "Sent", 3),
                   (302, "Theirs", "2026-12-04T09:01:00Z", None, "Sent", 1),
                   (303, "Newest", "2026-12-04T09:02:00Z", "2026-12-04 09:02:00", "Pending", 2))
    recorded = identity.evidence(rows, own=[301])
    assert [(k.sending_id, k.scheduled_at) for k in recorded] == [(301, "2026-12-04 09:00:20"), (303, "2026-12-04 09:02:00")]
    assert recorded[0].text_hash == identity.text_hash("Ours") and recorded[0].created_at == datetime(
        2026, 12, 4, 9, 0, 5, tzinfo=UTC)


# --- the ledger: epochs, windows, schema 4 ------------------------------------------------------

def quote(ledger: Ledger, text: str, total: str = "0.30") -> int:
    dest = pd.DataFrame([("Latvia LMT", "Latvia", "LMT", 3, 3, Decimal("0.10"), Decimal(total))],
                        columns=["destination", "country", "operator", "numbers", "sms_count", "price", "total"])
    return ledger.record_quote(ACCOUNT, text, ["1", "2", "3"], SimpleNamespace(
        sms_count=3, subtotal=Decimal(total), tax=Decimal(0), total=Decimal(total), currency="GBP", destinations=dest))


def claim(ledger: Ledger, key: str, quote_id: int | None = None, **kw) -> int:
    return ledger.claim_send(ACCOUNT, key * 64, quote_id, "MEGA", None, "default", 3, duplicate_window=None, **kw)[0]


def test_every_send_keeps_its_senders_in_flight_window(tmp_path: Path):
    settings = SimpleNamespace(cache_dir=tmp_path, timeout=45.0, commit_grace=15.0)
    ledger = Ledger.for_settings(settings)
    assert ledger.get_send(claim(ledger, "a"))["in_flight"] == 60.0
    assert ledger.get_send(claim(ledger, "b", in_flight=timedelta(seconds=5)))["in_flight"] == 5.0
    bare = Ledger(tmp_path / "bare.sqlite")
    assert bare.get_send(claim(bare, "c"))["in_flight"] is None  # nothing to store: reconcilers use their own
    [facts] = [f for f in ledger.unresolved_facts(ACCOUNT) if f.send_id == 1]
    assert facts.in_flight == timedelta(seconds=60) and facts.server_epoch == 1 and facts.auto_schedule


def test_a_sending_id_names_a_sending_of_one_server_epoch(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger.sqlite", clock=Wall(T0))
    old = claim(ledger, "a", quote(ledger, "Opening hours"))
    ledger.complete_send(old, 301)
    assert ledger.server_epoch(ACCOUNT) == 1 and ledger.linked_sendings(ACCOUNT) == {301}
    epoch, known = ledger.known_sendings(ACCOUNT)
    assert epoch == 1 and [(k.sending_id, k.text_hash) for k in known] == [(301, identity.text_hash("Opening hours"))]

    assert ledger.new_server_epoch(ACCOUNT, 1, "sending 301 now has another text") == 2
    assert ledger.new_server_epoch(ACCOUNT, 1, "noticed again by another notebook") == 2  # recorded once
    changes = ledger.server_epochs(ACCOUNT)
    assert changes[["epoch", "reason"]].values.tolist() == [[2, "sending 301 now has another text"]]
    assert ledger.linked_sendings(ACCOUNT) == set()  # the old 301 names nothing on the new server
    assert ledger.known_sendings(ACCOUNT) == (2, [])

    new = claim(ledger, "b", quote(ledger, "Table booked"))
    ledger.complete_send(new, 301)  # the new server's 301: another sending, no clash with the old link
    sends = ledger.sends(ACCOUNT).set_index("id")
    assert sends.loc[[old, new], ["sending_id", "server_epoch"]].values.tolist() == [[301, 1], [301, 2]]
    ledger.remember_sendings(ACCOUNT, 1, [Known(302, "h", T0, None)])  # an epoch that is over: not recorded
    assert [k.sending_id for k in ledger.known_sendings(ACCOUNT)[1]] == [301]


def test_spend_never_gives_an_old_servers_cost_to_a_new_sending_of_the_same_id(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger.sqlite", clock=Wall(T0))
    ledger.complete_send(claim(ledger, "a", quote(ledger, "Opening hours", "0.30")), 301)
    ledger.new_server_epoch(ACCOUNT, 1, "sending 301 now has another text")
    ledger.complete_send(claim(ledger, "b", quote(ledger, "Table booked", "0.50")), 302)
    new_server = listing((301, "A stranger's", "2026-12-04T17:00:00Z", None, "Pending", 4),
                         (302, "Table booked", "2026-12-04T16:20:01Z", None, "Sent", 3))
    spend = spend_frame(*ledger.spent(ACCOUNT), new_server, server_epoch=ledger.server_epoch(ACCOUNT))
    rows = {(r.server_epoch, r.sending_id): r for r in spend.itertuples()}
    assert set(rows) == {(1, 301), (2, 301), (2, 302)}
    assert (rows[(1, 301)].status, rows[(1, 301)].cost) == ("previous server", Decimal("0.30"))
    assert (rows[(2, 301)].priced, rows[(2, 301)].cost, rows[(2, 301)].sms_count) == (False, None, 4)
    assert (rows[(2, 302)].status, rows[(2, 302)].cost) == ("Sent", Decimal("0.50"))
    totals = spend_totals(spend).set_index("line")
    assert totals.loc["priced", "sendings"] == 2 and totals.loc["priced", "cost"] == Decimal("0.80")
    assert totals.loc["unpriced", "sendings"] == 1
    by_sending = spend_summary(spend, by="sending_id")
    assert sorted(zip(by_sending["server_epoch"], by_sending["sending_id"])) == [(1, 301), (2, 301), (2, 302)]
    assert sa.spend_summary(spend, by="status")["sendings"].sum() == 3


V2_SENDS = """CREATE TABLE sends (id INTEGER PRIMARY KEY, account TEXT NOT NULL, created_at TEXT NOT NULL,
    campaign_key TEXT NOT NULL, quote_id INTEGER, sender TEXT NOT NULL, scheduled_at TEXT, type TEXT NOT NULL,
    recipients INTEGER NOT NULL, state TEXT NOT NULL, sending_id INTEGER, error TEXT, resolved_at TEXT,
    auto_schedule INTEGER NOT NULL DEFAULT 0)"""


@pytest.mark.parametrize("already", [(), ("in_flight REAL",)], ids=["v2", "v2-with-a-column-merged-early"])
def test_a_version_2_ledger_is_upgraded_to_4_in_place_and_keeps_its_rows(tmp_path: Path, already):
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as conn:  # the file as version 2 wrote it (a lane, auto-scheduled sends)
        conn.execute(V2_SENDS)
        for column in already:
            conn.execute(f"ALTER TABLE sends ADD COLUMN {column}")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('lane', '17')")
        conn.execute("INSERT INTO sends (account, created_at, campaign_key, sender, scheduled_at, type, recipients,"
                     " state, sending_id, auto_schedule) VALUES (?, '2026-11-30T10:00:00.000000+00:00', 'k', 'MEGA',"
                     " '2026-11-30 10:00:17', 'default', 3, 'unknown', NULL, 1)", (ACCOUNT,))
        conn.execute("PRAGMA user_version = 2")
    ledger = Ledger(path)
    assert ledger.schema_version() == 4 and ledger.lane == 17
    sends = ledger.sends(ACCOUNT)
    assert sends[["state", "auto_schedule", "server_epoch"]].values.tolist() == [["unknown", True, 1]]
    assert pd.isna(sends["in_flight"].iloc[0])
    [facts] = ledger.unresolved_facts(ACCOUNT)
    assert (facts.in_flight, facts.server_epoch, facts.auto_schedule) == (None, 1, True)
    assert Ledger(path).schema_version() == 4  # opening again changes nothing


def test_a_column_missing_from_a_file_already_at_version_4_is_added(tmp_path: Path):
    """A file upgraded to 4 by a build that lacked one of the side-by-side steps gets the column
    at the next open, its rows kept."""
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    claim(ledger, "a")
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE sends DROP COLUMN in_flight")
    assert Ledger(path).sends(ACCOUNT)["id"].tolist() == [1]
    with sqlite3.connect(path) as conn:
        assert "in_flight" in {r[1] for r in conn.execute("PRAGMA table_info(sends)")}


# --- the clock taught by the ledger's own sendings -------------------------------------------------

def test_the_created_at_of_an_own_sending_corrects_a_clock_that_was_off(tmp_path: Path):
    wall = Wall(T0)
    clock = ServerClock(wall)
    clock.observe(0.0, 1.0)  # a Date header that lies: the app's clock is 10 minutes behind it
    ledger = Ledger(tmp_path / "ledger.sqlite", clock=clock)
    sid = claim(ledger, "a", quote(ledger, "Hello"))
    wall.now += timedelta(seconds=2)
    ledger.complete_send(sid, 301)  # claimed and answered within 2 s on the ledger's clock
    created = T0 - timedelta(minutes=10) + timedelta(seconds=1)
    client = SimpleNamespace(ledger=ledger, settings=SimpleNamespace(account=ACCOUNT))
    observe_clock(client, listing((301, "Hello", created.isoformat(), None, "Pending", 3)))
    assert abs(clock.skew().total_seconds() - (-600)) <= 3  # now within the claim-to-answer span
    before = clock.skew()
    observe_clock(client, listing((301, "Hello", created.isoformat(), None, "Pending", 3)))
    assert clock.skew() == before  # consistent now: nothing moves
