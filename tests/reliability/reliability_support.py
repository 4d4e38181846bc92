"""Helpers shared by the reliability tests: phone numbers the sandbox prices, a sandbox child
process that can be killed and restarted, and an exact single-request reference price.

Kept out of conftest.py so subprocess scripts and tests can import them by name (pytest puts
this folder and tests/ on sys.path; subprocesses get both through PYTHONPATH).
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from phonebook import phone_numbers  # noqa: F401  (re-exported for the tests)

from smsgic_analytics.core import spec
from smsgic_analytics.core.config import ENV_SANDBOX_ADMIN_TOKEN, ENV_STATE_DIR
from smsgic_analytics.sandbox.control import register_admin_token

HERE = Path(__file__).resolve().parent


def server_sendings(url: str, token: str) -> list[dict]:
    """GET /sendings with plain ``requests``: what the server really holds."""
    response = requests.get(url + spec.SENDINGS, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
    return response.json()["sendings"]


def server_balance(url: str, token: str) -> Decimal:
    """GET /balance with plain ``requests`` (shown rounded down to 3 decimals)."""
    response = requests.get(url + spec.BALANCE, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
    return Decimal(response.json()["balance"])


def reference_quote(url: str, token: str, message: str, numbers: Sequence[str]) -> dict[str, Any]:
    """The sandbox's own price for all ``numbers`` in ONE calculate request, read with plain
    ``requests`` (not the project's client): the yardstick a chunked, faulted, resumed quote
    must equal.  Returns {"total", "subtotal", "sms_count", "per_number": {number: total}}."""
    response = requests.post(f"{url}{spec.CALCULATE}", json={"message": message, "recipients": list(numbers)},
                             headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                             timeout=120)
    response.raise_for_status()
    calc = json.loads(response.content, parse_float=Decimal)["calculate"]
    per_number = {str(n["phone_number"]): n["total"] for d in calc["destinations"] for n in d["numbers"]}
    info = calc["info"]
    return {"total": info["total"], "subtotal": info["subtotal"], "sms_count": info["sms_count"],
            "per_number": per_number}


class SandboxProcess:
    """``smsgic-analytics sandbox`` as a child process on a fixed port and db: kill it with
    SIGKILL (no clean shutdown) and start it again on the same port and file, or replace it
    with a brand-new server on a new empty db behind the same URL (``start_fresh``).  Its
    controls are on behind an admin token registered for its URL, so ``SandboxControl(url)``
    works.  ``args``: more command-line options, e.g. ``("--clock-offset", "-7200")``.

    >>> with SandboxProcess(tmp_path / "a.sqlite", tokens=["t"]) as server:  # doctest: +SKIP
    ...     url = server.url                       # a free port, chosen at the first start
    ...     server.start_fresh(tmp_path / "b.sqlite")   # same URL, token, admin token; empty db
    """

    def __init__(self, db: Path, tokens: Sequence[str], port: int = 0, args: Sequence[str] = ()) -> None:
        self.db, self.tokens, self.port, self.args = db, tuple(tokens), port, tuple(args)
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.admin_token = secrets.token_urlsafe(32)

    def __enter__(self) -> "SandboxProcess":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> str:
        cmd = [sys.executable, "-m", "smsgic_analytics.lab.cli", "sandbox", "--host", "127.0.0.1",
               "--port", str(self.port), "--db", str(self.db), "--log-level", "warning", "--controls", *self.args]
        for token in self.tokens:
            cmd += ["--token", token]
        env = {**os.environ, ENV_SANDBOX_ADMIN_TOKEN: self.admin_token}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the URL, printed once it accepts requests
        if not line.startswith("http://"):
            raise RuntimeError(f"the sandbox did not start (exit code {self.proc.poll()}, said {line!r})")
        self.url = line.strip()
        self.port = int(self.url.rsplit(":", 1)[1])  # a restart reuses it: cache keys hold the URL
        register_admin_token(self.url, self.admin_token)
        return self.url

    def start_fresh(self, db: Path) -> str:
        """Stop this server (SIGTERM) and start a NEW one on the empty db ``db``, on the same
        port with the same tokens and admin token: what a client sees when the server behind
        its URL is replaced by a fresh install (balances back to 450.000, no sendings, ids
        from the start, the clock from wall time).  Returns the URL, the same as before."""
        if db.exists() and db.stat().st_size:
            raise ValueError(f"{db} is not empty: a fresh server needs a new db")
        if not self.url:
            raise RuntimeError("start() first: the fresh server takes over the first one's port")
        before = self.url
        self.stop()
        self.db = db
        url = self.start()
        assert url == before, f"the fresh server came up on {url}, not {before}"
        return url

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, in-flight requests die with the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def kill_part_way(args: Sequence[str], control: Any, chunks: int, timeout: float) -> None:
    """Run the quoting child ``args`` against a slowed calculate and SIGKILL it once a third of
    its ``chunks`` reached the server: a kernel killed part way through a quote."""
    calculate = ("POST", spec.CALCULATE)
    control.inject("latency", path=spec.CALCULATE, method="POST", count=1_000, seconds=0.15)
    control.reset_stats()
    victim = subprocess.Popen(list(args), env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: control.stats().get(calculate, 0) >= chunks // 3 or victim.poll() is not None, timeout,
                 "a third of the chunks")
        victim.send_signal(signal.SIGKILL)
    finally:
        out, err = victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL, f"the child ended on its own first: {out} {err}"


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.02) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child Python: this folder importable, no SMSGIC_* leaking in but the
    test's own machine-wide state folder (SMSGIC_STATE_DIR: locks and rate-limit budget)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGIC_") or k == ENV_STATE_DIR}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), str(HERE.parent), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def warm_up(url: str, token: str = "demo-token") -> None:
    """The first calculate loads the numbering tables: done once, outside any test's timing."""
    requests.post(url + spec.CALCULATE, json={"message": "warm", "recipients": ["447400123456"]},
                  headers={"Authorization": f"Bearer {token}"}, timeout=300).raise_for_status()


def run_kernels(tmp_path: Path, state_dir: Path, configs: list[dict[str, Any]], *,
                timeout: float = 120) -> list[dict]:
    """Start one ``kernel_child.py`` process per config (two OS processes on one account, as two
    notebooks would be), wait until each is ready, then let them all go at once; their outcomes."""
    go = tmp_path / "go"
    procs, outs = [], []
    for i, cfg in enumerate(configs):
        cfg = {"ready": str(tmp_path / f"ready-{i}"), "go": str(go), "out": str(tmp_path / f"out-{i}.json"), **cfg}
        path = tmp_path / f"kernel-{i}.json"
        path.write_text(json.dumps(cfg))
        outs.append(Path(cfg["out"]))
        procs.append(subprocess.Popen([sys.executable, str(HERE / "kernel_child.py"), str(path)],
                                      env=child_env(SMSGIC_STATE_DIR=str(state_dir)),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    try:
        wait_for(lambda: all(Path(tmp_path / f"ready-{i}").exists() or p.poll() is not None
                             for i, p in enumerate(procs)), timeout, "every kernel to be ready")
        go.touch()
        for proc in procs:
            proc.wait(timeout=timeout)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    results = []
    for proc, out in zip(procs, outs):
        assert out.exists(), f"a kernel wrote nothing (exit {proc.returncode}): {proc.stderr.read()}"
        results.append(json.loads(out.read_text()))
    crashed = [r["message"] for r in results if r["outcome"] == "crashed"]
    assert crashed == [], crashed
    return results
