"""JupyterLab in a real Chromium: open notebook 01, Run All Cells from the menu, and use the
estimator widget as an analyst would (type, watch the counter and cost, ask for the quote).

SMSGIC_TOKEN is unset, so the notebook starts its own sandbox inside the kernel.
"""
from __future__ import annotations

import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from browser_support import free_port, server_env

NOTEBOOK = "01_estimate_campaign_cost.ipynb"
pytestmark = pytest.mark.browser

RUN_ALL_TIMEOUT = 120_000  # ms: kernel start + every cell (a 3,000-number quote) on a slow CI machine


@pytest.fixture(scope="module")
def lab(serve, notebook_copy: Path, token: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    port = free_port()
    home = tmp_path_factory.mktemp("lab-home")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--IdentityProvider.token={token}",
           "--ServerApp.ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
           f"--ServerApp.root_dir={notebook_copy}", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", "--allow-root"]
    base = f"http://127.0.0.1:{port}"
    serve(cmd, f"{base}/api/status?token={token}", server_env(home), cwd=notebook_copy)
    return base


def amount(text: str, label: str) -> Decimal:
    """The number after ``label`` in a totals line, e.g. 'expected 12.3400 GBP' -> 12.3400."""
    match = re.search(rf"{label} (-?\d+(?:\.\d+)?)", text)
    assert match, f"no {label!r} amount in {text!r}"
    return Decimal(match.group(1))


def sms(text: str) -> int:
    return count(text, "SMS")


def wait_kernel_idle(page: Any, timeout: float = RUN_ALL_TIMEOUT) -> None:
    """Wait for the status bar's "<kernel name> | Idle": a kernel is connected and not busy."""
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle\s*$")).first.wait_for(timeout=timeout)


def run_all_cells(page: Any) -> None:
    """Run → Run All Cells, from the menu bar, as a user would."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def test_estimator_in_jupyterlab_counts_prices_and_quotes(lab: str, token: str, page: Any) -> None:
    page.goto(f"{lab}/lab/tree/{NOTEBOOK}?token={token}")
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for()
    # The kernel is connected and idle before anything runs: the status bar says so.  (The
    # toolbar's execution indicator reads "idle" even before a kernel exists, and Run All
    # without a kernel runs nothing.)
    wait_kernel_idle(page)

    run_all_cells(page)

    app = page.locator(".smsgic-estimator-app")
    app.wait_for(state="visible", timeout=RUN_ALL_TIMEOUT)
    # every cell ran and the kernel is idle again (no "[*]" prompt left)
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))",
        timeout=RUN_ALL_TIMEOUT)
    wait_kernel_idle(page)
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                        has_text="Traceback").count() == 0
    app.scroll_into_view_if_needed()
    counter = page.locator(".smsgic-estimator-counter")
    totals = page.locator(".smsgic-estimator-totals")
    message = page.locator(".smsgic-estimator-message textarea")
    # the notebook's message has an emoji: UCS-2
    assert "UCS-2" in counter.inner_text()

    expect_text(totals, "Offline estimate")
    initial = totals.inner_text()  # the notebook's UCS-2 text: 2 parts

    short = "Spring sale starts today at MegaShop. Reply STOP to opt out"
    message.fill(short)
    expect_text(counter, f"GSM-7 · 1 segment · {len(short)}/160 septets")
    one_part = changed(page, totals, initial)

    long = "Spring sale: 20% off everything at MegaShop this weekend. " * 3 + "Reply STOP"
    assert 160 < len(long) <= 306
    message.fill(long)
    expect_text(counter, f"GSM-7 · 2 segments · {len(long)}/306 septets")
    two_parts = changed(page, totals, one_part)
    # every number costs rate x parts: twice the parts, exactly twice the money
    assert sms(two_parts) == 2 * sms(one_part)
    assert amount(two_parts, "expected") == 2 * amount(one_part, "expected")

    page.locator(".smsgic-estimator-quote").click()
    expect_text(totals, "Exact quote")
    quoted = totals.inner_text()
    assert sms(quoted) == 2 * count(quoted, "numbers") and count(quoted, "numbers") >= count(two_parts, "numbers")
    table = page.locator(".smsgic-estimator-table table")
    table.wait_for(state="visible")
    assert table.locator("tbody tr").count() > 5  # a row per country and operator
    # the chart is drawn after the totals (its own output area): wait for it, as for the totals
    expect_text(page.locator(".smsgic-estimator-chart"), "Cost by country (exact quote)")
    assert page.locator(".smsgic-estimator-chart .main-svg").count() > 0

    # after the quote, an edit is re-priced locally from it (what-if), exactly half for one part
    message.fill(short)
    expect_text(totals, "What-if")
    assert amount(totals.inner_text(), "total") * 2 == amount(quoted, "total")


def count(text: str, what: str) -> int:
    match = re.search(rf"([\d,]+) {what}", text)
    assert match, f"no {what} count in {text!r}"
    return int(match.group(1).replace(",", ""))


def changed(page: Any, locator: Any, before: str) -> str:
    """Wait until ``locator``'s text differs from ``before``; return the new text."""
    page.wait_for_function("([el, before]) => el.innerText !== before", arg=[locator.element_handle(), before],
                           timeout=60_000)
    return locator.inner_text()


def expect_text(locator: Any, text: str, timeout: float = 60_000) -> None:
    """Wait until ``locator`` shows ``text`` (the kernel answers each keystroke asynchronously)."""
    from playwright.sync_api import expect

    expect(locator).to_contain_text(text, timeout=timeout)
