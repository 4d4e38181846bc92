"""Campaign parts that need no server: local validation, the campaign key, the preview text,
the reconciliation match, and the ledger's atomic claim under threads (real SQLite files).

Local validation runs on a real ``Client`` pointed at a port where nothing listens: a check
that reached for the network would raise ``APIConnectionError`` instead of the error asserted.
"""
from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import api_doc
import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.core.errors import DuplicateSendError
from smsgic_analytics.sending.campaign import Campaign, Preview
from smsgic_analytics.sending.ledger import Ledger, LedgerError
from smsgic_analytics.sending.state import (
    InvalidTransitionError,
    SendFacts,
    decide,
    next_state,
)

ACCOUNT = "0123456789abcdef"


@pytest.fixture
def offline_client(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = sa.connect(token="unit-token", base_url=f"http://127.0.0.1:{port}", cache_dir=tmp_path / "cache",
                        max_retries=0, timeout=2.0)
    yield client
    client.close()


# --- local validation ------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, fields, needle", [
    ({"message": ""}, ["message"], api_doc.MISSING_MESSAGE),
    ({"message": " \n"}, ["message"], api_doc.MISSING_MESSAGE),
    ({"message": None}, ["message"], api_doc.MISSING_MESSAGE),
    ({"message": "a" * 153 * 256}, ["message"], "the message needs 256 segments (GSM-7, 39,168 characters); a "
                                                 "concatenated SMS has at most 255"),
    ({"sender": ""}, ["sender"], api_doc.MISSING_SENDER),
    ({"type": "fax"}, ["type"], "Choose one of default, infobip, twilio, messente, trumpia; got 'fax'"),
    ({"scheduled_at": datetime(2001, 9, 9, 1, 46, 40)}, ["scheduled_at"], "2001-09-09 01:46:40 UTC is in the past"),
    ({"scheduled_at": "09/09/2031"}, ["scheduled_at"], "'09/09/2031'"),
    ({"recipients": []}, ["recipients"], api_doc.MISSING_RECIPIENTS),
    ({"message": "", "type": "fax", "recipients": ["1"]}, ["message", "recipients.0", "type"], api_doc.INVALID_DATA),
])
def test_local_checks_refuse_without_a_request(offline_client, kwargs, fields, needle):
    args = {"message": "Hi", "recipients": ["4915123456789"], "sender": "MegaShop", **kwargs}
    with pytest.raises(sa.ValidationError) as info:
        Campaign(offline_client, **args).validate()
    assert sorted(info.value.field_errors) == fields
    assert needle in str(info.value)


def test_the_longest_concatenated_message_is_allowed(offline_client):
    with pytest.raises(sa.errors.APIConnectionError):  # passed the local checks: /senders is next
        Campaign(offline_client, "a" * 153 * 255, ["4915123456789"], "MEGA").validate()


def test_past_schedule_names_the_time_it_was_compared_against(offline_client):
    before = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    with pytest.raises(sa.ValidationError) as info:
        Campaign(offline_client, "Hi", ["4915123456789"], "MEGA", scheduled_at=before - timedelta(seconds=1)).validate()
    compared = str(info.value).split("compared against now, ")[1][:19]
    assert datetime.strptime(compared, spec.SCHEDULED_AT_FORMAT) >= before


