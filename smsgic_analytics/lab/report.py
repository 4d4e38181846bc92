"""Notebooks -> self-contained HTML reports (behind ``make report``).

Each notebook is executed afresh against its own in-process sandbox (SMSGIC_TOKEN and
SMSGIC_BASE_URL are removed from the kernel's environment) with SMSGIC_REPORT=1, which makes
``notebook_session`` embed plotly.js once and give every figure a ``text/html`` form.  The
HTML uses JupyterLab's look but loads nothing from a CDN: no require.js, MathJax or Mermaid
(the notebooks use none of them) and no ipywidgets manager -- a static page cannot run the
apps, so each app output says so instead.

World maps carry their own country outlines (``charts.world_geojson``), so they draw offline too.

>>> build_report(Path("notebooks/01_estimate_campaign_cost.ipynb"), Path("reports"))   # doctest: +SKIP
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from ..core.config import ENV_BASE_URL, ENV_CACHE_DIR, ENV_SANDBOX_ADMIN_TOKEN, ENV_TOKEN
from .notebook import ENV_REPORT

TIMEOUT = 600  # seconds per cell; a notebook takes well under a minute
_TEMPLATE_NAME = "smsgic_report.html.j2"
_TEMPLATE = """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
APP_NOTE = ("<div class='smsgic-static-app' style='padding:0.5em 1em;border:1px dashed #9ca3af;color:#374151'>"
            "Interactive app: its controls need a running kernel. Open the notebook in JupyterLab "
            "(<code>make lab</code>) to use it.</div>")


def notebook_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment as nbval sees it: no token, server, cache folder or admin token,
    so every notebook starts its own in-process sandbox (fixed seed, frozen clock)."""
    away = (ENV_TOKEN, ENV_BASE_URL, ENV_CACHE_DIR, ENV_SANDBOX_ADMIN_TOKEN, ENV_REPORT)
    return {k: v for k, v in (os.environ if base is None else base).items() if k not in away}


def report_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment for a report: the notebooks' own sandbox, report mode on."""
    env = notebook_environment(base)
    env[ENV_REPORT] = "1"
    return env


def execute(notebook: Path, env: dict[str, str], timeout: int = TIMEOUT) -> nbformat.NotebookNode:
    """``notebook`` run top to bottom in a fresh kernel (in its own folder); widget state kept."""
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(notebook.parent)}}).execute(env=env)
    return nb


def refresh_outputs(notebook: Path, timeout: int = TIMEOUT) -> None:
    """Re-execute ``notebook`` as nbval will and save it with the new outputs (``make notebooks``)."""
    nbformat.write(execute(notebook, notebook_environment(), timeout), notebook)


def exporter() -> HTMLExporter:
    """JupyterLab-styled HTML with every external script removed (see the module docstring)."""
    return HTMLExporter(template_name="lab", extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
                        template_file=_TEMPLATE_NAME, embed_images=True)


def static_apps(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose app (widget) outputs are a short note, without the widget state:
    the page loads no widget manager, and the raw widget repr would mean nothing to a reader."""
    static = copy.deepcopy(nb)
    static.metadata.pop("widgets", None)
    for cell in static.cells:
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                output["data"] = {"text/html": APP_NOTE, "text/plain": "Interactive app (needs a running kernel)"}
    return static


def build_report(notebook: Path, out_dir: Path, timeout: int = TIMEOUT) -> Path:
    """Execute ``notebook`` (in its own folder) and write ``out_dir/<name>.html``; returns the path.

    A cell that raises stops the report with nbclient's ``CellExecutionError`` naming it.
    """
    static = static_apps(execute(notebook, report_environment(), timeout))
    body, _ = exporter().from_notebook_node(static, resources={"metadata": {"name": notebook.stem}})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{notebook.stem}.html"
    path.write_text(body, encoding="utf-8")
    return path
