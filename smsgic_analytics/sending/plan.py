"""The frozen plan: exactly what a confirmation covers, and nothing that can change under it.

``Campaign.preview()`` freezes the campaign's inputs -- the message, the recipients (normalised,
de-duplicated), the sender, the type, the schedule -- with the exact quote made for them, into
an immutable ``Plan``.  ``run(confirm=True)`` sends that plan and nothing else: if the
campaign's inputs no longer match it the send is refused (``PlanChangedError`` says what
changed), and the payload is built from the plan, never from the campaign's attributes.
``Plan.digest`` (a sha256 of everything the plan fixes, the price included) is stored with the
send in the ledger.

>>> inputs = PlanInputs("Hi", ("4915123456789",), "MEGA", "default", None)
>>> changes(inputs, inputs._replace(message="Hi!", recipients=("4915123456789", "37121234567")))
{'message': "'Hi' -> 'Hi!'", 'recipients': '1 added (now 2)'}
"""
from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple

from ..core.display import card, warn
from ..core.money import format_money
from ..pricing.quote import Quote

DIGEST_VERSION = 1  # bump when the digest's contents change, so old and new never compare equal


class PlanInputs(NamedTuple):
    """What the user chose: the campaign's inputs, normalised (recipients as the API gets them)."""

    message: str
    recipients: tuple[str, ...]
    sender: str
    type: str
    scheduled_at: str | None  # Y-m-d H:i:s, UTC; None: now


@dataclass(frozen=True)
class Preview:
    """What ``run(confirm=True)`` would send and what it costs: shown before confirming.

    ``plan_hash`` is the digest of the frozen plan it shows: pass the preview back as
    ``run(confirm=True, confirmed=preview)`` to send exactly that plan.
    """

    message: str
    sender: str
    scheduled_at: str | None  # Y-m-d H:i:s, UTC; None: now
    type: str
    recipients: int
    sms_count: int
    total: Decimal
    currency: str
    balance: Decimal | None
    plan_hash: str | None = None
    note: str = ""  # e.g. the server's clock is far from this computer's (``ServerClock.note``)

    @property
    def enough_balance(self) -> bool | None:
        """True when the balance covers the total (None if the balance is unknown)."""
        return None if self.balance is None else self.total <= self.balance

    def __str__(self) -> str:
        text = self.message if len(self.message) <= 40 else self.message[:39] + "…"
        when = f"at {self.scheduled_at} UTC" if self.scheduled_at else "now"
        via = "" if self.type == "default" else f" via {self.type}"
        balance = "" if self.balance is None else f" (balance {self.balance} {self.currency})"
        note = f". Note: {self.note}" if self.note else ""
        return (f"Send {text!r} from {self.sender}{via} to {self.recipients} recipients ({self.sms_count} SMS), "
                f"{when}: total {self.total} {self.currency}{balance}{note}")

    def _repr_html_(self) -> str:
        return card("Send preview", _plan_lines(self.message, self.sender, self.type, self.scheduled_at,
                                                 self.recipients, self.sms_count, self.total, self.currency,
                                                 self.balance, self.note),
                    note=" (nothing is sent before you confirm)")


@dataclass(frozen=True)
class Plan:
    """A campaign frozen at its preview: the inputs, the quote made for exactly them (recorded in
    the ledger as ``quote_id``) and when it was priced.  Immutable; ``digest`` identifies it."""

    inputs: PlanInputs
    quote: Quote = field(repr=False, compare=False)
    quote_id: int
    priced_at: datetime

    @property
    def total(self) -> Decimal:
        return self.quote.total

    @property
    def sms_count(self) -> int:
        return int(self.quote.sms_count)

    @property
    def currency(self) -> str:
        return str(self.quote.currency)

    @cached_property
    def digest(self) -> str:
        """sha256 of the message, the sorted recipients, sender, type, schedule, and the price
        (total, SMS count, currency): two plans with one digest send the same thing for the same money."""
        i = self.inputs
        payload = [DIGEST_VERSION, i.message, sorted(i.recipients), i.sender, i.type, i.scheduled_at,
                   str(self.total), self.sms_count, self.currency]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()

    def __repr__(self) -> str:
        i = self.inputs
        return (f"Plan(message={i.message[:40]!r}, recipients={len(i.recipients)}, sender={i.sender!r}, "
                f"type={i.type!r}, scheduled_at={i.scheduled_at!r}, sms_count={self.sms_count}, total={self.total}, "
                f"currency={self.currency!r}, quote_id={self.quote_id}, digest={self.digest[:12]!r})")

    def _repr_html_(self) -> str:
        i = self.inputs
        return card("Plan", _plan_lines(i.message, i.sender, i.type, i.scheduled_at, len(i.recipients),
                                        self.sms_count, self.total, self.currency, None, ""),
                    note=f" (frozen {html.escape(str(self.priced_at))[:19]}, digest {self.digest[:12]})")

    def payload(self, scheduled_at: str | None) -> dict[str, Any]:
        """The POST /sendings body of this plan; ``scheduled_at`` is the one the ledger claimed
        (always explicit: the send's fingerprint, see ``state``)."""
        return payload_of(self.inputs, scheduled_at)

    def preview(self, balance: Decimal | None, note: str = "") -> Preview:
        """The ``Preview`` of this plan against ``balance`` (None when unknown); ``note`` is shown with it."""
        i = self.inputs
        return Preview(message=i.message, sender=i.sender, scheduled_at=i.scheduled_at, type=i.type,
                       recipients=len(i.recipients), sms_count=self.sms_count, total=self.total,
                       currency=self.currency, balance=balance, plan_hash=self.digest, note=note)


