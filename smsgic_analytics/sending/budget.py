"""The budget guard: a month's budget and a per-campaign cap, kept in the ledger's SQLite file.

A send is refused (``BudgetExceededError``) before any request leaves when its confirmed total
would take its month -- the month of its ``scheduled_at``, UTC, or of now -- over the budget:
spent (sendings already out this month) + committed (sends scheduled later this month, and
those still 'pending' or 'unknown', which may have gone out) + this send.  The check runs under
the account's machine-wide send lock (``guard.SendGuard.claim``), where the ledger already holds
every earlier send as at least 'pending': two processes on one ledger cannot jointly overrun it.

Budgets live in their own table of the ledger file (one file to back up, one clock), per
account: a standing monthly budget (``period`` "*") or one for a given month ("2026-12"), and a
cap for any single campaign.  Money is TEXT, read back as ``Decimal``.

>>> budgets = Budgets(ledger)                                             # doctest: +SKIP
>>> budgets.set(account, month=Decimal("500.00"), campaign=Decimal("50"))   # doctest: +SKIP
>>> budgets.status(account).remaining                                     # doctest: +SKIP
Decimal('500.00')
"""
from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from ..core.dates import as_utc, format_instant, parse_scheduled_at
from ..core.errors import BudgetExceededError, ValidationError
from ..core.money import format_money, parse_money
from .ledger import Ledger
from .state import LIVE_STATES, SPENT_STATES

