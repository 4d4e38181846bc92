"""Reconcile: settle sends whose outcome is unknown from GET /sendings, prove or ask a person.

Nothing here sends.  For each unresolved send ('unknown', or 'pending' left behind) ``reconcile``
asks ``state.decide`` for a verdict and applies it through the ledger: a sending proven to be
the send's own -> 'reconciled'; nothing like it once its request cannot be in flight -> 'failed'
(safe to send again); anything else stays as it is, with the candidates a person should look at
and a note saying why.  A person settles those with ``resolve_send``.

Before deciding, the listing is checked against what the ledger knows of the server
(``observe_server``): a server replaced behind the same URL starts a new server epoch, and no
send made to an earlier one is ever linked, declared absent or joined to a new sending's cost.
Every time is the server's (the ledger's clock is the client's ``ServerClock``), and each send
is judged with the in-flight window its sender stored, not this reconciler's settings.

>>> client.reconcile()            # doctest: +SKIP
>>> client.resolve_send(7, sending_id=None)   # doctest: +SKIP
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Protocol

import pandas as pd

from ..api.endpoints import Api
from ..core.config import Settings
from ..core.dates import ServerClock, clock_note, format_instant
from ..core.errors import NotFoundError, SMSgicError
from . import identity
from .ledger import Ledger, LedgerError
from .state import RULED_NOT_SENT, RULED_SENT, InvalidTransitionError, decide

log = logging.getLogger(__name__)

RECONCILE_COLUMNS = ["send_id", "created_at", "previous_state", "state", "sending_id", "candidates",
                     "seconds_left", "note"]
OWN_CLOCK_LOOKBACK = timedelta(hours=1)  # own answered sends this recent teach the clock (see observe_clock)


class Account(Protocol):
    """What sending and reconciling need of a client: endpoint calls, the ledger and the settings."""

    api: Api
    ledger: Ledger
    settings: Settings


def observe_server(client: Account, sendings: pd.DataFrame) -> int:
    """Check a GET /sendings listing against what the ledger knows of the server; returns the
    current server epoch (a new one when the listing proves the server was replaced).

    A known id listed with another text, ``created_at`` or ``scheduled_at`` proves it at once; a
    known id the listing lacks is asked for (GET /sendings/{id}): "not found" proves it.  When the
    listing matches, the ledger records its own sendings in it and its newest one, so that a
    later listing can be checked against them.
    """
    ledger, account = client.ledger, client.settings.account
    epoch, known = ledger.known_sendings(account)
    reason = identity.changed(known, sendings)
    if reason is None:
        for sending_id in identity.missing(known, sendings)[:1]:  # the newest is enough: one request at most
            try:
                client.api.sending(sending_id)
            except NotFoundError:
                reason = f"sending {sending_id}, which this ledger recorded on it, is gone (not found)"
            except SMSgicError as exc:  # cannot tell now; the next listing asks again
                log.info("server identity: GET sending %s failed (%s)", sending_id, type(exc).__name__)
    if reason is not None:
        epoch = ledger.new_server_epoch(account, epoch, reason)
        log.warning("the server behind %s was replaced (%s): server epoch %d", client.settings.base_url, reason, epoch)
        return epoch
    ledger.remember_sendings(account, epoch, identity.evidence(sendings, {k.sending_id for k in known}))
    observe_clock(client, sendings)
    return epoch


def observe_clock(client: Account, sendings: pd.DataFrame) -> None:
    """Teach the ledger's ``ServerClock`` from the ``created_at`` of the ledger's own sendings.

    A send answered with its sending id was created on the server between the ledger's claim and
    the answer; both are stamped on the ledger's clock.  A ``created_at`` outside that span (plus
    the second the API truncates) means the clock was off by at least the difference.  Only
    sends from the last hour count (an older one was stamped with an older offset), each once.
    """
    clock = client.ledger.clock
    skew = clock.skew() if isinstance(clock, ServerClock) else None
    if skew is None or not len(sendings):
        return
    used = skew.total_seconds() if clock.follow else 0.0  # the offset the ledger's stamps were made with
    recent = client.ledger.answered_since(client.settings.account, client.ledger.now() - OWN_CLOCK_LOOKBACK)
    if not recent:
        return
    created = dict(zip(sendings["id"].astype(int), sendings["created_at"]))
    for send in recent:
        at = created.get(send["sending_id"])
        if at is None or pd.isna(at):
            continue
        # On a right clock: claimed <= created (+ the truncated second) and created <= answered.
        clock.observe(used + (at - pd.Timestamp(send["resolved_at"])).total_seconds(),
                      used + (at - pd.Timestamp(send["created_at"])).total_seconds() + 1,
                      key=(str(client.ledger.path), send["id"]))


def reconcile(client: Account) -> pd.DataFrame:
    """Settle the account's unresolved ('unknown', stale 'pending') sends from GET /sendings.

    Each send is decided by ``state.decide``: a sending proven to be its own -> 'reconciled' with
    that id; nothing like it on the server once its request cannot be in flight any more (the
    window its sender stored) -> 'failed' (safe to send again); otherwise it stays as it is, with
    the ``candidates`` a person should look at and a ``note`` saying why (``seconds_left`` while it
    may still be in flight).  A send made to a server that has since been replaced behind the
    URL, or one whose ``scheduled_at`` the user chose, is never settled here: a person decides
    (``resolve_send``).  Nothing is ever re-sent.

    Returns DataFrame[send_id, created_at, previous_state, state, sending_id, candidates,
    seconds_left, note]; when the server's clock is far from this computer's the notes say so.

    >>> client.reconcile()   # doctest: +SKIP
    """
    ledger, settings = client.ledger, client.settings
    account = settings.account
    facts = ledger.unresolved_facts(account)
    rows: list[dict[str, Any]] = []
    if facts:
        sendings = client.api.sendings()
        epoch = observe_server(client, sendings)
        linked = ledger.linked_sendings(account)
        now = ledger.now()
        fallback = timedelta(seconds=settings.timeout + settings.commit_grace)  # sends that stored no window
        changes = ledger.server_epochs(account).set_index("epoch")
        clock = clock_note(ledger.clock)
        for send in facts:
            verdict = decide(send, sendings, now=now, in_flight=fallback, linked=linked, server_epoch=epoch)
            note = verdict.note
            if send.server_epoch != epoch:
                note += "; " + _what_changed(changes, send.server_epoch)
            if clock:
                note += f"; note: {clock}"
            row = {"send_id": send.send_id, "created_at": pd.Timestamp(send.created_at), "previous_state": send.state,
                   "state": send.state, "sending_id": verdict.sending_id, "candidates": list(verdict.candidates),
                   "seconds_left": verdict.seconds_left, "note": note}
            rows.append(row)
            if verdict.event is None:
                continue
            try:
                row["state"] = ledger.apply(send.send_id, verdict.event, sending_id=verdict.sending_id,
                                            note=f"reconcile: {verdict.note}")
            except InvalidTransitionError:
                row["state"] = ledger.get_send(send.send_id)["state"]
                row["note"] = "settled meanwhile by another thread or notebook"
                continue
            except LedgerError as exc:  # the sending was linked meanwhile by another notebook
                row["sending_id"], row["note"] = None, f"left alone: {exc}; run reconcile() again"
                continue
            if verdict.sending_id is not None:
                linked.add(verdict.sending_id)
    frame = pd.DataFrame(rows, columns=RECONCILE_COLUMNS)
    return frame.astype({"send_id": "int64", "sending_id": "Int64", "seconds_left": "float64"})


def _what_changed(changes: pd.DataFrame, since: int) -> str:
    """Each server replacement after epoch ``since``, as a person reads it."""
    later = changes[changes.index > since]
    found = "; ".join(f"server {int(epoch)} from {format_instant(row['noticed_at'])} UTC ({row['reason']})"
                      for epoch, row in later.iterrows())
    return (f"the server behind this URL was replaced since this send: {found}. If you know the send never went "
            "out, client.resolve_send(send_id, sending_id=None); if it is a sending on the current server, "
            "client.resolve_send(send_id, sending_id=...)")


def resolve_send(client: Account, send_id: int, *, sending_id: int | None) -> str:
    """A person's ruling on an unresolved send: ``sending_id`` is its sending on the server now
    behind the URL, or None when they checked that it never went out (then it may be sent
    again).  Returns the new state.

    The sending must exist on the server (``NotFoundError`` otherwise) and belong to no other
    send of this ledger.
    """
    if sending_id is None:
        return client.ledger.apply(send_id, RULED_NOT_SENT, note="resolved by hand: not sent")
    client.api.sending(sending_id)  # NotFoundError for an id the account does not have
    return client.ledger.apply(send_id, RULED_SENT, sending_id=sending_id,
                               note=f"resolved by hand: sending {sending_id}")