def _plan_lines(message: str, sender: str, type: str, scheduled_at: str | None, recipients: int, sms_count: int,
                total: Decimal, currency: str, balance: Decimal | None, note: str) -> list[tuple[str, str]]:
    """The rows of a plan's or a preview's card (HTML-safe)."""
    text = message if len(message) <= 60 else message[:59] + "…"
    rows = [("Message", html.escape(text)), ("Sender", html.escape(sender)),
            ("When", html.escape(f"{scheduled_at} UTC" if scheduled_at else "now")),
            ("Recipients", f"{recipients:,}"), ("SMS parts", f"{sms_count:,}"),
            ("<b>Total</b>", f"<b>{html.escape(format_money(total, currency))}</b>")]
    if type != "default":
        rows.insert(2, ("Via", html.escape(type)))
    if balance is not None:
        rows.append(("Balance", html.escape(format_money(balance, currency))))
        if total > balance:
            rows.append((warn("Not enough balance"), warn(html.escape(format_money(total - balance, currency))
                                                          + " short")))
    if note:
        rows.append(("Note", html.escape(note)))
    return rows


def payload_of(inputs: PlanInputs, scheduled_at: str | None = None) -> dict[str, Any]:
    """The POST /sendings body for ``inputs`` (recipients as a JSON array), scheduled at
    ``scheduled_at`` or else the inputs' own schedule."""
    body: dict[str, Any] = {"message": inputs.message, "recipients": list(inputs.recipients),
                            "sender": inputs.sender, "type": inputs.type}
    when = scheduled_at or inputs.scheduled_at
    if when is not None:
        body["scheduled_at"] = when
    return body


def changes(frozen: PlanInputs, now: PlanInputs) -> dict[str, str]:
    """What differs between the frozen inputs and the campaign's inputs now, in words (empty: nothing)."""
    out: dict[str, str] = {}
    for name in ("message", "sender", "type", "scheduled_at"):
        before, after = getattr(frozen, name), getattr(now, name)
        if before != after:
            out[name] = f"{_short(before)} -> {_short(after)}"
    old, new = set(frozen.recipients), set(now.recipients)  # each de-duplicated: order is no change
    if old != new:
        added, removed = len(new - old), len(old - new)
        said = ", ".join(p for p in (f"{added} added" if added else "", f"{removed} removed" if removed else "") if p)
        out["recipients"] = f"{said} (now {len(new)})"
    return out


def preview_changes(confirmed: Preview, plan: Plan) -> dict[str, str]:
    """What differs between a preview the user confirmed and ``plan`` (whose digest is not the
    preview's), in words, from what the preview shows."""
    shown = plan.preview(None)
    out = {name: f"{_short(getattr(confirmed, name))} -> {_short(getattr(shown, name))}"
           for name in ("message", "sender", "type", "scheduled_at", "recipients", "sms_count", "total")
           if getattr(confirmed, name) != getattr(shown, name)}
    return out or {"plan": "previewed again since (the same figures)"}


def _short(value: Any) -> str:
    if isinstance(value, (Decimal, int)):
        return str(value)
    if isinstance(value, str) and len(value) > 30:
        value = value[:29] + "…"
    return repr(value)
