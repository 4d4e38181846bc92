"""The send state machine: which state a ledger send may move to, and what reconciling decides.

Decide, then do (as requests-cache's ``policy/actions.py`` splits them): ``decide`` is a pure
function of one send, the server's /sendings rows and the clock, and returns a ``Verdict``;
the ledger then applies the verdict's event through ``TRANSITIONS``.  Nothing here does I/O.

States::

    pending --answered--> created         the API answered with a sending_id
    pending --refused---> failed          the API refused it (4xx), or it never left
    pending --lost------> unknown         the request may have reached the server; no answer
    pending|unknown --found--> reconciled  a sending on the server is proven to be this send's
    pending|unknown --absent-> failed      proven absent: nothing like it on the server after
                                           the request could no longer be in flight
    pending|unknown --ruled--> reconciled | failed   a person decided (``resolve_send``)
    failed|reconciled --answered--> created   the send's own answer arrived after a verdict:
                                           the server's word is proof and wins (a reconciler
                                           should never rule while the request is in flight;
                                           this keeps a late answer from being lost if one did)

How a sending is proven to be a send's own: the API's sendings carry no recipients, so every
send carries a fingerprint the server echoes back -- an explicit ``scheduled_at`` that no
other live send of the account in this ledger uses with the same text (``fingerprint``).  A
/sendings row with the send's text, SMS count and that ``scheduled_at``, created no earlier
than the send, and linked to no other ledger send, is its sending -- when the ledger chose
that second in its own lane.  A ``scheduled_at`` the user chose can collide with another
ledger's send of the same text at the same time, so it proves nothing: the send stays
unknown, listing the match for a person.  Two matching rows (another machine chose the same
second) prove nothing either.  Absence is only proof once the request cannot be in flight any
more (the window the *sender* stored with the send: its timeout plus the server's grace), and
only when no other sending with the same text appeared meanwhile: then the send stays
unknown, listing that sending for a person to decide.  Nothing is concluded about a send made
to an earlier server behind the URL (``server_epoch``): its sending, if any, is not on this one.
All times are on the server's clock (``core.dates.ServerClock``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

import pandas as pd

from ..core.errors import SMSgicError

PENDING, CREATED, FAILED, UNKNOWN, RECONCILED = "pending", "created", "failed", "unknown", "reconciled"
STATES = (PENDING, CREATED, FAILED, UNKNOWN, RECONCILED)
UNRESOLVED = (PENDING, UNKNOWN)  # a sending may exist and nobody knows yet
LIVE_STATES = (PENDING, CREATED, UNKNOWN, RECONCILED)  # a sending may exist: the duplicate guard counts them
SPENT_STATES = (CREATED, RECONCILED)  # the sending exists: its cost was debited

ANSWERED, REFUSED, LOST, FOUND, ABSENT, RULED_SENT, RULED_NOT_SENT = (
    "answered", "refused", "lost", "found", "absent", "ruled sent", "ruled not sent")

TRANSITIONS: dict[tuple[str, str], str] = {
    (PENDING, ANSWERED): CREATED,
    (PENDING, REFUSED): FAILED,
    (PENDING, LOST): UNKNOWN,
    # A pending row left behind by a crashed kernel is as uncertain as an unknown one.
    (PENDING, FOUND): RECONCILED,
    (UNKNOWN, FOUND): RECONCILED,
    (PENDING, ABSENT): FAILED,
    (UNKNOWN, ABSENT): FAILED,
    (PENDING, RULED_SENT): RECONCILED,
    (UNKNOWN, RULED_SENT): RECONCILED,
    (PENDING, RULED_NOT_SENT): FAILED,
    (UNKNOWN, RULED_NOT_SENT): FAILED,
    # The send's own answer, late: after a reconciler or a person settled it.  The answer is proof.
    (FAILED, ANSWERED): CREATED,
    (RECONCILED, ANSWERED): CREATED,
}

# A sending's created_at is the server's clock, a send's created_at ours: allow this much skew
# when proving a sending is a send's own.  Absence is judged over a day before the send, so a
# clock that is further off makes reconcile ask a person, never declare a send absent.
CLOCK_SKEW = timedelta(minutes=5)
LOOKBACK = timedelta(hours=24)


class InvalidTransitionError(SMSgicError, ValueError):
    """A send was asked to move where its state cannot go (e.g. created -> failed)."""


def next_state(state: str, event: str) -> str:
    """The state ``event`` moves a send in ``state`` to, or ``InvalidTransitionError``."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        allowed = sorted({e for s, e in TRANSITIONS if s == state})
        raise InvalidTransitionError(
            f"a '{state}' send cannot take '{event}' (it can take: {', '.join(allowed) or 'nothing, it is settled'})"
        ) from None


@dataclass(frozen=True)
class SendFacts:
    """What the ledger knows of one unresolved send."""

    send_id: int
    state: str
    created_at: datetime  # aware UTC, the ledger's clock
    message: str | None  # None when no quote was recorded
    sms_count: int | None
    scheduled_at: datetime | None  # the fingerprint (aware UTC), None for sends made before it existed
    auto_schedule: bool  # the ledger chose scheduled_at in its lane; False: the user chose it (no proof)
    in_flight: timedelta | None  # the sender's own window (timeout + grace); None for sends before it was kept
    server_epoch: int  # which server behind the URL the send went to (``Ledger.server_epoch``)


