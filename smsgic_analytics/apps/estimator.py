"""``EstimatorApp``: what will this campaign cost?  Numbers + message in, cost table out.

Offline first: the numbers are placed and priced from a rates table (``estimate(...,
rates=...)``) the moment they are pasted, with no API call per keystroke.  "Exact quote"
asks the API once (``client.calculate``); after that every edit of the message is re-priced
from the quote's per-number rates (``quote.reprice``), still with no API call.  A single
text costs ``rate x segments`` per number, so results are cached per segment count: typing
inside the same segment count costs only the segment counter.

>>> app = EstimatorApp(client, numbers=df["phone"])   # doctest: +SKIP
>>> app                                               # doctest: +SKIP  (shows the widget)
>>> app.set_message("Sale today!"); app.total         # doctest: +SKIP
Decimal('41.2210')
"""
from __future__ import annotations

import dataclasses
import html
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd

from ..analytics import charts
from ..audience.recipients import Recipients, normalize_recipients
from ..core.errors import SMSgicError, ValidationError
from ..core.money import format_money
from ..numbers.normalize import numbers_series
from ..pricing.estimate import OfflineEstimate, RateTable, offline_estimate
from ..pricing.quote import Quote
from ..sending.risks import campaign_risks
from ..text.advice import Advice, advise
from ..text.alphabet import GSM7_NAME, GSM7_PART, GSM7_SINGLE, UCS2_PART, UCS2_SINGLE
from ..text.segments import segments
from .audience_input import AudienceInput
from .auditcard import audit_card
from .budget import MoneyPanel
from .panels import bounded_html, export_links, parts_html, problems_html, show_html
from .widgets import App, error_html, frame_html, note_html, show_figure, table_html, tag

if TYPE_CHECKING:
    from ..client import Client

NAME = "estimator"
PLACEHOLDER = "Phone numbers, one per line or comma separated"
OFFLINE, QUOTE, WHAT_IF = "offline", "quote", "what-if"


def _money(amount: Decimal, currency: str | None = None) -> str:
    """An amount in the app's text: 4 decimals (``money.format_money``), HTML-safe."""
    return html.escape(format_money(amount, currency or None))


def counter_text(text: str) -> str:
    """``"GSM-7 · 2 segments · 210/306 septets"``: encoding, parts, units used / units the parts hold."""
    s = segments(text)
    gsm = s.encoding == GSM7_NAME
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    capacity = single if s.segments <= 1 else part * s.segments
    unit = "septets" if gsm else "UTF-16 units"
    return f"{s.encoding} · {s.segments} segment{'' if s.segments == 1 else 's'} · {s.units}/{capacity} {unit}"


