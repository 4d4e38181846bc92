"""The notebooks as ``make lab`` runs them, headless: a real kernel per notebook (nbclient), the
environment the launcher gives its kernels (``lab.api_environment``: a persistent sandbox child
process, its token and URL, the cache and ledger in the data folder), one sandbox for the whole
walk -- as an analyst's Run All of 03 twice, then 04, then 02 and 01 meets it.

Then what the notebooks' text promises under ``make lab`` is checked against what happened:
no error, the send demos on new demo accounts (the lab account's balance untouched), the
"not enough balance" lesson refusing, notebook 04 saying how far it moved the lab clock.
The browser test (tests/browser/test_browser_walk.py) clicks the same walk in JupyterLab.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import nbformat
import pytest
from nbclient import NotebookClient

import smsgic_analytics as sa
from smsgic_analytics.lab import launcher as lab
from smsgic_analytics.sandbox import SandboxControl

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
pytestmark = pytest.mark.slow


def run(name: str, env: dict[str, str]) -> nbformat.NotebookNode:
    """Execute notebook ``name`` as JupyterLab's Run All would (errors recorded, not raised)."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(env=env)
    return nb


def errors(nb: nbformat.NotebookNode) -> list[str]:
    return [f"cell {i}: {o.ename}: {o.evalue}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"]


def printed(nb: nbformat.NotebookNode, marker: str) -> str:
    """The text output of the one code cell whose source contains ``marker``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(cells) == 1, f"{len(cells)} cells contain {marker!r}"
    return "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """The kernels' environment under ``make lab`` (a fresh data folder), and that folder."""
    data = tmp_path_factory.mktemp("lab-data")
    mp = pytest.MonkeyPatch()
    for name in ("SMSGIC_TOKEN", "SMSGIC_BASE_URL", "SMSGIC_CACHE_DIR", "SMSGIC_REPORT"):
        mp.delenv(name, raising=False)
    try:
        with lab.api_environment(data) as env:
            yield env, data
    finally:
        mp.undo()


def lab_account(env: dict[str, str]) -> sa.Client:
    return sa.connect(token=env["SMSGIC_TOKEN"], base_url=env["SMSGIC_BASE_URL"], cache_dir=env["SMSGIC_CACHE_DIR"])


def test_run_all_of_03_twice_then_04_02_01_under_make_lab(lab_env) -> None:
    env, data = lab_env
    control = SandboxControl(env["SMSGIC_BASE_URL"], admin_token=env["SMSGIC_SANDBOX_ADMIN_TOKEN"])
    with lab_account(env) as own:
        own_balance = own.balance().amount

    runs = [run("03_send_campaign", env) for _ in range(2)]
    assert [errors(nb) for nb in runs] == [[], []]  # the second run used to stop at the duplicate guard
    for nb in runs:
        assert "a new demo account" in printed(nb, "notebook_session(")
        # The lesson refuses on the lab's rate card too (it printed "The balance covers it." there).
        assert printed(nb, "check_balance()").startswith("InsufficientBalanceError: ")
        # Each run sends once, from a new account holding 450.000 (never the lab's own).
        assert printed(nb, "result = campaign.run(confirm=True)").startswith("Balance before 450.000, after ")
        assert printed(nb, "progress=False).run(confirm=True)").startswith("DuplicateSendError: ")

    before = control.now()
    nb = run("04_status_and_spend", env)
    after = control.now()
    assert errors(nb) == []
    # 04 says where the lab clock stood when it started and how far it moved it: both true.
    started = re.search(r"Sandbox clock at the start: (.+) UTC", printed(nb, "def send(")).group(1)
    started = datetime.strptime(started, "%a %d %b %Y %H:%M").replace(tzinfo=timezone.utc)
    assert before.replace(second=0, microsecond=0) <= started <= after
    hours = int(re.search(r"moved the sandbox clock (\d+) hours forward", printed(nb, "control.advance(24 * 3600)")).group(1))
    assert hours == 49 and abs((after - started).total_seconds() / 3600 - hours) < 1

    for name in ("02_explore_rates", "01_estimate_campaign_cost"):
        assert errors(run(name, env)) == [], name

    with lab_account(env) as own:
        assert own.balance().amount == own_balance  # every send went to a demo account, as the texts say
    assert (data / "cache" / "ledger.sqlite").exists()


def test_make_dashboard_on_a_fresh_data_folder_runs_04(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # After `make lab`, `make dashboard` on a fresh data folder: same port, same demo token, the
    # same user cache (HOME).  Voilà shows an error page if one cell of 04 fails.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home" / ".cache"))
    for name in ("SMSGIC_TOKEN", "SMSGIC_BASE_URL", "SMSGIC_CACHE_DIR", "SMSGIC_REPORT"):
        monkeypatch.delenv(name, raising=False)
    port = lab.free_port(0)
    monkeypatch.setattr(lab, "free_port", lambda preferred=8765: port)
    for data in ("lab-data", "fresh-data"):
        with lab.api_environment(tmp_path / data) as env:
            assert errors(run("04_status_and_spend", env)) == [], data


def test_the_committed_outputs_tell_the_frozen_clock_story() -> None:
    # The same sentences, true of the committed run (nbval re-runs it): a frozen clock at
    # Monday 2 March 2026 09:00 UTC, five sends, the sendings of those days.
    nb = nbformat.read(NOTEBOOKS / "04_status_and_spend.ipynb", as_version=4)
    story = printed(nb, "def send(")
    assert "Mon 02 Mar 2026 09:00 UTC" in story and len(re.findall(r"sending \d+:", story)) == 5
    assert "moved the sandbox clock 49 hours forward" in printed(nb, "control.advance(24 * 3600)")
    text = " ".join(" ".join(c.source for c in nb.cells if c.cell_type == "markdown").split())
    assert "starts frozen at Monday 2 March 2026, 09:00 UTC" in text
    # "sends nothing" is said of the real API only, not of the lab sandbox it sends on
    assert text.count("sends nothing") == 1 and "(the real API) it sends nothing" in text


def test_the_readme_says_what_make_lab_does_to_the_sandbox() -> None:
    """The README's account of `make lab` agrees with the code and the committed run."""
    from smsgic_analytics.core.spec import DEMO_BALANCE

    readme = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### What `make lab` does to the sandbox"):]
    section = " ".join(section[:section.index("\n## ")].split())
    for fact in ("DATA/sandbox.sqlite", "DATA/cache", "rm -rf .data", "new demo account",
                 f"{DEMO_BALANCE} GBP", "spends nothing of that account", "moves it about 49 hours forward"):
        assert fact in section, fact
    nb = nbformat.read(NOTEBOOKS / "04_status_and_spend.ipynb", as_version=4)
    assert "moved the sandbox clock 49 hours forward" in printed(nb, "control.advance(24 * 3600)")
    assert "make lab PORT=9000 NO_BROWSER=1" in readme and "(default 8888)" in readme
    assert "lab: PORT ?= 8888" in (NOTEBOOKS.parent / "Makefile").read_text()
