"""``DashboardApp``: sendings with their status and cost, status and spend over time.

/sendings rows carry no cost, so the cost column and the spend chart come from the local
ledger (the quotes and sends ``campaign.py`` recorded) joined with one /sendings snapshot;
sendings the ledger never saw are listed without a cost, not dropped.  The balance line is
every balance the client has seen (each ``client.balance()`` call records one, and so does
each refresh).

>>> DashboardApp(client)   # doctest: +SKIP
"""
from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from ..analytics import charts
from ..analytics.spend import FREQS, check_freq
from ..core.dates import format_instant
from ..core.errors import SMSgicError
from ..core.money import format_money
from .widgets import App, error_html, frame_html, note_html, show_figure, table_html, tag

if TYPE_CHECKING:
    from ..client import Client

NAME = "dashboard"
TABLE_COLUMNS = ["id", "status", "created_at", "scheduled_at", "total_sms", "cost", "currency", "text"]
TEXT_WIDTH = 60  # characters of a sending's text shown in the table
CHART_MIN_WIDTH = "560px"  # narrower than this, the two time charts stack: their legends and axes need it


class DashboardApp(App):
    """Refresh to fetch /sendings and /balance; shows the sendings table (newest first, with
    the ledger's cost), sendings by status over time, spend over time (per period, cumulative,
    and the balance), and spend by country.

    Properties: ``table`` (the sendings shown), ``spend`` (``Ledger.spend`` rows),
    ``figures`` (name -> plotly Figure), ``error``.
    """

    def __init__(self, client: "Client", freq: str = "D", refresh: bool = True) -> None:
        check_freq(freq)
        self.client = client
        self.error: BaseException | None = None
        self._table = pd.DataFrame(columns=TABLE_COLUMNS)
        self._spend = pd.DataFrame()
        self.figures: dict[str, go.Figure] = {}
        self._build(freq)
        if refresh:
            self.refresh()

    def _build(self, freq: str) -> None:
        self.refresh_button = tag(w.Button(description="Refresh", icon="refresh", button_style="primary"),
                                  NAME, "refresh")
        self.freq_input = tag(w.Dropdown(options=[(f"per {name}", key) for key, name in FREQS.items()], value=freq,
                                         description="Period"), NAME, "freq")
        self.summary = tag(w.HTML(), NAME, "summary")
        self.table_view = tag(table_html(), NAME, "sendings")
        # min_width 0: a grid cell may be narrower than a figure's first draw, which then resizes to it.
        self.status_chart = tag(w.Output(layout=w.Layout(min_width="0")), NAME, "status")
        self.spend_chart = tag(w.Output(layout=w.Layout(min_width="0")), NAME, "spend")
        self.country_chart = tag(w.Output(layout=w.Layout(min_width="0")), NAME, "country")
        self.widget = tag(w.VBox([
            w.HBox([self.refresh_button, self.freq_input], layout=w.Layout(flex_flow="row wrap")),
            self.summary,
            self.table_view,
            # Side by side where each gets CHART_MIN_WIDTH, one under the other in a notebook column.
            w.GridBox([self.status_chart, self.spend_chart], layout=w.Layout(
                width="100%", grid_gap="8px",
                grid_template_columns=f"repeat(auto-fit, minmax(min(100%, {CHART_MIN_WIDTH}), 1fr))")),
            self.country_chart,
        ]), NAME, "app")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.freq_input.observe(lambda _: self.refresh(), "value")

    # -- public ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Fetch /sendings and /balance, join the ledger, redraw.  Errors are shown, not raised;
        the last good data stays on screen."""
        self.refresh_button.disabled = True
        try:
            client = self.client
            freq = self.freq_input.value
            sendings = client.sendings()
            balance = client.balance()  # also records a snapshot for the balance line
            # One /sendings snapshot for the table and the spend (client.spend() would fetch again).
            spend = client.spend(freq, sendings=sendings)
            history = client.balance_history()
        except SMSgicError as exc:
            self.error = exc
            self.summary.value = error_html(exc)
            return
        finally:
            self.refresh_button.disabled = False
        self.error = None
        self._spend = spend
        self._table = _sendings_table(sendings, spend, balance.currency)
        priced = spend[spend["priced"]] if len(spend) else spend
        self.figures = {
            "status": charts.status_over_time(sendings, freq),
            "spend": charts.spend_over_time(priced, history, currency=balance.currency, freq=freq),
            "country": charts.cost_by_country(priced, currency=balance.currency),
        }
        self.figures["country"].update_layout(title_text="Spend by country")
        show_figure(self.status_chart, self.figures["status"])
        show_figure(self.spend_chart, self.figures["spend"])
        show_figure(self.country_chart, self.figures["country"])
        self.summary.value = _summary(sendings, priced, balance.amount, balance.currency,
                                      unpriced=int((~spend["priced"]).sum()) if len(spend) else 0,
                                      refreshed=_clock_now(client))
        # The table goes last: once it shows a new sending, the charts and summary already do.
        self.table_view.value = frame_html(self._table.assign(text=self._table["text"].map(_short)),
                                           empty="No sendings yet.")

    @property
    def table(self) -> pd.DataFrame:
        return self._table.copy()

    @property
    def spend(self) -> pd.DataFrame:
        return self._spend.copy()


def _short(text: object) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 1] + "…"


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


def _clock_now(client: "Client") -> datetime:
    """The ledger's clock (a notebook session sets it to the sandbox clock, so outputs are
    reproducible), else wall time; always UTC."""
    now = getattr(getattr(client, "ledger", None), "now", None)
    stamp = now() if callable(now) else datetime.now(UTC)
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _summary(sendings: pd.DataFrame, priced: pd.DataFrame, balance: Decimal, currency: str, unpriced: int,
             refreshed: datetime) -> str:
    counts = sendings["status"].value_counts(sort=False) if len(sendings) else pd.Series(dtype=int)
    by_status = ", ".join(f"{status} {int(n)}" for status, n in counts.items() if n) or "none"
    total = sum(priced["cost"], Decimal(0)) if len(priced) else Decimal(0)
    cur = html.escape(currency)
    line = (f"{len(sendings):,} sending(s) ({html.escape(by_status)}) · spend {html.escape(format_money(total))} {cur} · "
            f"balance <b>{balance} {cur}</b> · refreshed {format_instant(refreshed)} UTC")
    if unpriced:
        line += " · " + note_html(f"{unpriced} sending(s) not in the local ledger: no cost known", "#b45309")
    return line
