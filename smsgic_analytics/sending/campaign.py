"""Safe sending: validate -> quote -> balance check -> duplicate guard -> confirm -> ledger -> POST once.

POST /sendings spends money and is not idempotent, so every step that can refuse runs
before it, and the ledger row exists before the request leaves: whatever happens to the
answer, the notebook knows a sending may exist.  A lost answer is never retried; it is
settled by :func:`reconcile`, which links a sending only when it can prove it is the send's
own (see ``sendstate``), and never calls a send safe to repeat while its request could still
be committing on the server.

A ``Campaign`` needs the account's endpoint calls (``.api``), its ledger (``.ledger``) and its
settings (``.settings``): a ``Client`` has all three.

>>> campaign = Campaign(client, "Sale today!", df["phone"], "MegaShop")   # doctest: +SKIP
>>> print(campaign.preview())                                              # doctest: +SKIP
Send 'Sale today!' from MegaShop to 3 recipients (3 SMS), now: total 0.4173 GBP (balance 450.000 GBP)
>>> campaign.run(confirm=True)                                             # doctest: +SKIP
SendResult(sending_id=301, total=Decimal('0.4173'), currency='GBP', state='created', ...)
"""
from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from ..api.frames import Balance
from ..audience.recipients import Recipients, normalize_recipients
from ..core import spec
from ..core.config import Settings
from ..core.dates import clock_note, format_instant, format_scheduled_at, parse_scheduled_at
from ..core.errors import (
    ConfirmationRequiredError,
    DuplicateSendError,
    InsufficientBalanceError,
    SMSgicError,
    UnknownOutcomeError,
    ValidationError,
)
from ..pricing import exact
from ..pricing.quote import Quote
from ..text.segments import segments
from .ledger import campaign_key
from .reconcile import Account, reconcile, resolve_send  # noqa: F401  (resolve_send: its old home)
from .state import CREATED

DUPLICATE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class SendResult:
    """What a send did: the API's ``sending_id``, the quoted ``total`` debited (Decimal), the
    ledger's ``state`` ('created') and ``send_id``, and the ``scheduled_at`` it was sent with."""

    sending_id: int | None
    total: Decimal
    currency: str
    state: str
    send_id: int
    recipients: int
    sms_count: int
    scheduled_at: str | None = None


@dataclass(frozen=True)
class Preview:
    """What ``run(confirm=True)`` would send and what it costs: shown before confirming."""

    message: str
    sender: str
    scheduled_at: str | None  # Y-m-d H:i:s, UTC; None: now
    type: str
    recipients: int
    sms_count: int
    total: Decimal
    currency: str
    balance: Decimal | None
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


class Campaign:
    """One message to one audience from one sender, sent at most once per ``duplicate_window``.

    Steps, each callable on its own and called by ``run`` in this order: ``validate()``,
    ``quote()``, ``check_balance()``, ``check_duplicate()``; then ``run()`` wants
    ``confirm=True``, records the send in the ledger and POSTs it once.  ``preview()`` shows
    an app what confirming would spend.  The quote is asked once per campaign (build a new
    ``Campaign`` to re-price).  Safe to ``run()`` from two threads or two notebooks at once:
    the ledger lets exactly one of them send, and the server's own list of sendings guards
    notebooks that keep different ledgers.
    """

    def __init__(self, client: Account, message: str, recipients: Any, sender: str,
                 scheduled_at: datetime | str | None = None, type: str = "default",
                 duplicate_window: timedelta = DUPLICATE_WINDOW, *, progress: bool = True,
                 default_region: str | None = None) -> None:
        if not isinstance(duplicate_window, timedelta) or duplicate_window <= timedelta(0):
            raise ValueError(f"duplicate_window: must be a positive timedelta, got {duplicate_window!r}")
        self.api, self.ledger, self.settings = client.api, client.ledger, client.settings
        self.message = message
        self.recipients = recipients
        self.sender = sender
        self.scheduled_at = scheduled_at
        self.type = type
        self.duplicate_window = duplicate_window
        self.progress = progress
        self.default_region = default_region
        self._lock = threading.Lock()  # one quote per campaign, even when two threads run() it
        self._people: Recipients | None = None
        self._quote: Quote | None = None
        self._quote_id: int | None = None

    def __repr__(self) -> str:
        text = self.message if not isinstance(self.message, str) or len(self.message) <= 30 else self.message[:29] + "…"
        return f"Campaign(message={text!r}, sender={self.sender!r}, scheduled_at={self.scheduled_at!r}, type={self.type!r})"

    @property
    def account(self) -> str:
        """The ledger's name for this account (a hash, never the token)."""
        return self.settings.account

    # -- steps -------------------------------------------------------------------------

    def validate(self) -> Recipients:
        """Check everything that can be checked before spending a request, then the sender.

        Raises ``ValidationError`` naming each field and the rule (several at once), or
        ``InvalidRecipientsError`` naming each bad row when only recipients are wrong.
        """
        errors: dict[str, list[str]] = {}
        if not isinstance(self.message, str) or spec.is_blank(self.message):
            errors["message"] = [spec.MSG_MISSING_MESSAGE]  # Laravel's `required` trims first
        else:
            parts = segments(self.message)
            if parts.segments > spec.MAX_MESSAGE_PARTS:
                errors["message"] = [
                    f"the message needs {parts.segments:,} segments ({parts.encoding}, {len(self.message):,} "
                    f"characters); a concatenated SMS has at most {spec.MAX_MESSAGE_PARTS} (its part counter is one octet)"]
        if not isinstance(self.sender, str) or not self.sender.strip():
            errors["sender"] = [spec.MSG_MISSING_SENDER]
        if self.type not in spec.SEND_TYPES:
            errors["type"] = [f"{spec.MSG_INVALID_TYPE} Choose one of {', '.join(spec.SEND_TYPES)}; got {self.type!r}"]
        try:
            self._check_future(self.scheduled_text(), self.ledger.now())
        except ValidationError as exc:
            errors["scheduled_at"] = [exc.message]  # the message names the value and the rule
        people = self._recipients()
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
        self._check_sender()
        return people

    def quote(self) -> Quote:
        """The exact price (POST /sendings/calculate, recorded in the ledger); asked once per campaign."""
        with self._lock:
            if self._quote is None:
                people = self.validate()
                countries = self.api.rates()["country"].cat.categories
                quote = exact.calculate(self.api, self.message, people, countries=countries,
                                        currency=self.api.currency(), progress=self.progress)
                self._quote_id = self.ledger.record_quote(self.account, self.message,
                                                          list(quote.numbers["number"]), quote)
                self._quote = quote
            return self._quote

    def check_balance(self) -> Balance:
        """Refuse (``InsufficientBalanceError``) when /balance does not cover the quote's total.

        The balance is asked fresh (and snapshotted in the ledger) every time.
        """
        quote = self.quote()
        balance = self._balance()
        if quote.currency != balance.currency:
            raise ValidationError(f"the quote is in {quote.currency} but the balance in {balance.currency}: "
                                  "quote again", field_errors={"currency": [f"{quote.currency} != {balance.currency}"]})
        if quote.total > balance.amount:
            text = spec.MSG_INSUFFICIENT_BALANCE.format(total=quote.total, code=balance.currency, balance=balance.amount)
            raise InsufficientBalanceError(text, field_errors={"balance": [text]})
        return balance

    def check_duplicate(self, allow_duplicate: bool = False) -> None:
        """Refuse (``DuplicateSendError``) a campaign sent within ``duplicate_window``.

        Two guards: this ledger (the same message, recipients, sender and schedule; an earlier
        send whose outcome is unresolved refuses even with ``allow_duplicate=True``: reconcile
        first), and the server (a recent sending with the same text and SMS count that no send
        of this ledger owns: another notebook or machine on the account).  ``allow_duplicate``
        must be exactly ``True`` to pass the window checks.
        """
        forced = allow_duplicate is True
        self.ledger.check_send(self.account, self.key, None if forced else self.duplicate_window)
        if not forced:
            self._check_server_duplicate()

    def preview(self) -> Preview:
        """Validate and quote, and show what sending would cost against the current balance.

        Does not refuse for a low balance (``enough_balance`` says it); ``run`` does.
        """
        people = self.validate()
        quote = self.quote()
        balance = self._balance()
        return Preview(message=self.message, sender=self.sender, scheduled_at=self.scheduled_text(),
                       type=self.type, recipients=len(people), sms_count=quote.sms_count, total=quote.total,
                       currency=str(quote.currency),
                       balance=balance.amount if balance.currency == quote.currency else None,
                       note=clock_note(getattr(self.ledger, "clock", None)))

    def run(self, confirm: bool = False, allow_duplicate: bool = False) -> SendResult:
        """Every step, then POST /sendings once; returns a ``SendResult``.

        ``confirm`` must be exactly ``True`` (not ``"yes"``, not ``1``): anything else raises
        ``ConfirmationRequiredError`` (its ``.preview`` and text give the exact total).  A
        definite refusal by the API (4xx) marks the ledger row 'failed' and re-raises; a lost
        answer marks it 'unknown' and raises ``UnknownOutcomeError``: run ``client.reconcile()``,
        never re-send blindly.
        """
        people = self.validate()
        quote = self.quote()
        balance = self.check_balance()
        self.check_duplicate(allow_duplicate)
        preview = Preview(message=self.message, sender=self.sender, scheduled_at=self.scheduled_text(),
                          type=self.type, recipients=len(people), sms_count=quote.sms_count, total=quote.total,
                          currency=str(quote.currency), balance=balance.amount)
        if confirm is not True:
            given = "" if confirm in (False, None) else f" (confirm={confirm!r} is not True)"
            error = ConfirmationRequiredError(
                f"Sending costs {quote.total} {quote.currency} for {len(people)} recipients ({quote.sms_count} SMS). "
                f"Nothing was sent{given}: call run(confirm=True) (or send(..., confirm=True)) to send it. [{preview}]")
            error.preview = preview  # type: ignore[attr-defined]
            raise error
        send_id, scheduled = self.ledger.claim_send(
            self.account, self.key, self._quote_id, self.sender, self.scheduled_text(), self.type, len(people),
            duplicate_window=None if allow_duplicate is True else self.duplicate_window)
        sending_id = self._post(send_id, self.payload(scheduled))
        return SendResult(sending_id=sending_id, total=quote.total, currency=str(quote.currency), state=CREATED,
                          send_id=send_id, recipients=len(people), sms_count=quote.sms_count, scheduled_at=scheduled)

    def reconcile(self) -> pd.DataFrame:
        """``sending.reconcile.reconcile``: settle this account's unresolved sends from GET /sendings."""
        return reconcile(self)

    # -- parts -------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The duplicate guard's identity: message, sorted normalised recipients, sender, schedule."""
        return campaign_key(self.message, self._recipients().numbers, self.sender, self.scheduled_text())

    def scheduled_text(self) -> str | None:
        """``scheduled_at`` as asked (``Y-m-d H:i:s`` UTC, None for now); malformed -> ``ValidationError``."""
        return format_scheduled_at(self.scheduled_at)

    def payload(self, scheduled_at: str | None = None) -> dict[str, Any]:
        """The POST /sendings body (recipients as a JSON array, normalised and de-duplicated).

        ``scheduled_at`` is the one the ledger claimed: always explicit, so that the server's
        sending can be told apart from any other with the same text (the send's fingerprint).
        """
        body: dict[str, Any] = {"message": self.message, "recipients": list(self._recipients().numbers),
                                "sender": self.sender, "type": self.type}
        when = scheduled_at or self.scheduled_text()
        if when is not None:
            body["scheduled_at"] = when
        return body

    def _balance(self) -> Balance:
        balance = self.api.balance()
        self.ledger.record_balance(self.account, balance.amount, balance.currency)
        return balance

    def _recipients(self) -> Recipients:
        if self._people is None:
            people = normalize_recipients(self.recipients, on_invalid="report", default_region=self.default_region)
            if len(people.duplicates):
                warnings.warn(f"{len(people.duplicates)} duplicate recipients will get the SMS once: "
                              f"{list(people.duplicates['value'][:5])}", stacklevel=4)
            self._people = people
        return self._people

    def _check_server_duplicate(self) -> None:
        """The server's guard: a sending with this text and SMS count within the window that no
        send of this ledger owns (a ledger send of another campaign owns its sending)."""
        quote = self.quote()
        sendings = self.api.sendings()
        since = pd.Timestamp(self.ledger.now() - self.duplicate_window)
        mine = self.ledger.linked_sendings(self.account)
        rows = sendings[(sendings["text"] == self.message) & (sendings["total_sms"] == quote.sms_count)
                        & (sendings["created_at"] >= since) & ~sendings["id"].isin(list(mine))]
        if len(rows):
            latest = rows.sort_values("created_at").iloc[-1]
            error = DuplicateSendError(
                f"The server already has a sending with the same text and SMS count ({quote.sms_count}): sending "
                f"{int(latest['id'])}, created {format_instant(latest['created_at'])} UTC, within the duplicate "
                f"window of {self.duplicate_window}; this notebook's ledger did not send it (another notebook or "
                "machine on this account?). Pass allow_duplicate=True to send this campaign anyway")
            # As the ledger's refusals carry their earlier send: no ledger send ("id" None), a live sending.
            error.previous = {"id": None, "sending_id": int(latest["id"]),  # type: ignore[attr-defined]
                              "created_at": latest["created_at"].to_pydatetime(), "state": "on the server"}
            raise error

    @staticmethod
    def _check_future(when: str | None, now_utc: datetime) -> None:
        # "Now" is the ledger's clock: wall time, or the sandbox's when a notebook follows it.
        if when is None:
            return
        now = now_utc.astimezone(UTC).replace(microsecond=0)
        if parse_scheduled_at(when) <= now:
            text = (f"scheduled_at {when} UTC is in the past (compared against now, {format_instant(now)} UTC; "
                    "a naive scheduled_at is taken as UTC)")
            raise ValidationError(text, field_errors={"scheduled_at": [text]})

    def _check_sender(self) -> None:
        approved = self._approved_senders(refresh=False)
        if self.sender not in approved:
            approved = self._approved_senders(refresh=True)  # approved in the last hour? ask again
        if self.sender not in approved:
            raise ValidationError(
                f"sender {self.sender!r} is not approved for this account; approved senders: "
                f"{', '.join(approved)} (names are case-sensitive)",
                field_errors={"sender": [spec.MSG_INVALID_SENDER]})

    def _approved_senders(self, refresh: bool) -> list[str]:
        names = [str(s) for s in self.api.senders(refresh=refresh)["sender"]]
        return names + [s for s in spec.DEFAULT_SENDERS if s not in names]

    def _post(self, send_id: int, payload: dict[str, Any]) -> int:
        """POST once; settle the ledger row from what came back (or did not)."""
        try:
            sending_id = self.api.create_sending(payload)
        except UnknownOutcomeError as exc:
            self.ledger.mark_unknown(send_id, str(exc))
            raise _unknown(send_id, exc, self.settings) from exc
        except SMSgicError as exc:
            status = exc.http_status
            if status is not None and status >= 500:
                # A 500 may come after the server committed: as uncertain as a lost answer.
                self.ledger.mark_unknown(send_id, str(exc))
                raise _unknown(send_id, exc, self.settings) from exc
            # 4xx: the API refused; no status: it never left (connection refused, no token).
            self.ledger.fail_send(send_id, str(exc))
            raise
        except BaseException as exc:
            # Interrupted (Ctrl-C in the notebook...) while the request may have been out.
            self.ledger.mark_unknown(send_id, f"interrupted: {type(exc).__name__}")
            raise
        self.ledger.complete_send(send_id, sending_id)
        return sending_id


def _unknown(send_id: int, cause: SMSgicError, settings: Settings) -> UnknownOutcomeError:
    window = settings.timeout + settings.commit_grace
    return UnknownOutcomeError(
        f"The sending may or may not exist: {cause.message}. It is recorded as ledger send {send_id} "
        f"(state 'unknown') and will not be re-sent automatically. Run client.reconcile(): it links the "
        f"sending once the server shows it; the send is only declared not sent when nothing like it is on the "
        f"server {window:.0f} s after it left (the request may still be committing until then).",
        http_status=cause.http_status, body=cause.body)