EVERY_MONTH = "*"
MONTH = "month"
CAMPAIGN = "campaign"
ALERT_LEVELS = (50, 80, 100)  # per cent of the month's budget used (spent + committed)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS budgets (
    account TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('month', 'campaign')),
    period TEXT NOT NULL,
    amount TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (account, kind, period)
)
"""
SENDS_COLUMNS = ["send_id", "at", "state", "total", "currency", "bucket"]


def month_of(value: datetime | pd.Timestamp) -> str:
    """``"YYYY-MM"`` of an instant, in UTC."""
    return f"{as_utc(value):%Y-%m}"


_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _period(value: Any) -> str:
    """A month as "YYYY-MM": that text, or the month of a date ("2026-12-24" or a date or
    datetime object).  Anything else is refused: pandas would read "March" as year 1 and
    "2026" as January."""
    if value is None:
        return EVERY_MONTH
    if isinstance(value, str):
        text = value.strip()
        if _MONTH.fullmatch(text):
            return text
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(text) if len(text) == 10 else value
    if isinstance(value, date):  # datetime and pd.Timestamp too
        return f"{value:%Y-%m}"
    raise ValidationError(f"period: expected a month such as '2026-12', got {value!r}",
                          field_errors={"period": ["a month YYYY-MM"]})


def _amount(value: Any, field: str) -> Decimal:
    amount = parse_money(value, field)  # a float is refused with its reason: budgets are exact
    if amount < 0:
        raise ValidationError(f"{field}: a budget must be >= 0, got {value!r}", field_errors={field: ["must be >= 0"]})
    return amount


@dataclass(frozen=True)
class BudgetStatus:
    """One month of one account: ``budget`` (None when none is set) and ``campaign_cap``,
    ``spent`` (sendings out), ``scheduled`` (committed, not yet out), ``currency``."""

    month: str
    budget: Decimal | None
    campaign_cap: Decimal | None
    spent: Decimal
    scheduled: Decimal
    currency: str | None

    @property
    def committed(self) -> Decimal:
        """Spent plus scheduled."""
        return self.spent + self.scheduled

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.committed

    @property
    def used_pct(self) -> Decimal | None:
        """Committed as a per cent of the budget (2 places); None without a budget."""
        if self.budget is None:
            return None
        if self.budget == 0:
            return Decimal(0) if self.committed == 0 else Decimal(100)
        return (self.committed * 100 / self.budget).quantize(Decimal("0.01"))

    def alert(self) -> int:
        """The highest alert level reached (0, 50, 80 or 100; see ``alert_level``)."""
        return alert_level(self.committed, self.budget)

    def __str__(self) -> str:
        cur = self.currency
        if self.budget is None:
            return f"{self.month}: no budget set; spent {format_money(self.spent, cur)}, scheduled {format_money(self.scheduled, cur)}"
        return (f"{self.month}: {self.used_pct}% of the budget {format_money(self.budget, cur)} used -- spent "
                f"{format_money(self.spent, cur)}, scheduled {format_money(self.scheduled, cur)}, left "
                f"{format_money(self.remaining, cur)}")


def check_budget(ledger: Ledger, account: str, total: Decimal, currency: str | None,
                 scheduled_at: str | None) -> BudgetStatus:
    """``Budgets(ledger).check(...)``: the one call the send pipeline makes (see the module docstring)."""
    return Budgets(ledger).check(account, total, currency, scheduled_at)


def alert_level(used: Decimal, budget: Decimal | None) -> int:
    """0, 50, 80 or 100: the highest of ``ALERT_LEVELS`` that ``used`` reaches as a share of
    ``budget`` (exact: 80 % of 500.00 is reached at 400.00, not at 399.9999).

    >>> alert_level(Decimal("400.00"), Decimal("500.00"))
    80
    """
    if budget is None:
        return 0
    reached = [level for level in ALERT_LEVELS if used * 100 >= budget * level]
    return max(reached, default=0)


class Budgets:
    """The budget table of one ledger file, and the sends that count against it."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        with self._write() as conn:
            conn.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"Budgets({str(self.ledger.path)!r})"

    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        # the ledger's own connections: one file, one set of pragmas (busy timeout, durability)
        return self.ledger._connect()

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self.ledger._write()

    def set(self, account: str, *, month: Any = None, campaign: Any = None, period: Any = None) -> BudgetStatus:
        """Set the monthly budget and/or the per-campaign cap (amounts in the account's currency;
        ``Decimal``, int or text, never a float); ``period`` "2026-12" sets that month only,
        None every month.  An amount left None is not changed.  Returns the month's status."""
        where = _period(period)
        rows = [(kind, _amount(value, kind)) for kind, value in ((MONTH, month), (CAMPAIGN, campaign)) if value is not None]
        if not rows:
            raise ValidationError("set_budget: give month= and/or campaign=", field_errors={"month": ["required"]})
        with self._write() as conn:
            for kind, amount in rows:
                conn.execute("INSERT OR REPLACE INTO budgets (account, kind, period, amount, set_at) VALUES (?,?,?,?,?)",
                             (account, kind, where, str(amount), format_instant(self.ledger.now())))
        return self.status(account, None if where == EVERY_MONTH else where)

    def clear(self, account: str, period: Any = None) -> None:
        """Remove the budget and cap of ``period`` (None: the standing ones)."""
        with self._write() as conn:
            conn.execute("DELETE FROM budgets WHERE account = ? AND period = ?", (account, _period(period)))

    def limits(self, account: str, month: str, conn: sqlite3.Connection | None = None) -> tuple[Decimal | None, Decimal | None]:
        """(monthly budget, campaign cap) in force in ``month``: the month's own, else the standing one."""
        with contextlib.nullcontext(conn) if conn is not None else self._connect() as c:
            rows = c.execute("SELECT kind, period, amount FROM budgets WHERE account = ? AND period IN (?, ?)",
                             (account, month, EVERY_MONTH)).fetchall()
        found: dict[str, tuple[bool, Decimal]] = {}
        for kind, where, amount in rows:
            own = where == month
            if kind not in found or own:
                found[kind] = (own, Decimal(amount))
        return (found[MONTH][1] if MONTH in found else None, found[CAMPAIGN][1] if CAMPAIGN in found else None)

    def sends(self, account: str, now: datetime | None = None) -> pd.DataFrame:
        """Every send that counts against a budget: DataFrame[send_id, at (its scheduled_at, else
        created_at; UTC), state, total (Decimal), currency, bucket ("spent": out by ``now``;
        "scheduled": later, or its outcome not yet known)]."""
        now = as_utc(now or self.ledger.now())
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT s.id, s.scheduled_at, s.created_at, s.state, q.total, q.currency FROM sends s"
                f" JOIN quotes q ON q.id = s.quote_id WHERE s.account = ? AND s.state IN ({','.join('?' * len(LIVE_STATES))})"
                " ORDER BY s.id", (account, *LIVE_STATES)).fetchall()
        out = []
        for send_id, scheduled, created, state, total, currency in rows:
            at = parse_scheduled_at(scheduled) if scheduled else as_utc(datetime.fromisoformat(created))
            bucket = "spent" if state in SPENT_STATES and at <= now else "scheduled"
            out.append((send_id, pd.Timestamp(at), state, Decimal(total), currency, bucket))
        frame = pd.DataFrame(out, columns=SENDS_COLUMNS)
        frame["at"] = pd.to_datetime(frame["at"], utc=True).astype("datetime64[us, UTC]")
        frame["total"] = frame["total"].astype(object)
        return frame

    def status(self, account: str, month: str | None = None, *, now: datetime | None = None) -> BudgetStatus:
        """The month's (default: now's) budget, cap, spent and scheduled."""
        now = as_utc(now or self.ledger.now())
        month = _period(month) if month is not None else month_of(now)
        budget, cap = self.limits(account, month)
        sends = self.sends(account, now)
        mine = sends[sends["at"].dt.strftime("%Y-%m") == month]
        spent = sum(mine.loc[mine["bucket"] == "spent", "total"], Decimal(0))
        scheduled = sum(mine.loc[mine["bucket"] == "scheduled", "total"], Decimal(0))
        currencies = sorted(set(mine["currency"].dropna()))
        return BudgetStatus(month, budget, cap, spent, scheduled, currencies[0] if len(currencies) == 1 else None)

    def check(self, account: str, total: Decimal, currency: str | None, scheduled_at: str | None) -> BudgetStatus:
        """Refuse (``BudgetExceededError``) a send of ``total`` whose month would go over budget,
        or that is over the campaign cap; else the month's status before it.  Call it under the
        account's send lock (``guard.SendGuard.claim`` does) for the check to hold."""
        now = self.ledger.now()
        month = month_of(parse_scheduled_at(scheduled_at) if scheduled_at else now)
        status = self.status(account, month, now=now)
        cur = currency or status.currency
        if status.campaign_cap is not None and total > status.campaign_cap:
            raise self._refusal(status, total, cur, CAMPAIGN,
                                f"this campaign's total {format_money(total, cur)} is over the per-campaign cap "
                                f"{format_money(status.campaign_cap, cur)}")
        if status.budget is not None and status.committed + total > status.budget:
            over = status.committed + total - status.budget
            raise self._refusal(status, total, cur, MONTH,
                                f"it would take {month} over its budget by {format_money(over, cur)}")
        return status

    @staticmethod
    def _refusal(status: BudgetStatus, total: Decimal, cur: str | None, limit: str, why: str) -> BudgetExceededError:
        budget = status.budget if limit == MONTH else status.campaign_cap
        assert budget is not None
        text = (f"Nothing was sent: {why}. Budget {format_money(status.budget, cur) if status.budget is not None else 'none'}"
                f" for {status.month}; spent {format_money(status.spent, cur)}; scheduled (committed, not yet sent) "
                f"{format_money(status.scheduled, cur)}; this send {format_money(total, cur)}"
                + (f"; campaign cap {format_money(status.campaign_cap, cur)}" if status.campaign_cap is not None else "")
                + ". Raise it with client.set_budget(...) or send less.")
        return BudgetExceededError(text, budget=budget, spent=status.spent, scheduled=status.scheduled,
                                   this_send=total, currency=cur, month=status.month, limit=limit,
                                   safe_to_repeat=None)


__all__ = ["ALERT_LEVELS", "BudgetStatus", "Budgets", "alert_level", "check_budget", "month_of"]
