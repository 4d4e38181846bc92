"""Safe sending: validate -> quote -> balance check -> duplicate guard -> confirm -> ledger -> POST once.

POST /sendings spends money and is not idempotent, so every step that can refuse runs
before it, and the ledger row exists before the request leaves: whatever happens to the
answer, the notebook knows a sending may exist.  A lost answer is never retried; it is
settled by :func:`reconcile` from GET /sendings.

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
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import ledger as ledger_mod
from . import spec
from .client import Balance, format_scheduled_at
from .errors import (
    ConfirmationRequiredError,
    InsufficientBalanceError,
    SMSgicError,
    UnknownOutcomeError,
    ValidationError,
)
from .ledger import campaign_key
from .pricing.segments import segments
from .quote import Quote
from .recipients import Recipients, normalize_recipients

if TYPE_CHECKING:
    from .client import Client

DUPLICATE_WINDOW = timedelta(hours=24)
# A concatenated SMS has at most 255 parts: the UDH part counter is one octet.
MAX_SEGMENTS = 255
# A sending the server created carries the server's clock; the ledger row carries ours.
RECONCILE_TOLERANCE = timedelta(minutes=5)
RECONCILE_COLUMNS = ["send_id", "created_at", "previous_state", "state", "sending_id", "note"]


@dataclass(frozen=True)
class SendResult:
    """What a send did: the API's ``sending_id``, the quoted ``total`` debited (Decimal) and the
    ledger's ``state`` ('created'); ``send_id`` is the ledger row."""

    sending_id: int | None
    total: Decimal
    currency: str
    state: str
    send_id: int
    recipients: int
    sms_count: int


@dataclass(frozen=True)
class Preview:
    """What ``run(confirm=True)`` would send and what it costs: shown before confirming."""

    message: str
    sender: str
    scheduled_at: str | None  # Y-m-d H:i:s, UTC
    type: str
    recipients: int
    sms_count: int
    total: Decimal
    currency: str
    balance: Decimal | None

    @property
    def enough_balance(self) -> bool | None:
        """True when the balance covers the total (None if the balance is unknown)."""
        return None if self.balance is None else self.total <= self.balance

    def __str__(self) -> str:
        text = self.message if len(self.message) <= 40 else self.message[:39] + "…"
        when = f"at {self.scheduled_at} UTC" if self.scheduled_at else "now"
        via = "" if self.type == "default" else f" via {self.type}"
        balance = "" if self.balance is None else f" (balance {self.balance} {self.currency})"
        return (f"Send {text!r} from {self.sender}{via} to {self.recipients} recipients ({self.sms_count} SMS), "
                f"{when}: total {self.total} {self.currency}{balance}")


