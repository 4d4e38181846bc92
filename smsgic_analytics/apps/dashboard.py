"""``DashboardApp``: what was sent, what it cost and where it stands -- a read-only page.

Headline figures (spend, SMS, sendings, delivered share, cost per SMS, and the budget when
there is one), a date range, sendings by status and spend over time, spend by country, the
sendings table and a drill-down into one sending.  It only reads: GET /sendings and GET
/balance on Refresh (the first one when it opens), nothing else -- no send, no clock move --
and the date range, the period and the drill-down redraw from what it already has.

/sendings rows carry no cost, so the cost column and the spend chart come from the local
ledger (the quotes and sends ``campaign.py`` recorded) joined with one /sendings snapshot;
sendings the ledger never saw are listed without a cost, not dropped.  The balance line is
every balance the client has seen (each ``client.balance()`` call records one, and so does
each refresh).

Budget: ``budget=`` an amount (Decimal or text, in the account's currency), a function
``client -> amount | None``, or by default ``find_budget`` (the client's own budget, when it
keeps one).  With a budget the headline says how much of it the range spent and the spend
chart draws it as a line.

Exports: every chart's modebar downloads a PNG (drawn by plotly.js in the browser, offline);
``export_html()`` (and the "Charts as HTML" button) gives one self-contained HTML page of the
charts with plotly.js inline.

>>> DashboardApp(client)   # doctest: +SKIP
"""
from __future__ import annotations

import base64
import html
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ..analytics import charts
from ..analytics.figures import export_config, figure_html
from ..analytics.spend import FREQS, check_freq
from ..core import spec
from ..core.dates import format_instant
from ..core.errors import SMSgicError
from ..core.money import format_money, is_missing, parse_money, round_money
from ..sending.budget import alert_level
from .widgets import PLOTLY_MIME, App, error_html, figure_bundle, frame_html, note_html, table_html, tag

if TYPE_CHECKING:
    from ..client import Client

NAME = "dashboard"
TABLE_COLUMNS = ["id", "status", "created_at", "scheduled_at", "total_sms", "cost", "currency", "text"]
TEXT_WIDTH = 60  # characters of a sending's text shown in the table (the drill-down shows it whole)
CHART_MIN_WIDTH = "560px"  # narrower than this, the two time charts stack: their legends and axes need it
EXPORT_NAME = "smsgic-dashboard.html"
DETAIL_COLUMNS = ["country", "operator", "numbers", "sms_count", "cost"]

Budget = Any  # an amount (Decimal, text), None, or a function client -> amount | None


def find_budget(client: "Client") -> Decimal | None:
    """The account's budget when the client keeps one (``client.budget()`` answering a
    ``BudgetStatus`` (its ``.budget``), an object with ``.amount``, or an amount), else None.
    The dashboard's default ``budget=``."""
    getter = getattr(client, "budget", None)
    if not callable(getter):
        return None
    try:
        value = getter()
    except (SMSgicError, LookupError):
        return None
    return _amount(getattr(value, "budget", getattr(value, "amount", value)))


def _amount(value: Any) -> Decimal | None:
    return None if value is None or is_missing(value) else parse_money(value, "budget", floats=True)


