"""Launchers behind `make lab`, `make dashboard` and `make report`.

`lab` starts a sandbox (persistent database under ``--data``, test controls on behind a
fresh admin token) unless SMSGIC_TOKEN is set, points SMSGIC_BASE_URL/SMSGIC_TOKEN/
SMSGIC_SANDBOX_ADMIN_TOKEN at it, runs JupyterLab (or Voilà) on the notebooks, and stops the
sandbox when JupyterLab exits.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from .config import ENV_BASE_URL, ENV_SANDBOX_ADMIN_TOKEN, ENV_TOKEN

DEMO_TOKEN = "demo-token"


def free_port(preferred: int = 8765) -> int:
    """``preferred`` when it is free on 127.0.0.1, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port on 127.0.0.1")


@contextlib.contextmanager
def sandbox_process(db: Path, admin_token: str, token: str = DEMO_TOKEN, port: int | None = None) -> Iterator[str]:
    """Run ``smsgic-analytics sandbox --controls`` as a child process; yield its URL; stop it on exit.

    The admin token goes through the environment, not the command line (which ``ps`` shows).
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "smsgic_analytics.cli", "sandbox", "--host", "127.0.0.1",
           "--port", str(port or free_port()), "--db", str(db), "--token", token, "--controls"]
    env = {**os.environ, ENV_SANDBOX_ADMIN_TOKEN: admin_token}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("http://"):
                url = line.strip()
                break
        else:
            raise RuntimeError(f"sandbox exited with code {proc.wait()} before serving")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def api_environment(data: Path) -> Iterator[dict[str, str]]:
    """Environment for child processes: the real API when SMSGIC_TOKEN is set, else a sandbox."""
    env = dict(os.environ)
    if env.get(ENV_TOKEN):
        print("SMSGIC_TOKEN is set: notebooks talk to", env.get(ENV_BASE_URL, "the SMSgic API"))
        yield env
        return
    admin_token = secrets.token_urlsafe(32)
    with sandbox_process(data / "sandbox.sqlite", admin_token) as url:
        print(f"Sandbox serving at {url} (token {DEMO_TOKEN!r}, database {data / 'sandbox.sqlite'})")
        env.update({ENV_BASE_URL: url, ENV_TOKEN: DEMO_TOKEN, ENV_SANDBOX_ADMIN_TOKEN: admin_token})
        yield env


def run_lab(args) -> int:
    data = Path(args.data).resolve()
    with api_environment(data) as env:
        if args.voila:
            cmd = [sys.executable, "-m", "voila", args.voila, "--port", str(args.port or 8866)]
        else:
            cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={args.notebooks}"]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--allow-root")  # containers and CI machines run as root
            if args.port:
                cmd.append(f"--port={args.port}")
        child = subprocess.Popen(cmd, env=env)
        # A SIGTERM to the launcher stops JupyterLab first, then (leaving this block) the sandbox.
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        try:
            return child.wait()
        except KeyboardInterrupt:  # Ctrl-C reaches JupyterLab too (same process group)
            return child.wait()


def run_report(args) -> int:
    """Execute every notebook against a fresh sandbox into self-contained HTML (see ``report``)."""
    from nbclient.exceptions import CellExecutionError

    from .report import build_report

    out = Path(args.out)
    notebooks = sorted(Path(args.notebooks).glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in {args.notebooks}/", file=sys.stderr)
        return 1
    for nb in notebooks:
        try:
            path = build_report(nb, out)
        except CellExecutionError as exc:
            print(f"{nb}: a cell failed:\n{exc}", file=sys.stderr)
            return 1
        print(f"{nb} -> {path}")
    print(f"{len(notebooks)} reports in {out}/")
    return 0


def add_arguments(lab, report) -> None:
    lab.add_argument("--notebooks", default="notebooks")
    lab.add_argument("--data", default=".data", help="folder for the sandbox database")
    lab.add_argument("--port", type=int, default=None)
    lab.add_argument("--voila", default=None, help="serve this notebook with Voilà instead")
    lab.set_defaults(func=run_lab)
    report.add_argument("--notebooks", default="notebooks")
    report.add_argument("--out", default="reports")
    report.set_defaults(func=run_report)
