"""`make dashboard` in Chromium: the real launcher (``smsgic-analytics lab --voila
notebooks/dashboard.ipynb``) on a fresh data folder, its sandbox a child process.

* the launcher sends the demo history once, before Voilà serves;
* three views of the page leave the sandbox's sendings and clock as they were (read from its
  database and its ``Date`` header, not from the page);
* no console error, no page error, and no request to any host but the Voilà server (every
  request's host is recorded: no CDN stylesheet, no plotly.js from a CDN);
* the modebar's camera button downloads a PNG, the "Charts as HTML" button a self-contained page;
* screenshots at 1000 and 1600 px go to test-artifacts/ (docs/dashboard.png is one of them).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from browser_support import free_port, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
LAUNCHER = str(Path(sys.executable).parent / "smsgic-analytics")
START_TIMEOUT = 180.0
VIEW_TIMEOUT = 240_000  # ms: Voilà starts a kernel and runs the page for every view


def sandbox_state(db: Path, url: str) -> tuple[list[tuple], float]:
    """Every sending in the sandbox's database (id, SMS, cost, created, scheduled) and how far its clock
    runs from wall time (seconds), from its Date header."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, total_sms, cost_units, created_at, scheduled_at FROM sendings ORDER BY id").fetchall()
    date = parsedate_to_datetime(requests.get(url + "/status", timeout=30).headers["Date"])
    return rows, (date - datetime.now(timezone.utc)).total_seconds()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("dashboard")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / "dashboard.ipynb", notebooks)
    home = root / "home"
    env = server_env(home / "jupyter", HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    port = free_port()
    log = root / "dashboard.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([LAUNCHER, "lab", "--notebooks", str(notebooks), "--data", str(root / "data"),
                                 "--voila", str(notebooks / "dashboard.ipynb"), "--port", str(port), "--no-browser"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the launcher is not serving:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        text = log.read_text()
        api = re.search(r"Sandbox serving at (http://\S+) ", text).group(1)
        assert "Dashboard demo history: 5 campaigns sent" in text
        yield {"url": f"http://127.0.0.1:{port}/", "api": api, "db": root / "data" / "sandbox.sqlite"}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def view(browser: Any, url: str, width: int, downloads: bool = False) -> tuple[Any, Any, list[str], set[str]]:
    context = browser.new_context(viewport={"width": width, "height": 2600}, accept_downloads=downloads)
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    hosts: set[str] = set()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: hosts.add(urlparse(r.url).netloc if r.url.startswith("http") else r.url.split(":")[0]))
    page.goto(url, timeout=VIEW_TIMEOUT)
    page.locator(".smsgic-dashboard-app").wait_for(timeout=VIEW_TIMEOUT)
    for role in ("status", "spend", "country"):
        page.locator(f".smsgic-dashboard-{role} .main-svg").first.wait_for(timeout=120_000)
    page.wait_for_timeout(3000)  # plotly's after-draw work (where the setData errors came from)
    return context, page, errors, hosts


def test_three_views_only_read_ask_no_other_host_and_export(browser: Any, dashboard: dict[str, Any]) -> None:
    url, api, db = dashboard["url"], dashboard["api"], dashboard["db"]
    before, ahead_before = sandbox_state(db, api)
    assert len(before) == 5
    ARTIFACTS.mkdir(exist_ok=True)
    for i, width in enumerate((1000, 1600, 1000), 1):
        context, page, errors, hosts = view(browser, url, width, downloads=i == 3)
        try:
            body = page.locator("body").inner_text()
            assert "Traceback" not in body and "There was an error" not in body
            headline = page.locator(".smsgic-dashboard-headline").inner_text()
            assert re.search(r"Sendings\s+5\b", headline), headline
            table = page.locator(".smsgic-dashboard-sendings").inner_text()
            assert all(str(row[0]) in table for row in before)
            assert "Reply STOP to opt out" in page.locator(".smsgic-dashboard-detail").inner_text()
            page.locator(".smsgic-dashboard-app").screenshot(path=str(ARTIFACTS / f"dashboard-{width}px.png"))
            if i == 3:
                plot = page.locator(".smsgic-dashboard-status .js-plotly-plot")
                plot.hover()
                with page.expect_download(timeout=60_000) as png:
                    plot.locator("[data-title='Download plot as a png'], [data-title='Download plot as a PNG']") \
                        .first.click()
                assert png.value.suggested_filename == "sendings-by-status.png"
                assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
                page.locator(".smsgic-dashboard-export").click()
                link = page.locator(".smsgic-dashboard-export-file")
                with page.expect_download(timeout=60_000) as exported:
                    link.click()
                html = Path(exported.value.path()).read_text(encoding="utf-8")
                assert exported.value.suggested_filename == "smsgic-dashboard.html"
                assert html.count("Plotly.newPlot") == 3 and 'src="http' not in html
            assert errors == [], errors
            assert hosts <= {urlparse(url).netloc, "data", "blob"}, hosts
        finally:
            context.close()
    after, ahead_after = sandbox_state(db, api)
    assert after == before  # no sending made, none changed
    assert abs(ahead_after - ahead_before) < 5  # the clock was not moved (Date has whole seconds)