@dataclass(frozen=True)
class Verdict:
    """What reconciling one send decided: ``event`` (None: stay as it is), the sending proven
    to be its own, the sendings a person should look at, and why."""

    event: str | None
    sending_id: int | None = None
    candidates: tuple[int, ...] = field(default_factory=tuple)
    note: str = ""
    seconds_left: float | None = None  # while the request may still be in flight


def decide(send: SendFacts, sendings: pd.DataFrame, *, now: datetime, in_flight: timedelta,
           linked: Iterable[int] = (), skew: timedelta = CLOCK_SKEW, server_epoch: int | None = None) -> Verdict:
    """Reconcile one unresolved send against GET /sendings (``client.sendings()`` rows).

    ``now``: the server's time.  ``in_flight``: how long after the send its request may still
    commit on the server, for a send that did not store its sender's own window (made before
    it was kept).  ``linked``: sending ids other ledger sends own on this server.
    ``server_epoch``: the server now behind the URL (None: not checked).
    """
    window = send.in_flight if send.in_flight is not None else in_flight
    if send.state == PENDING and now - send.created_at < window:
        return Verdict(None, seconds_left=(send.created_at + window - now).total_seconds(),
                       note=f"still being sent by another thread or notebook (its in-flight window, "
                            f"{window.total_seconds():.0f} s, is the sender's own): left alone")
    if server_epoch is not None and send.server_epoch != server_epoch:
        return Verdict(None, note=f"this send went to the server that was behind this URL before it was replaced "
                                  f"(server {send.server_epoch}; now server {server_epoch}): its sending, if any, "
                                  "is not on this server, so neither a match nor its absence here proves anything; "
                                  "a person must decide (resolve_send)")
    if send.message is None or send.sms_count is None:
        return Verdict(None, note="no quote recorded for this send: its text and SMS count are unknown, so no "
                                  "sending can be matched to it; a person must decide (resolve_send)")
    sent = pd.Timestamp(send.created_at)
    free = sendings[~sendings["id"].isin([int(i) for i in linked])] if len(sendings) else sendings
    same_text = free[(free["text"] == send.message) & (free["created_at"] >= sent - pd.Timedelta(LOOKBACK))] \
        if len(free) else free
    own = same_text.iloc[0:0]
    if send.scheduled_at is not None and len(same_text):
        own = same_text[(same_text["total_sms"] == int(send.sms_count))
                        & (same_text["scheduled_at"] == pd.Timestamp(send.scheduled_at))
                        & (same_text["created_at"] >= sent - pd.Timedelta(skew))
                        & (same_text["created_at"] <= sent + pd.Timedelta(window) + pd.Timedelta(skew))]
    if len(own) == 1 and not send.auto_schedule:
        sid = int(own["id"].iloc[0])
        return Verdict(None, candidates=(sid,), note=f"sending {sid} has this send's text, SMS count and "
                                                     "scheduled_at, but that scheduled_at was chosen by hand: another "
                                                     "notebook or machine may have chosen the same second for the same "
                                                     "text, so it proves nothing; a person must decide (resolve_send)")
    if len(own) == 1:
        sid = int(own["id"].iloc[0])
        return Verdict(FOUND, sending_id=sid, note=f"found on the server: sending {sid} has this send's text, "
                                                  "SMS count and scheduled_at")
    if len(own) > 1:
        ids = tuple(sorted(int(i) for i in own["id"]))
        return Verdict(None, candidates=ids, note=f"{len(ids)} sendings match this send's text, SMS count and "
                                                  "scheduled_at: which one is its own cannot be proven; a person "
                                                  "must decide (resolve_send)")
    left = (send.created_at + window - now).total_seconds()
    if left > 0:
        return Verdict(None, candidates=_ids(same_text), seconds_left=left,
                       note=f"the request may still be in flight (committing on the server) for {left:.0f} s "
                            "more: not on the server yet, which proves nothing; reconcile again later")
    if len(same_text):
        ids = _ids(same_text)
        return Verdict(None, candidates=ids, note=f"not found by its fingerprint, but sending(s) "
                                                  f"{', '.join(map(str, ids))} with the same text are on the server "
                                                  "and belong to no send of this ledger (another notebook or "
                                                  "machine?): a person must decide (resolve_send)")
    return Verdict(ABSENT, note="not on the server, and the request can no longer be in flight: it was never "
                                "created, safe to send again")


def late_answer_note(state: str, sending_id: int) -> str:
    """What the ledger notes when a send's own answer arrives after it was settled as ``state``."""
    return (f"the server answered late with sending {sending_id}, after this send had been settled as '{state}' "
            "(by a reconciler or a person): the answer is proof and wins; if it was sent again meanwhile, both "
            "sendings exist (see client.sendings())")


def _ids(rows: pd.DataFrame) -> tuple[int, ...]:
    return tuple(sorted(int(i) for i in rows["id"])) if len(rows) else ()