class DashboardApp(App):
    """Refresh fetches /sendings and /balance; everything else redraws what it has.

    Properties: ``table`` (the sendings in the range), ``spend`` (``client.spend`` rows in the
    range), ``headline`` (name -> value of the headline figures), ``figures`` (name -> plotly
    Figure), ``budget`` (Decimal or None), ``error``.  ``select(sending_id)`` drills into one sending.
    """

    def __init__(self, client: "Client", freq: str = "D", refresh: bool = True, *,
                 budget: Budget = find_budget, start: date | None = None, end: date | None = None) -> None:
        check_freq(freq)
        self.client = client
        self.error: BaseException | None = None
        self._budget_source = budget
        self.budget: Decimal | None = None
        self.currency = ""
        self._sendings = pd.DataFrame(columns=TABLE_COLUMNS)
        self._all_spend = pd.DataFrame()
        self._history = pd.DataFrame()
        self._balance: Decimal | None = None
        self._refreshed: datetime | None = None
        self._table = pd.DataFrame(columns=TABLE_COLUMNS)
        self._spend = pd.DataFrame()
        self.headline: dict[str, Any] = {}
        self.figures: dict[str, go.Figure] = {}
        self._build(freq, start, end)
        if refresh:
            self.refresh()

    def _build(self, freq: str, start: date | None, end: date | None) -> None:
        self.refresh_button = tag(w.Button(description="Refresh", icon="refresh", button_style="primary",
                                           tooltip="Fetch the sendings and the balance again (reads only)"),
                                  NAME, "refresh")
        self.freq_input = tag(w.Dropdown(options=[(f"per {name}", key) for key, name in FREQS.items()], value=freq,
                                         description="Period", layout=w.Layout(width="auto")), NAME, "freq")
        self.start_input = tag(w.DatePicker(description="From", value=start, layout=w.Layout(width="auto")),
                               NAME, "start")
        self.end_input = tag(w.DatePicker(description="To", value=end, layout=w.Layout(width="auto")), NAME, "end")
        self.headline_view = tag(w.HTML(), NAME, "headline")
        self.summary = tag(w.HTML(), NAME, "summary")
        self.table_view = tag(table_html(), NAME, "sendings")
        # min_width 0: a grid cell may be narrower than a figure's first draw, which then resizes to it.
        self.status_chart = tag(w.Output(layout=w.Layout(min_width="0")), NAME, "status")
        self.spend_chart = tag(w.Output(layout=w.Layout(min_width="0")), NAME, "spend")
        self.country_chart = tag(w.Output(layout=w.Layout(min_width="0")), NAME, "country")
        self.drill_input = tag(w.Dropdown(description="Sending", options=[], layout=w.Layout(width="auto",
                                                                                            max_width="100%")),
                               NAME, "drill")
        self.detail_view = tag(w.HTML(layout=w.Layout(min_width="0", max_width="100%", overflow="auto")),
                               NAME, "detail")
        self.export_button = tag(w.Button(description="Charts as HTML", icon="download",
                                          tooltip="One HTML file with the charts, opens offline"), NAME, "export")
        self.export_link = tag(w.HTML(), NAME, "export-link")
        grid = w.Layout(width="100%", grid_gap="8px",
                        grid_template_columns=f"repeat(auto-fit, minmax(min(100%, {CHART_MIN_WIDTH}), 1fr))")
        self.widget = tag(w.VBox([
            w.HBox([self.refresh_button, self.freq_input, self.start_input, self.end_input],
                   layout=w.Layout(flex_flow="row wrap", grid_gap="4px")),
            self.headline_view,
            self.summary,
            # Side by side where each gets CHART_MIN_WIDTH, one under the other in a notebook column.
            w.GridBox([self.status_chart, self.spend_chart], layout=grid),
            self.country_chart,
            w.HTML("<h3 style='margin:8px 0 4px'>Sendings</h3>"),
            self.table_view,
            w.HTML("<h3 style='margin:8px 0 4px'>One sending</h3>"),
            self.drill_input,
            self.detail_view,
            w.HBox([self.export_button, self.export_link], layout=w.Layout(flex_flow="row wrap")),
        ], layout=w.Layout(min_width="0", max_width="100%")), NAME, "app")
        self.refresh_button.on_click(lambda _: self.refresh())
        for control in (self.freq_input, self.start_input, self.end_input):
            control.observe(lambda _: self.redraw(), "value")
        self.drill_input.observe(lambda change: self._show_detail(change["new"]), "value")
        self.export_button.on_click(lambda _: self._offer_export())

    # -- public ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Fetch /sendings and /balance, join the ledger, redraw.  Errors are shown, not raised;
        the last good data stays on screen."""
        self.refresh_button.disabled = True
        try:
            client = self.client
            sendings = client.sendings()
            balance = client.balance()  # also records a snapshot for the balance line
            # One /sendings snapshot for the table and the spend (client.spend() would fetch again).
            spend = client.spend("D", sendings=sendings)
            history = client.balance_history()
            budget = self._budget_source(client) if callable(self._budget_source) else self._budget_source
            budget = _amount(budget)
        except SMSgicError as exc:
            self.error = exc
            self.summary.value = error_html(exc)
            return
        finally:
            self.refresh_button.disabled = False
        self.error = None
        self._sendings, self._all_spend, self._history = sendings, spend, history
        self._balance, self.currency, self.budget = balance.amount, balance.currency, budget
        self._refreshed = _clock_now(client)
        self.redraw()

    def redraw(self) -> None:
        """Draw the date range of what the last refresh fetched (no request)."""
        if self._refreshed is None:
            return
        freq = self.freq_input.value
        start, end = self.start_input.value, self.end_input.value
        if start and end and start > end:
            self.summary.value = note_html(f"The range ends ({end}) before it starts ({start}): nothing to show.",
                                           "#b91c1c")
            return
        sendings = _in_range(self._sendings, "created_at", start, end)
        spend = _in_range(self._all_spend, "created_at", start, end) if len(self._all_spend) else self._all_spend
        history = _in_range(self._history, "taken_at", start, end) if len(self._history) else self._history
        self._spend = spend
        self._table = _sendings_table(sendings, spend, self.currency)
        priced = spend[spend["priced"]] if len(spend) else spend
        cur = self.currency
        self.figures = {
            "status": charts.status_over_time(sendings, freq),
            "spend": charts.spend_over_time(priced, history, currency=cur, freq=freq, budget=self.budget),
            "country": charts.cost_by_country(priced, currency=cur),
        }
        self.figures["country"].update_layout(title_text="Spend by country")
        for output, name in ((self.status_chart, "status"), (self.spend_chart, "spend"),
                             (self.country_chart, "country")):
            _show(output, self.figures[name])
        self.headline = _headline(sendings, priced, self.budget)
        self.headline_view.value = _headline_html(self.headline, cur, start, end)
        unpriced = int((~spend["priced"]).sum()) if len(spend) else 0
        self.summary.value = _summary(self._balance, cur, unpriced, self._refreshed)
        self.table_view.value = frame_html(self._table.assign(text=self._table["text"].map(_short)),
                                           empty="No sendings yet." if self._sendings.empty
                                           else "No sendings in this date range.")
        self._fill_drill()
        self.export_link.value = ""

    def select(self, sending_id: int) -> None:
        """Drill into one sending of the range (as picking it in the Sending list does)."""
        self.drill_input.value = int(sending_id)

    def export_html(self, path: str | Path | None = None) -> str:
        """The charts as one self-contained HTML page (plotly.js inline: it opens offline);
        written to ``path`` too when given."""
        page = _charts_page(list(self.figures.values()), "SMSgic dashboard")
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    @property
    def table(self) -> pd.DataFrame:
        return self._table.copy()

    @property
    def spend(self) -> pd.DataFrame:
        return self._spend.copy()

    # -- parts -------------------------------------------------------------------------------

    def _fill_drill(self) -> None:
        options = [(f"#{int(r.id)} · {format_instant(r.created_at)[:10]} · {_short(r.text, 40)}", int(r.id))
                   for r in self._table.itertuples()]
        keep = self.drill_input.value
        self.drill_input.options = options
        ids = [v for _, v in options]
        self.drill_input.value = keep if keep in ids else (ids[0] if ids else None)
        self._show_detail(self.drill_input.value)

    def _show_detail(self, sending_id: int | None) -> None:
        if sending_id is None:
            self.detail_view.value = "<p><i>No sending to show.</i></p>"
            return
        row = self._table[self._table["id"] == sending_id]
        if row.empty:
            return
        rec = row.iloc[0]
        cost = rec["cost"]
        rows = [("Status", html.escape(str(rec["status"]))),
                ("Created", _when(rec["created_at"])),
                ("Scheduled", _when(rec["scheduled_at"])),
                ("SMS", f"{int(rec['total_sms']):,}"),
                ("Cost", html.escape(format_money(cost, self.currency) if cost is not None
                                     else "not in the local ledger: no cost known"))]
        cells = "".join(f"<tr><th style='text-align:left;padding:1px 10px 1px 0'>{k}</th><td>{v}</td></tr>"
                        for k, v in rows)
        parts = self._spend[self._spend["sending_id"] == sending_id] if len(self._spend) else self._spend
        parts = parts[parts["priced"]] if len(parts) else parts
        by_destination = frame_html(parts[DETAIL_COLUMNS] if len(parts) else None, currency=self.currency or None,
                                    empty="No per-country cost: the local ledger did not price this sending.")
        self.detail_view.value = (
            f"<div class='smsgic-dashboard-detail-text' style='white-space:pre-wrap;overflow-wrap:anywhere;"
            f"border-left:3px solid #9ca3af;padding:2px 8px;margin:4px 0'>{html.escape(str(rec['text']))}</div>"
            f"<table>{cells}</table>{by_destination}")

    def _offer_export(self) -> None:
        data = base64.b64encode(self.export_html().encode("utf-8")).decode("ascii")
        self.export_link.value = (f"<a download='{EXPORT_NAME}' href='data:text/html;base64,{data}' "
                                  f"class='smsgic-dashboard-export-file'>Save {EXPORT_NAME}</a>")


def _when(value: Any) -> str:
    if value is None or is_missing(value):
        return ""
    return html.escape(format_instant(pd.Timestamp(value))) + " UTC"


def _show(output: w.Output, fig: go.Figure) -> None:
    """The figure as plotly's mime bundle, with the export config (PNG named after its title)."""
    bundle = figure_bundle(fig)
    bundle["data"][PLOTLY_MIME]["config"] = export_config(fig)
    output.outputs = (bundle,)


