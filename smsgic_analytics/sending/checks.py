"""A campaign's inputs, checked before anything is priced or sent: the message (not blank, at
most ``spec.MAX_MESSAGE_PARTS`` parts), the sender (named, and approved for the account), the
type, the schedule (well-formed, in the future of the ledger's clock) and the recipients (each
row valid, at least one).  Every refusal is a ``ValidationError`` naming the field and the rule
(several at once, as the API's 422s do), or ``InvalidRecipientsError`` naming each bad row.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..api.endpoints import Api
from ..audience.recipients import Recipients
from ..core import spec
from ..core.dates import format_instant, format_scheduled_at, parse_scheduled_at
from ..core.errors import ValidationError
from ..text.segments import segments


def check_inputs(message: Any, sender: Any, type: Any, scheduled_at: Any, now: datetime, people: Recipients) -> None:
    """Every local check at once; raises naming each failing field (``now``: the ledger's clock)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(message, str) or spec.is_blank(message):
        errors["message"] = [spec.MSG_MISSING_MESSAGE]  # Laravel's `required` trims first
    elif said := spec.unsendable(message):
        errors["message"] = [said]
    else:
        parts = segments(message)
        if parts.segments > spec.MAX_MESSAGE_PARTS:
            errors["message"] = [
                f"the message needs {parts.segments:,} segments ({parts.encoding}, {len(message):,} "
                f"characters); a concatenated SMS has at most {spec.MAX_MESSAGE_PARTS} (its part counter is one octet)"]
    if not isinstance(sender, str) or not sender.strip():
        errors["sender"] = [spec.MSG_MISSING_SENDER]
    elif said := spec.unsendable(sender):
        errors["sender"] = [said]
    if type not in spec.SEND_TYPES:
        errors["type"] = [f"{spec.MSG_INVALID_TYPE} Choose one of {', '.join(spec.SEND_TYPES)}; got {type!r}"]
    try:
        check_future(format_scheduled_at(scheduled_at), now)
    except ValidationError as exc:
        errors["scheduled_at"] = [exc.message]  # the message names the value and the rule
    if errors:
        if not people.invalid.empty:
            try:
                people.raise_for_invalid()
            except ValidationError as exc:
                errors.update(exc.field_errors)
        if not people.numbers and people.invalid.empty:
            errors["recipients"] = [spec.MSG_MISSING_RECIPIENTS]
        text = next(iter(errors.values()))[0] if len(errors) == 1 else spec.MSG_INVALID_DATA
        raise ValidationError(text, field_errors=errors)
    people.raise_for_invalid()
    if not people.numbers:
        raise ValidationError(f"{spec.MSG_MISSING_RECIPIENTS} ({people.summary()})",
                              field_errors={"recipients": [spec.MSG_MISSING_RECIPIENTS]})


def check_future(when: str | None, now_utc: datetime) -> None:
    """A ``scheduled_at`` (``Y-m-d H:i:s`` UTC, None for now) must be after ``now_utc``."""
    # "Now" is the ledger's clock: wall time, or the sandbox's when a notebook follows it.
    if when is None:
        return
    now = now_utc.astimezone(UTC).replace(microsecond=0)
    if parse_scheduled_at(when) <= now:
        text = (f"scheduled_at {when} UTC is in the past (compared against now, {format_instant(now)} UTC; "
                "a naive scheduled_at is taken as UTC)")
        raise ValidationError(text, field_errors={"scheduled_at": [text]})


def check_sender(api: Api, sender: str) -> None:
    """The sender must be one of the account's (/senders, asked again if not found: approved in the
    last hour?) or the API's default sender."""
    approved = _approved_senders(api, refresh=False)
    if sender not in approved:
        approved = _approved_senders(api, refresh=True)
    if sender not in approved:
        raise ValidationError(
            f"sender {sender!r} is not approved for this account; approved senders: "
            f"{', '.join(approved)} (names are case-sensitive)",
            field_errors={"sender": [spec.MSG_INVALID_SENDER]})


def _approved_senders(api: Api, refresh: bool) -> list[str]:
    names = [str(s) for s in api.senders(refresh=refresh)["sender"]]
    return names + [s for s in spec.DEFAULT_SENDERS if s not in names]
