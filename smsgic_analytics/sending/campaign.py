"""Safe sending, a small pipeline: validate -> price fresh -> guard -> post -> record.

POST /sendings spends money and is not idempotent, so every step that can refuse runs before
it, and the ledger row exists before the request leaves: whatever happens to the answer, the
notebook knows a sending may exist.

* **validate** the inputs (``validate``), locally and against /senders;
* **freeze** them into a ``Plan`` with a quote asked fresh from the API (no cached calculate,
  no cached rates) -- ``preview()`` does this and shows the plan; what is confirmed is that
  plan, and a change to the campaign afterwards refuses the send (``PlanChangedError``);
* **price fresh** once more just before sending when the plan was priced earlier (by a
  preview): a total that differs from the confirmed one refuses the send (``PriceChangedError``,
  both totals), so the POST always goes out at the price the user saw;
* **guard** (``guard.SendGuard``): the duplicate checks, the ledger's claim, the POST and the
  ledger's record of its outcome under the account's machine-wide send lock;
* **post** the plan's payload once; **record** the outcome (created, failed, or unknown).

A lost answer is never retried; it is settled by :func:`reconcile`, which links a sending only
when it can prove it is the send's own (see ``state``), and never calls a send safe to repeat
while its request could still be committing on the server.

A ``Campaign`` needs the account's endpoint calls (``.api``), its ledger (``.ledger``) and its
settings (``.settings``): a ``Client`` has all three.

>>> campaign = Campaign(client, "Sale today!", df["phone"], "MegaShop")   # doctest: +SKIP
>>> preview = campaign.preview(); print(preview)                          # doctest: +SKIP
Send 'Sale today!' from MegaShop to 3 recipients (3 SMS), now: total 0.4173 GBP (balance 450.000 GBP)
>>> campaign.run(confirm=True, confirmed=preview)                          # doctest: +SKIP
SendResult(sending_id=301, total=Decimal('0.4173'), currency='GBP', state='created', ...)
"""
from __future__ import annotations

import html
import logging
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from ..api.frames import Balance
from ..audience.recipients import Recipients, normalize_recipients
from ..core import spec
from ..core.config import Settings
from ..core.dates import clock_note, format_scheduled_at
from ..core.display import card
from ..core.errors import (
    ConfirmationRequiredError,
    InsufficientBalanceError,
    PlanChangedError,
    PriceChangedError,
    SMSgicError,
    UnknownOutcomeError,
    ValidationError,
)
from ..core.money import format_money
from ..pricing import exact
from ..pricing.quote import Quote
from .budget import check_budget
from .checks import check_inputs, check_sender
from .guard import SendGuard
from .ledger import campaign_key
from .plan import Plan, PlanInputs, Preview, changes, payload_of, preview_changes  # noqa: F401 (Preview: re-exported)
from .reconcile import Account, reconcile, resolve_send  # noqa: F401  (resolve_send: its old home)
from .state import CREATED

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class SendResult:
    """What a send did: the API's ``sending_id``, the ``total`` debited (Decimal: the confirmed
    quote, or the price the server charged instead when its balance showed one -- ``note`` then
    says so), the ledger's ``state`` ('created') and ``send_id``, and the ``scheduled_at`` it was
    sent with."""

    sending_id: int | None
    total: Decimal
    currency: str
    state: str
    send_id: int
    recipients: int
    sms_count: int
    scheduled_at: str | None = None
    note: str = ""

    def _repr_html_(self) -> str:
        rows = [("Sending", "—" if self.sending_id is None else str(self.sending_id)), ("State", html.escape(self.state)),
                ("Recipients", f"{self.recipients:,}"), ("SMS parts", f"{self.sms_count:,}"),
                ("<b>Total</b>", f"<b>{html.escape(format_money(self.total, self.currency))}</b>")]
        if self.scheduled_at:
            rows.append(("Scheduled at", html.escape(f"{self.scheduled_at} UTC")))
        return card("Send", rows)


