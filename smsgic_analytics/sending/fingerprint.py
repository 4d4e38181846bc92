"""How a send is told apart: the campaign key (the duplicate guard), the ``scheduled_at``
fingerprint (reconcile), and what a refusal over either says.  Pure policy, no SQL: the ledger
stores what these functions choose.

The campaign key is a hash of message, sorted recipients, sender and schedule: the same
campaign asked twice has one key.  The fingerprint is the explicit ``scheduled_at`` every send
carries and the server echoes back in GET /sendings (whose rows carry no recipients):

* "now" (``auto_schedule``): the first whole second 1-30 s after now, on the server's clock, in
  this ledger file's *lane* (its epoch second mod ``LANES``, drawn once per file) that no other
  live send of the text uses.  Two ledgers in different lanes (29 pairs in 30) never pick the
  same second, so their sendings can be told apart.
* a time the user chose: used as asked (unless another live send of the text in this ledger
  holds it).  Another ledger may choose the very same second for the same text, so it is no
  proof of whose a sending is: reconcile never links such a send on its own (``state.decide``).

>>> campaign_key("Hi", ["4479", "4478"], "MEGA") == campaign_key("Hi", ["4478", "4479"], "MEGA")
True
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Collection, Iterable, Mapping

from ..core import spec
from ..core.dates import format_instant, format_scheduled_at, parse_scheduled_at
from ..core.errors import SMSgicError, ValidationError
from .state import UNKNOWN

# Each ledger file draws a lane, 0-29, once; an immediate send is scheduled at the first free
# second after now whose epoch value is in that lane (mod 30): 1-30 s ahead.  Two ledgers in
# different lanes (two notebooks or machines on one account: 29 pairs in 30) can never pick the
# same second, however their clocks and sends interleave, so their sendings can be told apart.
LANES = 30
FINGERPRINT_SEARCH = 3600  # seconds after now searched for a free scheduled_at


class NoFreeSecondError(SMSgicError, RuntimeError):
    """An hour of seconds after now is taken by live sends of the same text (not expected)."""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recipients_hash(recipients: Iterable[str]) -> str:
    """Order-independent hash of a recipient list: the ledger stores this, not the numbers."""
    return sha256_text(json.dumps(sorted(str(r) for r in recipients)))


def campaign_key(message: str, recipients: Iterable[str], sender: str,
                 scheduled_at: datetime | str | None = None) -> str:
    """Identity of a campaign for the duplicate guard: hash of message, sorted recipients, sender, scheduled_at.

    >>> campaign_key("Hi", ["4479"], "MEGA") == campaign_key("Hi", ["4479"], "MEGA", "2031-01-01 10:00:00")
    False
    """
    payload = [message, sorted(str(r) for r in recipients), sender, format_scheduled_at(scheduled_at)]
    return sha256_text(json.dumps(payload, ensure_ascii=False))


def choose_fingerprint(asked: str | None, taken: Collection[str], now: datetime, lane: int) -> str:
    """The ``scheduled_at`` a send goes out with (see the module docstring).

    ``asked``: the user's ``Y-m-d H:i:s`` or None for now; ``taken``: the seconds other live sends
    of the same text in this ledger hold; ``now``: the server's time.  An asked-for second that is
    taken is refused (``ValidationError`` naming the next free second).

    >>> choose_fingerprint(None, set(), datetime(2024, 5, 1, 12, 0, 0, 400000, tzinfo=UTC), lane=7)
    '2024-05-01 12:00:07'
    """
    if asked is not None:
        if asked not in taken:
            return asked
        start, step = parse_scheduled_at(asked) + timedelta(seconds=1), 1
    else:
        after = int(now.timestamp()) + 1
        start, step = datetime.fromtimestamp(after + (lane - after) % LANES, UTC), LANES
    for n in range(FINGERPRINT_SEARCH // step):
        candidate = (start + timedelta(seconds=n * step)).strftime(spec.SCHEDULED_AT_FORMAT)
        if candidate not in taken:
            break
    else:  # pragma: no cover - an hour of same-text sends, one per second
        raise NoFreeSecondError(f"no free scheduled_at within {FINGERPRINT_SEARCH} s of {format_instant(start)}")
    if asked is None:
        return candidate
    text = (f"scheduled_at {asked} UTC is already taken by another send of the same text from this "
            f"account: schedule this one at {candidate} (a second apart) so that the server's sendings "
            "can be told apart")
    raise ValidationError(text, field_errors={"scheduled_at": [text]})


def duplicate_message(previous: Mapping[str, Any], window: timedelta) -> str:
    """Why the ledger refuses a campaign it sent within the duplicate window."""
    sid = previous["sending_id"]
    where = f"sending {sid}" if sid is not None else f"state '{previous['state']}'"
    return (
        f"This campaign (same message, recipients, sender and scheduled_at) was already sent at "
        f"{format_instant(previous['created_at'])} UTC ({where}, ledger send {previous['id']}), "
        f"within the duplicate window of {window}; pass allow_duplicate=True to send it again"
    )


def unresolved_message(previous: Mapping[str, Any]) -> str:
    """Why the ledger refuses a campaign whose earlier send is still unresolved."""
    if previous["state"] == UNKNOWN:
        why = "its outcome is unknown (the request left but the answer was lost): the sending may exist"
    else:
        why = "it is still 'pending': in flight right now, or interrupted before its answer was recorded"
    return (
        f"This campaign (same message, recipients, sender and scheduled_at) was already sent at "
        f"{format_instant(previous['created_at'])} UTC (ledger send {previous['id']}, no sending id yet) and "
        f"{why}. Run client.reconcile() first: it links the sending if the server has it, or marks the "
        f"send failed so that it can be sent again"
    )
