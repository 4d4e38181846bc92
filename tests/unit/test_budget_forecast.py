"""Issue 20, the budget table and the spend forecast, over a real ledger file (no server).

The forecast's expected figures are worked out by hand in the comments (a calculator, not the
code under test): December 2026 has 31 days; at midnight on the 11th, 10 days have passed.
"""
from __future__ import annotations

import re
import types
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from manual_clock import ManualClock

import smsgic_analytics as sa
from smsgic_analytics.sending.budget import Budgets, alert_level
from smsgic_analytics.sending.ledger import Ledger, campaign_key

ACCOUNT = "0123456789abcdef"


def quote_like(total: str) -> types.SimpleNamespace:
    money = Decimal(total)
    return types.SimpleNamespace(
        sms_count=1, subtotal=money, tax=Decimal(0), total=money, currency="GBP",
        destinations=pd.DataFrame({"destination": ["Latvia "], "country": ["Latvia"], "operator": [None],
                                   "numbers": [1], "sms_count": [1], "price": [money], "total": [money]}))


def send(ledger: Ledger, clock: ManualClock, day: int, total: str, *, scheduled: str | None = None,
         answered: bool = True) -> int:
    """A send of ``total`` made on December ``day`` (09:00), optionally scheduled for later."""
    clock.now = datetime(2026, 12, day, 9, 0, tzinfo=UTC)
    message = f"campaign {day} {total} {scheduled}"
    qid = ledger.record_quote(ACCOUNT, message, ["37120000001"], quote_like(total))
    send_id, _ = ledger.claim_send(ACCOUNT, campaign_key(message, ["37120000001"], "MegaShop", scheduled), qid,
                                   "MegaShop", scheduled, "default", 1, duplicate_window=None)
    if answered:
        ledger.complete_send(send_id, 1000 + send_id)
    return send_id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, tzinfo=UTC))


@pytest.fixture
def ledger(tmp_path, clock) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite", clock=clock, lane=0)


def hand_ledger(ledger: Ledger, clock: ManualClock) -> None:
    send(ledger, clock, 1, "10.0000")
    send(ledger, clock, 3, "20.0000")
    send(ledger, clock, 8, "30.0000")
    send(ledger, clock, 9, "15.0000", scheduled="2026-12-20 10:00:00")  # committed, goes out on the 20th
    send(ledger, clock, 9, "99.0000", scheduled="2027-01-05 10:00:00")  # next month: not this month's
    clock.now = datetime(2026, 12, 11, tzinfo=UTC)


def test_forecast_on_a_hand_checked_ledger(ledger, clock) -> None:
    hand_ledger(ledger, clock)
    Budgets(ledger).set(ACCOUNT, month=Decimal("150.00"))
    fc = sa.forecast(ledger, account=ACCOUNT)
    # month to date 10 + 20 + 30 = 60; committed 15; run rate 60 / 10 days = 6 a day;
    # 21 days left: 60 + 15 + 6 x 21 = 201.
    assert (fc.mtd, fc.committed, fc.run_rate, fc.projected) == (
        Decimal("60.0000"), Decimal("15.0000"), Decimal("6.0000"), Decimal("201.0000"))
    # daily spend of days 1-10: 10, 0, 20, 0, 0, 0, 0, 30, 0, 0 -> mean 6, variance 1400/10 - 36 = 104;
    # band 1.645 x sqrt(104) x sqrt(21) = 1.645 x sqrt(2184) = 76.87625511... -> 76.8763
    assert fc.low == Decimal("124.1237") and fc.high == Decimal("277.8763")
    # projection by the end of day d (d >= 20): 75 + 6 x (d - 10) >= 150 first at d = 23 (153)
    assert fc.reach_day == 23
    assert "reach the budget of 150.0000 GBP on the 23rd" in fc.sentence
    row = fc.frame.set_index(fc.frame["date"].dt.day)
    assert row.loc[11, "actual"] == Decimal("60.0000") and pd.isna(row.loc[12, "actual"])  # today: so far
    assert row.loc[22, "projected"] == Decimal("147.0000") and row.loc[23, "projected"] == Decimal("153.0000")
    assert len(fc.frame) == 31


def test_forecast_from_a_spend_frame_matches_the_ledger(ledger, clock) -> None:
    hand_ledger(ledger, clock)
    rows = Budgets(ledger).sends(ACCOUNT)
    frame = pd.DataFrame({"at": rows["at"], "cost": rows["total"], "currency": rows["currency"]})
    fc = sa.forecast(frame, now=datetime(2026, 12, 11, tzinfo=UTC), budget=Decimal("150.00"))
    assert (fc.mtd, fc.committed, fc.projected, fc.reach_day) == (Decimal("60.0000"), Decimal("15.0000"),
                                                                 Decimal("201.0000"), 23)
    with pytest.raises(ValueError, match="now="):
        sa.forecast(frame)
    with pytest.raises(ValueError, match="horizon"):
        sa.forecast(frame, "year", now=datetime(2026, 12, 11, tzinfo=UTC))


def test_forecast_without_budget_and_over_budget_say_so(ledger, clock) -> None:
    hand_ledger(ledger, clock)
    assert "no budget is set" in sa.forecast(ledger, account=ACCOUNT).sentence
    assert "already used" in sa.forecast(ledger, account=ACCOUNT, budget=Decimal("70")).sentence
    assert "stay within the budget" in sa.forecast(ledger, account=ACCOUNT, budget=Decimal("1000")).sentence