def test_aware_schedule_is_converted_to_utc_before_the_past_check(offline_client):
    # 10:00 at UTC+14 is 20:00 UTC the day before: both far in the past.
    when = datetime(2020, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(sa.ValidationError, match="2020-05-31 20:00:00 UTC is in the past"):
        Campaign(offline_client, "Hi", ["4915123456789"], "MEGA", scheduled_at=when).validate()


def test_only_invalid_recipients_raise_invalid_recipients_error(offline_client):
    with pytest.raises(sa.errors.InvalidRecipientsError) as info:
        Campaign(offline_client, "Hi", ["4915123456789", "+44 (0) abc", 12], "MEGA").validate()
    assert sorted(info.value.field_errors) == ["recipients.1", "recipients.2"]
    assert "row 1 '+44 (0) abc'" in str(info.value) and "row 2 12: an integer" in str(info.value)


def test_the_sender_check_asks_the_server(offline_client):
    with pytest.raises(sa.errors.APIConnectionError):  # every local check passed; /senders is next
        Campaign(offline_client, "Hi", ["4915123456789"], "MEGA").validate()


def test_duplicate_window_must_be_positive(offline_client):
    with pytest.raises(ValueError, match="duplicate_window"):
        Campaign(offline_client, "Hi", ["4915123456789"], "MEGA", duplicate_window=timedelta(0))


def test_repr_shows_no_token(offline_client):
    campaign = Campaign(offline_client, "A long message " * 5, ["4915123456789"], "MEGA")
    assert "unit-token" not in repr(campaign) and "A long message" in repr(campaign)


# --- identity and payload -------------------------------------------------------------------

def key(client, message="Hi", recipients=("4915123456789", "37121234567"), sender="MEGA", scheduled_at=None):
    return Campaign(client, message, list(recipients), sender, scheduled_at=scheduled_at).key


def test_campaign_key_ignores_order_and_formatting(offline_client):
    base = key(offline_client)
    assert key(offline_client, recipients=["+371 2123 4567", "0049-151-23456789"]) == base
    with pytest.warns(UserWarning, match="1 duplicate recipients"):
        assert key(offline_client, recipients=["37121234567", "4915123456789", "37121234567"]) == base
    assert key(offline_client, scheduled_at="2031-01-01 10:00:00") == key(
        offline_client, scheduled_at=datetime(2031, 1, 1, 11, 0, tzinfo=ZoneInfo("Europe/Paris")))
    others = {key(offline_client, message="Hi!"), key(offline_client, sender="MegaShop"),
              key(offline_client, recipients=["4915123456789"]), key(offline_client, scheduled_at="2031-01-01 10:00:00")}
    assert base not in others and len(others) == 4


def test_payload_is_normalised_and_deduplicated(offline_client):
    with pytest.warns(UserWarning, match="1 duplicate recipients will get the SMS once"):
        campaign = Campaign(offline_client, "Hi", ["+49 151 23456789", "4915123456789", "37121234567"], "MEGA",
                            scheduled_at="2031-01-01T12:00:00+02:00", type="infobip")
        payload = campaign.payload()
    assert payload == {"message": "Hi", "recipients": ["4915123456789", "37121234567"], "sender": "MEGA",
                       "type": "infobip", "scheduled_at": "2031-01-01 10:00:00"}


def test_preview_text_and_balance_flag():
    preview = Preview(message="Sale", sender="MegaShop", scheduled_at=None, type="default", recipients=3,
                      sms_count=3, total=Decimal("0.4173"), currency="GBP", balance=Decimal("0.417"))
    assert str(preview) == "Send 'Sale' from MegaShop to 3 recipients (3 SMS), now: total 0.4173 GBP (balance 0.417 GBP)"
    assert preview.enough_balance is False
    later = Preview(message="x" * 50, sender="MEGA", scheduled_at="2031-01-01 10:00:00", type="twilio",
                    recipients=1, sms_count=1, total=Decimal("0.1"), currency="GBP", balance=None)
    assert str(later) == (f"Send '{'x' * 39}…' from MEGA via twilio to 1 recipients (1 SMS), at 2031-01-01 10:00:00 UTC:"
                          " total 0.1 GBP")
    assert later.enough_balance is None


# --- reconciliation: decide() is pure -----------------------------------------------------

SENT_AT = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
FINGERPRINT = datetime(2024, 5, 1, 12, 0, 21, tzinfo=UTC)
IN_FLIGHT = timedelta(seconds=330)


def sendings(*rows):
    frame = pd.DataFrame(rows, columns=["id", "text", "created_at", "scheduled_at", "status", "total_sms"])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["scheduled_at"] = pd.to_datetime(frame["scheduled_at"], utc=True)
    return frame


def facts(**kw) -> SendFacts:
    base = {"send_id": 1, "state": "unknown", "created_at": SENT_AT, "message": "Sale", "sms_count": 3,
            "scheduled_at": FINGERPRINT, "auto_schedule": True, "in_flight": None, "server_epoch": 1}
    return SendFacts(**{**base, **kw})


OURS = (302, "Sale", "2024-05-01T12:00:02Z", "2024-05-01 12:00:21", "Pending", 3)
SERVER = sendings(
    (301, "Sale", "2024-05-01T11:50:00Z", "2024-05-01 12:00:21", "Sent", 3),       # made before we sent
    OURS,
    (303, "Sale", "2024-05-01T12:00:00Z", "2024-05-01 12:00:21", "Pending", 4),    # other SMS count
    (304, "Sale!", "2024-05-01T12:00:00Z", "2024-05-01 12:00:21", "Pending", 3),   # other text
    (305, "Sale", "2024-05-01T12:00:03Z", "2024-05-01 12:00:09", "Pending", 3),    # a colleague's: other second
)
LATER = SENT_AT + IN_FLIGHT + timedelta(seconds=1)


@pytest.mark.parametrize("send, server, now, linked, event, sending_id, candidates", [
    (facts(), SERVER, SENT_AT, (), "found", 302, ()),  # proven: text, SMS count and fingerprint
    (facts(), SERVER, LATER, (), "found", 302, ()),
    (facts(), SERVER, SENT_AT, {302}, None, None, (301, 303, 305)),  # 302 is another send's: not ours; wait
    (facts(), SERVER, LATER, {302}, None, None, (301, 303, 305)),  # same-text sendings exist: a person decides
    (facts(), SERVER[SERVER["id"] != 302], LATER, (), None, None, (301, 303, 305)),
    (facts(message="Other"), SERVER, SENT_AT, (), None, None, ()),  # nothing yet, may still commit
    (facts(message="Other"), SERVER, LATER, (), "absent", None, ()),  # proven absent
    (facts(scheduled_at=None), SERVER, LATER, (), None, None, (301, 302, 303, 305)),  # no fingerprint: unproven
    # Absence is judged over the day before the send: a same-text sending from hours earlier
    # (our own, seen through a clock that is off?) keeps it from being declared absent.
    (facts(), sendings((300, "Sale", "2024-05-01T02:00:00Z", "2024-05-01 12:00:21", "Sent", 3)), LATER, (),
     None, None, (300,)),
    (facts(), sendings((299, "Sale", "2024-04-29T12:00:00Z", "2024-05-01 12:00:21", "Sent", 3)), LATER, (),
     "absent", None, ()),
    (facts(message=None, sms_count=None), SERVER, LATER, (), None, None, ()),  # no quote: nothing to match
    (facts(state="pending"), SERVER, SENT_AT, (), None, None, ()),  # another thread is sending it
    (facts(state="pending"), SERVER, LATER, (), "found", 302, ()),  # a crashed kernel's row
    # A scheduled_at the user chose can be another ledger's too: the match is listed, never linked.
    (facts(auto_schedule=False), SERVER, LATER, (), None, None, (302,)),
    (facts(auto_schedule=False, message="Other"), SERVER, LATER, (), "absent", None, ()),  # absence still proves
    # The sender's own window, not the reconciler's: a pending send 331 s old whose sender waits an hour.
    (facts(state="pending", in_flight=timedelta(hours=1)), SERVER, LATER, (), None, None, ()),
    (facts(message="Other", in_flight=timedelta(hours=1)), SERVER, LATER, (), None, None, ()),  # may still commit
    (facts(message="Other", in_flight=timedelta(seconds=10)), SERVER, SENT_AT + timedelta(seconds=11), (),
     "absent", None, ()),
])
def test_decide(send, server, now, linked, event, sending_id, candidates):
    verdict = decide(send, server, now=now, in_flight=IN_FLIGHT, linked=linked)
    assert (verdict.event, verdict.sending_id, verdict.candidates) == (event, sending_id, candidates)
    assert verdict.note
    if event is None and now < LATER and send.message is not None:
        assert verdict.seconds_left and verdict.seconds_left > 0


@pytest.mark.parametrize("send", [facts(), facts(message="Other"), facts(state="pending")])
def test_nothing_is_concluded_about_a_send_to_a_server_since_replaced(send):
    for server in (SERVER, SERVER.iloc[0:0]):  # a perfect match, or nothing at all, on the new server
        verdict = decide(send, server, now=LATER, in_flight=IN_FLIGHT, server_epoch=2)
        assert (verdict.event, verdict.sending_id, verdict.candidates) == (None, None, ())
        assert "replaced" in verdict.note and "a person must decide" in verdict.note


def test_two_sendings_with_the_same_fingerprint_prove_nothing():
    twin = (306, *OURS[1:])
    verdict = decide(facts(), sendings(OURS, twin), now=LATER, in_flight=IN_FLIGHT)
    assert verdict.event is None and verdict.candidates == (302, 306) and "cannot be proven" in verdict.note


def test_the_transition_table_allows_only_the_documented_moves():
    assert next_state("pending", "answered") == "created"
    assert next_state("unknown", "found") == "reconciled" and next_state("unknown", "absent") == "failed"
    # A send's own answer after a verdict: the answer is proof (issue 18, item 9).
    assert next_state("failed", "answered") == "created" and next_state("reconciled", "answered") == "created"
    for state, event in [("created", "absent"), ("failed", "found"), ("reconciled", "ruled not sent"),
                         ("unknown", "answered"), ("created", "answered")]:
        with pytest.raises(InvalidTransitionError, match=f"a '{state}' send cannot take '{event}'"):
            next_state(state, event)


# --- the ledger's claim ------------------------------------------------------------------------

@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite")


def claim(ledger: Ledger, window: timedelta | None = timedelta(hours=24), key: str = "k" * 64,
          quote_id: int | None = None, scheduled_at: str | None = None) -> int:
    return ledger.claim_send(ACCOUNT, key, quote_id, "MEGA", scheduled_at, "default", 1, duplicate_window=window)[0]


def test_claim_lets_exactly_one_of_many_threads_through(ledger: Ledger):
    workers = 8
    barrier = threading.Barrier(workers)
    won: list[int] = []
    refused: list[DuplicateSendError] = []

    def attempt() -> None:
        barrier.wait()
        try:
            won.append(claim(ledger))
        except DuplicateSendError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == workers - 1
    assert {e.previous["id"] for e in refused} == set(won)
    assert len(ledger.sends(ACCOUNT)) == 1


@pytest.mark.parametrize("window", [timedelta(hours=24), None], ids=["window", "allow_duplicate"])
def test_an_unresolved_send_blocks_however_old(tmp_path: Path, window):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    now = [start]
    ledger = Ledger(tmp_path / "ledger.sqlite", clock=lambda: now[0])
    first = claim(ledger, window)
    ledger.mark_unknown(first, "read timeout")
    now[0] = start + timedelta(days=30)  # far outside any window
    for attempt in (lambda: claim(ledger, window), lambda: ledger.check_send(ACCOUNT, "k" * 64, window)):
        with pytest.raises(DuplicateSendError, match="outcome is unknown.*client.reconcile") as info:
            attempt()
        assert info.value.previous["id"] == first
        assert "2024-01-01 00:00:00 UTC (ledger send 1" in str(info.value)
    ledger.apply(first, "absent")  # proven not on the server -> failed -> free again
    assert claim(ledger, window) == 2
    assert claim(ledger, window=None, key="f" * 64) == 3  # other campaigns were never blocked


def test_check_send_is_read_only_and_matches_claim(ledger: Ledger):
    ledger.check_send(ACCOUNT, "k" * 64, timedelta(hours=1))
    assert ledger.sends(ACCOUNT).empty
    sid = claim(ledger)
    ledger.complete_send(sid, 501)
    with pytest.raises(DuplicateSendError, match="sending 501"):
        ledger.check_send(ACCOUNT, "k" * 64, timedelta(hours=1))
    ledger.check_send(ACCOUNT, "k" * 64, None)  # allow_duplicate: a created send does not block


def test_one_sending_is_linked_to_one_send(ledger: Ledger):
    a, b = claim(ledger, key="a" * 64), claim(ledger, key="b" * 64)
    ledger.complete_send(a, 700)
    ledger.mark_unknown(b, "timeout")
    with pytest.raises(LedgerError, match="sending 700 is already linked to ledger send 1"):
        ledger.apply(b, "found", sending_id=700)
    assert ledger.get_send(b)["state"] == "unknown"
    ledger.apply(b, "found", sending_id=701)
    assert ledger.get_send(b)["sending_id"] == 701


@pytest.mark.parametrize("lane", [0, 7, 29])
def test_every_live_send_of_a_text_gets_its_own_fingerprint_in_the_ledgers_lane(tmp_path: Path, lane: int):
    now = datetime(2024, 5, 1, 12, 0, 0, 400000, tzinfo=UTC)
    ledger = Ledger(tmp_path / "ledger.sqlite", clock=lambda: now, lane=lane)
    assert Ledger(tmp_path / "ledger.sqlite").lane == lane  # kept in the file
    quote = SimpleNamespace(sms_count=1, subtotal=Decimal("0.1"), tax=Decimal(0), total=Decimal("0.1"),
                            currency="GBP", destinations=pd.DataFrame(
                                [("Latvia ", "Latvia", None, 1, 1, Decimal("0.1"), Decimal("0.1"))],
                                columns=["destination", "country", "operator", "numbers", "sms_count", "price",
                                         "total"]))
    qid = ledger.record_quote(ACCOUNT, "Same text", ["37120012345"], quote)
    seconds = []
    for key in ("a", "b", "c"):  # three audiences, one text, one instant: three seconds
        sid, scheduled = ledger.claim_send(ACCOUNT, key * 64, qid, "MEGA", None, "default", 1,
                                           duplicate_window=timedelta(hours=1))
        seconds.append(scheduled)
        assert ledger.get_send(sid)["auto_schedule"] == 1
    assert len(set(seconds)) == 3
    when = [datetime.strptime(t, spec.SCHEDULED_AT_FORMAT).replace(tzinfo=UTC) for t in seconds]
    assert timedelta(seconds=1) <= when[0] - now <= timedelta(seconds=31)  # the first: 1-30 s ahead, whole seconds
    assert [int(w.timestamp()) % 30 for w in when] == [lane] * 3  # all in the lane: another ledger never picks them
    assert [w - when[0] for w in when] == [timedelta(0), timedelta(seconds=30), timedelta(seconds=60)]
    # Asking for a second that another live send of this text holds is refused, naming a free one.
    with pytest.raises(sa.ValidationError, match="already taken.*a second apart") as info:
        ledger.claim_send(ACCOUNT, "d" * 64, qid, "MEGA", seconds[0], "default", 1, duplicate_window=None)
    assert list(info.value.field_errors) == ["scheduled_at"]
