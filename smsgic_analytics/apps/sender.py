"""``SenderApp``: send a campaign with a quote, a balance check and an explicit confirmation.

Flow (``state``): ``idle`` -> Quote -> ``quoted`` (total and balance shown; a refusal --
low balance, invalid rows -- is shown and leaves ``error``) -> Send -> ``confirming`` (the
exact total and currency, Confirm / Cancel) -> Confirm -> ``sending`` (every control
disabled) -> ``sent`` (the balance is asked again and shown) or ``failed``.

A campaign sent within the duplicate window is refused as ``duplicate``: the app names the
earlier sending and offers **Send again anyway**, which opens its own confirmation
(``confirming-again``: the exact total, the earlier sending, "the recipients get it twice")
before ``Campaign.run(confirm=True, allow_duplicate=True)``.  An earlier send whose outcome is
unknown is never offered again (no override passes it: it may have gone out).

Any edit after a quote drops it back to ``idle``: what is confirmed is always what was
quoted.  Confirm sends exactly the quoted plan (``Campaign.run(confirm=True, confirmed=preview)``),
priced again just before it goes: if the price changed since the quote nothing is sent and the
app shows both totals (``PriceChangedError``) and asks for a new quote.  The sending itself is
``Campaign.run``, so the send lock, the ledger and its duplicate guard stand behind the UI: a
double click, two threads or two notebooks send once.  Texts speak of the app's own
buttons, never of Python arguments: the app is used where nobody can pass one.

>>> SenderApp(client)   # doctest: +SKIP
"""
from __future__ import annotations

import html
import threading
import warnings
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd

from ..audience.recipients import Recipients, normalize_recipients
from ..core import spec
from ..core.dates import format_instant
from ..core.errors import (
    DuplicateSendError,
    InvalidRecipientsError,
    PriceChangedError,
    SMSgicError,
    UnknownOutcomeError,
)
from ..core.money import format_money
from ..sending.campaign import Campaign, Preview, SendResult
from ..sending.risks import campaign_risks, send_history
from ..sending.state import UNRESOLVED
from ..text.segments import segments
from .audience_input import AudienceInput
from .budget import MoneyPanel
from .panels import RiskChecks, SendAt, export_links, parts_html, problems_html
from .widgets import App, error_html, error_text, frame_html, note_html, tag

if TYPE_CHECKING:
    from ..client import Client

NAME = "sender"
PLACEHOLDER = "one per line or comma separated"
IDLE, QUOTED, CONFIRMING, SENDING, SENT, ERROR, FAILED = (
    "idle", "quoted", "confirming", "sending", "sent", "error", "failed")
DUPLICATE, CONFIRMING_AGAIN = "duplicate", "confirming-again"
AGAIN = "Send again anyway"


def _fit() -> w.Layout:
    """A button as wide as its caption: never "Confirm and s…"."""
    return w.Layout(width="auto")


def _row(*children: w.Widget) -> w.HBox:
    """Controls side by side that wrap onto the next line in a narrow notebook column."""
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap"))