def _charts_page(figures: list[go.Figure], title: str) -> str:
    if not figures:
        return figure_html(charts.empty_figure(title))
    first, *rest = figures
    page = figure_html(first)
    divs = "".join(pio.to_html(f, include_plotlyjs=False, full_html=False, config=export_config(f), validate=False)
                   for f in rest)
    return page.replace("</body>", f"{divs}</body>", 1).replace("<head>", f"<head><title>{html.escape(title)}</title>", 1)


def _in_range(df: pd.DataFrame, column: str, start: date | None, end: date | None) -> pd.DataFrame:
    """Rows whose ``column`` (UTC) falls on ``start``..``end`` inclusive (None: open)."""
    if df is None or df.empty or (start is None and end is None):
        return df
    day = pd.to_datetime(df[column], utc=True).dt.date
    keep = pd.Series(True, index=df.index)
    if start is not None:
        keep &= day >= start
    if end is not None:
        keep &= day <= end
    return df[keep.fillna(False).astype(bool)]


def _short(text: object, width: int = TEXT_WIDTH) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _sendings_table(sendings: pd.DataFrame, spend: pd.DataFrame, currency: str) -> pd.DataFrame:
    """Sendings newest first with the ledger's exact cost (None when the ledger has no quote)."""
    cost: dict[int, Decimal] = {}
    if len(spend):
        for sid, amount, priced in zip(spend["sending_id"], spend["cost"], spend["priced"]):
            if priced and sid is not pd.NA:
                cost[int(sid)] = cost.get(int(sid), Decimal(0)) + amount
    table = sendings.sort_values(["created_at", "id"], ascending=False, kind="stable").reset_index(drop=True)
    table["cost"] = pd.Series([cost.get(int(i)) for i in table["id"]], index=table.index, dtype=object)
    table["currency"] = [currency if c is not None else None for c in table["cost"]]
    return table[TABLE_COLUMNS]


