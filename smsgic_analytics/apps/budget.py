"""Money foresight in the apps: the month's budget gauge (50/80/100 % alerts) and the "rates
changed since your last quote" warning.  One ``MoneyPanel`` per app; the app calls ``update``
after each quote.  The texts speak of what the user sees, never of Python arguments.

>>> panel = MoneyPanel(client); panel.update(quote_total=Decimal("12.5000"), countries=["Latvia"])  # doctest: +SKIP
"""
from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

import ipywidgets as w
import pandas as pd

from ..core.dates import format_instant
from ..core.errors import SMSgicError
from ..core.money import format_money
from ..sending.budget import ALERT_LEVELS, BudgetStatus, alert_level
from .widgets import tag

if TYPE_CHECKING:
    from ..client import Client

NAME = "money"
# One colour per alert level: none, 50 %, 80 %, 100 % (and over).
ALERT_COLORS = {0: "#047857", 50: "#b45309", 80: "#c2410c", 100: "#b91c1c"}
MAX_CHANGES_LISTED = 5


def budget_html(status: BudgetStatus, this_send: Decimal | None = None, currency: str | None = None) -> str:
    """The month's budget in one line with a bar: spent, scheduled, this send, and the alert level
    reached (50, 80 or 100 %); "" when no budget is set."""
    if status.budget is None:
        return ""
    cur = status.currency or currency
    after = status.committed + (this_send or Decimal(0))
    level = alert_level(after, status.budget)
    color = ALERT_COLORS[level]
    share = 100 if status.budget == 0 else min(100, float(after * 100 / status.budget))
    words = {0: "within budget", 50: "half the budget used", 80: "80 % of the budget used",
             100: "over budget" if after > status.budget else "the budget is used up"}[level]
    send = f" · this send {html.escape(format_money(this_send, cur))}" if this_send is not None else ""
    return (f"<div data-alert='{level}' style='color:{color}'><b>Budget {html.escape(status.month)}: "
            f"{html.escape(format_money(status.budget, cur))}</b> · spent {html.escape(format_money(status.spent, cur))}"
            f" · scheduled {html.escape(format_money(status.scheduled, cur))}{send} · <b>{words}</b>"
            f"<div style='background:#e5e7eb;height:6px;width:100%;max-width:24em'>"
            f"<div style='background:{color};height:6px;width:{share:.1f}%'></div></div></div>")


def changes_html(changes: Any, since: datetime) -> str:
    """The warning for rate-card rows that changed after ``since`` (a ``rate_changes`` frame); "" when none."""
    if changes is None or len(changes) == 0:
        return ""
    rows = []
    for row in changes.head(MAX_CHANGES_LISTED).itertuples(index=False):
        name = row.country if pd.isna(row.mnc) else f"{row.country} {'' if pd.isna(row.operator) else row.operator}" \
            f" ({row.mcc}/{row.mnc})"
        rows.append(f"{html.escape(str(name).strip())}: {row.old} → {row.new} ({'+' if row.change > 0 else ''}"
                    f"{row.change_pct} %)")
    more = f" and {len(changes) - MAX_CHANGES_LISTED} more" if len(changes) > MAX_CHANGES_LISTED else ""
    return (f"<div data-role='rates-changed' style='color:#b45309'><b>Rates changed since your last quote</b> "
            f"({html.escape(format_instant(since))} UTC): {'; '.join(rows)}{more}.</div>")


class MoneyPanel:
    """A small widget: the budget gauge and, after a second quote, the rates that changed since
    the first.  ``widget`` goes into an app's layout; ``update`` after each quote."""

    def __init__(self, client: "Client") -> None:
        self.client = client
        self.last_quote_at: datetime | None = None
        self.widget = tag(w.HTML(), NAME, "panel")
        self.changes: Any = None

    def update(self, quote_total: Decimal | None = None, countries: Iterable[str] | None = None,
               scheduled_at: str | None = None) -> str:
        """Re-draw after a quote of ``quote_total`` to ``countries``; returns the HTML shown."""
        parts = []
        try:
            status = self.client.budget(scheduled_at[:7] if scheduled_at else None)
            parts.append(budget_html(status, quote_total, self.client.currency()))
            if self.last_quote_at is not None:
                self.changes = self.client.rates_changed_since(self.last_quote_at, countries)
                parts.append(changes_html(self.changes, self.last_quote_at))
        except (SMSgicError, OSError) as exc:  # a gauge is never a reason to fail a quote
            parts.append(f"<i>Budget not shown: {html.escape(str(exc))}</i>")
        self.last_quote_at = self.client.ledger.now()
        self.widget.value = "".join(p for p in parts if p)
        return self.widget.value


def budget_widget(client: "Client", month: str | None = None) -> w.HTML:
    """The month's budget gauge on its own (for a notebook or the dashboard)."""
    return tag(w.HTML(budget_html(client.budget(month), currency=client.currency()) or "<i>No budget set.</i>"),
               NAME, "gauge")


__all__ = ["ALERT_COLORS", "ALERT_LEVELS", "MoneyPanel", "budget_html", "budget_widget", "changes_html"]
