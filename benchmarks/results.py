"""benchmarks/RESULTS.md: each benchmark owns one ``## <name>`` section and rewrites only it;
its figures also go to ``results/<name>.json``, so a change can be compared with the last run."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("RESULTS.md")
FIGURES = Path(__file__).with_name("results")


def write_figures(name: str, figures: Any) -> None:
    """Replace ``results/<name>.json`` with ``figures`` (Decimals and the like as text)."""
    FIGURES.mkdir(exist_ok=True)
    (FIGURES / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``## name`` of RESULTS.md, leaving the others."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = f"## {name}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text)
