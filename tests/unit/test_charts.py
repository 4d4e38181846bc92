"""Chart figures checked by their data: trace types, values, order, titles and axis units."""
from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import plotly.io as pio
import pytest

import smsgic_analytics
from smsgic_analytics.analytics import charts, figures, maps
from smsgic_analytics.analytics.spend import spend_frame
from smsgic_analytics.core import spec
from smsgic_analytics.core.config import account_key
from smsgic_analytics.sending.ledger import Ledger

ACCOUNT = account_key("chart-token")

DESTINATIONS = pd.DataFrame({
    "destination": ["Latvia LMT", "Denmark Telenor", "Denmark TDC", "Sweden Telenor", "Singapore "],
    "country": ["Latvia", "Denmark", "Denmark", "Sweden", "Singapore"],
    "operator": ["LMT", "Telenor", "TDC", "Telenor", None],
    "numbers": [1, 2, 1, 4, 1],
    "sms_count": [1, 2, 1, 4, 1],
    "price": [0.4397, 0.45, 0.45, 0.1, 0.05],
    # Mixed Decimal and float totals, as a quote or a spend table may hold them.
    "total": [Decimal("0.4397"), 0.9, Decimal("0.45"), 0.4, 0.05],
})


def ts(*days: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(d, tz="UTC") for d in days]