class Campaign:
    """One message to one audience from one sender, sent at most once per ``duplicate_window``.

    Steps, each callable on its own and called by ``run`` in this order: ``validate()``,
    ``quote()`` (freezes the plan), ``check_balance()``, ``check_duplicate()``; then ``run()``
    wants ``confirm=True``, re-prices a plan made earlier, and under the account's send lock
    checks again, records the send in the ledger and POSTs it once.  ``preview()`` freezes the
    plan (priced fresh) and shows what confirming would spend; ``run(confirm=True,
    confirmed=preview)`` sends exactly that plan.  Safe to ``run()`` from two threads, two
    notebooks or two cache folders at once on one machine: the send lock lets one of them
    through at a time, and the ledger and the server's list of sendings then refuse the other.
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
        self._lock = threading.Lock()  # one plan at a time, even when two threads run() it
        self._plan: Plan | None = None
        self._warned: tuple[str, ...] = ()

    def __repr__(self) -> str:
        text = self.message if not isinstance(self.message, str) or len(self.message) <= 30 else self.message[:29] + "…"
        return f"Campaign(message={text!r}, sender={self.sender!r}, scheduled_at={self.scheduled_at!r}, type={self.type!r})"

    @property
    def account(self) -> str:
        """The ledger's name for this account (a hash, never the token)."""
        return self.settings.account

    @property
    def plan(self) -> Plan | None:
        """The frozen plan (made by ``preview()`` or ``quote()``), or None before one."""
        return self._plan

    # -- steps -------------------------------------------------------------------------

    def validate(self) -> Recipients:
        """Check everything that can be checked before spending a request, then the sender
        (``checks``): ``ValidationError`` naming each field and the rule (several at once), or
        ``InvalidRecipientsError`` naming each bad row when only recipients are wrong.  The
        recipients are normalised afresh on every call, so a change to them is seen.
        """
        people = self._recipients()
        check_inputs(self.message, self.sender, self.type, self.scheduled_at, self.ledger.now(), people)
        check_sender(self.api, self.sender)
        return people

    def quote(self) -> Quote:
        """The plan's exact price (POST /sendings/calculate, fresh, recorded in the ledger); the
        plan is frozen by the first call (``preview()`` freezes a new one)."""
        with self._lock:
            if self._plan is None:
                people = self.validate()
                self._plan = self._freeze(people, self._inputs(people))
            return self._plan.quote

    def check_balance(self) -> Balance:
        """Refuse (``InsufficientBalanceError``) when /balance does not cover the plan's total.

        The balance is asked fresh (and snapshotted in the ledger) every time.
        """
        return self._check_balance(self.quote())

    def check_duplicate(self, allow_duplicate: bool = False) -> None:
        """Refuse (``DuplicateSendError``) a campaign sent within ``duplicate_window``.

        Two guards: this ledger (the same message, recipients, sender and schedule; an earlier
        send whose outcome is unresolved refuses even with ``allow_duplicate=True``: reconcile
        first), and the server (a recent sending with the same text and SMS count that no send
        of this ledger owns: another notebook or machine on the account).  ``allow_duplicate``
        must be exactly ``True`` to pass the window checks.  ``run`` asks both again under the
        account's send lock, just before it sends.
        """
        self.quote()
        plan = self._plan
        assert plan is not None
        self._guard().check(_key(plan.inputs), plan.inputs.message, plan.sms_count, forced=allow_duplicate is True)

    def preview(self) -> Preview:
        """Validate, price afresh and freeze the plan; show what sending it would cost against
        the current balance.  Calling it again re-freezes (after a change, or to see a new price).

        Does not refuse for a low balance (``enough_balance`` says it); ``run`` does.
        """
        people = self.validate()
        with self._lock:
            self._plan = plan = self._freeze(people, self._inputs(people))
        balance = self._balance()
        return plan.preview(balance.amount if balance.currency == plan.currency else None,
                            note=clock_note(getattr(self.ledger, "clock", None)))

    def run(self, confirm: bool = False, allow_duplicate: bool = False, *,
            confirmed: Preview | None = None) -> SendResult:
        """Every step, then POST /sendings once; returns a ``SendResult``.

        ``confirm`` must be exactly ``True`` (not ``"yes"``, not ``1``): anything else raises
        ``ConfirmationRequiredError`` (its ``.preview`` and text give the exact total).  What is
        sent is the frozen plan: a campaign changed since its preview raises ``PlanChangedError``
        (naming what changed), a plan priced by an earlier call is priced again and a different
        total raises ``PriceChangedError`` (both totals) -- nothing is sent then.  ``confirmed``
        (a ``Preview``): send only if it shows this campaign's plan.  A definite refusal by the API
        (4xx) marks the ledger row 'failed' and re-raises; a lost answer marks it 'unknown' and
        raises ``UnknownOutcomeError``: run ``client.reconcile()``, never re-send blindly.
        """
        people = self.validate()
        plan, priced_now = self._plan_to_send(people, confirmed)
        balance = self._check_balance(plan.quote)
        self.check_duplicate(allow_duplicate)  # early and friendly; asked again under the lock
        check_budget(self.ledger, self.account, plan.total, plan.currency, plan.inputs.scheduled_at)  # again under it
        preview = plan.preview(balance.amount)
        if confirm is not True:
            given = "" if confirm in (False, None) else f" (confirm={confirm!r} is not True)"
            error = ConfirmationRequiredError(
                f"Sending costs {plan.total} {plan.currency} for {len(plan.inputs.recipients)} recipients "
                f"({plan.sms_count} SMS). Nothing was sent{given}: call run(confirm=True) (or send(..., "
                f"confirm=True)) to send it. [{preview}]")
            error.preview = preview  # type: ignore[attr-defined]
            raise error
        if not priced_now:
            self._check_price(plan, people)
        with self._guard().claim(plan, _key(plan.inputs), forced=allow_duplicate is True) as claim:
            before = self._balance_or_none()  # under the lock: no other send of this machine moves it
            sending_id = self._post(claim.send_id, plan.payload(claim.scheduled_at))
            total, note = self._charged(claim.send_id, plan, people, before)
        return SendResult(sending_id=sending_id, total=total, currency=plan.currency, state=CREATED,
                          send_id=claim.send_id, recipients=len(plan.inputs.recipients), sms_count=plan.sms_count,
                          scheduled_at=claim.scheduled_at, note=note)

    def reconcile(self) -> pd.DataFrame:
        """``sending.reconcile.reconcile``: settle this account's unresolved sends from GET /sendings."""
        return reconcile(self)

    # -- parts -------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The duplicate guard's identity: message, sorted normalised recipients, sender, schedule
        (of the frozen plan once there is one)."""
        return _key(self._plan.inputs if self._plan is not None else self._inputs(self._recipients()))

    @property
    def _quote_id(self) -> int | None:
        return None if self._plan is None else self._plan.quote_id

    def scheduled_text(self) -> str | None:
        """``scheduled_at`` as asked (``Y-m-d H:i:s`` UTC, None for now); malformed -> ``ValidationError``."""
        return format_scheduled_at(self.scheduled_at)

    def payload(self, scheduled_at: str | None = None) -> dict[str, Any]:
        """The POST /sendings body (recipients as a JSON array, normalised and de-duplicated) of
        the frozen plan, or before one of the campaign as it is.

        ``scheduled_at`` is the one the ledger claimed: always explicit, so that the server's
        sending can be told apart from any other with the same text (the send's fingerprint).
        """
        if self._plan is not None:
            return self._plan.payload(scheduled_at)
        return payload_of(self._inputs(self._recipients()), scheduled_at)

    def _guard(self) -> SendGuard:
        return SendGuard(self.api, self.ledger, self.settings, self.duplicate_window)

    def _inputs(self, people: Recipients) -> PlanInputs:
        return PlanInputs(self.message, tuple(people.numbers), self.sender, self.type, self.scheduled_text())

    def _price(self, message: str, people: Recipients) -> Quote:
        """The exact price now: every calculate and the rates asked of the API, none from the cache."""
        countries = self.api.rates(cache=False)["country"].cat.categories
        return exact.calculate(self.api, message, people, countries=countries, currency=self.api.currency(),
                               progress=self.progress, cache=False)

    def _freeze(self, people: Recipients, inputs: PlanInputs) -> Plan:
        quote = self._price(inputs.message, people)
        quote_id = self.ledger.record_quote(self.account, inputs.message, list(quote.numbers["number"]), quote)
        return Plan(inputs=inputs, quote=quote, quote_id=quote_id, priced_at=self.ledger.now())

    def _plan_to_send(self, people: Recipients, confirmed: Preview | None) -> tuple[Plan, bool]:
        """The frozen plan (frozen now, priced in this call, when there is none) and whether it
        was priced in this call; refuses when the campaign or the confirmed preview is not it."""
        inputs = self._inputs(people)
        with self._lock:
            frozen_now = self._plan is None
            if frozen_now:
                self._plan = self._freeze(people, inputs)
            plan = self._plan
        changed = changes(plan.inputs, inputs)
        if changed:
            said = "; ".join(f"{name}: {what}" for name, what in changed.items())
            raise PlanChangedError(
                f"Nothing was sent: the campaign changed after its preview ({said}); the confirmation covered "
                "the previewed plan only. Call preview() to see the new plan and its price, then confirm "
                "that.", changed=changed)
        if confirmed is not None and confirmed.plan_hash != plan.digest:
            changed = preview_changes(confirmed, plan)
            said = "; ".join(f"{name}: {what}" for name, what in changed.items())
            raise PlanChangedError(
                f"Nothing was sent: the preview you confirmed is not this campaign's plan ({said}). Confirm its "
                "latest preview.", changed=changed)
        return plan, frozen_now

    def _check_price(self, plan: Plan, people: Recipients) -> None:
        """Price the plan afresh; refuse (``PriceChangedError``) if it is not what was confirmed."""
        fresh = self._price(plan.inputs.message, people)
        if (fresh.total, int(fresh.sms_count), str(fresh.currency)) != (plan.total, plan.sms_count, plan.currency):
            self.ledger.record_quote(self.account, plan.inputs.message, list(fresh.numbers["number"]), fresh)
            raise _price_changed(plan.total, fresh.total, str(fresh.currency), fresh.sms_count, plan.sms_count)

    def _check_balance(self, quote: Quote) -> Balance:
        balance = self._balance()
        if quote.currency != balance.currency:
            raise ValidationError(f"the quote is in {quote.currency} but the balance in {balance.currency}: "
                                  "quote again", field_errors={"currency": [f"{quote.currency} != {balance.currency}"]})
        if quote.total > balance.amount:
            text = spec.MSG_INSUFFICIENT_BALANCE.format(total=quote.total, code=balance.currency, balance=balance.amount)
            raise InsufficientBalanceError(text, field_errors={"balance": [text]})
        return balance

    def _balance(self) -> Balance:
        balance = self.api.balance()
        self.ledger.record_balance(self.account, balance.amount, balance.currency)
        return balance

    def _balance_or_none(self) -> Balance | None:
        try:
            return self.api.balance()
        except SMSgicError as exc:  # only evidence of the charge: never a reason not to send
            log.info("balance before the send not read (%s): its charge will not be checked", type(exc).__name__)
            return None

    def _charged(self, send_id: int, plan: Plan, people: Recipients, before: Balance | None) -> tuple[Decimal, str]:
        """What the server charged for the send just answered, and a note when it is not the
        confirmed total.

        The API's answer carries no cost, and the server prices a sending when it commits it:
        a price change while the POST was in flight is charged at the new price.  The balance
        read before the POST and after its answer (under the send lock) shows the debit to
        within ``spec.BALANCE_STEP``.  If that is not the confirmed total but is the price asked
        afresh now, that price is what the server charged: the ledger records it (spend()
        reports it) and a warning says so.  If neither explains it (another machine sending on
        the account meanwhile?), the confirmed total stays, noted as unverified.
        """
        if before is None:
            return plan.total, ""
        step = Decimal(spec.BALANCE_STEP)
        try:
            fell = before.amount - self.api.balance().amount
            if abs(fell - plan.total) <= step:
                return plan.total, ""
            fresh = self._price(plan.inputs.message, people)
        except SMSgicError as exc:  # the send went out; only the check of its charge is lost
            log.info("the charge of send %s was not checked (%s)", send_id, type(exc).__name__)
            return plan.total, ""
        currency = str(plan.currency)
        confirmed = format_money(plan.total, currency)
        if fresh.total != plan.total and abs(fell - fresh.total) <= step:
            quote_id = self.ledger.record_quote(self.account, plan.inputs.message, list(fresh.numbers["number"]),
                                                fresh)
            note = (f"the server charged {format_money(fresh.total, currency)}, not the confirmed {confirmed}: the "
                    f"price changed while the send was in flight (the balance fell by {fell}); the ledger and "
                    "spend() record the charged cost")
            self.ledger.record_charge(send_id, note, quote_id=quote_id)
            warnings.warn(f"Send {send_id}: {note}", stacklevel=3)
            return fresh.total, note
        note = (f"the balance fell by {fell} {currency} during the send, not by the confirmed {confirmed} (nor the price "
                f"now, {format_money(fresh.total, currency)}): another send on this account at the same time (another "
                "machine?) or a price change; the cost recorded is the confirmed one, unverified")
        self.ledger.record_charge(send_id, note)
        warnings.warn(f"Send {send_id}: {note}", stacklevel=3)
        return plan.total, note

    def _recipients(self) -> Recipients:
        people = normalize_recipients(self.recipients, on_invalid="report", default_region=self.default_region)
        repeated = tuple(people.duplicates["value"].astype(str)) if len(people.duplicates) else ()
        if repeated and repeated != self._warned:  # once per list of duplicates, not per step
            warnings.warn(f"{len(people.duplicates)} duplicate recipients will get the SMS once: "
                          f"{list(people.duplicates['value'][:5])}", stacklevel=4)
        self._warned = repeated
        return people

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


def _key(inputs: PlanInputs) -> str:
    """The duplicate guard's identity of a campaign (``ledger.campaign_key``)."""
    return campaign_key(inputs.message, inputs.recipients, inputs.sender, inputs.scheduled_at)


def _price_changed(confirmed: Decimal, current: Decimal, currency: str, sms_now: int | None = None,
                   sms_confirmed: int | None = None) -> PriceChangedError:
    parts = "" if sms_now is None or sms_now == sms_confirmed else f" ({sms_confirmed} SMS then, {sms_now} now)"
    return PriceChangedError(
        f"Nothing was sent: the price changed since it was confirmed: confirmed {format_money(confirmed, currency)}, "
        f"now {format_money(current, currency)}{parts}. Preview again (campaign.preview(), or Quote in the app) to "
        "see and confirm the new total.", confirmed=confirmed, current=current, currency=currency)


def _unknown(send_id: int, cause: SMSgicError, settings: Settings) -> UnknownOutcomeError:
    window = settings.timeout + settings.commit_grace
    return UnknownOutcomeError(
        f"The sending may or may not exist: {cause.message}. It is recorded as ledger send {send_id} "
        f"(state 'unknown') and will not be re-sent automatically. Run client.reconcile(): it links the "
        f"sending once the server shows it; the send is only declared not sent when nothing like it is on the "
        f"server {window:.0f} s after it left (the request may still be committing until then).",
        http_status=cause.http_status, body=cause.body)
