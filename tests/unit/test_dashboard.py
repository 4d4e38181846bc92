"""DashboardApp's "refreshed" stamp follows the ledger's clock, so notebook outputs repeat."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import plotly.io as pio
import pytest

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
    app = sa.DashboardApp(client, refresh=False)
    client.ledger.now = None  # a ledger without a clock (attribute shadowed on this instance only)
    before = datetime.now(UTC).replace(microsecond=0)
    app.refresh()
    after = datetime.now(UTC)
    stamp = datetime.strptime(_refreshed(app), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= stamp <= after