def annotations(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def map_traces(fig):
    """A map's (anchor, grey world, data) traces, checked to be drawn from embedded outlines only."""
    anchor, world, data = fig.data
    assert anchor.type == "scattergeo" and anchor.locations is None  # no locationmode: no CDN fetch
    assert fig.layout.geo.visible is False  # no base layers: they would need plotly's topojson
    for trace in (world, data):
        assert trace.type == "choropleth" and trace.locationmode == "geojson-id" and trace.featureidkey == "id"
        ids = [f["id"] for f in trace.geojson["features"]]
        assert set(trace.locations) <= set(ids)  # every location has its outline in the figure
    assert list(data.locations) == [f["id"] for f in data.geojson["features"]]  # only what it draws
    assert world.hoverinfo == "skip" and world.showscale is False
    assert "http" not in json.dumps(fig.to_plotly_json()["data"])
    return data


# --------------------------------------------------------------------------- costs


def test_cost_by_country_sorted_exact_and_labelled() -> None:
    fig = charts.cost_by_country(DESTINATIONS, "GBP")
    (bar,) = fig.data
    assert bar.type == "bar" and bar.orientation == "h"  # names read left of their bars
    assert list(bar.y) == ["Denmark", "Latvia", "Sweden", "Singapore"]
    assert list(bar.x) == [1.35, 0.4397, 0.4, 0.05]  # 0.9 + 0.45 added as Decimals: exactly 1.35
    # hover shows the exact amounts with the API's 4 decimals, never 1.35 beside 0.4397
    assert list(bar.customdata) == ["1.3500", "0.4397", "0.4000", "0.0500"]
    assert fig.layout.title.text == "Cost by country"
    assert fig.layout.xaxis.title.text == "Cost (GBP)" and fig.layout.yaxis.title.text == "Country"
    assert list(fig.layout.yaxis.categoryarray) == list(bar.y) and fig.layout.yaxis.autorange == "reversed"


def test_many_countries_are_the_top_ones_and_one_exact_other_bar() -> None:
    # A 3,000-number audience reaches some 80 countries: 80 bars were half invisible slivers.
    df = pd.DataFrame({"country": [f"Country {i:02d}" for i in range(80)],
                       "total": [Decimal(f"{100 - i}.{i:04d}") for i in range(80)]})
    fig = charts.cost_by_country(df, "GBP")
    (bar,) = fig.data
    assert len(bar.y) == figures.TOP + 1
    assert list(bar.y)[:figures.TOP] == [f"Country {i:02d}" for i in range(figures.TOP)]
    assert bar.y[-1] == f"Other ({80 - figures.TOP} countries)"
    rest = sum(df["total"].iloc[figures.TOP:], Decimal(0))
    assert bar.customdata[-1] == charts.format_money(rest) and bar.x[-1] == float(rest)
    assert list(bar.marker.color) == [figures.BAR_COLOR] * figures.TOP + [figures.OTHER_COLOR]
    shown = [Decimal(text.replace(",", "")) for text in bar.customdata]
    assert sum(shown, Decimal(0)) == sum(df["total"], Decimal(0))  # nothing lost in "Other"
    assert fig.layout.height >= 26 * len(bar.y)  # a bar's label never overlaps the next one
    # One leftover is drawn as itself, and top= is the caller's
    assert len(charts.cost_by_country(df.head(figures.TOP + 1), "GBP").data[0].y) == figures.TOP + 1
    assert list(charts.cost_by_country(df, "GBP", top=3).data[0].y)[-1] == "Other (77 countries)"
    with pytest.raises(ValueError, match="top: must be at least 1"):
        charts.cost_by_country(df, "GBP", top=0)


def test_many_operators_fold_into_other_operators() -> None:
    df = pd.DataFrame({"country": ["Latvia"] * 30, "operator": [f"Op {i:02d}" for i in range(30)],
                       "total": [Decimal("1.0000")] * 30})
    bar = charts.cost_by_operator(df, "GBP").data[0]
    assert bar.y[-1] == f"Other ({30 - figures.TOP} operators)" and bar.customdata[-1] == "18.0000"


def test_ties_sort_by_name_and_row_order_does_not_matter() -> None:
    df = pd.DataFrame({"country": ["b", "a", "c"], "total": [1, 1, 2]})
    fig = charts.cost_by_country(df, "EUR")
    assert list(fig.data[0].y) == ["c", "a", "b"]
    shuffled = DESTINATIONS.sample(frac=1, random_state=3)
    for fn in (charts.cost_by_country, charts.cost_by_operator, charts.cost_treemap, charts.quoted_cost_map):
        assert fn(shuffled, "GBP").to_json() == fn(DESTINATIONS, "GBP").to_json()


def test_currency_from_column_and_conflicts() -> None:
    df = DESTINATIONS.assign(currency="EUR")
    assert charts.cost_by_country(df).layout.xaxis.title.text == "Cost (EUR)"
    with pytest.raises(ValueError, match="rows are in EUR, but currency='GBP'"):
        charts.cost_by_country(df, "GBP")
    with pytest.raises(ValueError, match="EUR, GBP cannot be added up"):
        charts.cost_by_country(df.assign(currency=["EUR", "GBP", "EUR", "EUR", "EUR"]))
    with pytest.raises(ValueError, match="pass currency="):
        charts.cost_by_country(DESTINATIONS)
    with pytest.raises(ValueError, match="missing column.*country"):
        charts.cost_by_country(DESTINATIONS.drop(columns=["country"]), "GBP")


def test_cost_by_operator_keeps_same_name_in_two_countries_apart() -> None:
    fig = charts.cost_by_operator(DESTINATIONS, "GBP")
    # Singapore's number was priced at its country's default rate: the API names no operator.
    assert list(fig.data[0].y) == ["Telenor (Denmark)", "TDC (Denmark)", "LMT (Latvia)", "Telenor (Sweden)",
                                   "country default (Singapore)"]
    assert list(fig.data[0].x) == [0.9, 0.45, 0.4397, 0.4, 0.05]
    assert fig.layout.xaxis.title.text == "Cost (GBP)" and fig.layout.title.text == "Cost by operator"


def test_rows_without_cost_are_noted_not_dropped_silently() -> None:
    df = DESTINATIONS.assign(cost=DESTINATIONS["total"].astype(object)).drop(columns=["total"])
    df.loc[0, "cost"] = None  # an unpriced row, as Ledger.spend gives for unknown sendings
    fig = charts.cost_by_country(df, "GBP")
    assert "Latvia" not in fig.data[0].y
    assert annotations(fig) == ["1 row(s) without a cost not shown"]
    only_unpriced = charts.cost_by_country(df.iloc[:1], "GBP")
    assert only_unpriced.data == () and annotations(only_unpriced) == ["No data (1 row(s) without a cost)"]


def test_cost_treemap_country_to_operator() -> None:
    fig = charts.cost_treemap(DESTINATIONS, "GBP")
    (tree,) = fig.data
    assert tree.type == "treemap" and "GBP" in fig.layout.title.text
    assert list(tree.ids) == ["Denmark", "Denmark/Telenor", "Denmark/TDC", "Latvia", "Latvia/LMT",
                              "Sweden", "Sweden/Telenor", "Singapore", "Singapore/country default"]
    assert list(tree.parents) == ["", "Denmark", "Denmark", "", "Latvia", "", "Sweden", "", "Singapore"]
    assert list(tree.values) == [0.0, 0.9, 0.45, 0.0, 0.4397, 0.0, 0.4, 0.0, 0.05]
    assert tree.branchvalues == "remainder"  # a country's area is exactly the sum of its operators
    assert list(tree.customdata)[:3] == ["1.3500", "0.9000", "0.4500"]


# --------------------------------------------------------------------------- maps


RATES = pd.DataFrame({
    "mcc": ["247", "247", "247", "234", "250", "238", "999"],
    "mnc": [None, "01", "02", None, None, "01", None],
    "country": ["Latvia", "Latvia", "Latvia", "United Kingdom", "Russia", "Denmark", "Atlantis"],
    "rate": [0.4397, 0.5, 0.3, 0.05, 0.12, 0.45, 1.0],
    "currency": "GBP",
})


def test_rates_map_default_rate_by_iso3() -> None:
    fig = charts.rates_map(RATES)
    geo = map_traces(fig)
    # ISO-3 order; Russia is found by the numbering table's name, not mobile-codes' "Russian Federation".
    assert list(geo.locations) == ["DNK", "GBR", "LVA", "RUS"]
    # Latvia's default (mnc null) row wins over its operator rows; Denmark has none: highest operator rate.
    assert list(geo.z) == [0.45, 0.05, 0.4397, 0.12]
    assert "no default rate" in geo.customdata[0][1] and "country default" in geo.customdata[2][1]
    assert geo.customdata[2][1].endswith("operator rates 0.3000 to 0.5000")
    assert geo.colorbar.title.text == "Rate (GBP per SMS)"
    assert fig.layout.title.text == "Default SMS rate by country"
    assert annotations(fig) == ["Not on the map (no ISO-3 code): Atlantis"]


def test_map_colour_scale_spans_the_data_and_is_flat_for_one_value() -> None:
    geo = map_traces(charts.rates_map(RATES))
    assert (geo.zmin, geo.zmax) == (0.05, 0.45)  # the lowest and highest drawn rate, nothing around them
    # The rate explorer filtered to one country: one rate, one colour, one tick at that rate
    # (plotly's own range for a single value ran from -0.2 to 0.6 for a rate of 0.1605).
    one = map_traces(charts.rates_map(pd.DataFrame({"mcc": ["247"], "mnc": [None], "country": ["Latvia"],
                                                    "rate": [Decimal("0.1605")], "currency": "GBP"})))
    assert one.zmin == 0 and one.zmax == 0.1605
    assert {color for _, color in one.colorscale} == {one.colorscale[0][1]}
    assert list(one.colorbar.tickvals) == [0.1605] and list(one.colorbar.ticktext) == ["0.1605"]
    for fig in (charts.rates_map(RATES), charts.quoted_cost_map(DESTINATIONS, "GBP")):
        assert map_traces(fig).zmin >= 0


def test_rates_map_prefers_iso3_or_region_columns() -> None:
    with_iso = RATES.assign(iso3=["LVA", "LVA", "LVA", "GBR", "RUS", "DNK", "ATL"])
    fig = charts.rates_map(with_iso)
    # ATL is a code, but no country's outline: named in a note, not drawn.
    assert list(map_traces(fig).locations) == ["DNK", "GBR", "LVA", "RUS"]
    assert annotations(fig) == ["Not on the map (no outline at this scale): Atlantis (ATL)"]
    renamed = pd.DataFrame({"country": ["Lettland", "Vereinigtes Königreich"], "region": ["LV", "GB"],
                            "mnc": [None, None], "rate": [0.4, 0.05]})
    fig = charts.rates_map(renamed, "EUR")
    assert list(map_traces(fig).locations) == ["GBR", "LVA"] and annotations(fig) == []
    assert map_traces(fig).colorbar.title.text == "Rate (EUR per SMS)"


def test_rates_map_falls_back_to_an_unambiguous_mcc() -> None:
    df = pd.DataFrame({"mcc": ["247", "310"], "mnc": [None, None], "country": ["Republic of Latvia", "Somewhere"],
                       "rate": [0.4, 0.01], "currency": "GBP"})
    fig = charts.rates_map(df)
    # 247 is Latvia's alone; 310 is shared by the US, Guam and Puerto Rico: no guess.
    assert list(map_traces(fig).locations) == ["LVA"]
    assert annotations(fig) == ["Not on the map (no ISO-3 code): Somewhere"]


def test_rates_map_without_numbering_uses_mobile_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "smsgic_analytics.numbers.classify", None)  # import now fails
    fig = charts.rates_map(RATES.replace({"country": {"United Kingdom": "united kingdom"}}))
    assert list(map_traces(fig).locations) == ["DNK", "GBR", "LVA", "RUS"]  # Russia by its MCC 250 alone
    assert annotations(fig) == ["Not on the map (no ISO-3 code): Atlantis"]


