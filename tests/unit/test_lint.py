"""Pyflakes over the whole repository (package, tests, benchmarks, scripts and the notebooks'
code cells): no undefined name, no unused import or variable, no syntax error.  Style is
not checked here; these are the mistakes that hide bugs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyflakes_finds_nothing():
    # --isolated: no user or project ruff settings; F = pyflakes, E9 = syntax and IO errors
    found = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "F,E9",
                            "--output-format", "concise", str(ROOT)], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr
