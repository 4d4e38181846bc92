"""`make lab`'s sandbox: a child process with its controls on behind a fresh admin token,
which the launcher hands to JupyterLab's kernels in SMSGIC_SANDBOX_ADMIN_TOKEN and which
``notebook_session`` uses.  Without the variable a kernel simply has no controls.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
import requests

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.core.config import ENV_BASE_URL, ENV_CACHE_DIR, ENV_SANDBOX_ADMIN_TOKEN, ENV_TOKEN
from smsgic_analytics.lab import launcher as lab
from smsgic_analytics.lab import notebook
from smsgic_analytics.sandbox import SandboxControl, SandboxControlError

CLOCK = "2026-03-02T09:00:00Z"


@pytest.fixture
def lab_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment `make lab` gives JupyterLab, with its sandbox running."""
    for name in (ENV_TOKEN, ENV_BASE_URL, ENV_CACHE_DIR, ENV_SANDBOX_ADMIN_TOKEN, notebook.ENV_REPORT):
        monkeypatch.delenv(name, raising=False)
    with lab.api_environment(tmp_path / "data") as env:
        yield env
    if notebook._current is not None:
        notebook._current.close()
        notebook._current = None


def test_the_lab_sandbox_locks_its_controls_with_the_token_it_hands_on(lab_env):
    url, admin = lab_env[ENV_BASE_URL], lab_env[ENV_SANDBOX_ADMIN_TOKEN]
    assert lab_env[ENV_TOKEN] == "demo-token" and len(admin) >= 32
    assert requests.get(url + "/__sandbox__/clock", timeout=10).status_code == 401
    assert requests.get(url + spec.BALANCE, headers={"Authorization": f"Bearer {admin}"}, timeout=10).status_code == 401
    assert SandboxControl(url, admin_token=admin).faults() == []


def test_a_kernel_with_the_token_drives_the_lab_sandbox(lab_env, monkeypatch, tmp_path, capsys):
    for name in (ENV_BASE_URL, ENV_TOKEN, ENV_SANDBOX_ADMIN_TOKEN):
        monkeypatch.setenv(name, lab_env[name])
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    client, control = sa.notebook_session(seed=5, clock=CLOCK)
    assert capsys.readouterr().out.startswith("Local sandbox SMSgic API (make lab, make dashboard)")
    control.set_balance("demo-token", "12.5")
    assert client.balance().amount == Decimal("12.500")
    assert lab_env[ENV_SANDBOX_ADMIN_TOKEN] not in repr(control)


def test_a_kernel_without_the_token_has_no_controls(lab_env, monkeypatch, tmp_path, capsys):
    for name in (ENV_BASE_URL, ENV_TOKEN):
        monkeypatch.setenv(name, lab_env[name])
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "cache"))
    client, control = sa.notebook_session(seed=5, clock=CLOCK)
    assert control is None
    assert capsys.readouterr().out.startswith("SMSgic API: connected with SMSGIC_TOKEN")
    assert client.balance().amount == Decimal("450.000")
    with pytest.raises(SandboxControlError, match="401"):
        SandboxControl(lab_env[ENV_BASE_URL]).now()