def _headline(sendings: pd.DataFrame, priced: pd.DataFrame, budget: Decimal | None) -> dict[str, Any]:
    """The headline figures, exact: spend (priced sendings), SMS and sendings (all of the range),
    delivered share (Sent of those with a final status), cost per SMS (of the priced sendings)."""
    spend = sum(priced["cost"], Decimal(0)) if len(priced) else Decimal(0)
    priced_sms = int(priced["sms_count"].sum()) if len(priced) else 0
    statuses = sendings["status"].astype(str) if len(sendings) else pd.Series(dtype=str)
    sent, failed = int((statuses == spec.SENT).sum()), int((statuses == spec.FAILED).sum())
    return {
        "spend": spend,
        "sms": int(pd.to_numeric(sendings["total_sms"]).sum()) if len(sendings) else 0,
        "sendings": len(sendings),
        "sent": sent,
        "final": sent + failed,
        "delivered_share": (Decimal(sent) / Decimal(sent + failed)) if sent + failed else None,
        "cost_per_sms": round_money(spend / priced_sms) if priced_sms else None,
        "budget": budget,
        "budget_share": (spend / budget) if budget else None,
    }


def _card(label: str, value: str, note: str = "", role: str = "") -> str:
    return (f"<div class='smsgic-dashboard-figure smsgic-dashboard-figure-{role}' style='flex:1 1 120px;"
            f"min-width:110px;border:1px solid #e5e7eb;border-radius:6px;padding:6px 10px'>"
            f"<div style='font-size:12px;color:#4b5563'>{html.escape(label)}</div>"
            f"<div style='font-size:20px;font-weight:600;white-space:nowrap'>{html.escape(value)}</div>"
            f"<div style='font-size:11px;color:#6b7280'>{html.escape(note)}</div></div>")