def test_quoted_cost_map() -> None:
    fig = charts.quoted_cost_map(DESTINATIONS.assign(currency="GBP"))
    geo = map_traces(fig)
    assert list(geo.locations) == ["DNK", "LVA", "SGP", "SWE"]
    assert list(geo.z) == [1.35, 0.4397, 0.05, 0.4]
    assert [c[0] for c in geo.customdata] == ["1.3500", "0.4397", "0.0500", "0.4000"]
    assert geo.colorbar.title.text == "Quoted cost (GBP)" and fig.layout.title.text == "Quoted cost by country"


def test_map_notes_many_unmapped_countries_briefly() -> None:
    df = pd.DataFrame({"country": [f"Nowhere {i:02d}" for i in range(11)], "total": [1] * 11})
    fig = charts.quoted_cost_map(df, "GBP")
    assert list(map_traces(fig).locations) == []
    assert annotations(fig) == ["Not on the map (no ISO-3 code): " + ", ".join(f"Nowhere {i:02d}" for i in range(8))
                                + " and 3 more"]


# --------------------------------------------------------------------------- time series


SENDINGS = pd.DataFrame({
    "id": [1, 2, 3, 4, 5, 6],
    "text": ["a"] * 6,
    "created_at": pd.to_datetime(["2024-03-04T09:00:00Z", "2024-03-04T23:59:59Z", "2024-03-05T01:00:00Z",
                                  "2024-03-05T02:00:00Z", "2024-03-11T08:00:00Z", "2024-03-11T09:00:00Z"], utc=True),
    "scheduled_at": ["2024-03-04 09:00:00"] * 6,
    "status": pd.Categorical(["Sent", "Failed", "Sent", "Pending", "Draft", "Sent"], categories=spec.STATUSES),
    "total_sms": [1] * 6,
})