class SenderApp(App):
    """Sender, recipients, message, optional schedule (``YYYY-MM-DD HH:MM:SS``, UTC) and type;
    Quote, Send, Confirm / Cancel; after a duplicate refusal, Send again anyway.

    Methods ``quote()``, ``request_send()``, ``confirm()``, ``cancel()``, ``send_again()``,
    ``confirm_again()`` do what the buttons do.  Properties: ``state``, ``result`` (the
    ``SendResult``, or the error of the last action, or None), ``preview`` (the quoted
    ``Preview``), ``balance`` (the last balance seen: the quote's, then the one after a send).
    """

    def __init__(self, client: "Client") -> None:
        self.client = client
        self._state = IDLE
        self._result: SendResult | BaseException | None = None
        self._campaign: Campaign | None = None
        self._preview: Preview | None = None
        self._balance: Decimal | None = None
        self._again = False  # the send under way is a "send again anyway"
        self._people: Recipients | None = None  # the recipients of the last quote, checked
        self._lock = threading.Lock()
        self._build()
        self.money = MoneyPanel(client)  # the month's budget and "rates changed since your last quote"
        self.widget.children = (*self.widget.children, self.money.widget)
        self._load_senders()
        self._render()

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.sender_input = tag(w.Dropdown(options=[], description="Sender"), NAME, "sender")
        self.recipients_input = tag(w.Textarea(description="Recipients", placeholder=PLACEHOLDER,
                                               layout=w.Layout(width="95%", height="6em")), NAME, "recipients")
        self.audience = AudienceInput(NAME, self._on_audience, self.recipients_input)
        self.upload, self.column, self.region = self.audience.upload, self.audience.column, self.audience.region
        self.drop_invalid = tag(w.Checkbox(value=False, description="Drop the refused rows and send to the rest",
                                           indent=False, layout=w.Layout(width="auto", display="none")),
                                NAME, "drop-invalid")
        self.message_input = tag(w.Textarea(description="Message", placeholder="Message text",
                                            layout=w.Layout(width="95%", height="6em")), NAME, "message")
        self.parts = tag(w.HTML(layout=w.Layout(min_width="0")), NAME, "parts")
        self.send_at = SendAt(NAME)  # empty: now; a picked time is read in the picked zone
        self.schedule_input, self.timezone_input = self.send_at.picker, self.send_at.zone
        self.risks = RiskChecks(NAME, self._on_acknowledge)
        self.type_input = tag(w.Dropdown(options=list(spec.SEND_TYPES), value="default", description="Type",
                                         layout=w.Layout(width="16em")), NAME, "type")
        self.quote_button = tag(w.Button(description="Quote", icon="calculator", button_style="info", layout=_fit()),
                                NAME, "quote")
        self.send_button = tag(w.Button(description="Send", icon="paper-plane", button_style="warning", layout=_fit()),
                               NAME, "send")
        self.again_button = tag(w.Button(description=AGAIN, icon="repeat", button_style="warning",
                                         layout=w.Layout(width="auto", display="none")), NAME, "again")
        self.summary = tag(w.HTML(layout=w.Layout(max_height="600px", overflow="auto", min_width="0",
                                                  max_width="100%")), NAME, "summary")
        self.progress = tag(w.Output(), NAME, "progress")
        self.confirm_text = tag(w.HTML(layout=w.Layout(max_height="600px", overflow="auto", min_width="0")),
                                NAME, "confirm-text")
        self.confirm_button = tag(w.Button(description="Confirm and send", icon="check", button_style="danger",
                                           layout=_fit()), NAME, "confirm")
        self.cancel_button = tag(w.Button(description="Cancel", icon="times", layout=_fit()), NAME, "cancel")
        self.confirm_panel = tag(w.VBox([self.confirm_text, w.HBox([self.confirm_button, self.cancel_button])],
                                        layout=w.Layout(border="2px solid #dc2626", padding="6px")),
                                 NAME, "confirm-panel")
        self.again_text = tag(w.HTML(), NAME, "again-text")
        self.again_confirm_button = tag(w.Button(description="Yes, send it again", icon="check",
                                                 button_style="danger", layout=_fit()), NAME, "again-confirm")
        self.again_cancel_button = tag(w.Button(description="Cancel", icon="times", layout=_fit()), NAME, "again-cancel")
        self.again_panel = tag(w.VBox([self.again_text, w.HBox([self.again_confirm_button, self.again_cancel_button])],
                                      layout=w.Layout(border="2px solid #b45309", padding="6px")),
                               NAME, "again-panel")
        self.result_label = tag(w.HTML(), NAME, "result")
        self.widget = tag(w.VBox([
            _row(self.sender_input, self.type_input),
            self.send_at.widget,
            self.recipients_input,
            self.audience.widget,
            self.message_input,
            self.parts,
            _row(self.quote_button, self.send_button, self.again_button),
            self.progress,
            self.summary,
            self.drop_invalid,
            self.risks.widget,
            self.confirm_panel,
            self.again_panel,
            self.result_label,
        ]), NAME, "app")
        for control in self._inputs:
            control.observe(self._on_edit, "value")
        self.message_input.observe(lambda change: setattr(self.parts, "value", parts_html(change["new"])), "value")
        self.quote_button.on_click(lambda _: self.quote())
        self.send_button.on_click(lambda _: self.request_send())
        self.confirm_button.on_click(lambda _: self.confirm())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.again_button.on_click(lambda _: self.send_again())
        self.again_confirm_button.on_click(lambda _: self.confirm_again())
        self.again_cancel_button.on_click(lambda _: self.cancel())

    @property
    def _inputs(self) -> list[w.ValueWidget]:
        return [self.sender_input, self.recipients_input, self.message_input, self.schedule_input,
                self.timezone_input, self.type_input, self.column, self.region, self.drop_invalid]

    def _load_senders(self) -> None:
        failure: SMSgicError | None = None
        try:
            names = [str(s) for s in self.client.senders()["sender"]]
        except SMSgicError as exc:  # shown below; the default sender stays usable
            failure, names = exc, []
        # The API also takes its default sender (spec.DEFAULT_SENDERS) from every account.
        options = names + [s for s in spec.DEFAULT_SENDERS if s not in names]
        self.sender_input.options = options
        self.sender_input.value = options[0]
        if failure is not None:  # after the value is set: an edit resets the state
            self._state, self._result = ERROR, failure

    # -- properties --------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def result(self) -> SendResult | BaseException | None:
        return self._result

    @property
    def preview(self) -> Preview | None:
        return self._preview

    @property
    def balance(self) -> Decimal | None:
        """The last balance the app saw: the quote's, then the one asked after a send."""
        return self._balance

    @property
    def result_text(self) -> str:
        """The outcome in words: ``sending id 301`` or ``ErrorClass: message``."""
        if isinstance(self._result, SendResult):
            return f"sending id {self._result.sending_id}"
        return error_text(self._result) if isinstance(self._result, BaseException) else ""

    # -- actions -----------------------------------------------------------------------------

    def set_message(self, text: str) -> None:
        """Put ``text`` in the message box, as typing it would (a quote made before is dropped)."""
        self.message_input.value = text

    def quote(self) -> Preview | None:
        """Validate, quote (exact, with the API), check the balance and the duplicate guard.

        On success the total and balance are shown and Send is enabled; a duplicate is shown
        with the earlier sending and Send again anyway; any other refusal with its error class
        and message (nothing is sent either way).
        """
        with self._lock:
            if self._state in (SENDING, CONFIRMING, CONFIRMING_AGAIN):
                return None  # a send is being confirmed or is under way: quote after it
            self._state, self._campaign, self._preview, self._result = IDLE, None, None, None
            self.quote_button.disabled = True
        values = self.audience.values
        self._people = normalize_recipients(values, on_invalid="report")
        if self.drop_invalid.value and len(self._people.invalid):
            values = values.drop(index=self._people.invalid["index"].tolist())  # the person chose to drop them
        campaign = Campaign(self.client, self.message_input.value, values, self.sender_input.value or "",
                            scheduled_at=self.send_at.value, type=self.type_input.value)
        self.progress.outputs = ()
        preview: Preview | None = None
        failure: BaseException | None = None
        risks: list = []
        # In a kernel an Output swallows exceptions leaving it: catch inside.
        with self.progress, warnings.catch_warnings():  # tqdm.auto's bar for chunked audiences
            # The campaign warns about repeated numbers for scripts; the app says it in words.
            warnings.simplefilter("ignore", UserWarning)
            try:
                preview = campaign.preview()
                campaign.check_balance()  # InsufficientBalanceError with both amounts
                campaign.check_duplicate()  # DuplicateSendError naming the earlier send
                risks = self._risks_of(campaign, preview)
            except SMSgicError as exc:
                failure = exc
        with self._lock:
            self._preview = preview
            self._balance = preview.balance if preview is not None else None
            if failure is None and preview is not None:
                self._state, self._campaign = QUOTED, campaign
            elif preview is not None and _can_send_again(failure):
                self._state, self._campaign, self._result = DUPLICATE, campaign, failure
            else:
                self._state, self._preview = ERROR, None
                self._result = failure or RuntimeError("the quote failed: see the traceback above")
        if preview is not None and campaign.plan is not None:
            self.money.update(preview.total, campaign.plan.quote.numbers["country"].unique(), preview.scheduled_at)
        self.risks.set(risks if self._state == QUOTED else [])  # renders
        return self._preview

    def request_send(self) -> None:
        """Show the confirmation panel with the exact total (only after a successful quote whose
        every warning was acknowledged)."""
        if self.risks.acknowledged:
            self._move(QUOTED, CONFIRMING)

    def _risks_of(self, campaign: Campaign, preview: Preview) -> list:
        """The warnings of this quoted campaign (many parts, unplaceable numbers, an unusual price or size)."""
        quote = campaign.quote()  # the frozen plan's quote: no new request
        try:
            history = send_history(self.client.ledger, self.client.settings.account)
        except (SMSgicError, AttributeError, KeyError):
            history = None  # no history: the price and size warnings need one
        return campaign_risks(preview.message, quote.numbers["number"].astype(str).tolist(),
                              sms_count=preview.sms_count, total=preview.total, currency=preview.currency,
                              history=history)

    def _on_acknowledge(self) -> None:
        self._render()

    def send_again(self) -> None:
        """After a duplicate refusal: show the confirmation to send the campaign once more."""
        self._move(DUPLICATE, CONFIRMING_AGAIN)

    def cancel(self) -> None:
        """Close a confirmation panel; the quote (and a duplicate's offer) stays."""
        with self._lock:
            back = {CONFIRMING: QUOTED, CONFIRMING_AGAIN: DUPLICATE}.get(self._state)
            if back is None:
                return
            self._state = back
        self._render()

    def confirm(self) -> SendResult | None:
        """Send the quoted campaign (``Campaign.run(confirm=True)``), once.

        Only the first call after ``request_send`` sends; later calls (a double click, another
        thread) find the state moved on and return None.
        """
        return self._send(CONFIRMING, allow_duplicate=False)

    def confirm_again(self) -> SendResult | None:
        """Send the campaign again although it was sent within the duplicate window
        (``Campaign.run(confirm=True, allow_duplicate=True)``), once, after ``send_again``."""
        return self._send(CONFIRMING_AGAIN, allow_duplicate=True)

    # -- sending -----------------------------------------------------------------------------

    def _move(self, from_state: str, to_state: str) -> None:
        with self._lock:
            if self._state != from_state:
                return
            self._state = to_state
        self._render()

    def _send(self, from_state: str, *, allow_duplicate: bool) -> SendResult | None:
        with self._lock:
            if self._state != from_state or self._campaign is None:
                return None
            self._state, self._again = SENDING, allow_duplicate
            campaign, confirmed = self._campaign, self._preview
        self._render()
        result: SendResult | BaseException = RuntimeError("interrupted while sending: the send may have gone out")
        try:
            # Exactly the plan the user saw, priced again: a changed price refuses (PriceChangedError).
            result = campaign.run(confirm=True, allow_duplicate=allow_duplicate, confirmed=confirmed)
        except SMSgicError as exc:
            result = exc
        except BaseException as exc:  # a bug or Ctrl-C: never leave the controls disabled; re-raised
            result = exc
            raise
        finally:
            balance = self._balance_after(result)
            with self._lock:
                self._result = result
                if isinstance(result, SendResult):
                    self._state, self._campaign = SENT, None  # a new send needs a new quote
                elif _can_send_again(result) and not allow_duplicate:
                    self._state = DUPLICATE  # sent meanwhile by another notebook: offer it again
                else:
                    self._state, self._campaign = FAILED, None
                self._balance = balance
            self._render()
        return result if isinstance(result, SendResult) else None

    def _balance_after(self, result: SendResult | BaseException) -> Decimal | None:
        """The balance once a send went out (asked again: the shown one is spent), else as before."""
        if not isinstance(result, SendResult):
            return self._balance
        try:
            return self.client.balance().amount
        except SMSgicError:
            return None  # shown as unknown: better than a balance that is no longer true

    # -- events and rendering ------------------------------------------------------------------

    def _on_audience(self) -> None:
        """Typing, an upload, column, country or tidying changed the recipients: a new quote is needed."""
        if self.audience.error is not None:
            with self._lock:
                if self._state != SENDING:
                    self._state, self._campaign, self._preview = ERROR, None, None
                    self._result = self.audience.error
            self._render()
            return
        self._on_edit({})

    def _on_edit(self, change: dict[str, Any]) -> None:
        with self._lock:
            if self._state == SENDING:
                return  # controls are disabled; a programmatic edit cannot change what is sent
            if self._state in (QUOTED, CONFIRMING, DUPLICATE, CONFIRMING_AGAIN):
                self._state, self._campaign, self._preview = IDLE, None, None
            elif self._state in (ERROR, SENT, FAILED):
                self._state = IDLE
            else:
                return
        self._render()

    def _render(self) -> None:
        state = self._state
        sending = state == SENDING
        for control in self._inputs:
            control.disabled = sending
        self.upload.disabled = sending
        self.quote_button.disabled = sending or state in (CONFIRMING, CONFIRMING_AGAIN)
        self.send_button.disabled = state != QUOTED or not self.risks.acknowledged
        self.send_button.tooltip = ("Tick each warning above first" if state == QUOTED and not self.risks.acknowledged
                                    else "")
        quoted = state in (QUOTED, CONFIRMING, SENDING) and bool(self.risks.risks)
        self.risks.widget.layout.display = "" if quoted else "none"
        for check in self.risks.checks:
            check.disabled = state != QUOTED
        refused = self._people is not None and len(self._people.invalid) > 0
        self.drop_invalid.layout.display = "" if refused or self.drop_invalid.value else "none"
        if refused:
            self.drop_invalid.description = (f"Drop the {len(self._people.invalid):,} refused row(s) and send to "
                                             "the rest")
        self.again_button.layout.display = "" if state in (DUPLICATE, CONFIRMING_AGAIN) else "none"
        self.again_button.disabled = state != DUPLICATE
        self.confirm_button.disabled = self.cancel_button.disabled = state != CONFIRMING
        self.again_confirm_button.disabled = self.again_cancel_button.disabled = state != CONFIRMING_AGAIN
        self.confirm_panel.layout.display = "" if state == CONFIRMING or (sending and not self._again) else "none"
        self.again_panel.layout.display = "" if state == CONFIRMING_AGAIN or (sending and self._again) else "none"
        self._render_summary(state)
        self._render_result(state)

    def _render_summary(self, state: str) -> None:
        p = self._preview
        if p is not None and state in (QUOTED, CONFIRMING, SENDING, SENT, FAILED, DUPLICATE, CONFIRMING_AGAIN):
            when = f"at {p.scheduled_at} UTC" if p.scheduled_at else "now"
            total = html.escape(format_money(p.total, p.currency))
            balance = html.escape(f"{self._balance} {p.currency}" if self._balance is not None else "unknown")
            line = (f"<b>Total {total} · balance {balance}</b> · {p.recipients:,} recipient(s) · "
                    f"{p.sms_count:,} SMS · from {html.escape(p.sender)} · {html.escape(when)}")
            if state in (DUPLICATE, CONFIRMING_AGAIN) and isinstance(self._result, DuplicateSendError):
                line += ("<br><span style='color:#b45309'><b>Already sent</b>: this campaign (same message, "
                         f"recipients, sender and schedule) {html.escape(_earlier(self._result))}. It was not sent "
                         f"again. To send it once more, use <b>{AGAIN}</b>.</span>")
            line += self._dropped_note()
            self.summary.value = line
            self.confirm_text.value = (
                f"Send to <b>{p.recipients:,}</b> recipient(s) ({p.sms_count:,} SMS) from "
                f"<b>{html.escape(p.sender)}</b>, {html.escape(when)}, for exactly <b>{total}</b>? "
                f"This spends money and cannot be undone.{self._plan_details(p)}")
            earlier = html.escape(_earlier(self._result)) if isinstance(self._result, DuplicateSendError) else ""
            self.again_text.value = (
                f"This campaign {earlier}. Send it <b>again</b> to <b>{p.recipients:,}</b> recipient(s) "
                f"({p.sms_count:,} SMS) from <b>{html.escape(p.sender)}</b>, {html.escape(when)}, for exactly "
                f"<b>{total}</b>? The recipients get the message twice. This spends money and cannot be undone.")
        elif state == ERROR and isinstance(self._result, DuplicateSendError):
            self.summary.value = ("<span style='color:#b91c1c'><b>Not sent</b>: this campaign "
                                  f"{html.escape(_earlier(self._result))}, and whether that send went out is "
                                  "not known yet (its answer was lost, or it is still under way). It may have "
                                  "reached the recipients, so it cannot be sent again until the send is settled "
                                  "(see “Sending safely” in the README).</span>")
        elif state == ERROR and isinstance(self._result, InvalidRecipientsError):
            self.summary.value = self._refused_html(self._result)
        elif state == ERROR and self._result is not None:
            self.summary.value = error_html(self._result)
        else:
            self.summary.value = note_html("Quote first: the total and your balance are shown before sending.")

    def _refused_html(self, exc: InvalidRecipientsError) -> str:
        """Refused recipients for people: counts by reason, the first rows, a download of all, and
        what to do in the app (tidy, pick a country, or drop them and continue)."""
        invalid = exc.invalid if isinstance(exc.invalid, pd.DataFrame) else (
            self._people.invalid if self._people is not None else pd.DataFrame(columns=["index", "value", "reason"]))
        total = self._people.total if self._people is not None else len(invalid)
        rows = invalid.rename(columns={"index": "row"})
        advice = ("Tidy them or pick the country of national numbers above, or tick “Drop the refused rows” "
                  "below and press Quote again.")
        return (f"<span style='color:#b91c1c' title='{type(exc).__name__}'><b>Not quoted</b>: {len(rows):,} of {total:,} recipient row(s) are "
                f"not phone numbers the API accepts. {advice}</span>"
                + problems_html(rows, "Refused rows", "refused-recipients"))

    def _dropped_note(self) -> str:
        """What was left out of the quote, in words: dropped rows and repeated numbers."""
        people, out = self._people, ""
        if people is None:
            return out
        if self.drop_invalid.value and len(people.invalid):
            out += (f"<br><span style='color:#92400e'>{len(people.invalid):,} refused row(s) dropped, as asked: "
                    "they get nothing.</span>" + export_links(people.invalid.rename(columns={"index": "row"}),
                                                              "dropped-recipients", "Dropped rows"))
        if len(people.duplicates):
            out += (f"<br><span style='color:#374151'>{len(people.duplicates):,} repeated number(s) get the SMS "
                    "once.</span>")
        return out

    def _plan_details(self, p: Preview) -> str:
        """The confirmation's details: the message as sent, its parts and the total per country."""
        parts = segments(p.message).segments if p.message else 0
        details = (f"<div style='margin-top:6px'><b>Message</b> ({segments(p.message).encoding}, {parts} "
                   f"part{'s' if parts != 1 else ''} per recipient):</div>"
                   f"<div class='smsgic-sender-confirm-message' style='white-space:pre-wrap;word-break:break-word;"
                   f"max-height:10em;overflow:auto;border:1px solid #e5e7eb;padding:2px 4px'>"
                   f"{html.escape(p.message)}</div>")
        if p.scheduled_at and self.send_at.value is not None and self.timezone_input.value != "UTC":
            local = self.send_at.value.strftime("%Y-%m-%d %H:%M")
            details += f"<div>At {html.escape(local)} {html.escape(self.timezone_input.value)} ({p.scheduled_at} UTC).</div>"
        campaign = self._campaign
        if campaign is not None and campaign.plan is not None:
            by_country = campaign.quote().by_country()
            details += ("<div style='margin-top:6px'><b>Total per country</b>:</div>"
                        + frame_html(by_country, currency=p.currency, money_first=True)
                        + export_links(by_country, "send-by-country", "Download"))
        return details

    def _render_result(self, state: str) -> None:
        result = self._result
        if state == SENDING:
            self.result_label.value = note_html("Sending...")
        elif state == SENT and isinstance(result, SendResult):
            balance = f"{self._balance} {result.currency}" if self._balance is not None else "unknown"
            self.result_label.value = (f"<span style='color:#047857'>Sent: sending id <b>{result.sending_id}</b> · "
                                       f"{html.escape(format_money(result.total, result.currency))} · "
                                       f"{result.recipients:,} recipient(s) · balance now "
                                       f"<b>{html.escape(balance)}</b></span>")
        elif state == FAILED and isinstance(result, PriceChangedError):
            confirmed = html.escape(format_money(result.confirmed, result.currency))
            current = html.escape(format_money(result.current, result.currency))
            self.result_label.value = (
                f"<span style='color:#b91c1c'><b>Not sent: the price changed</b> since the quote. You confirmed "
                f"<b>{confirmed}</b>; sending it now costs <b>{current}</b>. Nothing was sent and nothing was "
                "charged. Press <b>Quote</b> to see the new total, then confirm it.</span>")
        elif state == FAILED and isinstance(result, UnknownOutcomeError):
            self.result_label.value = (
                "<span style='color:#b91c1c'><b>Outcome unknown</b>: the answer to the send was lost, so it "
                "may have gone out. It is recorded and will not be sent again by itself; check the account's "
                "sendings (the dashboard) before doing anything else.</span>")
        elif state == FAILED and isinstance(result, BaseException):
            self.result_label.value = error_html(result)
        else:
            self.result_label.value = ""


def _can_send_again(exc: BaseException | None) -> bool:
    """A duplicate refusal that "send again anyway" may override: the earlier send went out.
    An unresolved one (pending, unknown) refuses whatever is passed."""
    if not isinstance(exc, DuplicateSendError):
        return False
    previous = getattr(exc, "previous", None) or {}
    return previous.get("state") not in UNRESOLVED


def _earlier(exc: DuplicateSendError) -> str:
    """"was already sent at 2026-03-02 09:00:00 UTC (sending 301)", from the refusal's earlier send."""
    previous = getattr(exc, "previous", None) or {}
    created = previous.get("created_at")
    when = f" at {format_instant(created)} UTC" if created is not None else ""
    sending = previous.get("sending_id")
    what = f"sending {sending}" if sending is not None else "no sending id yet"
    who = " by another notebook or machine on this account" if previous.get("id") is None and previous else ""
    return f"was already sent{when}{who} ({what})"
