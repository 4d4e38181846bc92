"""Voilà in a real Chromium, against a sandbox this test starts and inspects.

The Voilà kernels get SMSGIC_BASE_URL/SMSGIC_TOKEN/SMSGIC_SANDBOX_ADMIN_TOKEN of that sandbox -- as under `make lab` --
and a shared SMSGIC_CACHE_DIR (so the dashboard's spend joins the ledger of the sends made here).

* notebook 03 (which, as under `make lab`, sends on a new demo account of that sandbox): click
  Send and Confirm twice, fast -> exactly one sending exists in the sandbox's database.
* a notebook with just the dashboard app on the test's own account: its plotly charts draw
  over the account's sendings, and Refresh picks up a sending made after the page loaded.
  (Notebook 04 in Voilà, as `make dashboard` serves it, is walked in test_browser_walk.py.)
"""
from __future__ import annotations

import re
import secrets
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from browser_support import free_port, server_env

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControl, running
from smsgic_analytics.sandbox.control import registered_admin_token

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_APP = "dashboard_app.ipynb"

PAGE_TIMEOUT = 150_000  # ms: a kernel starts and runs every cell before the app shows
SENDER_APP_MESSAGE = "Doors open at 10:00 tomorrow. See you there!"  # what notebook 03's sender app holds
EXAMPLES = ("447400123456", "37121234567", "4915123456789", "33612345678", "4534412345", "46701234567")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, SandboxControl, Path]]:
    """(url, token, control, cache_dir): a sandbox with one account, and the cache dir the kernels share."""
    token = f"voila-{secrets.token_hex(8)}"
    folder = tmp_path_factory.mktemp("voila-api")
    with running(tokens=(token,), db=folder / "sandbox.sqlite", seed=3, clock="real") as url:
        yield url, token, SandboxControl(url), folder / "cache"


@pytest.fixture(scope="module")
def voila_notebooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Notebook 03, and a notebook that shows nothing but the dashboard app of SMSGIC_TOKEN's account."""
    folder = tmp_path_factory.mktemp("voila-notebooks")
    shutil.copy(ROOT / "notebooks" / "03_send_campaign.ipynb", folder)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import smsgic_analytics as sa\n\nsa.DashboardApp(sa.connect())")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / DASHBOARD_APP)
    return folder


@pytest.fixture(scope="module")
def voila(serve, voila_notebooks: Path, token: str, api, tmp_path_factory: pytest.TempPathFactory) -> str:
    url, api_token, _, cache_dir = api
    notebook_copy = voila_notebooks
    port = free_port()
    # As under `make lab`: the kernels get the sandbox's admin token too (03 opens its demo account with it).
    env = server_env(tmp_path_factory.mktemp("voila-home"), SMSGIC_BASE_URL=url, SMSGIC_TOKEN=api_token,
                     SMSGIC_CACHE_DIR=str(cache_dir), SMSGIC_SANDBOX_ADMIN_TOKEN=registered_admin_token(url))
    cmd = [sys.executable, "-m", "voila", str(notebook_copy), "--no-browser", f"--port={port}",
           "--Voila.ip=127.0.0.1", f"--token={token}", "--show_tracebacks=True", "--VoilaExecutor.timeout=180"]
    base = f"http://127.0.0.1:{port}"
    serve(cmd, f"{base}/?token={token}", env, cwd=notebook_copy)
    return base


def stored_sendings(db: Path, text: str) -> list[tuple[int, int]]:
    """(id, total_sms) of every sending with ``text`` in the sandbox's database, whatever its account."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, total_sms FROM sendings WHERE text = ? ORDER BY id", (text,)).fetchall()


def open_notebook(page: Any, voila: str, token: str, name: str, app: str) -> Any:
    page.goto(f"{voila}/voila/render/{name}?token={token}")
    locator = page.locator(f".smsgic-{app}-app")
    locator.wait_for(state="visible", timeout=PAGE_TIMEOUT)
    assert page.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0
    return locator


def test_sender_double_clicks_send_exactly_once(voila: str, token: str, api, page: Any) -> None:
    from playwright.sync_api import expect

    _, _, control, cache_dir = api
    db = cache_dir.parent / "sandbox.sqlite"
    assert stored_sendings(db, SENDER_APP_MESSAGE) == []
    app = open_notebook(page, voila, token, "03_send_campaign.ipynb", "sender")
    app.scroll_into_view_if_needed()
    send = page.locator(".smsgic-sender-send")
    confirm = page.locator(".smsgic-sender-confirm")
    expect(send).to_be_enabled(timeout=PAGE_TIMEOUT)  # the notebook quoted it: Send is live
    summary = page.locator(".smsgic-sender-summary").inner_text()
    total = re.search(r"Total (\d+(?:\.\d+)?) GBP", summary)
    assert total, summary
    control.reset_stats()

    send.dblclick()
    expect(page.locator(".smsgic-sender-confirm-panel")).to_be_visible()
    expect(page.locator(".smsgic-sender-confirm-text")).to_contain_text(f"for exactly {total.group(1)} GBP")
    confirm.dblclick()
    confirm.click(force=True)  # a third, impatient click on a (by now) disabled button

    result = page.locator(".smsgic-sender-result")
    expect(result).to_contain_text("Sent: sending id", timeout=60_000)
    sending_id = int(re.search(r"sending id (\d+)", result.inner_text()).group(1))
    # the twelve recipients the notebook put in the app, once (on the notebook's demo account)
    assert stored_sendings(db, SENDER_APP_MESSAGE) == [(sending_id, 12)]
    assert control.stats().get(("POST", spec.SENDINGS), 0) == 1
    expect(result).to_contain_text("balance now")  # asked again after the send
    expect(confirm).to_be_disabled()
    expect(send).to_be_disabled()  # a new send needs a new quote


def test_dashboard_renders_its_charts_and_refreshes(voila: str, token: str, api, page: Any) -> None:
    from playwright.sync_api import expect

    url, api_token, control, cache_dir = api
    created = []
    with sa.connect(token=api_token, base_url=url, cache_dir=cache_dir) as client:
        for i, sender in enumerate(("MegaShop", "DSTLCKDM", "MEGA")):
            message = f"Dashboard test campaign {i + 1}: 20% off this week. Reply STOP to opt out"
            created.append(client.send(message, list(EXAMPLES[i:i + 3]), sender, confirm=True).sending_id)
    control.advance(2 * 3600)  # past Processing: final statuses

    app = open_notebook(page, voila, token, DASHBOARD_APP, "dashboard")
    app.scroll_into_view_if_needed()
    for role in ("status", "spend", "country"):
        expect(page.locator(f".smsgic-dashboard-{role} .main-svg").first).to_be_visible(timeout=60_000)
    table = page.locator(".smsgic-dashboard-sendings")
    for sending_id in created:
        expect(table).to_contain_text(str(sending_id))

    with sa.connect(token=api_token, base_url=url, cache_dir=cache_dir) as client:
        later = client.send("Dashboard test: one more, after the page loaded", [EXAMPLES[-1]], "MegaShop",
                            confirm=True).sending_id
    assert str(later) not in table.inner_text()
    page.locator(".smsgic-dashboard-refresh").click()
    expect(table).to_contain_text(str(later), timeout=60_000)