def test_status_over_time_stacks_in_api_order() -> None:
    fig = charts.status_over_time(SENDINGS)
    assert [t.type for t in fig.data] == ["bar"] * 4 and fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == ["Draft", "Pending", "Sent", "Failed"]  # spec.STATUSES order
    assert all(list(t.x) == ts("2024-03-04", "2024-03-05", "2024-03-11") for t in fig.data)
    assert {t.name: list(t.y) for t in fig.data} == {
        "Draft": [0, 0, 1], "Pending": [0, 1, 0], "Sent": [1, 1, 1], "Failed": [1, 0, 0]}
    assert fig.layout.yaxis.title.text == "Sendings (count)" and fig.layout.xaxis.title.text == "Day (UTC)"
    assert [t.marker.color for t in fig.data] == [figures.STATUS_COLORS[s] for s in ("Draft", "Pending", "Sent", "Failed")]


def test_status_over_time_weekly_with_unlisted_status_and_missing_dates() -> None:
    df = pd.DataFrame({"created_at": ["2024-03-04T09:00:00.000000Z", "2024-03-10T09:00:00.000000Z",
                                      "2024-03-11T09:00:00.000000Z", None],
                       "status": ["Sent", "Queued", "Sent", "Sent"]})
    fig = charts.status_over_time(df, freq="W")
    assert [t.name for t in fig.data] == ["Sent", "Queued"]  # unknown statuses follow, nothing dropped
    assert list(fig.data[0].x) == ts("2024-03-04", "2024-03-11")
    assert [list(t.y) for t in fig.data] == [[1, 1], [1, 0]]
    assert fig.data[1].marker.color == figures.OTHER_COLOR
    assert fig.layout.xaxis.title.text == "Week starting Monday (UTC)"
    assert annotations(fig) == ["1 sending(s) without created_at not shown"]
    with pytest.raises(ValueError, match="freq: must be one of"):
        charts.status_over_time(df, freq="H")


@pytest.fixture
def ledger_frames(tmp_path: Path):
    """Spend and balance frames from a real ledger file: three sendings, four snapshots."""
    clock = SimpleNamespace(now=datetime(2024, 3, 4, 10, tzinfo=UTC))
    ledger = Ledger(tmp_path / "ledger.sqlite", clock=lambda: clock.now)
    for day, total, sending_id in ((0, "0.1", 1), (0, "0.2", 2), (2, "1.05", 3)):
        clock.now = datetime(2024, 3, 4, 10, tzinfo=UTC) + timedelta(days=day)
        dest = pd.DataFrame([("Latvia LMT", "Latvia", "LMT", 1, 1, total, total)], columns=list(DESTINATIONS.columns))
        quote = SimpleNamespace(sms_count=1, subtotal=Decimal(total), tax=Decimal(0), total=Decimal(total),
                                currency="GBP", destinations=dest)
        qid = ledger.record_quote(ACCOUNT, "m", ["37120000000"], quote)
        send_id, _ = ledger.claim_send(ACCOUNT, f"k{sending_id}", qid, "MEGA", None, "default", 1, duplicate_window=None)
        ledger.complete_send(send_id, sending_id)
    for hour, amount in ((9, "450.000"), (11, "449.700"), (3 * 24, "448.650"), (4 * 24, "448.650")):
        ledger.record_balance(ACCOUNT, Decimal(amount), "GBP", taken_at=datetime(2024, 3, 4, tzinfo=UTC) + timedelta(hours=hour))
    return spend_frame(*ledger.spent(ACCOUNT)), ledger.balance_history(ACCOUNT)


def test_spend_over_time_bars_cumulative_and_balance(ledger_frames) -> None:
    spend, balance = ledger_frames
    fig = charts.spend_over_time(spend, balance)
    bars, cumulative, bal = fig.data
    assert (bars.type, cumulative.type, bal.type) == ("bar", "scatter", "scatter")
    assert list(bars.x) == ts("2024-03-04", "2024-03-06")
    assert list(bars.y) == [0.3, 1.05]  # 0.1 + 0.2 summed as Decimal: exactly 0.3
    assert list(cumulative.y) == [0.3, 1.35] and list(cumulative.customdata) == ["0.3000", "1.3500"]
    assert bal.yaxis == "y2" and bars.yaxis == "y" and list(bal.y) == [450.0, 449.7, 448.65, 448.65]
    assert fig.layout.yaxis.title.text == "Spend (GBP)" and fig.layout.yaxis2.title.text == "Balance (GBP)"
    assert fig.layout.title.text == "Spend over time" and bars.name == "Spend per day"


