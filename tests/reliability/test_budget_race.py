"""Issue 20: two notebooks (two OS processes) on one ledger cannot jointly overrun the budget.

Each kernel (``kernel_child.py``) sends its own campaign; either one fits the month's budget,
both together do not.  They start at one barrier and the server takes a second over each POST,
so both pass their early budget check before either has sent: only the check under the
account's machine-wide send lock, which sees the other's 'pending' ledger row, keeps them
apart.  The oracle is the server's own list of sendings, read with plain ``requests``.
"""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from reliability_support import HERE, SandboxProcess, child_env, reference_quote, server_sendings, wait_for

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControl

NUMBERS = ["37120012345", "37125012345", "447400123456"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with SandboxProcess(tmp_path_factory.mktemp("budget") / "sandbox.sqlite", tokens=["demo-token"]) as proc:
        requests.post(proc.url + spec.CALCULATE, json={"message": "warm", "recipients": ["447400123456"]},
                      headers={"Authorization": "Bearer demo-token"}, timeout=300).raise_for_status()
        yield proc


def run_kernels(tmp_path: Path, state_dir: Path, configs: list[dict[str, Any]], timeout: float = 120) -> list[dict]:
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
    assert [r for r in results if r["outcome"] == "crashed"] == []
    return results


def test_two_processes_cannot_jointly_overrun_the_budget(server, tmp_path, state_dir) -> None:
    control = SandboxControl(server.url)
    token = f"budget-{uuid.uuid4().hex}"
    control.add_account(token)
    messages = ["Budget race, kernel A", "Budget race, kernel B: a little longer"]
    totals = [reference_quote(server.url, token, m, NUMBERS)["total"] for m in messages]
    budget = max(totals) + Decimal("0.0001")  # either fits, both do not
    assert sum(totals) > budget
    cache = tmp_path / "cache"  # one ledger, as two notebooks of one cache folder
    with sa.connect(token=token, base_url=server.url, cache_dir=cache) as client:
        client.set_budget(month=budget)
    control.inject("latency", path=spec.SENDINGS, method="POST", exact=True, seconds=1.0, count=2)
    control.reset_stats()

    outcomes = run_kernels(tmp_path, state_dir, [
        {"task": "send", "token": token, "url": server.url, "cache_dir": str(cache), "message": m,
         "numbers": NUMBERS, "sender": "MegaShop"} for m in messages])

    sendings = server_sendings(server.url, token)
    assert len(sendings) == 1, f"{len(sendings)} sendings: {outcomes}"
    assert control.stats()[("POST", spec.SENDINGS)] == 1
    assert sorted(o["outcome"] for o in outcomes) == ["BudgetExceededError", "sent"]
    sent = next(o for o in outcomes if o["outcome"] == "sent")
    refused = next(o for o in outcomes if o["outcome"] != "sent")
    assert Decimal(sent["total"]) in totals
    # the refusal counts the other kernel's send as committed (or spent): it names its total
    assert str(Decimal(sent["total"])) in refused["message"] and str(budget) in refused["message"]
    with sa.connect(token=token, base_url=server.url, cache_dir=cache) as client:
        assert client.budget().committed == Decimal(sent["total"]) <= budget
    control.clear_faults()