def _percent(share: Decimal) -> str:
    return f"{share * 100:.1f} %"


def _headline_html(h: dict[str, Any], currency: str, start: date | None, end: date | None) -> str:
    span = ("all dates" if start is None and end is None
            else f"{start.isoformat() if start else '…'} to {end.isoformat() if end else '…'}")
    cards = [
        _card(f"Spend ({currency})", format_money(h["spend"]), span, "spend"),
        _card("SMS", f"{h['sms']:,}", "parts sent, all sendings", "sms"),
        _card("Sendings", f"{h['sendings']:,}", "", "sendings"),
        _card("Delivered", _percent(h["delivered_share"]) if h["delivered_share"] is not None else "–",
              f"{h['sent']} Sent of {h['final']} final" if h["final"] else "none final yet", "delivered"),
        _card(f"Cost per SMS ({currency})", format_money(h["cost_per_sms"]) if h["cost_per_sms"] is not None else "–",
              "of the priced sendings", "cost-per-sms"),
    ]
    if h["budget"] is not None:
        share = h["budget_share"]
        level = alert_level(h["spend"], h["budget"])  # the sender's 50/80/100 % alerts, on the same rule
        note = f"{_percent(share)} spent" if share is not None else ""
        cards.append(_card(f"Budget ({currency})", format_money(h["budget"]),
                           f"{note} · {level} % alert" if level else note, "budget"))
    return f"<div style='display:flex;flex-wrap:wrap;gap:8px;margin:4px 0'>{''.join(cards)}</div>"


def _clock_now(client: "Client") -> datetime:
    """The ledger's clock (a notebook session sets it to the sandbox clock, so outputs are
    reproducible), else wall time; always UTC."""
    now = getattr(getattr(client, "ledger", None), "now", None)
    stamp = now() if callable(now) else datetime.now(UTC)
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _summary(balance: Decimal | None, currency: str, unpriced: int, refreshed: datetime) -> str:
    cur = html.escape(currency)
    line = f"Balance <b>{balance} {cur}</b> · refreshed {format_instant(refreshed)} UTC"
    if unpriced:
        line += " · " + note_html(f"{unpriced} sending(s) not in the local ledger: no cost known", "#b45309")
    return line