def test_spend_over_time_monthly_without_balance(ledger_frames) -> None:
    spend, _ = ledger_frames
    fig = charts.spend_over_time(spend, freq="M")
    assert len(fig.data) == 2 and "yaxis2" not in fig.layout.to_plotly_json()
    assert list(fig.data[0].x) == ts("2024-03-01") and list(fig.data[0].y) == [1.35]
    assert fig.layout.xaxis.title.text == "Month (UTC)"


DAY_MS = 86_400_000


def bar_spans(bar) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Where each bar is drawn: x + offset to x + offset + width (ms on a date axis)."""
    return [(x + pd.Timedelta(milliseconds=o), x + pd.Timedelta(milliseconds=o + w))
            for x, o, w in zip(bar.x, bar.offset, bar.width)]


@pytest.mark.parametrize(("freq", "starts", "days"), [
    ("D", ["2024-03-04", "2024-03-06"], [1, 1]),
    ("W", ["2024-02-26", "2024-03-04"], [7, 7]),
    ("M", ["2024-02-01", "2024-03-01"], [29, 31]),  # a leap February: months differ in length
])
def test_spend_bars_lie_inside_their_period(freq: str, starts: list[str], days: list[int]) -> None:
    spend = pd.DataFrame({"created_at": pd.to_datetime(["2024-02-29T23:59:59Z", "2024-03-04T00:00:00Z",
                                                        "2024-03-06T12:00:00Z"], utc=True),
                          "cost": [Decimal("1"), Decimal("2"), Decimal("4")], "currency": "GBP"})
    if freq == "D":
        spend = spend.iloc[1:]
    bars, cumulative = charts.spend_over_time(spend, freq=freq).data
    assert list(bars.x) == ts(*starts)
    for (start, end), period_start, n in zip(bar_spans(bars), bars.x, days):
        period_end = period_start + pd.Timedelta(days=n)
        # Inside its own period, centred, with a gap to the next: never straddling two periods.
        assert period_start < start < end < period_end
        assert start - period_start == period_end - end
    assert list(bars.width) == [n * DAY_MS * charts._BAR_FILL_PCT // 100 for n in days]
    # The cumulative line keeps the period starts as data and is drawn mid-period, over its bar.
    assert list(cumulative.x) == list(bars.x) and cumulative.xperiodalignment == "middle"
    assert cumulative.xperiod == ("M1" if freq == "M" else days[0] * DAY_MS)
    assert pd.Timestamp(cumulative.xperiod0).day_of_week == 0 and pd.Timestamp(cumulative.xperiod0).day == 1


def test_status_bars_lie_inside_their_day() -> None:
    fig = charts.status_over_time(SENDINGS)
    for bar in fig.data:
        assert bar_spans(bar) == [(x + pd.Timedelta(hours=1.2), x + pd.Timedelta(hours=22.8)) for x in bar.x]


def test_spend_over_time_checks_currencies(ledger_frames) -> None:
    spend, balance = ledger_frames
    with pytest.raises(ValueError, match="balance_df.currency: rows are in EUR, but currency='GBP'"):
        charts.spend_over_time(spend, balance.assign(currency="EUR"))
    only_balance = charts.spend_over_time(spend.iloc[0:0], balance)
    assert [t.name for t in only_balance.data] == ["Balance"]


def test_segment_distribution() -> None:
    counts = pd.DataFrame({"encoding": ["UCS-2", "GSM-7", "GSM-7", "UCS-2", "GSM-7", "GSM-7"],
                           "segments": [2, 1, 1, 4, 3, 1], "units": [80, 5, 10, 300, 400, 1]})
    fig = charts.segment_distribution(counts)
    assert [t.name for t in fig.data] == ["GSM-7", "UCS-2"] and fig.layout.barmode == "group"
    assert all(list(t.x) == [1, 2, 3, 4] for t in fig.data)
    assert [list(t.y) for t in fig.data] == [[3, 0, 1, 0], [0, 1, 0, 1]]
    assert fig.layout.xaxis.title.text == "Segments per message (SMS parts)"
    assert fig.layout.yaxis.title.text == "Messages (count)"
    assert list(fig.layout.xaxis.categoryarray) == [1, 2, 3, 4]


def test_segment_distribution_of_real_segment_counts() -> None:
    """The seam with text.counts: its categorical output draws as it should."""
    text_counts = pytest.importorskip("smsgic_analytics.text.counts")
    counts = text_counts.segment_counts(["Hi Ann", "Hi Zoë 👋", "x" * 200, "ok", "€" * 81])
    fig = charts.segment_distribution(counts)
    assert [t.name for t in fig.data] == ["GSM-7", "UCS-2"]
    # "€" is an escape pair in GSM-7: 81 of them are 162 septets, two parts.
    assert [list(t.y) for t in fig.data] == [[2, 2], [1, 0]]


def test_rate_histogram_compares_defaults_and_operators_on_shared_bins() -> None:
    rates = RATES.assign(rate=[Decimal(str(r)) for r in RATES["rate"]])  # as client.rates() gives them
    fig = charts.rate_histogram(rates)
    assert [t.name for t in fig.data] == ["country default", "operator"] and fig.layout.barmode == "overlay"
    assert sorted(fig.data[0].x) == [0.05, 0.12, 0.4397, 1.0] and sorted(fig.data[1].x) == [0.3, 0.45, 0.5]
    assert fig.data[0].xbins == fig.data[1].xbins and fig.data[0].xbins.start == 0.05
    assert fig.layout.xaxis.title.text == "Rate per SMS part (GBP)" and fig.layout.title.text
    same = charts.rate_histogram(rates.assign(is_default=rates["mnc"].isna()).drop(columns=["mnc"]))
    assert same.to_json() == fig.to_json()
    with pytest.raises(ValueError, match="missing column mnc"):
        charts.rate_histogram(rates.drop(columns=["mnc"]))


# --------------------------------------------------------------------------- shared behaviour


HISTORY = pd.DataFrame({  # sa.rate_history(...): two snapshots, a default row and an operator row
    "date": pd.to_datetime(["2026-10-01", "2026-10-01", "2026-11-01", "2026-11-01"], utc=True),
    "country": ["Latvia"] * 4, "operator": [None, "Tele2", None, "Tele2"], "mcc": ["247"] * 4,
    "mnc": [None, "02", None, "02"], "price": [Decimal("0.1678"), Decimal("0.1362"), Decimal("0.1678"),
                                               Decimal("0.1485")], "currency": ["GBP"] * 4})
FORECAST = pd.DataFrame({  # sa.forecast(...).frame of a 3-day month, now on day 2
    "date": pd.to_datetime(["2026-02-01", "2026-02-02", "2026-02-03"], utc=True),
    "spent": [Decimal(10), Decimal(0), None], "scheduled": [Decimal(0), Decimal(0), Decimal(5)],
    "actual": [Decimal(10), Decimal(10), None], "projected": [None, Decimal(15), Decimal(25)],
    "low": [None, Decimal(12), Decimal(18)], "high": [None, Decimal(18), Decimal(32)]})

ALL = [
    (charts.cost_by_country, DESTINATIONS, {"currency": "GBP"}),
    (charts.cost_by_operator, DESTINATIONS, {"currency": "GBP"}),
    (charts.cost_treemap, DESTINATIONS, {"currency": "GBP"}),
    (charts.rates_map, RATES, {}),
    (charts.quoted_cost_map, DESTINATIONS, {"currency": "GBP"}),
    (charts.status_over_time, SENDINGS, {}),
    (charts.spend_over_time, SENDINGS.assign(cost=Decimal("0.5"), currency="GBP"), {}),
    (charts.segment_distribution, pd.DataFrame({"encoding": ["GSM-7"], "segments": [1], "units": [3]}), {}),
    (charts.rate_histogram, RATES, {}),
    (charts.rate_history_chart, HISTORY, {}),
    (charts.forecast_chart, FORECAST, {"budget": Decimal("20"), "currency": "GBP"}),
    (charts.copy_costs, pd.DataFrame({"variant": ["Hi \u2019", "Hi '"], "encoding": ["UCS-2", "GSM-7"],
                                      "cost": [Decimal("0.80"), Decimal("0.40")],
                                      "rewrite_cost": [Decimal("0.40"), Decimal("0.40")]}), {"currency": "GBP"}),
]


def test_rate_history_chart_draws_each_row_as_steps_the_one_that_moved_first() -> None:
    fig = charts.rate_history_chart(HISTORY)
    assert [t.name for t in fig.data] == ["Latvia Tele2 (247/02)", "Latvia (country default)"]
    assert list(fig.data[0].y) == [0.1362, 0.1485] and fig.data[0].line.shape == "hv"
    assert fig.layout.yaxis.title.text == "Price per SMS (GBP)"
    assert charts.rate_history_chart(HISTORY, countries=["Germany"]).layout.annotations[0].text == "No data for Germany"
    one = charts.rate_history_chart(HISTORY, top=1)
    assert len(one.data) == 1 and "1 more rate-card row(s) not shown" in one.layout.annotations[0].text


def test_forecast_chart_draws_actual_projection_band_and_budget() -> None:
    fig = charts.forecast_chart(FORECAST, budget=Decimal("20"), currency="GBP")
    band, projected, actual, budget = fig.data
    assert list(actual.y) == [10.0, 10.0] and list(projected.y) == [15.0, 25.0]
    assert list(band.y) == [18.0, 32.0, 18.0, 12.0] and band.fill == "toself"
    assert list(budget.y) == [20.0, 20.0] and budget.name == "Budget 20.0000"
    assert fig.layout.yaxis.title.text == "Spend this month (GBP)"


@pytest.mark.parametrize(("fn", "data", "kw"), ALL, ids=[f.__name__ for f, _, _ in ALL])
def test_empty_input_gives_no_data_figure(fn, data, kw) -> None:
    for empty in (None, data.iloc[0:0], pd.DataFrame()):
        fig = fn(empty, **kw)
        assert fig.data == () and annotations(fig) == ["No data"]
        assert fig.layout.title.text


@pytest.mark.parametrize(("fn", "data", "kw"), ALL, ids=[f.__name__ for f, _, _ in ALL])
def test_titled_templated_and_deterministic(fn, data, kw) -> None:
    fig = fn(data, **kw)
    assert fig.layout.title.text and fig.data
    assert fig.layout.template == pio.templates[figures.TEMPLATE]
    assert fig.to_json() == fn(data.copy(), **kw).to_json()


@pytest.mark.parametrize(("fn", "data", "kw"), ALL, ids=[f.__name__ for f, _, _ in ALL])
def test_sized_by_their_container(fn, data, kw) -> None:
    # No fixed width: a figure fills a 970 px notebook column or a narrow app cell alike.
    for fig in (fn(data, **kw), fn(None, **kw)):
        assert fig.layout.autosize is True and fig.layout.width is None


NOTED = [
    ("map", lambda: charts.rates_map(RATES.assign(country=[*RATES["country"][:-1], "Atlantis and Lemuria"]))),
    ("bars", lambda: charts.cost_by_country(DESTINATIONS.assign(total=[None, *DESTINATIONS["total"][1:]]), "GBP")),
    ("time", lambda: charts.status_over_time(pd.DataFrame({"created_at": ["2024-03-04T09:00:00Z", None],
                                                           "status": ["Sent", "Sent"]}))),
]


@pytest.mark.parametrize(("kind", "make"), NOTED, ids=[k for k, _ in NOTED])
def test_footnotes_sit_below_the_plot_inside_the_bottom_margin(kind, make) -> None:
    fig = make()
    notes = [a for a in fig.layout.annotations if a.name == figures.NOTE]
    assert len(notes) == 1
    note = notes[0]
    # Pixels below the plot area, not a share of its height: a short figure does not cut it off.
    assert (note.yref, note.y, note.yanchor) == ("paper", 0, "top") and note.yshift < 0
    assert fig.layout.margin.b >= -note.yshift + 16  # the margin holds the whole line
    if kind != "map":
        assert -note.yshift >= 60  # under the x axis's tick labels and title


def test_two_footnotes_stack_and_the_margin_grows() -> None:
    with_iso = RATES.assign(iso3=["LVA", "LVA", "LVA", "GBR", "RUS", "DNK", "ATL"], country=[*RATES["country"][:-1], "X"])
    fig = charts.rates_map(pd.concat([with_iso, pd.DataFrame({"country": ["Y"], "mnc": [None], "rate": [0.1],
                                                              "currency": ["GBP"]})]))
    notes = [a for a in fig.layout.annotations if a.name == figures.NOTE]
    assert len(notes) == 2 and notes[1].yshift == notes[0].yshift - 16
    assert fig.layout.margin.b >= -notes[1].yshift + 16


# --------------------------------------------------------------------------- offline maps


def test_world_geojson_is_small_iso3_keyed_and_loaded_once() -> None:
    path = Path(smsgic_analytics.__file__).parent / "data" / figures.WORLD_GEOJSON
    assert path.stat().st_size < 300_000  # every map figure embeds it
    world = charts.world_geojson()
    ids = [f["id"] for f in world["features"]]
    assert len(ids) == len(set(ids)) > 230 and ids == sorted(ids)
    assert all(len(i) == 3 and i.isupper() for i in ids)
    # Big, small and split-off countries are all there: Malta, Singapore, Réunion (not France).
    assert {"USA", "BRA", "LVA", "MLT", "SGP", "VAT", "REU", "GUF", "FRA"} <= set(ids)
    for feature in world["features"]:
        assert feature["geometry"]["type"] == "MultiPolygon"
        for polygon in feature["geometry"]["coordinates"]:
            for ring in polygon:
                assert len(ring) >= 4 and ring[0] == ring[-1], feature["id"]
                assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring)
    assert [f["id"] for f in charts.world_geojson(["SGP", "LVA", "XXX"])["features"]] == ["LVA", "SGP"]
    charts.world_geojson()["features"][0]["id"] = "changed"  # a caller's edit stays its own
    assert charts.world_geojson()["features"][0]["id"] == ids[0]
    assert maps._outlines.cache_info().currsize == 1


def test_map_figure_carries_the_outlines_it_colours() -> None:
    fig = charts.quoted_cost_map(DESTINATIONS, "GBP")
    geo = map_traces(fig)
    outline = charts.world_geojson(["LVA"])["features"][0]
    assert next(f for f in geo.geojson["features"] if f["id"] == "LVA") == outline
    world = fig.data[1]
    assert len(world.locations) == len(charts.world_geojson()["features"])


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_map_draws_in_a_browser_with_the_network_blocked(tmp_path: Path) -> None:
    """The real check: plotly.js draws the countries and asks for nothing beyond the file."""
    sync_api = pytest.importorskip("playwright.sync_api")
    fig = charts.quoted_cost_map(DESTINATIONS, "GBP")
    page_file = tmp_path / "map.html"
    fig.write_html(page_file, include_plotlyjs=True, full_html=True)
    blocked: list[str] = []
    errors: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 600})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.route("**/*", route)
            page.goto(page_file.as_uri())
            page.wait_for_selector(".geo .choroplethlayer path", state="attached", timeout=30_000)
            drawn = page.eval_on_selector_all(
                ".geo .choroplethlayer > .trace",
                "ts => ts.map(t => Array.from(t.querySelectorAll('path'), p => p.__data__.loc))")
            # Hover over Latvia's shape: the data trace answers with its exact total.
            box = page.eval_on_selector_all(
                ".geo .choroplethlayer > .trace:last-child path",
                "ps => { const r = ps.find(p => p.__data__.loc === 'LVA').getBoundingClientRect();"
                " return [r.x + r.width / 2, r.y + r.height / 2]; }")
            page.mouse.move(*box)
            page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
            hover = page.eval_on_selector(".hoverlayer", "h => h.textContent")
        finally:
            browser.close()
    assert blocked == [] and errors == []
    assert drawn == [[f["id"] for f in charts.world_geojson()["features"]], list(map_traces(fig).locations)]
    assert "Latvia" in hover and "0.4397 GBP" in hover


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_figures_fit_a_970px_column_with_their_footnotes_inside(tmp_path: Path) -> None:
    """Drawn by plotly.js in Chromium inside a 970 px column (JupyterLab's notebook width):
    each figure is as wide as the column, never wider, and every footnote lies inside it."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from plotly.offline import get_plotlyjs

    many = pd.DataFrame({"country": [f"Country {i:02d}" for i in range(80)], "total": [Decimal(100 - i) for i in range(80)]})
    figures = [make() for _, make in NOTED] + [
        charts.cost_by_country(many, "GBP"),
        charts.rates_map(pd.DataFrame({"mcc": ["247"], "mnc": [None], "country": ["Latvia"],
                                       "rate": [Decimal("0.1605")], "currency": "GBP"})),
    ]
    divs = "".join(f"<div class='column' style='width:970px'>"
                   f"{pio.to_html(f, full_html=False, include_plotlyjs=False, config={'responsive': True})}</div>"
                   for f in figures)
    page_file = tmp_path / "figures.html"
    page_file.write_text(f"<html><head><script>{get_plotlyjs()}</script></head><body>{divs}</body></html>")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_file.as_uri())
            page.wait_for_function(f"document.querySelectorAll('.main-svg').length >= {len(figures)}")
            boxes = page.evaluate("""() => [...document.querySelectorAll('.column')].map(col => {
                const svg = col.querySelector('.main-svg').getBoundingClientRect();
                const notes = [...col.querySelectorAll('.annotation-text')].map(t => t.getBoundingClientRect())
                    .map(r => ({top: r.top, bottom: r.bottom, left: r.left, right: r.right}));
                const ticks = [...col.querySelectorAll('.colorbar .cbaxis text')].map(t => t.textContent);
                return {width: svg.width, top: svg.top, bottom: svg.bottom, left: svg.left, right: svg.right,
                        notes, ticks};
            })""")
        finally:
            browser.close()
    for i, box in enumerate(boxes):
        assert 900 < box["width"] <= 970, (i, box["width"])
        for note in box["notes"]:
            assert box["top"] <= note["top"] and note["bottom"] <= box["bottom"], (i, note, box)
            assert box["left"] <= note["left"] and note["right"] <= box["right"] + 1, (i, note, box)
    assert [len(b["notes"]) for b in boxes[:3]] == [1, 1, 1]
    assert boxes[-1]["ticks"] == ["0.1605"]  # one rate: one tick, no negative rates on the scale


def test_copy_costs_draws_each_variant_as_written_and_rewritten_exactly() -> None:
    df = pd.DataFrame({"variant": ["It\u2019s on " + "x" * 30, "Sale"], "encoding": ["UCS-2", "GSM-7"],
                       "cost": [Decimal("1.2345"), Decimal("0.5000")], "rewrite_cost": [Decimal("0.6172"), Decimal("0.5")]})
    fig = charts.copy_costs(df, "EUR")
    written, rewritten = fig.data
    assert list(written.x) == ["V1: It\u2019s on xxxxxxxxxxxxxxx\u2026", "V2: Sale"]
    assert list(written.y) == [1.2345, 0.5] and list(rewritten.y) == [0.6172, 0.5]
    assert written.customdata[0][0] == "1.2345" and fig.layout.yaxis.title.text == "Cost (EUR)"
