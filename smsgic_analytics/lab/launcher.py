"""Launchers behind `make lab`, `make dashboard` and `make report`.

`lab` starts a sandbox (persistent database under ``--data``, test controls on behind a
fresh admin token) unless a token is given (``--token`` or SMSGIC_TOKEN), points
SMSGIC_BASE_URL/SMSGIC_TOKEN/SMSGIC_SANDBOX_ADMIN_TOKEN at it, runs JupyterLab (or Voilà) on
the notebooks, and stops the sandbox when JupyterLab exits.

With ``--voila`` (``make dashboard``: notebooks/dashboard.ipynb, a page that only reads) Voilà
gets this package's template (the lab template without its Font Awesome CDN links: the page
asks no other host), and on a sandbox it started the launcher first sends the dashboard's demo
history to the lab account, once, dated in the past (``demo.seed_lab_history``) -- viewing the
page never sends and never moves the clock.

Where the client's cache and ledger go: with a sandbox it started, ``<data>/cache`` --
next to the sandbox database they describe (SMSGIC_CACHE_DIR).  The ledger names an account
by base URL + token, and a fresh sandbox on the same port with the same demo token is the
same name: kept in the user cache folder, its ledger rows would outlive the database they
belong to (a later `make dashboard` on a fresh ``--data`` would find "earlier sends" there and
refuse its own as duplicates).  With a token for another server (the real API) nothing is
changed: the cache stays in the user cache folder (or SMSGIC_CACHE_DIR).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from ..core import spec
from ..core.config import ENV_BASE_URL, ENV_CACHE_DIR, ENV_SANDBOX_ADMIN_TOKEN, ENV_TOKEN

VOILA_PORT = 8866  # Voilà's own default
# Voilà's "lab" template minus its Font Awesome links to a CDN (see the template): found through
# JUPYTER_PATH, which the launcher gives Voilà.
JUPYTER_DATA = Path(__file__).with_name("jupyter")
VOILA_TEMPLATE = "smsgic"
CACHE_FOLDER = "cache"  # under --data: the client's HTTP cache and ledger for the sandbox there


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
def sandbox_process(db: Path, admin_token: str, token: str = spec.DEMO_TOKEN, port: int | None = None) -> Iterator[str]:
    """Run ``smsgic-analytics sandbox --controls`` as a child process; yield its URL; stop it on exit.

    The admin token goes through the environment, not the command line (which ``ps`` shows).
    Without ``port``: 8765 when it is free, else any free port -- and when another process binds
    8765 between that check and the child's start (two launchers, or two test workers, at once),
    the child exits and the sandbox starts again on a free port the server picks itself.
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, ENV_SANDBOX_ADMIN_TOKEN: admin_token}
    ports = [port] if port else [free_port(), 0]
    for attempt, chosen in enumerate(ports, 1):
        cmd = [sys.executable, "-m", "smsgic_analytics.lab.cli", "sandbox", "--host", "127.0.0.1",
               "--port", str(chosen), "--db", str(db), "--token", token, "--controls"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        url = next((line.strip() for line in proc.stdout if line.startswith("http://")), None)
        if url is not None:
            break
        code = proc.wait()
        if attempt == len(ports):
            raise RuntimeError(f"sandbox exited with code {code} before serving")
        print(f"port {chosen} was taken meanwhile: starting the sandbox on a free port", file=sys.stderr)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def api_environment(data: Path, token: str | None = None) -> Iterator[dict[str, str]]:
    """Environment for child processes: the API of ``token`` (else SMSGIC_TOKEN) when there is
    one, else a sandbox on ``data/sandbox.sqlite`` with its cache and ledger in ``data/cache``."""
    env = dict(os.environ)
    if token:
        env[ENV_TOKEN] = token
    if env.get(ENV_TOKEN):
        print("A token is set: the notebooks talk to", env.get(ENV_BASE_URL, "the SMSgic API"),
              "(no sandbox started; cache and ledger in the user cache folder or SMSGIC_CACHE_DIR)")
        yield env
        return
    from ..sandbox.admin import new_admin_token  # here: the launcher needs the sandbox's modules only now

    admin_token = new_admin_token()
    with sandbox_process(data / "sandbox.sqlite", admin_token) as url:
        cache = data / CACHE_FOLDER
        print(f"Sandbox serving at {url} (token {spec.DEMO_TOKEN!r}, database {data / 'sandbox.sqlite'}, "
              f"client cache and ledger {cache})")
        env.update({ENV_BASE_URL: url, ENV_TOKEN: spec.DEMO_TOKEN, ENV_CACHE_DIR: str(cache),
                    ENV_SANDBOX_ADMIN_TOKEN: admin_token})
        yield env


def lab_command(args: argparse.Namespace) -> list[str]:
    """The JupyterLab (or, with ``--voila``, Voilà) command line for ``args``."""
    if args.voila:
        cmd = [sys.executable, "-m", "voila", args.voila, f"--port={args.port or VOILA_PORT}",
               f"--template={VOILA_TEMPLATE}"]
    else:
        cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={args.notebooks}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers and CI machines run as root
        if args.port:
            cmd.append(f"--port={args.port}")
    if args.no_browser:
        cmd.append("--no-browser")
    return cmd


def voila_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this package's Jupyter data folder first on JUPYTER_PATH (its Voilà template)."""
    paths = [str(JUPYTER_DATA), *filter(None, env.get("JUPYTER_PATH", "").split(os.pathsep))]
    return {**env, "JUPYTER_PATH": os.pathsep.join(paths)}


def seed_dashboard(env: dict[str, str]) -> None:
    """Before ``make dashboard`` serves its read-only page: the demo history on the lab account
    of the sandbox this launcher started, once (``demo.seed_lab_history``)."""
    from .demo import seed_lab_history  # here: it needs the client and the sandbox's controls

    ids = seed_lab_history(env[ENV_BASE_URL], env[ENV_TOKEN], env[ENV_SANDBOX_ADMIN_TOKEN], env[ENV_CACHE_DIR])
    print(f"Dashboard demo history: {len(ids)} campaigns sent on the lab account, in the past" if ids else
          "Dashboard demo history: the lab account has sendings already; nothing sent")


def run_lab(args: argparse.Namespace) -> int:
    data = Path(args.data).resolve()
    own_sandbox = not (args.token or os.environ.get(ENV_TOKEN))
    with api_environment(data, token=args.token) as env:
        if args.voila:
            env = voila_environment(env)
            if own_sandbox:
                seed_dashboard(env)
        child = subprocess.Popen(lab_command(args), env=env)
        # A SIGTERM to the launcher stops JupyterLab first, then (leaving this block) the sandbox.
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        try:
            return child.wait()
        except KeyboardInterrupt:  # Ctrl-C reaches JupyterLab too (same process group)
            return child.wait()


def run_report(args: argparse.Namespace) -> int:
    """Execute every notebook against a fresh sandbox into self-contained HTML (see ``report``),
    or with ``--in-place`` save each with its new outputs, as nbval will compare them."""
    from nbclient.exceptions import CellExecutionError

    from .report import build_report, refresh_outputs

    out = Path(args.out)
    notebooks = sorted(Path(args.notebooks).glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in {args.notebooks}/", file=sys.stderr)
        return 1
    for nb in notebooks:
        try:
            if args.in_place:
                refresh_outputs(nb)
            else:
                print(f"{nb} -> {build_report(nb, out)}")
        except CellExecutionError as exc:
            print(f"{nb}: a cell failed:\n{exc}", file=sys.stderr)
            return 1
    print(f"{len(notebooks)} notebooks re-executed in place" if args.in_place else
          f"{len(notebooks)} reports in {out}/")
    return 0


def add_arguments(lab: argparse.ArgumentParser, report: argparse.ArgumentParser) -> None:
    lab.description = ("JupyterLab (or one notebook as a Voilà page) on the notebooks. Without a token it "
                       "starts a sandbox on DATA/sandbox.sqlite and keeps the client's cache and ledger in "
                       "DATA/cache; with one (--token or SMSGIC_TOKEN) it starts nothing and the notebooks "
                       "use that account (SMSGIC_BASE_URL, default the real API) and the user cache folder.")
    lab.add_argument("--notebooks", default="notebooks", help="folder JupyterLab opens (default notebooks)")
    lab.add_argument("--data", default=".data",
                     help="folder for the sandbox database and its cache and ledger (default .data; "
                          "delete it to start the sandbox afresh)")
    lab.add_argument("--port", type=int, default=None,
                     help=f"port of JupyterLab (default: its own, 8888) or of Voilà (default {VOILA_PORT})")
    lab.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    lab.add_argument("--token", default=None,
                     help="SMSgic API token (default: SMSGIC_TOKEN); the environment variable is safer, "
                          "a command line is visible to other users of the machine")
    lab.add_argument("--voila", default=None, metavar="NOTEBOOK", help="serve this notebook with Voilà instead")
    lab.set_defaults(func=run_lab)
    report.add_argument("--notebooks", default="notebooks")
    report.add_argument("--out", default="reports")
    report.add_argument("--in-place", action="store_true",
                        help="save each notebook with its new outputs instead of writing HTML (make notebooks)")
    report.set_defaults(func=run_report)
