"""What every committed notebook must be, beyond nbval re-running it.

nbval (``make test``) checks that re-executing a notebook reproduces its stored outputs;
these tests check what nbval cannot: that there *are* stored outputs from one clean
top-to-bottom run, that the notebook starts with the setup cell, reads as a report
(markdown around the code), and leaks nothing -- no production URL, no token, no
loopback URL or temp path -- anywhere in the file.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

from smsgic_analytics.core import spec

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
# The numbered notebooks are reports; dashboard.ipynb is the page `make dashboard` serves (checked below).
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
DASHBOARD = NOTEBOOKS_DIR / "dashboard.ipynb"
EXPECTED = ["01_estimate_campaign_cost", "02_explore_rates", "03_send_campaign", "04_status_and_spend",
            "05_audience_at_scale", "06_rates_and_budget", "07_copy_and_audience"]
# The at-scale notebook works on files through Dask: the ipywidgets apps price in-memory uploads.
WITHOUT_APP = {"05_audience_at_scale"}
# The copy lab's "Apply rewrite" fills the sender app: 07 shows both.
APPS = {"07_copy_and_audience": 2}
SANDBOX_TOKEN = "demo-token"
MAX_CODE_RUN = 4  # code cells in a row before the reader gets a word of explanation
# Things that look like a credential in source or output.
TOKEN_PATTERNS = [
    re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]{4,}"),
    re.compile(r"""(?i)\btoken\b["']?\s*[:=]\s*["'][^"']+["']"""),
    re.compile(r"(?i)SMSGIC_TOKEN\s*=\s*\S+"),
    re.compile(r"\b[0-9a-f]{64}\b"),  # a sha256 hex digest (ledger hashes) has no place in a report
]
VOLATILE_PATTERNS = [
    re.compile(r"https?://(127\.0\.0\.1|localhost|\[::1\])"),
    re.compile(r"/tmp/|smsgic-notebook-|smsgic-sandbox-"),
    re.compile(r"\b0x[0-9a-fA-F]{6,}\b"),  # memory addresses: nbval would have to sanitise them
]


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _output_text(nb: nbformat.NotebookNode) -> str:
    """Every output of every cell, as the JSON text nbval and a reader would see."""
    return json.dumps([c.get("outputs", []) for c in nb.cells], ensure_ascii=False)


@pytest.fixture(params=NOTEBOOKS, ids=_ids(NOTEBOOKS))
def notebook(request: pytest.FixtureRequest) -> tuple[Path, nbformat.NotebookNode, str]:
    path: Path = request.param
    raw = path.read_text(encoding="utf-8")
    return path, nbformat.reads(raw, as_version=4), raw


def test_the_notebooks_are_there_and_nothing_else() -> None:
    assert _ids(NOTEBOOKS) == EXPECTED
    assert _ids(sorted(NOTEBOOKS_DIR.glob("*.ipynb"))) == [*EXPECTED, "dashboard"]


def test_the_dashboard_page_only_reads_and_shows_one_app() -> None:
    """The Voilà page: a title, the quiet session, the app -- no send, no clock move, no error,
    nothing secret or volatile in what it stores."""
    raw = DASHBOARD.read_text(encoding="utf-8")
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    code = "\n".join(c.source for c in _code_cells(nb))
    for forbidden in ("send(", "confirm=True", "advance(", "set_now(", "set_offset(", "demo_account=True"):
        assert forbidden not in code, forbidden
    outputs = [o for c in _code_cells(nb) for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    apps = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(apps) == 1 and "widgets" in nb.metadata
    assert SANDBOX_TOKEN not in raw and not any(p.search(raw) for p in TOKEN_PATTERNS)
    assert not any(p.search(_output_text(nb)) for p in VOLATILE_PATTERNS)


def test_is_valid_nbformat_with_the_venv_kernel(notebook) -> None:
    path, nb, _ = notebook
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3", path.name


def test_outputs_are_committed_from_one_clean_run(notebook) -> None:
    path, nb, _ = notebook
    code = _code_cells(nb)
    counts = [c.execution_count for c in code]
    never = [i for i, n in enumerate(counts) if n is None]
    assert not never, f"{path.name}: code cells never executed: {never}"
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: not one top-to-bottom run: {counts}"
    with_output = [c for c in code if c.outputs]
    assert len(with_output) >= 0.8 * len(code), f"{path.name}: only {len(with_output)} of {len(code)} cells show output"


def test_no_cell_raised_and_none_is_exempt_from_nbval(notebook) -> None:
    path, nb, _ = notebook
    for i, cell in enumerate(_code_cells(nb)):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name} code cell {i}: {errors[0].ename}: {errors[0].evalue}"
        stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, f"{path.name} code cell {i} wrote to stderr: {stderr[0][:300]}"
        for marker in ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION"):
            assert marker not in cell.source, f"{path.name} code cell {i} uses {marker}"


