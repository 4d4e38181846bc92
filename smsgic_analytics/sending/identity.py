"""Server identity: is the server behind the URL still the one the ledger recorded?  Pure policy.

Sending ids are only unique on one server.  A server replaced by a fresh one behind the same URL
and token (a reinstall, a restore, a sandbox started on a new db) hands out the same ids again
(301, 302, ...), so the ledger keys every sending by (server epoch, id): epoch 1 is the first
server it knew, and it starts a new epoch when the server is no longer the one it recorded.

The evidence is what the ledger knows of sendings on the current server: the sendings its own
sends are linked to (their text and fingerprint ``scheduled_at``), and, once seen in a listing,
their exact text and ``created_at`` -- plus the newest sending of each listing, whoever made
it.  A listing proves the server changed when

* a known id comes back with another text, ``created_at`` or ``scheduled_at``; or
* a known id is missing and GET /sendings/{id} says it does not exist (``gone``: the caller asks).

What the ledger never does across an epoch change: link a send of the old server to a sending
of the new one, call it absent, or join its cost to a sending of the new one.

>>> listing = pd.DataFrame({"id": [301], "text": ["Hello"], "scheduled_at": [pd.NaT],
...                         "created_at": [pd.Timestamp("2026-12-04 16:00:05", tz="UTC")]})
>>> changed([Known(301, text_hash("Goodbye"), None, None)], listing)
'sending 301 now has another text'
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import pandas as pd

from ..core import spec
from .fingerprint import sha256_text


@dataclass(frozen=True)
class Known:
    """What the ledger recorded of one sending on the current server (None: not recorded)."""

    sending_id: int
    text_hash: str | None
    created_at: datetime | None  # the server's created_at, whole seconds, once seen in a listing
    scheduled_at: str | None  # Y-m-d H:i:s as the server lists it


def text_hash(text: str) -> str:
    """The hash the ledger keeps of a sending's text.  What a server may normalise in what it
    stores is no sign of another server, so it does not count: surrounding whitespace (Laravel's
    TrimStrings), line endings, Unicode composition (NFC)."""
    return sha256_text(unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip())


def created_second(value: datetime | pd.Timestamp) -> str:
    """A ``created_at`` to the whole second (ISO-8601, UTC): how it is recorded and compared."""
    return pd.Timestamp(value).tz_convert("UTC").floor("s").isoformat()


def scheduled_text(value: object) -> str | None:
    """A listing's ``scheduled_at`` (a Timestamp or NaT) as the API writes it."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).strftime(spec.SCHEDULED_AT_FORMAT)


def changed(known: Iterable[Known], listing: pd.DataFrame) -> str | None:
    """Why ``listing`` (GET /sendings rows) cannot come from the server ``known`` was recorded
    on, or None when nothing listed contradicts it (missing ids: see ``missing``)."""
    rows = {int(r["id"]): r for r in listing.to_dict("records")} if len(listing) else {}
    for item in known:
        row = rows.get(item.sending_id)
        if row is None:
            continue
        if item.text_hash is not None and text_hash(str(row["text"])) != item.text_hash:
            return f"sending {item.sending_id} now has another text"
        if item.created_at is not None and created_second(row["created_at"]) != created_second(item.created_at):
            return (f"sending {item.sending_id} now says it was created at {created_second(row['created_at'])}, "
                    f"not {created_second(item.created_at)}")
        if item.scheduled_at is not None and scheduled_text(row["scheduled_at"]) != item.scheduled_at:
            return f"sending {item.sending_id} is now scheduled at {scheduled_text(row['scheduled_at'])}, not {item.scheduled_at}"
    return None


def missing(known: Iterable[Known], listing: pd.DataFrame) -> list[int]:
    """Known ids the listing lacks that it should show, newest first: a listing that only keeps
    recent sendings may drop older ids, so only ids at or above its lowest listed id count (all of
    them when it lists nothing).  Each is a question for GET /sendings/{id}.  (One just created is
    asked about too: a server that says "not found" for it is taken at its word -- asking a person
    is the safe side of that mistake.)"""
    ids = {int(i) for i in listing["id"]} if len(listing) else set()
    floor = min(ids) if ids else None
    return sorted({k.sending_id for k in known
                   if k.sending_id not in ids and (floor is None or k.sending_id >= floor)},
                  reverse=True)


def evidence(listing: pd.DataFrame, own: Iterable[int]) -> list[Known]:
    """What to record of a listing that matched: the ledger's own sendings in it, and its newest
    sending (whoever made it), each with its exact text, ``created_at`` and ``scheduled_at``."""
    if not len(listing):
        return []
    wanted = {int(i) for i in own} | {int(listing["id"].max())}
    return [Known(int(r["id"]), text_hash(str(r["text"])), pd.Timestamp(r["created_at"]).to_pydatetime(),
                  scheduled_text(r["scheduled_at"]))
            for r in listing.to_dict("records") if int(r["id"]) in wanted]
