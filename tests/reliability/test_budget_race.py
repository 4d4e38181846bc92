"""Issue 20: two notebooks (two OS processes) on one ledger cannot jointly overrun the budget.

Each kernel (``kernel_child.py``) sends its own campaign; either one fits the month's budget,
both together do not.  They start at one barrier and the server takes a second over each POST,
so both pass their early budget check before either has sent: only the check under the
account's machine-wide send lock, which sees the other's 'pending' ledger row, keeps them
apart.  The oracle is the server's own list of sendings, read with plain ``requests``.
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Iterator

import pytest
from reliability_support import SandboxProcess, reference_quote, run_kernels, server_sendings, warm_up

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControl

NUMBERS = ["37120012345", "37125012345", "447400123456"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with SandboxProcess(tmp_path_factory.mktemp("budget") / "sandbox.sqlite", tokens=["demo-token"]) as proc:
        warm_up(proc.url)
        yield proc


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
