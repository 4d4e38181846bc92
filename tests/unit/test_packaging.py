"""pyproject.toml and environment.yml declare the same dependencies with the same lower bounds."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# A name, optional extras (``dask[dataframe]``: the conda package is plain ``dask``), a lower bound.
REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*(>=\s*[0-9][^,;\s]*)?")


def _parse(spec: str) -> tuple[str, str]:
    m = REQ.match(spec)
    assert m, f"cannot read requirement {spec!r}"
    return m.group(1).lower().replace("_", "-"), (m.group(2) or "").replace(" ", "")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = data["dependencies"] + data["optional-dependencies"]["dev"]
    return dict(_parse(s) for s in specs)


def _environment() -> dict[str, str]:
    data = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs: list[str] = []
    for item in data["dependencies"]:
        if isinstance(item, dict):
            specs += [s for s in item["pip"] if not s.startswith("-")]
        elif not item.startswith(("python", "pip")) or item.startswith("python-"):
            specs.append(item)
    return dict(_parse(s) for s in specs)


def test_same_packages_and_lower_bounds():
    py, env = _pyproject(), _environment()
    assert sorted(set(py) - set(env)) == [], "in pyproject.toml only"
    assert sorted(set(env) - set(py)) == [], "in environment.yml only"
    different = {name: (py[name], env[name]) for name in py if py[name] != env[name]}
    assert different == {}


def test_every_dependency_has_a_lower_bound():
    assert [name for name, bound in _pyproject().items() if not bound] == []


def test_console_script_declared():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["scripts"]["smsgic-analytics"] == "smsgic_analytics.lab.cli:main"


def test_license_is_an_spdx_expression_and_the_backend_reads_it():
    """PEP 639: ``license = "MIT"`` (the table form is deprecated; setuptools stops building it in
    2027).  setuptools reads the string form from 77 on."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["license"] == "MIT"
    [backend] = [r for r in data["build-system"]["requires"] if _parse(r)[0] == "setuptools"]
    assert _parse(backend)[1] == ">=77"