class Campaign:
    """One message to one audience from one sender, sent at most once per ``duplicate_window``.

    Steps, each callable on its own and called by ``run`` in this order: ``validate()``,
    ``quote()``, ``check_balance()``, ``check_duplicate()``; then ``run()`` wants
    ``confirm=True``, records the send in the ledger and POSTs it once.  ``preview()`` shows
    an app what confirming would spend.  The quote is asked once per campaign (build a new
    ``Campaign`` to re-price).  Safe to ``run()`` from two threads or two notebooks at once:
    the ledger lets exactly one of them send.
    """

    def __init__(self, client: "Client", message: str, recipients: Any, sender: str,
                 scheduled_at: datetime | str | None = None, type: str = "default",
                 duplicate_window: timedelta = DUPLICATE_WINDOW, *, progress: bool = True) -> None:
        if not isinstance(duplicate_window, timedelta) or duplicate_window <= timedelta(0):
            raise ValueError(f"duplicate_window: must be a positive timedelta, got {duplicate_window!r}")
        self.client = client
        self.message = message
        self.recipients = recipients
        self.sender = sender
        self.scheduled_at = scheduled_at
        self.type = type
        self.duplicate_window = duplicate_window
        self.progress = progress
        self._lock = threading.Lock()  # one quote per campaign, even when two threads run() it
        self._people: Recipients | None = None
        self._quote: Quote | None = None
        self._quote_id: int | None = None

    def __repr__(self) -> str:
        text = self.message if not isinstance(self.message, str) or len(self.message) <= 30 else self.message[:29] + "…"
        return f"Campaign(message={text!r}, sender={self.sender!r}, scheduled_at={self.scheduled_at!r}, type={self.type!r})"

    # -- steps -------------------------------------------------------------------------

    def validate(self) -> Recipients:
        """Check everything that can be checked before spending a request, then the sender.

        Raises ``ValidationError`` naming each field and the rule (several at once), or
        ``InvalidRecipientsError`` naming each bad row when only recipients are wrong.
        """
        errors: dict[str, list[str]] = {}
        if not isinstance(self.message, str) or not self.message.strip():
            errors["message"] = [spec.MSG_MISSING_MESSAGE]  # Laravel's `required` trims first
        else:
            parts = segments(self.message)
            if parts.segments > MAX_SEGMENTS:
                errors["message"] = [
                    f"the message needs {parts.segments:,} segments ({parts.encoding}, {len(self.message):,} "
                    f"characters); a concatenated SMS has at most {MAX_SEGMENTS} (its part counter is one octet)"]
        if not isinstance(self.sender, str) or not self.sender.strip():
            errors["sender"] = [spec.MSG_MISSING_SENDER]
        if self.type not in spec.SEND_TYPES:
            errors["type"] = [f"{spec.MSG_INVALID_TYPE} Choose one of {', '.join(spec.SEND_TYPES)}; got {self.type!r}"]
        try:
            self._check_future(self.scheduled_text(), self.client.ledger.now())
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
        """The exact price (``client.calculate``, recorded in the ledger); asked once per campaign."""
        with self._lock:
            if self._quote is None:
                people = self.validate()
                quote = self.client.calculate(self.message, list(people.numbers), progress=self.progress)
                self._quote, self._quote_id = quote, self.client._ledger_quote_id(quote)
            return self._quote

    def check_balance(self) -> Balance:
        """Refuse (``InsufficientBalanceError``) when /balance does not cover the quote's total.

        The balance is asked fresh (and snapshotted in the ledger) every time.
        """
        quote = self.quote()
        balance = self.client.balance()
        if quote.currency != balance.currency:
            raise ValidationError(f"the quote is in {quote.currency} but the balance in {balance.currency}: "
                                  "quote again", field_errors={"currency": [f"{quote.currency} != {balance.currency}"]})
        if quote.total > balance.amount:
            text = spec.MSG_INSUFFICIENT_BALANCE.format(total=quote.total, code=balance.currency, balance=balance.amount)
            raise InsufficientBalanceError(text, field_errors={"balance": [text]})
        return balance

    def check_duplicate(self, allow_duplicate: bool = False) -> None:
        """Refuse (``DuplicateSendError``) a campaign sent within ``duplicate_window``, or one
        whose earlier send is unresolved (even with ``allow_duplicate=True``: reconcile first)."""
        self.client.ledger.check_send(self.client.settings.account, self.key,
                                      None if allow_duplicate else self.duplicate_window)

    def preview(self) -> Preview:
        """Validate and quote, and show what sending would cost against the current balance.

        Does not refuse for a low balance (``enough_balance`` says it); ``run`` does.
        """
        people = self.validate()
        quote = self.quote()
        balance = self.client.balance()
        return Preview(message=self.message, sender=self.sender, scheduled_at=self.scheduled_text(),
                       type=self.type, recipients=len(people), sms_count=quote.sms_count, total=quote.total,
                       currency=str(quote.currency),
                       balance=balance.amount if balance.currency == quote.currency else None)

    def run(self, confirm: bool = False, allow_duplicate: bool = False) -> SendResult:
        """Every step, then POST /sendings once; returns a ``SendResult``.

        Without ``confirm=True`` raises ``ConfirmationRequiredError`` (its ``.preview`` and
        text give the exact total).  A definite refusal by the API (4xx) marks the ledger row
        'failed' and re-raises; a lost answer marks it 'unknown' and raises
        ``UnknownOutcomeError``: run ``client.reconcile()``, never re-send blindly.
        """
        people = self.validate()
        quote = self.quote()
        balance = self.check_balance()
        self.check_duplicate(allow_duplicate)
        preview = Preview(message=self.message, sender=self.sender, scheduled_at=self.scheduled_text(),
                          type=self.type, recipients=len(people), sms_count=quote.sms_count, total=quote.total,
                          currency=str(quote.currency), balance=balance.amount)
        if not confirm:
            error = ConfirmationRequiredError(
                f"Sending costs {quote.total} {quote.currency} for {len(people)} recipients ({quote.sms_count} SMS). "
                f"Nothing was sent: call run(confirm=True) (or send(..., confirm=True)) to send it. [{preview}]")
            error.preview = preview  # type: ignore[attr-defined]
            raise error
        payload = self.payload()
        send_id = self.client.ledger.claim_send(
            self.client.settings.account, self.key, self._quote_id, self.sender, self.scheduled_text(), self.type,
            len(people), duplicate_window=None if allow_duplicate else self.duplicate_window)
        sending_id = self._post(send_id, payload)
        return SendResult(sending_id=sending_id, total=quote.total, currency=str(quote.currency),
                          state=ledger_mod.CREATED, send_id=send_id, recipients=len(people),
                          sms_count=quote.sms_count)

    def reconcile(self, **kwargs: Any) -> pd.DataFrame:
        """``reconcile(self.client)``: settle this account's unknown sends from GET /sendings."""
        return reconcile(self.client, **kwargs)

    # -- parts -------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The duplicate guard's identity: message, sorted normalised recipients, sender, schedule."""
        return campaign_key(self.message, self._recipients().numbers, self.sender, self.scheduled_text())

    def scheduled_text(self) -> str | None:
        """``scheduled_at`` as the API gets it (``Y-m-d H:i:s`` UTC); malformed -> ``ValidationError``."""
        return format_scheduled_at(self.scheduled_at)

    def payload(self) -> dict[str, Any]:
        """The POST /sendings body (recipients as a JSON array, normalised and de-duplicated)."""
        body: dict[str, Any] = {"message": self.message, "recipients": list(self._recipients().numbers),
                                "sender": self.sender, "type": self.type}
        when = self.scheduled_text()
        if when is not None:
            body["scheduled_at"] = when
        return body

    def _recipients(self) -> Recipients:
        if self._people is None:
            people = normalize_recipients(self.recipients, on_invalid="report")
            if len(people.duplicates):
                warnings.warn(f"{len(people.duplicates)} duplicate recipients will get the SMS once: "
                              f"{list(people.duplicates['value'][:5])}", stacklevel=4)
            self._people = people
        return self._people

    @staticmethod
    def _check_future(when: str | None, now_utc: datetime) -> None:
        # "Now" is the ledger's clock: wall time, or the sandbox's when a notebook follows it.
        if when is None:
            return
        now = now_utc.astimezone(UTC).replace(microsecond=0, tzinfo=None)
        if datetime.strptime(when, spec.SCHEDULED_AT_FORMAT) <= now:
            text = (f"scheduled_at {when} UTC is in the past (compared against now, {now:%Y-%m-%d %H:%M:%S} UTC; "
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
        names = [str(s) for s in self.client.senders(refresh=refresh)["sender"]]
        return names + [s for s in spec.DEFAULT_SENDERS if s not in names]

    def _post(self, send_id: int, payload: dict[str, Any]) -> int:
        """POST once; settle the ledger row from what came back (or did not)."""
        ledger = self.client.ledger
        try:
            sending_id = self.client._post_sending(payload)
        except UnknownOutcomeError as exc:
            ledger.mark_unknown(send_id, str(exc))
            raise _unknown(send_id, exc) from exc
        except SMSgicError as exc:
            status = exc.http_status
            if status is not None and status >= 500:
                # A 500 may come after the server committed: as uncertain as a lost answer.
                ledger.mark_unknown(send_id, str(exc))
                raise _unknown(send_id, exc) from exc
            # 4xx: the API refused; no status: it never left (connection refused, no token).
            ledger.fail_send(send_id, str(exc))
            raise
        except BaseException as exc:
            # Interrupted (Ctrl-C in the notebook...) while the request may have been out.
            ledger.mark_unknown(send_id, f"interrupted: {type(exc).__name__}")
            raise
        ledger.complete_send(send_id, sending_id)
        return sending_id


def _unknown(send_id: int, cause: SMSgicError) -> UnknownOutcomeError:
    return UnknownOutcomeError(
        f"The sending may or may not exist: {cause.message}. It is recorded as ledger send {send_id} "
        f"(state 'unknown'). Run client.reconcile() to find out (it links the sending if the server has it, "
        f"or marks the send failed) before sending this campaign again; it will not be re-sent automatically.",
        http_status=cause.http_status, body=cause.body)


# --- reconciliation --------------------------------------------------------------------------

def match_sending(sendings: pd.DataFrame, *, text: str, sms_count: int, created_at: datetime,
                  scheduled_at: Any = None, exclude: set[int] | frozenset[int] = frozenset(),
                  tolerance: timedelta = RECONCILE_TOLERANCE) -> int | None:
    """The id of the /sendings row that a send with an unknown outcome created, or None.

    A match has the same text, ``total_sms == sms_count``, ``created_at`` within
    ``tolerance`` of the send's time, the same ``scheduled_at`` when the send had one, and is
    not in ``exclude`` (already linked to another ledger row).  Several -> the closest in time.
    """
    if sendings.empty:
        return None
    when = pd.Timestamp(created_at)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    rows = sendings[(sendings["text"] == text) & (sendings["total_sms"] == int(sms_count))
                    & ~sendings["id"].isin(list(exclude))]
    distance = (rows["created_at"] - when).abs()
    rows = rows[distance <= pd.Timedelta(tolerance)]
    if scheduled_at is not None and not pd.isna(scheduled_at):
        rows = rows[rows["scheduled_at"] == pd.Timestamp(scheduled_at)]
    if rows.empty:
        return None
    order = pd.DataFrame({"distance": distance[rows.index], "id": rows["id"]}).sort_values(["distance", "id"])
    return int(order["id"].iloc[0])


def reconcile(client: "Client", *, tolerance: timedelta = RECONCILE_TOLERANCE,
              pending_after: timedelta | None = None) -> pd.DataFrame:
    """Settle the account's 'unknown' (and stale 'pending') sends from GET /sendings.

    Each is matched with :func:`match_sending` (text and SMS count of its quote, created
    within ``tolerance`` of the send, not linked to another row): found -> 'reconciled' with
    that id; none -> 'failed' (safe to send again).  Nothing is ever re-sent.  A 'pending'
    row younger than ``pending_after`` (default twice the request timeout) may still be in
    flight in another thread or notebook and is left alone.

    Returns DataFrame[send_id, created_at, previous_state, state, sending_id, note].

    >>> client.reconcile()   # doctest: +SKIP
    """
    ledger, account = client.ledger, client.settings.account
    if pending_after is None:
        pending_after = timedelta(seconds=2 * client.settings.timeout)
    open_sends = ledger.unresolved(account)
    rows: list[dict[str, Any]] = []
    if open_sends.empty:
        return pd.DataFrame(rows, columns=RECONCILE_COLUMNS)
    sendings = client.sendings()
    quotes = ledger.quotes(account).set_index("id")
    linked = {int(s) for s in ledger.sends(account)["sending_id"].dropna()}
    now = pd.Timestamp(ledger.now())  # the clock the ledger rows were stamped with
    for send in open_sends.to_dict("records"):
        row = {"send_id": int(send["id"]), "created_at": send["created_at"], "previous_state": send["state"],
               "state": send["state"], "sending_id": None, "note": ""}
        rows.append(row)
        if send["state"] == ledger_mod.PENDING and now - send["created_at"] < pd.Timedelta(pending_after):
            row["note"] = "pending for less than pending_after: may still be in flight; left alone"
            continue
        if pd.isna(send["quote_id"]) or int(send["quote_id"]) not in quotes.index:
            row["note"] = "no quote recorded for this send: cannot match it by text and SMS count; left alone"
            continue
        quote = quotes.loc[int(send["quote_id"])]
        sending_id = match_sending(sendings, text=quote["message"], sms_count=int(quote["sms_count"]),
                                   created_at=send["created_at"], scheduled_at=send["scheduled_at"],
                                   exclude=linked, tolerance=tolerance)
        try:
            ledger.reconcile(row["send_id"], sending_id)
        except ledger_mod.InvalidTransitionError:
            row["state"] = ledger.get_send(row["send_id"])["state"]
            row["note"] = "settled meanwhile by another thread or notebook"
            continue
        except ledger_mod.LedgerError as exc:  # the sending was linked meanwhile by another notebook
            row["note"] = f"left alone: {exc}; run reconcile() again"
            continue
        if sending_id is None:
            row["state"], row["note"] = ledger_mod.FAILED, "no matching sending on the server: safe to send again"
        else:
            linked.add(sending_id)
            row["state"], row["sending_id"], row["note"] = ledger_mod.RECONCILED, sending_id, "found on the server"
    frame = pd.DataFrame(rows, columns=RECONCILE_COLUMNS)
    return frame.astype({"send_id": "int64", "sending_id": "Int64"})
