"""``smsgic-analytics report``: notebooks executed into self-contained HTML.

A small notebook (setup, one chart, one app) goes through the real command: a real kernel,
the in-process sandbox, nbconvert.  The HTML must carry plotly.js itself and load nothing
from a CDN; the browser test opens it in Chromium with the network cut off and checks the
chart is drawn.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from smsgic_analytics.lab.cli import main

CHROMIUM = Path("/usr/bin/chromium")
SETUP = 'import smsgic_analytics as sa\nclient, control = sa.notebook_session(seed=1, clock="2026-03-02T09:00:00Z")'
CHART = ('import pandas as pd\nfrom smsgic_analytics import charts\n'
         'costs = pd.DataFrame({"country": ["Latvia", "Denmark"], "total": ["0.4397", "0.1489"]})\n'
         'charts.cost_by_country(costs, "GBP")')
APP = "from smsgic_analytics.apps import RateExplorerApp\nRateExplorerApp(client)"


def _notebook(folder: Path, name: str, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A report")]
                                  + [nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One report built by the real command, with a token in the caller's environment."""
    folder = tmp_path_factory.mktemp("notebooks")
    _notebook(folder, "demo", SETUP, CHART, APP, "print(client.balance())")
    out = tmp_path_factory.mktemp("reports")
    mp = pytest.MonkeyPatch()
    # The report must ignore these: every notebook gets its own sandbox.
    mp.setenv("SMSGIC_TOKEN", "a-token-that-must-not-be-used")
    mp.setenv("SMSGIC_BASE_URL", "http://127.0.0.1:9")
    try:
        assert main(["report", "--notebooks", str(folder), "--out", str(out)]) == 0
    finally:
        mp.undo()
    return (out / "demo.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_report_ran_the_notebook_on_its_own_sandbox(report: str) -> None:
    assert "Sandbox SMSgic API: seed 1, clock frozen at 2026-03-02 09:00:00 UTC" in report
    assert "£450.000 (GBP)" in report
    assert "a-token-that-must-not-be-used" not in report and "demo-token" not in report


@pytest.mark.slow
def test_report_loads_nothing_from_elsewhere(report: str) -> None:
    external = re.findall(r"<script[^>]*\bsrc=[\"']?(?!data:)[^\"' >]+", report)
    assert external == [], f"scripts loaded from elsewhere: {external}"
    for cdn in ("cdnjs.cloudflare.com", "unpkg.com", "require.min.js", "cdn.jsdelivr.net/npm/@jupyter-widgets"):
        assert cdn not in report, cdn
    banners = re.findall(r"\* plotly\.js v\d+\.\d+\.\d+", report)
    assert len(banners) == 1, f"plotly.js embedded {len(banners)} times"
    assert re.search(r"Plotly\.newPlot\(\s*\"smsgic-figure-1\"", report), "the chart is not drawn by the page"


@pytest.mark.slow
def test_report_replaces_apps_with_a_note(report: str) -> None:
    assert report.count("smsgic-static-app") == 1
    assert "application/vnd.jupyter.widget-view+json" not in report
    assert "application/vnd.jupyter.widget-state+json" not in report


@pytest.mark.slow
def test_a_failing_cell_fails_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _notebook(tmp_path / "nb", "broken", "x = 1", "1 / 0")
    assert main(["report", "--notebooks", str(tmp_path / "nb"), "--out", str(tmp_path / "out")]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err
    assert not (tmp_path / "out" / "broken.html").exists()


def test_no_notebooks_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--notebooks", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert "no notebooks in" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists() or shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_report_draws_its_chart_offline(report: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "demo.html"
    page_file.write_text(report, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            context = browser.new_context(offline=True)
            page = context.new_page()
            errors: list[str] = []
            outside: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.goto(page_file.as_uri())
            page.wait_for_selector("#smsgic-figure-1 .main-svg", timeout=20_000)
            bars = page.locator("#smsgic-figure-1 .bars .point").count()
            note = page.locator(".smsgic-static-app").count()
        finally:
            browser.close()
    assert errors == []
    assert outside == []
    assert bars == 2
    assert note == 1
