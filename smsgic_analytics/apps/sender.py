"""``SenderApp``: send a campaign with a quote, a balance check and an explicit confirmation.

Flow (``state``): ``idle`` -> Quote -> ``quoted`` (total and balance shown; a refusal --
low balance, duplicate, invalid rows -- is shown and leaves ``error``) -> Send ->
``confirming`` (the exact total and currency, Confirm / Cancel) -> Confirm -> ``sending``
(every control disabled) -> ``sent`` or ``failed``.  Any edit after a quote drops it back to
``idle``: what is confirmed is always what was quoted.  The sending itself is
``Campaign.run(confirm=True)``, so the ledger and its duplicate guard stand behind the UI:
a double click, or two threads, send once.

>>> SenderApp(client)   # doctest: +SKIP
"""
from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .. import spec
from ..campaign import Campaign, Preview, SendResult
from ..errors import SMSgicError
from .widgets import App, error_html, error_text, note_html, parse_numbers, tag

if TYPE_CHECKING:
    from ..client import Client

NAME = "sender"
IDLE, QUOTED, CONFIRMING, SENDING, SENT, ERROR, FAILED = (
    "idle", "quoted", "confirming", "sending", "sent", "error", "failed")


class SenderApp(App):
    """Sender, recipients, message, optional schedule (``YYYY-MM-DD HH:MM:SS``, UTC) and type;
    Quote, Send, Confirm / Cancel.

    Methods ``quote()``, ``request_send()``, ``confirm()``, ``cancel()`` do what the buttons
    do.  Properties: ``state``, ``result`` (the ``SendResult``, or the error of the last
    action, or None), ``preview`` (the quoted ``Preview``).
    """

    def __init__(self, client: "Client") -> None:
        self.client = client
        self._state = IDLE
        self._result: SendResult | BaseException | None = None
        self._campaign: Campaign | None = None
        self._preview: Preview | None = None
        self._lock = threading.Lock()
        self._build()
        self._load_senders()
        self._render()

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.sender_input = tag(w.Dropdown(options=[], description="Sender"), NAME, "sender")
        self.recipients_input = tag(w.Textarea(description="Recipients", placeholder="one per line or comma separated",
                                               layout=w.Layout(width="95%", height="6em")), NAME, "recipients")
        self.message_input = tag(w.Textarea(description="Message", placeholder="Message text",
                                            layout=w.Layout(width="95%", height="6em")), NAME, "message")
        self.schedule_input = tag(w.Text(description="Send at", placeholder="YYYY-MM-DD HH:MM:SS (UTC); empty = now"),
                                  NAME, "schedule")
        self.type_input = tag(w.Dropdown(options=list(spec.SEND_TYPES), value="default", description="Type"),
                              NAME, "type")
        self.quote_button = tag(w.Button(description="Quote", icon="calculator", button_style="info"), NAME, "quote")
        self.send_button = tag(w.Button(description="Send", icon="paper-plane", button_style="warning"), NAME, "send")
        self.summary = tag(w.HTML(), NAME, "summary")
        self.progress = tag(w.Output(), NAME, "progress")
        self.confirm_text = tag(w.HTML(), NAME, "confirm-text")
        self.confirm_button = tag(w.Button(description="Confirm and send", icon="check", button_style="danger"),
                                  NAME, "confirm")
        self.cancel_button = tag(w.Button(description="Cancel", icon="times"), NAME, "cancel")
        self.confirm_panel = tag(w.VBox([self.confirm_text, w.HBox([self.confirm_button, self.cancel_button])],
                                        layout=w.Layout(border="2px solid #dc2626", padding="6px")),
                                 NAME, "confirm-panel")
        self.result_label = tag(w.HTML(), NAME, "result")
        self.widget = tag(w.VBox([
            w.HBox([self.sender_input, self.type_input, self.schedule_input]),
            self.recipients_input,
            self.message_input,
            w.HBox([self.quote_button, self.send_button]),
            self.progress,
            self.summary,
            self.confirm_panel,
            self.result_label,
        ]), NAME, "app")
        for control in self._inputs:
            control.observe(self._on_edit, "value")
        self.quote_button.on_click(lambda _: self.quote())
        self.send_button.on_click(lambda _: self.request_send())
        self.confirm_button.on_click(lambda _: self.confirm())
        self.cancel_button.on_click(lambda _: self.cancel())

    @property
    def _inputs(self) -> list[w.ValueWidget]:
        return [self.sender_input, self.recipients_input, self.message_input, self.schedule_input, self.type_input]

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
    def result_text(self) -> str:
        """The outcome in words: ``sending id 301`` or ``ErrorClass: message``."""
        if isinstance(self._result, SendResult):
            return f"sending id {self._result.sending_id}"
        return error_text(self._result) if isinstance(self._result, BaseException) else ""

    # -- actions -----------------------------------------------------------------------------

    def quote(self) -> Preview | None:
        """Validate, quote (exact, with the API), check the balance and the duplicate guard.

        On success the total and balance are shown and Send is enabled; a refusal is shown
        with its error class and message (nothing is sent either way).
        """
        with self._lock:
            if self._state in (SENDING, CONFIRMING):
                return None  # a send is being confirmed or is under way: quote after it
            self._state, self._campaign, self._preview, self._result = IDLE, None, None, None
            self.quote_button.disabled = True
        campaign = Campaign(self.client, self.message_input.value, parse_numbers(self.recipients_input.value),
                            self.sender_input.value or "", scheduled_at=self.schedule_input.value.strip() or None,
                            type=self.type_input.value)
        self.progress.outputs = ()
        preview: Preview | None = None
        failure: BaseException | None = None
        # In a kernel an Output swallows exceptions leaving it: catch inside.
        with self.progress:  # tqdm.auto's bar for chunked audiences
            try:
                preview = campaign.preview()
                campaign.check_balance()  # InsufficientBalanceError with both amounts
                campaign.check_duplicate()  # DuplicateSendError naming the earlier send
            except SMSgicError as exc:
                failure = exc
        with self._lock:
            if failure is not None or preview is None:
                self._state = ERROR
                self._result = failure or RuntimeError("the quote failed: see the traceback above")
            else:
                self._state, self._campaign, self._preview = QUOTED, campaign, preview
        self._render()
        return self._preview

    def request_send(self) -> None:
        """Show the confirmation panel with the exact total (only after a successful quote)."""
        with self._lock:
            if self._state != QUOTED:
                return
            self._state = CONFIRMING
        self._render()

    def cancel(self) -> None:
        """Close the confirmation panel; the quote stays valid."""
        with self._lock:
            if self._state != CONFIRMING:
                return
            self._state = QUOTED
        self._render()

    def confirm(self) -> SendResult | None:
        """Send the quoted campaign (``Campaign.run(confirm=True)``), once.

        Only the first call after ``request_send`` sends; later calls (a double click, another
        thread) find the state moved on and return None.
        """
        with self._lock:
            if self._state != CONFIRMING or self._campaign is None:
                return None
            self._state = SENDING
            campaign = self._campaign
        self._render()
        result: SendResult | BaseException = RuntimeError("interrupted while sending: check client.reconcile()")
        try:
            result = campaign.run(confirm=True)
        except SMSgicError as exc:
            result = exc
        except BaseException as exc:  # a bug or Ctrl-C: never leave the controls disabled; re-raised
            result = exc
            raise
        finally:
            with self._lock:
                self._result = result
                self._state = SENT if isinstance(result, SendResult) else FAILED
                self._campaign = None  # sent (or refused): a new send needs a new quote
            self._render()
        return result if isinstance(result, SendResult) else None

    # -- events and rendering ------------------------------------------------------------------

    def _on_edit(self, change: dict[str, Any]) -> None:
        with self._lock:
            if self._state == SENDING:
                return  # controls are disabled; a programmatic edit cannot change what is sent
            if self._state in (QUOTED, CONFIRMING):
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
        self.quote_button.disabled = sending or state == CONFIRMING
        self.send_button.disabled = state != QUOTED
        self.confirm_button.disabled = state != CONFIRMING
        self.cancel_button.disabled = state != CONFIRMING
        self.confirm_panel.layout.display = "" if state in (CONFIRMING, SENDING) else "none"
        p = self._preview
        if p is not None and state in (QUOTED, CONFIRMING, SENDING, SENT, FAILED):
            when = f"at {p.scheduled_at} UTC" if p.scheduled_at else "now"
            balance = f"{p.balance} {p.currency}" if p.balance is not None else "unknown"
            self.summary.value = (f"<b>Total {p.total} {html.escape(p.currency)} · balance {html.escape(balance)}</b>"
                                  f" · {p.recipients:,} recipient(s) · {p.sms_count:,} SMS"
                                  f" · from {html.escape(p.sender)} · {html.escape(when)}")
            self.confirm_text.value = (
                f"Send to <b>{p.recipients:,}</b> recipient(s) ({p.sms_count:,} SMS) from "
                f"<b>{html.escape(p.sender)}</b>, {html.escape(when)}, for exactly "
                f"<b>{p.total} {html.escape(p.currency)}</b>? This spends money and cannot be undone.")
        elif state == ERROR and self._result is not None:
            self.summary.value = error_html(self._result)
        else:
            self.summary.value = note_html("Quote first: the total and your balance are shown before sending.")
        result = self._result
        if state == SENDING:
            self.result_label.value = note_html("Sending...")
        elif state == SENT and isinstance(result, SendResult):
            self.result_label.value = (f"<span style='color:#047857'>Sent: sending id <b>{result.sending_id}</b> · "
                                       f"{result.total} {html.escape(result.currency)} · "
                                       f"{result.recipients:,} recipient(s)</span>")
        elif state == FAILED and isinstance(result, BaseException):
            self.result_label.value = error_html(result)
        else:
            self.result_label.value = ""
