"""Spend forecast: where this month's spend is heading, against the budget, in plain words.

The month is the calendar month of ``now`` (the ledger's clock: the server's time), in UTC:

* **month to date** (``mtd``): what went out from the month's start up to now;
* **committed**: sends scheduled later this month, and sends whose outcome is not yet known;
* **run rate**: ``mtd / days elapsed`` (fractional days since the month's start);
* **projection** at the month's end: ``mtd + committed + run rate x days left``;
* **band**: ``projection +/- 1.645 x s x sqrt(days left)`` (a 90 % band if days are independent),
  where ``s`` is the population standard deviation of the spend of each day begun so far
  (at midnight on the 11th: days 1-10); the low end never goes below ``mtd +
  committed`` (money already out or promised).

Money stays ``Decimal``: the run rate and the band are rounded half-even to 4 places (the API's
precision).  ``Forecast.sentence`` says it in words ("At this pace you reach the budget of
500.0000 GBP on the 23rd."); ``charts.forecast_chart`` draws ``Forecast.frame``.

>>> fc = sa.forecast(client)          # doctest: +SKIP
>>> fc.sentence                       # doctest: +SKIP
'At this pace you reach the budget of 500.0000 GBP on the 23rd (projected 612.4000 GBP by 31 December).'
"""
from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd

from ..core.dates import as_utc
from ..core.money import PLACES, format_money, is_missing, parse_money
from ..sending.budget import Budgets
from ..sending.ledger import Ledger

HORIZONS = ("month",)
Z90 = Decimal("1.645")  # two-sided 90 % of a normal distribution
FRAME_COLUMNS = ["date", "spent", "scheduled", "actual", "projected", "low", "high"]
_Q = Decimal(1).scaleb(-PLACES)
_DAY = Decimal(86400)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st, 22nd, 23rd..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True, eq=False)
class Forecast:
    """The month's forecast; ``frame`` has one row per day [date, spent (that day, None after
    today), scheduled (that day), actual (cumulative to that day, None after today), projected,
    low, high (cumulative; from today on)], all money Decimal."""

    month: str
    now: datetime
    mtd: Decimal
    committed: Decimal
    run_rate: Decimal
    projected: Decimal
    low: Decimal
    high: Decimal
    budget: Decimal | None
    currency: str | None
    reach_day: int | None  # the day of the month the projection reaches the budget, if it does
    frame: pd.DataFrame = field(repr=False)

    @property
    def sentence(self) -> str:
        """The forecast in plain words."""
        cur = self.currency
        end = self.frame["date"].iloc[-1]
        by = f"projected {format_money(self.projected, cur)} by {end.day} {end:%B}, 90 % band " \
             f"{format_money(self.low, cur)} to {format_money(self.high, cur)}"
        if self.budget is None:
            return f"At this pace the month ends at about {format_money(self.projected, cur)}: {by}; no budget is set."
        if self.mtd + self.committed >= self.budget:
            return (f"The budget of {format_money(self.budget, cur)} is already used: spent and scheduled come to "
                    f"{format_money(self.mtd + self.committed, cur)}; {by}.")
        if self.reach_day is not None:
            return f"At this pace you reach the budget of {format_money(self.budget, cur)} on the " \
                   f"{ordinal(self.reach_day)} ({by})."
        return f"At this pace you stay within the budget of {format_money(self.budget, cur)} ({by})."

    def __str__(self) -> str:
        return self.sentence

    def figure(self) -> Any:
        """``charts.forecast_chart(self)``."""
        from .charts import forecast_chart

        return forecast_chart(self)


def _spend_rows(source: Any, account: str | None, now: datetime | None) -> tuple[pd.DataFrame, datetime, Decimal | None]:
    """(rows [at, total, bucket], now, budget) from a Client, a Ledger or a spend frame."""
    ledger = getattr(source, "ledger", None) if not isinstance(source, (Ledger, pd.DataFrame)) else None
    if ledger is not None:  # a Client
        account = account or source.settings.account
        source = ledger
    if isinstance(source, Ledger):
        if not account:
            raise ValueError("forecast(ledger): name the account= (a ledger may hold several)")
        now = as_utc(now or source.now())
        budgets = Budgets(source)
        rows = budgets.sends(account, now)
        budget, _ = budgets.limits(account, f"{now:%Y-%m}")
        return rows.rename(columns={"total": "amount"}), now, budget
    if isinstance(source, pd.DataFrame):
        if now is None:
            raise ValueError("forecast(frame): give now= (the frame does not say what time it is)")
        now = as_utc(now)
        time_col = next((c for c in ("at", "scheduled_at", "created_at", "date", "period") if c in source.columns), None)
        money_col = next((c for c in ("cost", "total", "amount") if c in source.columns), None)
        if time_col is None or money_col is None:
            raise ValueError(f"forecast(frame): needs a time column (at, created_at, date or period) and a money "
                             f"column (cost, total or amount); got {list(source.columns)}")
        at = pd.to_datetime(source[time_col], utc=True)
        amount = [None if is_missing(v) else parse_money(v, f"forecast frame: {money_col}") for v in source[money_col]]
        rows = pd.DataFrame({"at": at, "amount": pd.Series(amount, index=source.index, dtype=object)})
        rows = rows[rows["amount"].notna()]
        if "bucket" in source.columns:
            rows["bucket"] = source.loc[rows.index, "bucket"]
        else:
            rows["bucket"] = ["spent" if t <= pd.Timestamp(now) else "scheduled" for t in rows["at"]]
        if "currency" in source.columns:
            rows["currency"] = source.loc[rows.index, "currency"]
        return rows.reset_index(drop=True), now, None
    raise TypeError(f"forecast: expected a Client, a Ledger or a spend frame, got {type(source).__name__}")