def test_budget_status_counts_scheduled_and_unknown_as_committed(ledger, clock) -> None:
    hand_ledger(ledger, clock)
    clock.now = datetime(2026, 12, 10, tzinfo=UTC)
    send(ledger, clock, 10, "5.0000", answered=False)  # still 'pending': may have gone out
    status = Budgets(ledger).status(ACCOUNT)
    assert status.month == "2026-12" and status.budget is None
    assert status.spent == Decimal("60.0000") and status.scheduled == Decimal("20.0000")
    january = Budgets(ledger).status(ACCOUNT, "2027-01")
    assert january.spent == 0 and january.scheduled == Decimal("99.0000")


def test_budget_refusal_names_budget_spent_scheduled_and_this_send(ledger, clock) -> None:
    hand_ledger(ledger, clock)
    budgets = Budgets(ledger)
    budgets.set(ACCOUNT, month=Decimal("100.00"))
    assert budgets.check(ACCOUNT, Decimal("25.0000"), "GBP", None).committed == Decimal("75.0000")
    with pytest.raises(sa.errors.BudgetExceededError) as caught:
        budgets.check(ACCOUNT, Decimal("25.0001"), "GBP", None)
    error = caught.value
    assert isinstance(error, sa.SMSgicError)
    assert (error.budget, error.spent, error.scheduled, error.this_send) == (
        Decimal("100.00"), Decimal("60.0000"), Decimal("15.0000"), Decimal("25.0001"))
    for shown in ("100.00", "60.0000", "15.0000", "25.0001", "2026-12", "Nothing was sent"):
        assert shown in str(error)
    # a send scheduled in January counts against January (99 there already): no budget there? the
    # standing budget holds for every month
    with pytest.raises(sa.errors.BudgetExceededError, match="2027-01"):
        budgets.check(ACCOUNT, Decimal("2"), "GBP", "2027-01-10 10:00:00")
    budgets.set(ACCOUNT, month=Decimal("200"), period="2027-01")
    assert budgets.status(ACCOUNT, "2027-01").budget == Decimal("200")
    assert budgets.status(ACCOUNT, "2026-12").budget == Decimal("100.00")


def test_a_month_is_yyyy_mm_or_a_date_and_nothing_else_is_read_as_one(ledger, clock) -> None:
    budgets = Budgets(ledger)
    assert budgets.set(ACCOUNT, month=Decimal("50"), period=date(2027, 2, 14)).month == "2027-02"
    assert budgets.status(ACCOUNT, " 2027-02 ").budget == Decimal("50")
    assert budgets.set(ACCOUNT, month=Decimal("60"), period="2027-04-30").month == "2027-04"  # a day names its month
    for wrong in ("March", "2026", "2026-13", "2026-3", "2026-02-30", 202603, 2026.03):
        with pytest.raises(sa.errors.ValidationError, match=rf"^period: expected a month such as '2026-12', "
                                                             rf"got {re.escape(repr(wrong))}"):
            budgets.set(ACCOUNT, month=Decimal("70"), period=wrong)
    # the refusals stored nothing: no month other than the two set has a budget
    assert [budgets.status(ACCOUNT, m).budget for m in ("2027-01", "2027-02", "2027-03", "2027-04")] == \
        [None, Decimal("50"), None, Decimal("60")]


def test_campaign_cap(ledger, clock) -> None:
    budgets = Budgets(ledger)
    budgets.set(ACCOUNT, campaign=Decimal("5"))
    budgets.check(ACCOUNT, Decimal("5"), "GBP", None)
    with pytest.raises(sa.errors.BudgetExceededError, match="per-campaign cap") as caught:
        budgets.check(ACCOUNT, Decimal("5.0001"), "GBP", None)
    assert caught.value.limit == "campaign"


@pytest.mark.parametrize("bad", [500.0, "lots", -1, None])
def test_a_budget_is_exact_and_not_negative(ledger, bad) -> None:
    with pytest.raises(sa.errors.ValidationError, match="month" if bad is not None else "month="):
        Budgets(ledger).set(ACCOUNT, month=bad)


def test_alert_levels_are_exact() -> None:
    budget = Decimal("500.00")
    assert [alert_level(Decimal(v), budget) for v in ("0", "249.9999", "250", "399.9999", "400", "499.99", "500",
                                                      "900")] == [0, 0, 50, 50, 80, 80, 100, 100]
    assert alert_level(Decimal("10"), None) == 0


def test_budget_table_lives_in_the_ledger_file(ledger) -> None:
    Budgets(ledger).set(ACCOUNT, month=Decimal("1"))
    import sqlite3

    with sqlite3.connect(ledger.path) as conn:
        assert conn.execute("SELECT amount FROM budgets").fetchall() == [("1",)]


def test_forecast_chart_draws_the_budget_line(ledger, clock) -> None:
    hand_ledger(ledger, clock)
    fc = sa.forecast(ledger, account=ACCOUNT, budget=Decimal("150"))
    fig = sa.charts.forecast_chart(fc)
    names = [t.name for t in fig.data]
    assert names == ["90 % band", "Projected (run rate)", "Spent so far", "Budget 150.0000"]
    assert list(fig.data[3].y) == [150.0, 150.0]
    assert list(fig.data[2].y)[-1] == 60.0
    assert fc.sentence in [a.text for a in fig.layout.annotations]
    assert fig.to_json() == fc.figure().to_json()
    assert timedelta(0) < fc.now - datetime(2026, 12, 1, tzinfo=UTC)
