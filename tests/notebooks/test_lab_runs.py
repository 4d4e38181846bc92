"""What the notebooks' texts promise under ``make lab`` and ``make dashboard``, checked against
the committed run (nbval re-runs it) and the README.

The notebooks themselves run three ways, each proving something the others do not:

* nbval (``make test``: ``--nbval notebooks``) re-runs every notebook on its own in-process
  sandbox (frozen clock, fixed seed) and compares every output with the committed one.
* The browser walk (``tests/browser/test_browser_walk.py``) runs 03 twice, then 04, 02 and 01
  in JupyterLab started by the real launcher (``smsgic-analytics lab``, a persistent sandbox
  child process, its cache and ledger in the data folder), checks what the texts promise there
  (new demo accounts, the lessons that refuse, 04's clock statement against the sandbox clock,
  the lab account's balance untouched), then ``make dashboard`` on a fresh data folder.  It
  took over this module's headless walk of the same notebooks under the same environment
  (``test_run_all_of_03_twice_then_04_02_01_under_make_lab``, and
  ``test_make_dashboard_on_a_fresh_data_folder_runs_04``, whose client-level half is
  ``tests/integration/test_lab_launcher.py::test_a_fresh_data_folder_on_the_same_port_inherits_no_sends``),
  which executed those notebooks a second time for ~75 s.
* The other browser tests drive the apps (01's estimator, 03's sender in Voilà).
"""
from __future__ import annotations

import re
from pathlib import Path

import api_doc
import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def printed(nb: nbformat.NotebookNode, marker: str) -> str:
    """The text output of the one code cell whose source contains ``marker``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(cells) == 1, f"{len(cells)} cells contain {marker!r}"
    return "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")


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
    balance = api_doc.example("GET", "/balance", "success").body  # the documented (and demo) balance
    readme = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### What `make lab` does to the sandbox"):]
    section = " ".join(section[:section.index("\n## ")].split())
    for fact in ("DATA/sandbox.sqlite", "DATA/cache", "rm -rf .data", "new demo account",
                 f"{balance['balance']} {balance['code']}", "spends nothing of that account",
                 "moves it about 49 hours forward"):
        assert fact in section, fact
    nb = nbformat.read(NOTEBOOKS / "04_status_and_spend.ipynb", as_version=4)
    assert "moved the sandbox clock 49 hours forward" in printed(nb, "control.advance(24 * 3600)")
    assert "make lab PORT=9000 NO_BROWSER=1" in readme and "(default 8888)" in readme
    assert "lab: PORT ?= 8888" in (NOTEBOOKS.parent / "Makefile").read_text()