def forecast(source: Any, horizon: str = "month", *, budget: Any = None, now: datetime | None = None,
             account: str | None = None) -> Forecast:
    """This month's spend: to date, committed, and projected from the run rate with a 90 % band.

    ``source``: a ``Client`` (its ledger, account and budget), a ``Ledger`` (with ``account=``) or
    a spend frame (``client.spend()``, or any frame with a time and a money column; rows after
    ``now`` -- or with ``bucket == "scheduled"`` -- are committed, not spent; needs ``now=``).
    ``budget`` overrides the one set with ``client.set_budget``.  See the module docstring for
    the arithmetic.

    >>> sa.forecast(client).sentence   # doctest: +SKIP
    """
    if horizon not in HORIZONS:
        raise ValueError(f"horizon: must be one of {', '.join(HORIZONS)}, got {horizon!r}")
    rows, now, set_budget = _spend_rows(source, account, now)
    if budget is not None:
        set_budget = parse_money(budget, "budget")
    start = datetime(now.year, now.month, 1, tzinfo=now.tzinfo)
    days = calendar.monthrange(now.year, now.month)[1]
    end = start + timedelta(days=days)
    in_month = rows[(rows["at"] >= pd.Timestamp(start)) & (rows["at"] < pd.Timestamp(end))]
    spent_rows = in_month[(in_month["bucket"] == "spent") & (in_month["at"] <= pd.Timestamp(now))]
    later_rows = in_month.drop(spent_rows.index)
    day_of = lambda frame: [int(t.day) for t in frame["at"]]  # noqa: E731
    spent_by_day = [Decimal(0)] * (days + 1)
    for d, a in zip(day_of(spent_rows), spent_rows["amount"]):
        spent_by_day[d] += a
    scheduled_by_day = [Decimal(0)] * (days + 1)
    for t, a in zip(later_rows["at"], later_rows["amount"]):
        scheduled_by_day[max(int(t.day), now.day)] += a  # unknown outcomes, due already: today
    mtd = sum(spent_by_day, Decimal(0))
    committed = sum(scheduled_by_day, Decimal(0))
    elapsed = Decimal(int((now - start).total_seconds() * 1_000_000)) / (_DAY * 1_000_000)
    left = Decimal(days) - elapsed
    run_rate = (mtd / elapsed).quantize(_Q, ROUND_HALF_EVEN) if elapsed > 0 else Decimal(0)
    whole_days = max(1, math.ceil(elapsed))  # the days begun so far (today's counts once it has begun)
    daily = spent_by_day[1:whole_days + 1]
    mean = sum(daily, Decimal(0)) / len(daily)
    sigma = (sum(((x - mean) ** 2 for x in daily), Decimal(0)) / len(daily)).sqrt()

    def band(days_ahead: Decimal) -> Decimal:
        return (Z90 * sigma * days_ahead.sqrt()).quantize(_Q, ROUND_HALF_EVEN) if days_ahead > 0 else Decimal(0)

    floor = mtd + committed
    projected = (floor + run_rate * left).quantize(_Q, ROUND_HALF_EVEN)
    low, high = max(floor, projected - band(left)), projected + band(left)
    records, actual, scheduled_to = [], Decimal(0), Decimal(0)
    reach_day = None
    for d in range(1, days + 1):
        day_end = start + timedelta(days=d)
        scheduled_to += scheduled_by_day[d]
        if d <= now.day:
            actual += spent_by_day[d]
        ahead = max(Decimal(0), Decimal(int((day_end - now).total_seconds() * 1_000_000)) / (_DAY * 1_000_000))
        if d < now.day:
            proj = lo = hi = None
        else:
            proj = (mtd + scheduled_to + run_rate * ahead).quantize(_Q, ROUND_HALF_EVEN)
            lo, hi = max(mtd + scheduled_to, proj - band(ahead)), proj + band(ahead)
            if set_budget is not None and reach_day is None and proj >= set_budget:
                reach_day = d
        records.append((pd.Timestamp(start + timedelta(days=d - 1)), spent_by_day[d] if d <= now.day else None,
                        scheduled_by_day[d], actual if d <= now.day else None, proj, lo, hi))
    frame = pd.DataFrame(records, columns=FRAME_COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"], utc=True).astype("datetime64[us, UTC]")
    for col in FRAME_COLUMNS[1:]:
        frame[col] = frame[col].astype(object)
    currencies = sorted(set(rows["currency"].dropna())) if "currency" in rows.columns else []
    return Forecast(month=f"{now:%Y-%m}", now=now, mtd=mtd, committed=committed, run_rate=run_rate,
                    projected=projected, low=low, high=high, budget=set_budget,
                    currency=currencies[0] if len(currencies) == 1 else None, reach_day=reach_day, frame=frame)
