"""DashboardApp: the "refreshed" stamp follows the ledger's clock (notebook outputs repeat); the
read-only page's headline, date range, drill-down, budget and export (issue 23)."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pandas as pd
import plotly.io as pio
import pytest
import requests

import smsgic_analytics as sa

REFRESHED = re.compile(r"refreshed (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")


@pytest.fixture
def session():
    """A real in-process sandbox with a frozen clock; the client's ledger follows that clock."""
    renderer = pio.renderers.default  # notebook_session switches plotly's renderer: put it back
    s = sa.notebook_session(seed=3, clock="2026-03-02T09:00:00Z", figures="json")
    yield s
    s.close()
    pio.renderers.default = renderer


def _refreshed(app: sa.DashboardApp) -> str:
    match = REFRESHED.search(app.summary.value)
    assert match, app.summary.value
    return match.group(1)


def test_refreshed_stamp_is_the_sandbox_clock_and_moves_with_it(session) -> None:
    client, control = session
    app = sa.DashboardApp(client)
    assert app.error is None
    assert _refreshed(app) == "2026-03-02 09:00:00"
    control.advance(90 * 60)
    app.refresh_button.click()
    assert _refreshed(app) == "2026-03-02 10:30:00"


def test_refreshed_stamp_falls_back_to_wall_time_without_a_ledger_clock(session) -> None:
    client, _ = session
    app = sa.DashboardApp(client, refresh=False, budget=None)  # the budget store reads the ledger's clock
    client.ledger.now = None  # a ledger without a clock (attribute shadowed on this instance only)
    before = datetime.now(UTC).replace(microsecond=0)
    app.refresh()
    after = datetime.now(UTC)
    stamp = datetime.strptime(_refreshed(app), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= stamp <= after


# --- issue 23: the read-only dashboard ------------------------------------------------------------


@pytest.fixture(scope="module")
def history():
    """The dashboard page's own session: an in-process sandbox with the demo history, settled."""
    from smsgic_analytics.lab.demo import dashboard_session

    renderer = pio.renderers.default
    s = dashboard_session()
    yield s
    s.close()
    pio.renderers.default = renderer


def _wire_sendings(client) -> list[dict]:
    answer = requests.get(client.settings.base_url + "/sendings", timeout=30,
                          headers={"Authorization": f"Bearer {client.settings.token}"})
    answer.raise_for_status()
    body = answer.json()
    return body["sendings"] if isinstance(body, dict) else body


def test_headline_figures_are_exact_and_viewing_only_reads(history) -> None:
    client, control = history
    control.reset_stats()
    app = sa.DashboardApp(client)
    stats = control.stats()
    assert stats.get(("POST", "/sendings"), 0) == 0 and not any(m == "POST" for m, _ in stats)
    wire = _wire_sendings(client)
    h = app.headline
    assert h["sendings"] == len(wire) == 5
    assert h["sms"] == sum(int(s["total_sms"]) for s in wire)
    # The sandbox debited every send from 450.000: what was spent, without the ledger (the API
    # shows the balance with 3 decimals, the quotes have 4: each of the 5 debits may differ by 0.001).
    assert abs(h["spend"] - (Decimal("450.000") - client.balance().amount)) <= 5 * Decimal("0.001")
    assert h["spend"] > 0
    assert h["cost_per_sms"] == (h["spend"] / h["sms"]).quantize(Decimal("0.0001"))
    sent = sum(s["status"] == "Sent" for s in wire)
    final = sum(s["status"] in ("Sent", "Failed") for s in wire)
    assert (h["sent"], h["final"]) == (sent, final) and h["delivered_share"] == Decimal(sent) / final
    text = app.headline_view.value
    assert f"{h['spend']:.4f}" in text and "Cost per SMS" in text and "Delivered" in text


def test_date_range_and_drill_down_redraw_without_a_request(history) -> None:
    client, control = history
    app = sa.DashboardApp(client)
    days = sorted({pd.Timestamp(s["created_at"]).date() for s in _wire_sendings(client)})
    assert len(days) >= 2
    control.reset_stats()
    app.start_input.value = app.end_input.value = days[-1]
    assert control.stats() == {}  # the range redraws what the app has
    shown = {pd.Timestamp(t).date() for t in app.table["created_at"]}
    assert shown == {days[-1]} and 0 < len(app.table) < 5
    assert app.headline["spend"] == sum(app.table["cost"], Decimal(0))
    assert sum(sum(t["y"]) for t in app.figures["status"].to_plotly_json()["data"]) == len(app.table)
    one = app.table.iloc[-1]
    app.select(int(one["id"]))
    detail = app.detail_view.value
    assert html.escape(one["text"]) in detail  # the whole text, not the table's shortened one
    costs = [Decimal(c) for c in re.findall(r"<td[^>]*>(\d+\.\d{4})</td>", detail)]
    assert sum(costs) == one["cost"]  # its rows per country and operator add up to its cost
    app.start_input.value = app.end_input.value = None
    assert len(app.table) == 5


def test_a_budget_passed_in_or_kept_by_the_client(history) -> None:
    from smsgic_analytics.apps.dashboard import find_budget

    client, _ = history
    app = sa.DashboardApp(client, budget="100")
    assert app.budget == Decimal("100") and app.headline["budget_share"] == app.headline["spend"] / 100
    (line,) = [t for t in app.figures["spend"].data if t.name == "Budget"]
    assert list(line.y) == [100.0, 100.0]
    assert "Budget (GBP)" in app.headline_view.value
    assert find_budget(client) is None and sa.DashboardApp(client).budget is None
    keeper = SimpleNamespace(budget=lambda: SimpleNamespace(amount=Decimal("75.5")))
    assert find_budget(keeper) == Decimal("75.5")
    assert find_budget(SimpleNamespace(budget=lambda: None)) is None
    client.set_budget(month="40")  # the client's own budget store (issue 20)
    kept = sa.DashboardApp(client)
    assert kept.budget == Decimal("40.0000") and find_budget(client) == Decimal("40")
    share = kept.headline["spend"] / Decimal("40")
    level = max([lv for lv in (50, 80, 100) if share * 100 >= lv], default=0)
    assert (f"{level} % alert" in kept.headline_view.value) == bool(level)


def test_charts_export_as_one_offline_page(history, tmp_path) -> None:
    client, _ = history
    app = sa.DashboardApp(client)
    page = app.export_html(tmp_path / "charts.html")
    assert (tmp_path / "charts.html").read_text(encoding="utf-8") == page
    assert page.count("Plotly.newPlot") == 3 and 'src="http' not in page
    app.export_button.click()
    assert "download='smsgic-dashboard.html'" in app.export_link.value
    assert "data:text/html;base64," in app.export_link.value