def test_starts_with_a_title_then_the_setup_cell(notebook) -> None:
    path, nb, _ = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), f"{path.name}: no title cell first"
    setup = _code_cells(nb)[0]
    assert re.search(r"^client, control = sa\.notebook_session\(seed=\d+, clock=\"[^\"]+\"(, demo_account=True)?\)$",
                     setup.source, re.M), f"{path.name}: the first code cell is not the setup cell:\n{setup.source}"
    assert "import smsgic_analytics as sa" in setup.source
    printed = "".join(o.get("text", "") for o in setup.outputs)
    assert printed.startswith("Sandbox SMSgic API: seed "), f"{path.name}: setup output is {printed!r}"


def test_a_notebook_that_sends_does_so_on_a_demo_account(notebook) -> None:
    """Under `make lab` a notebook that sends must not meet its own earlier sends (a second Run
    All would stop at the duplicate guard) nor spend the lab account's balance: it asks for a
    demo account, a new one per session."""
    path, nb, _ = notebook
    code = "\n".join(c.source for c in _code_cells(nb))
    sends = re.search(r"confirm=True", code) is not None
    assert ("demo_account=True" in _code_cells(nb)[0].source) == sends, path.name


def test_reads_as_a_report(notebook) -> None:
    path, nb, _ = notebook
    run = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            assert len(cell.source.strip()) >= 20, f"{path.name} cell {i}: a markdown cell with no real text"
            run = 0
        elif cell.cell_type == "code":
            run += 1
            assert run <= MAX_CODE_RUN, f"{path.name} cell {i}: {run} code cells in a row without explanation"
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    sections = [c for c in markdown if re.match(r"^## ", c.source)]
    assert len(sections) >= 3, f"{path.name}: fewer than 3 '## ' sections"


def test_never_mentions_the_production_api(notebook) -> None:
    path, _, raw = notebook
    assert urlparse(spec.BASE_URL).hostname not in raw.lower(), path.name


def test_contains_no_token(notebook) -> None:
    path, nb, raw = notebook
    assert SANDBOX_TOKEN not in raw, f"{path.name} contains the sandbox token"
    for pattern in TOKEN_PATTERNS:
        found = pattern.search(raw)
        assert not found, f"{path.name}: token-like text {found.group(0)!r}"


def test_outputs_hold_nothing_volatile(notebook) -> None:
    path, nb, _ = notebook
    text = _output_text(nb)
    for pattern in VOLATILE_PATTERNS:
        found = pattern.search(text)
        assert not found, f"{path.name}: volatile output {found.group(0)!r} (nbval would have to sanitise it)"


def test_figures_are_the_deterministic_plotly_bundle(notebook) -> None:
    """Figures are stored as plotly's JSON mime bundle only: no random div ids, no 4 MB plotly.js copy."""
    path, nb, _ = notebook
    figures = [o for c in _code_cells(nb) for o in c.outputs
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert figures or path.stem == "03_send_campaign", f"{path.name}: no figure"
    for output in figures:
        assert set(output["data"]) == {"application/vnd.plotly.v1+json"}, sorted(output["data"])
        assert output["data"]["application/vnd.plotly.v1+json"]["layout"]["title"]["text"]


def test_shows_its_app(notebook) -> None:
    path, nb, _ = notebook
    apps = [o for c in _code_cells(nb) for o in c.outputs
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    if path.stem in WITHOUT_APP:
        assert not apps, f"{path.name}: an app output where none is expected"
        return
    assert len(apps) == APPS.get(path.stem, 1), f"{path.name}: {len(apps)} app outputs"
    assert "widgets" in nb.metadata, f"{path.name}: widget state not saved (the app would not render from the file)"


def test_sanitize_file_only_masks_volatile_patterns() -> None:
    cfg = (NOTEBOOKS_DIR / "sanitize.cfg").read_text()
    regexes = re.findall(r"^regex:\s*(.+)$", cfg, re.M)
    assert regexes, "sanitize.cfg has no patterns"
    for regex in regexes:
        # A pattern that matches ordinary text would hide real differences from nbval.
        for ordinary in ("Quote total: 821.3818 GBP", "sending 301", "2026-03-02 09:00:00", "Germany 344"):
            assert not re.search(regex, ordinary), f"sanitize pattern {regex!r} masks {ordinary!r}"
