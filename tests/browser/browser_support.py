"""Helpers for the browser tests (a module of its own: conftest modules are not importable by name)."""
from __future__ import annotations

import os
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a Jupyter server: private config/data/runtime dirs, no SMSGIC_* from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSGIC_", "JUPYTER"))}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        path = home / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    # JupyterLab asks "get notified about official Jupyter news?" in a toast: answer no up front
    settings = home / "jupyterlab_settings_dir"
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text('{"fetchNews": "false"}')
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env
