"""Issue 23, item 8: round balance ticks, one tick label per day under daily bars, a legend even
for one series, a budget line, and exports (PNG config, self-contained HTML).

Oracles are independent of the code: ticks are checked as "a step of 1, 2, 2.5 or 5 times a power
of ten, every tick a multiple of it, the range covering the data"; dates with pandas.
"""
from __future__ import annotations

import math
from decimal import Decimal

import pandas as pd
import pytest

from smsgic_analytics.analytics import charts

DAY_MS = 24 * 3600 * 1000


def is_round_step(step: float) -> bool:
    power = 10 ** math.floor(math.log10(step))
    return any(math.isclose(step, m * power) for m in (1, 2, 2.5, 5, 10))


def ticks_of(axis) -> list[float]:
    assert axis.tickmode == "linear"
    low, high = axis.range
    n = round((high - low) / axis.dtick)
    return [axis.tick0 + k * axis.dtick for k in range(n + 1)]


def balance_frames(amounts: list[str], hours: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    start = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    spend = pd.DataFrame({"created_at": [start, start + pd.Timedelta(hours=30)],
                          "cost": [Decimal("4.4"), Decimal("3.1")], "currency": "GBP"})
    balance = pd.DataFrame({"taken_at": [start + pd.Timedelta(hours=h) for h in hours],
                            "amount": [Decimal(a) for a in amounts], "currency": "GBP"})
    return spend, balance


def test_balance_ticks_are_round_and_even() -> None:
    # The balances: ticks came out as 445.6 / 426.9 / 408.1 (synced to the spend axis).
    spend, balance = balance_frames(["450.000", "445.600", "426.900", "408.100"], [0, 3, 26, 49])
    axis = charts.spend_over_time(spend, balance).layout.yaxis2
    ticks = ticks_of(axis)
    assert is_round_step(axis.dtick)
    assert all(math.isclose(t / axis.dtick, round(t / axis.dtick), abs_tol=1e-9) for t in ticks)
    assert 3 <= len(ticks) <= 9
    assert axis.range[0] <= 408.1 and axis.range[1] >= 450.0  # every balance drawn
    assert axis.range[1] - axis.range[0] < 4 * (450.0 - 408.1)  # and not lost in a huge range
    assert ticks == [400, 420, 440, 460]  # a step of 10 from 400: what a person would draw


@pytest.mark.parametrize("amounts", [["450.000"], ["0.5000", "0.4990"], ["12345.6700", "98.1000"]])
def test_balance_ticks_for_flat_tiny_and_wide_ranges(amounts: list[str]) -> None:
    spend, balance = balance_frames(amounts, list(range(len(amounts))))
    axis = charts.spend_over_time(spend, balance).layout.yaxis2
    values = [float(a) for a in amounts]
    assert is_round_step(axis.dtick)
    assert axis.range[0] <= min(values) and axis.range[1] >= max(values)
    assert axis.range[0] < axis.range[1] and 3 <= len(ticks_of(axis)) <= 9


def test_daily_bars_get_one_label_per_day() -> None:
    sendings = pd.DataFrame({"created_at": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 12:00",
                                                           "2026-03-03 10:00", "2026-03-04 08:00"], utc=True),
                             "status": ["Sent", "Sent", "Failed", "Sent"]})
    axis = charts.status_over_time(sendings, freq="D").layout.xaxis
    assert axis.dtick == DAY_MS  # not 6-hourly: one label per day
    assert pd.Timestamp(axis.tick0) == pd.Timestamp("2026-03-02")  # at midnight
    assert axis.ticklabelmode == "period"  # written under the middle of its day, under its bar
    assert [pd.Timestamp(x) for x in axis.range] == [pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-05")]


def test_many_days_thin_out_to_whole_days() -> None:
    days = pd.date_range("2026-01-01", periods=60, freq="D", tz="UTC")
    axis = charts.status_over_time(pd.DataFrame({"created_at": days, "status": "Sent"}), freq="D").layout.xaxis
    assert axis.dtick % DAY_MS == 0 and 60 / (axis.dtick / DAY_MS) <= 8


def test_weekly_and_monthly_ticks_follow_their_periods() -> None:
    spend = pd.DataFrame({"created_at": pd.to_datetime(["2026-03-04", "2026-03-18", "2026-04-20"], utc=True),
                          "cost": [Decimal(1)] * 3, "currency": "GBP"})
    weekly = charts.spend_over_time(spend, freq="W").layout.xaxis
    assert weekly.dtick == 7 * DAY_MS and pd.Timestamp(weekly.tick0).day_name() == "Monday"
    monthly = charts.spend_over_time(spend, freq="M").layout.xaxis
    assert monthly.dtick == "M1" and pd.Timestamp(monthly.tick0) == pd.Timestamp("2026-03-01")


def test_one_status_still_has_a_legend() -> None:
    one = pd.DataFrame({"created_at": pd.to_datetime(["2026-03-02 09:00"], utc=True), "status": ["Sent"]})
    fig = charts.status_over_time(one)
    assert [t.name for t in fig.data] == ["Sent"]
    assert fig.layout.showlegend is True  # plotly hides a one-trace legend unless told


def test_one_encoding_and_one_rate_kind_still_have_a_legend() -> None:
    seg = charts.segment_distribution(pd.DataFrame({"encoding": ["GSM-7"], "segments": [1], "units": [3]}))
    assert len(seg.data) == 1 and seg.layout.showlegend is True
    rates = pd.DataFrame({"mnc": [None, None], "rate": [0.1, 0.2], "currency": "GBP"})
    hist = charts.rate_histogram(rates)
    assert len(hist.data) == 1 and hist.layout.showlegend is True


def test_budget_is_a_dashed_line_on_the_spend_axis() -> None:
    spend, balance = balance_frames(["450.000", "445.600"], [0, 3])
    fig = charts.spend_over_time(spend, balance, budget="20")
    (line,) = [t for t in fig.data if t.name == "Budget"]
    assert list(line.y) == [20.0, 20.0] and line.line.dash == "dash" and line.yaxis == "y"
    assert list(line.customdata) == ["20.0000", "20.0000"]
    assert not [t for t in charts.spend_over_time(spend, balance).data if t.name == "Budget"]


def test_png_export_is_named_after_the_figure_and_html_export_is_offline() -> None:
    from smsgic_analytics.analytics.figures import export_config

    fig = charts.status_over_time(pd.DataFrame({"created_at": pd.to_datetime(["2026-03-02"], utc=True),
                                                "status": ["Sent"]}))
    config = export_config(fig)
    assert config["toImageButtonOptions"]["format"] == "png"
    assert config["toImageButtonOptions"]["filename"] == "sendings-by-status"
    assert config["displaylogo"] is False and "toImage" not in config.get("modeBarButtonsToRemove", [])
    page = charts.figure_html(fig)
    assert page.lstrip().lower().startswith("<!doctype html>") and "Plotly.newPlot" in page
    assert "<script src=" not in page.replace(" ", "") and 'src="http' not in page  # plotly.js inline: no fetch
    assert '"filename": "sendings-by-status"' in page or '"filename":"sendings-by-status"' in page
    assert len(page) > 1_000_000  # plotly.js itself is in the file


def test_notebook_figures_download_pngs_named_after_them() -> None:
    from smsgic_analytics.lab.notebook import _figure_renderer

    fig = charts.status_over_time(pd.DataFrame({"created_at": pd.to_datetime(["2026-03-02"], utc=True),
                                                "status": ["Sent"]}))
    bundle = _figure_renderer(html=True).to_mimebundle(fig.to_dict())
    config = bundle["application/vnd.plotly.v1+json"]["config"]
    assert config["toImageButtonOptions"] == {"format": "png", "filename": "sendings-by-status", "scale": 2}
    assert config["displaylogo"] is False and '"filename": "sendings-by-status"' in bundle["text/html"]