class EstimatorApp(App):
    """Price a message to an audience: live counter, encoding advice, cost by country/operator.

    ``client`` (optional) enables the exact quote and supplies the rates table when ``rates``
    is not given; with neither there is no price, only the counter and the number checks.
    Properties: ``table`` (the DataFrame shown), ``total`` (Decimal: the quote's total, or the
    offline expected total), ``mode`` ("offline", "quote", "what-if" or None),
    ``counter_text``, ``invalid`` (rejected input rows with reasons), ``quote``, ``estimate``,
    ``error`` (the last error shown, or None).
    """

    def __init__(self, client: "Client | None" = None, numbers: Any = None, rates: pd.DataFrame | None = None,
                 message: str = "") -> None:
        self.client = client
        self.error: BaseException | None = None
        self._numbers = pd.Series([], dtype=object)
        self._recipients: Recipients = normalize_recipients(self._numbers, on_invalid="report")
        self._message = message
        self._quote: Quote | None = None  # the API's quote, for the numbers as they were then
        self._offline: dict[int, OfflineEstimate] = {}
        self._whatif: dict[int, Quote] = {}
        self._table = pd.DataFrame()
        self._shown: tuple[Any, ...] | None = None
        self._rates_error: SMSgicError | None = None
        self._build()
        self.money = MoneyPanel(client) if client is not None else None  # budget, "rates changed since..."
        if self.money is not None:
            self.widget.children = (*self.widget.children, self.money.widget)
        self._rates = self._load_rates(rates)
        if numbers is not None:
            self.set_numbers(numbers)
        self._update()

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.numbers_input = tag(w.Textarea(placeholder=PLACEHOLDER,
                                            description="Numbers", continuous_update=False,
                                            layout=w.Layout(width="95%", height="8em")),
                                 NAME, "numbers")
        self.audience = AudienceInput(NAME, self._on_audience, self.numbers_input)
        self.upload, self.column, self.region = self.audience.upload, self.audience.column, self.audience.region
        self.message_input = tag(w.Textarea(value=self._message, placeholder="Message text", description="Message",
                                            continuous_update=True, layout=w.Layout(width="95%", height="6em")),
                                 NAME, "message")
        self.counter = tag(w.Label(), NAME, "counter")
        self.parts = tag(w.HTML(layout=w.Layout(min_width="0")), NAME, "parts")
        self.warnings = bounded_html(NAME, "warnings", border="2px solid #f59e0b", padding="4px")
        self.advice = tag(w.HTML(), NAME, "advice")
        self.apply_button = tag(w.Button(description="Use suggestion", icon="magic",
                                         layout=w.Layout(display="none", width="auto")), NAME, "apply")
        self.quote_button = tag(w.Button(description="Exact quote", icon="calculator", button_style="primary",
                                         disabled=self.client is None, layout=w.Layout(width="auto"),
                                         tooltip="Price with the API" if self.client else "No client: offline only"),
                                NAME, "quote")
        self.progress = tag(w.Output(), NAME, "progress")
        self.status = tag(w.HTML(), NAME, "status")
        self.totals = tag(w.HTML(), NAME, "totals")
        self.table_view = tag(table_html(), NAME, "table")
        self.exports = tag(w.HTML(), NAME, "exports")
        self.chart = tag(w.Output(), NAME, "chart")
        self.invalid_box = bounded_html(NAME, "invalid", border="1px solid #f59e0b", padding="4px")
        self.audit_view = tag(w.HTML(), NAME, "audit")  # the audience audit, before any send
        wrap = {"layout": w.Layout(flex_flow="row wrap")}  # rows wrap in a narrow notebook column
        self.widget = tag(w.VBox([
            self.numbers_input,
            self.audience.widget,
            self.invalid_box,
            self.audit_view,
            self.message_input,
            self.counter,
            self.parts,
            w.HBox([self.advice, self.apply_button], **wrap),
            w.HBox([self.quote_button, self.status], **wrap),
            self.progress,
            self.warnings,
            self.totals,
            self.table_view,
            self.exports,
            self.chart,
        ]), NAME, "app")
        self.message_input.observe(self._on_message, "value")
        self.apply_button.on_click(lambda _: self.apply_suggestion())
        self.quote_button.on_click(lambda _: self.exact_quote())

    def _load_rates(self, rates: pd.DataFrame | None) -> RateTable | None:
        try:
            if rates is None and self.client is not None:
                rates = self.client.rates()
            return RateTable.from_frame(rates) if rates is not None else None
        except SMSgicError as exc:
            self._rates_error = exc
            self._show_error(exc)  # the app still counts segments and checks numbers
            return None

    # -- public methods ----------------------------------------------------------------------

    def set_numbers(self, numbers: Any) -> None:
        """Use these numbers (list, Series -- its index names rows in reports -- or pasted text).

        A new audience drops the exact quote (it priced other numbers) and goes back offline.
        """
        if isinstance(numbers, str):
            self.audience.paste(numbers)  # as if pasted into the box: it shows them, and prices them
            return
        if isinstance(numbers, pd.Series):
            series = numbers.astype(object)
        else:
            series = numbers_series(numbers).astype(object)  # a DataFrame or a mapping is refused
        self.audience.echo(series)
        self.audience.set_source(series)  # calls back _on_audience, which prices them

    def set_message(self, text: str) -> None:
        """Use this message (the same as typing it): the counter, advice and prices follow."""
        if not isinstance(text, str):
            raise TypeError(f"set_message: the message is a str, got {type(text).__name__}")
        self.message_input.value = text  # the observer updates the rest

    def apply_suggestion(self) -> None:
        """Replace the message with the advisor's GSM-7 suggestion."""
        advice = advise(self._message)
        if advice.suggested_text != self._message:
            self.set_message(advice.suggested_text)

    def exact_quote(self) -> Quote | None:
        """Price the message to the numbers with the API (``client.calculate``); None on error.

        The error (its class and the API's message) is shown in the app and kept in ``.error``.
        """
        if self.client is None:
            self._show_error(TypeError("no client: pass EstimatorApp(client=...) to quote with the API"))
            return None
        missing = self._quote_missing()
        if missing:
            self._show_error(ValidationError(missing))
            return None
        self.quote_button.disabled = True
        self.status.value = note_html(f"Quoting {len(self._recipients.numbers):,} number(s) with the API...")
        self.progress.outputs = ()
        quote: Quote | None = None
        failure: BaseException | None = None
        try:
            # tqdm.auto draws its bar in here (chunked audiences).  The try is inside the
            # block because in a kernel the Output swallows exceptions that leave it.
            with self.progress:
                try:
                    quote = self.client.calculate(self._message, self._numbers, progress=True, on_invalid="report")
                except SMSgicError as exc:
                    failure = exc
        finally:
            self._enable_quote()
        if quote is None:
            self._show_error(failure or RuntimeError("the quote failed: see the traceback above the table"))
            return None
        self.error = None
        self._quote = quote
        self._whatif = {}
        if self.money is not None:
            self.money.update(quote.total, quote.numbers["country"].unique())
        self.status.value = note_html(f"Exact quote: {len(quote.numbers):,} number(s) priced by the API in "
                                      f"{quote.chunks} request(s).", "#047857")
        self._update(force=True)
        return quote

    def _quote_missing(self) -> str:
        """Why the exact quote cannot be asked yet, in words ("" when it can)."""
        if not self._message.strip():
            return "type a message first: the exact quote prices a message"
        if not self._recipients.numbers:
            return "paste or upload numbers first: the exact quote prices valid numbers"
        return ""

    def _enable_quote(self) -> None:
        missing = self._quote_missing() if self.client is not None else "no client: offline only"
        self.quote_button.disabled = bool(missing)
        self.quote_button.tooltip = ("Price with the API" if not missing else missing[0].upper() + missing[1:])

    # -- properties --------------------------------------------------------------------------

    @property
    def table(self) -> pd.DataFrame:
        """The cost table shown: by country and operator (offline: low/expected/high and basis;
        quote and what-if: total and share)."""
        return self._table.copy()

    @property
    def total(self) -> Decimal | None:
        """The campaign total shown: the (what-if) quote's total, or the offline expected total."""
        priced = self._priced(self._message)
        if isinstance(priced, Quote):
            return priced.total
        if isinstance(priced, OfflineEstimate):
            return priced.totals.expected
        return None

    @property
    def mode(self) -> str | None:
        """"quote" (the API's quote for this text), "what-if" (re-priced locally), "offline", or None."""
        priced = self._priced(self._message)
        if isinstance(priced, Quote):
            return QUOTE if priced.source == "api" else WHAT_IF
        return OFFLINE if priced is not None else None

    @property
    def counter_text(self) -> str:
        return self.counter.value

    @property
    def invalid(self) -> pd.DataFrame:
        """Input rows that are not phone numbers the API accepts: DataFrame[index, value, reason]."""
        return self._recipients.invalid.copy()

    @property
    def duplicates(self) -> pd.DataFrame:
        """Repeated numbers (priced once): DataFrame[index, value, number, first_index]."""
        return self._recipients.duplicates.copy()

    @property
    def quote(self) -> Quote | None:
        """The API quote, re-priced for the current text when it was edited since (what-if)."""
        priced = self._priced(self._message)
        return priced if isinstance(priced, Quote) else None

    @property
    def estimate(self) -> OfflineEstimate | None:
        """The offline estimate for the current text (None without a rates table or message)."""
        return self._offline_for(self._message) if self._rates is not None and self._message else None

    # -- pricing -----------------------------------------------------------------------------

    def _offline_for(self, text: str) -> OfflineEstimate:
        count = segments(text).segments
        if count not in self._offline:
            self._offline[count] = offline_estimate(self._numbers, text, self._rates)
        return dataclasses.replace(self._offline[count], message=text)

    def _priced(self, text: str) -> Quote | OfflineEstimate | None:
        """The price of ``text`` to the numbers: from the quote if there is one, else offline."""
        if not text:
            return None
        if self._quote is not None:
            if text == self._quote.message:
                return self._quote
            count = segments(text).segments
            if count not in self._whatif:
                self._whatif[count] = self._quote.reprice(message=text)
            return dataclasses.replace(self._whatif[count], message=text)
        if self._rates is not None and len(self._numbers):
            return self._offline_for(text)
        return None

    @staticmethod
    def _amount(priced: Quote | OfflineEstimate) -> Decimal:
        return priced.total if isinstance(priced, Quote) else priced.totals.expected

    # -- observers ---------------------------------------------------------------------------

    def _on_message(self, change: dict[str, Any]) -> None:
        self._message = change["new"]
        self._update()

    def _on_audience(self) -> None:
        """The typed numbers, upload, column, country or tidying changed the numbers: price the new ones."""
        self._use(self.audience.values)
        if self.audience.error is not None:
            self._show_error(self.audience.error)  # and the numbers were cleared: no stale total

    # -- state changes -----------------------------------------------------------------------

    def _use(self, series: pd.Series) -> None:
        """A new audience: every price, quote note and error of the previous one goes."""
        self._numbers = series
        self._recipients = normalize_recipients(series, on_invalid="report")
        self._offline, self._whatif, self._quote = {}, {}, None
        # The previous audience's notes go; an error loading the rates stays (it is still true).
        self.error = self._rates_error
        self.status.value = error_html(self._rates_error) if self._rates_error is not None else ""
        self._update(force=True)

    def _show_error(self, exc: BaseException) -> None:
        self.error = exc
        self.status.value = error_html(exc)

    # -- rendering ---------------------------------------------------------------------------

    def _update(self, force: bool = False) -> None:
        """Counter and advice on every change; prices only when what they depend on changed."""
        text = self._message
        self.counter.value = counter_text(text)
        self.parts.value = parts_html(text)
        self._enable_quote()
        priced = self._priced(text)
        self._render_advice(advise(text, recipients=len(self._recipients.numbers)), priced)
        mode = priced.source if isinstance(priced, Quote) else type(priced).__name__
        key = (id(self._numbers), id(self._quote), mode, segments(text).segments if text else None)
        if force or key != self._shown:
            self._shown = key
            self._render_prices(priced)
            self._render_invalid(priced)
            self.audit_view.value = audit_card(self._numbers, self._rates, text, self.client)
        self._render_warnings(priced)

    def _render_advice(self, advice: Advice, priced: Quote | OfflineEstimate | None) -> None:
        """Which characters force UCS-2, and what the GSM-7 suggestion saves in parts and money."""
        suggestion = advice.suggested_text if advice.suggested_text != advice.text else None
        self.apply_button.layout.display = "" if advice.forcing and suggestion is not None else "none"
        if not advice.forcing:
            self.advice.value = ""
            return
        chars = ", ".join(f"{html.escape(repr(f.char))} ×{len(f.positions)}" for f in advice.forcing)
        line = f"<b>UCS-2 because of</b> {chars}."
        if suggestion is not None:
            line += f" Suggested text: {advice.after.encoding}, {advice.after.segments} segment(s)"
            if advice.segments_saved > 0:
                line += f", saves {advice.segments_saved} part(s) per message ({advice.parts_saved:,} in all)"
                after = self._priced(suggestion)
                if priced is not None and after is not None:
                    line += f", {_money(self._amount(priced) - self._amount(after), priced.currency or '')}"
            else:
                line += ", saves no part"
            if advice.after.ucs2_chars:
                line += f"; still UCS-2 because of {html.escape(', '.join(map(repr, advice.after.ucs2_chars)))}"
            line += "."
        self.advice.value = line

    def _render_prices(self, priced: Quote | OfflineEstimate | None) -> None:
        if priced is None:
            self._table = pd.DataFrame()
            why = ("Type a message to price it." if not self._message else
                   "Paste or upload numbers to price them." if not len(self._numbers) else
                   "No rates table: pass rates= or a client, or use the exact quote.")
            self.totals.value = note_html(why)
            self.table_view.value = ""
            self.exports.value = ""
            show_figure(self.chart, None)
            return
        cur = priced.currency or ""
        if isinstance(priced, Quote):
            self._table = priced.by_operator()
            by_country = priced.by_country()
            what = ("<b>Exact quote</b> (API)" if priced.source == "api" else
                    f"<b>What-if</b> (re-priced from the quote, no API call; the quoted text costs "
                    f"{_money(self._quote.total, cur) if self._quote else ''})")
            self.totals.value = (f"{what} · {len(priced.numbers):,} numbers · {priced.sms_count:,} SMS · "
                                 f"subtotal {_money(priced.subtotal)} · tax {_money(priced.tax)} · "
                                 f"<b>total {_money(priced.total, cur)}</b>")
            title = "Cost by country (exact quote)" if priced.source == "api" else "Cost by country (what-if)"
        else:
            self._table = priced.by_operator()
            by_country = priced.by_country().rename(columns={"expected": "total"})[["country", "total"]]
            t = priced.totals
            self.totals.value = (f"<b>Offline estimate</b> (rates table, no API call) · {len(priced.rows):,} numbers"
                                 f" · {priced.sms_count:,} SMS · <b>expected {_money(t.expected, cur)}</b>"
                                 f" (range {_money(t.low)} to {_money(t.high)})")
            title = "Cost by country (offline, expected)"
        # The expected cost leads, then the rest of the money: it stays in view in a narrow panel.
        lead = [c for c in ("expected", "total") if c in self._table.columns]
        shown = self._table[[*lead, *(c for c in self._table.columns if c not in lead)]]
        self.table_view.value = frame_html(shown, empty="No priced numbers.", percent=("share",),
                                           currency=cur or None, money_first=True)
        self.exports.value = export_links(self._table, f"cost-by-operator-{self.mode or 'estimate'}",
                                          "Download this table")
        figure = charts.cost_by_country(by_country, currency=cur or None)
        figure.update_layout(title_text=title)
        show_figure(self.chart, figure)

    def _render_invalid(self, priced: Quote | OfflineEstimate | None) -> None:
        """Refused rows, repeats and numbers the rates table cannot place: counts by reason, the
        first rows and a download of all, in a box that never grows past 600 px."""
        parts = []
        invalid = self._recipients.invalid
        if len(invalid):
            parts.append(problems_html(invalid.rename(columns={"index": "row"}),
                                       f"{len(invalid):,} invalid number(s) of {self._recipients.total:,} row(s), not priced",
                                       "refused-rows"))
        duplicates = self._recipients.duplicates
        if len(duplicates):
            parts.append(problems_html(duplicates.rename(columns={"index": "row", "first_index": "first row"})
                                       .assign(reason="repeats an earlier row"),
                                       f"{len(duplicates):,} duplicate(s) priced once", "repeated-rows"))
        if isinstance(priced, OfflineEstimate) and len(priced.unplaced) > len(invalid):
            unplaced = priced.unplaced[~priced.unplaced["index"].isin(invalid["index"].tolist())]
            parts.append(problems_html(unplaced[["index", "value", "reason"]].rename(columns={"index": "row"}),
                                       f"{len(unplaced):,} valid number(s) the rates table cannot place "
                                       "(the exact quote prices them)", "unplaced-rows"))
        show_html(self.invalid_box, "".join(parts))

    def _render_warnings(self, priced: Quote | OfflineEstimate | None) -> None:
        """What would make this campaign costly by mistake (the sender asks to acknowledge each)."""
        sms = priced.sms_count if priced is not None else None
        total = self._amount(priced) if priced is not None else None
        key = (id(self._recipients), segments(self._message).segments if self._message else 0, total)
        if key == getattr(self, "_warned", None):
            return
        self._warned = key
        risks = campaign_risks(self._message, self._recipients.numbers, sms_count=sms, total=total,
                               currency=priced.currency if priced is not None else None)
        items = "".join(f"<li class='smsgic-warning-{r.key}'>{html.escape(r.text)}</li>" for r in risks)
        show_html(self.warnings, f"<b style='color:#92400e'>Before sending</b><ul style='margin:2px 0 2px 1.2em;"
                                 f"padding:0'>{items}</ul>" if risks else "")
