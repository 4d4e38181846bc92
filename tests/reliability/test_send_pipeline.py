"""Issue 18, the send pipeline: one machine-wide lock per account, one identity per server
whatever its spelling, a fresh price at send, a frozen plan, a shared rate-limit budget and a
fresh connection for POST /sendings.

Everything runs against a real sandbox child process (``SandboxProcess``) over HTTP on
127.0.0.1.  Kernels are separate OS processes (``kernel_child.py``) started together: each
touches a "ready" file, then all wait for one "go" file (the barrier).  The oracles are the
server's own word, read with plain ``requests`` (GET /sendings, GET /balance, a single-request
calculate) and totals worked out by hand from the rates the test sets.
"""
from __future__ import annotations

import json
import select
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from reliability_support import (
    HERE,
    SandboxProcess,
    child_env,
    phone_numbers,
    reference_quote,
    run_kernels,
    server_balance,
    server_sendings,
    wait_for,
    warm_up,
)

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControl

POST_SENDINGS = ("POST", spec.SENDINGS)
POST_CALCULATE = ("POST", spec.CALCULATE)
LMT = ("247", "01")  # Latvia LMT: 3712912345X are its numbers (checked against the server below)
LMT_NUMBERS = [f"3712912345{i}" for i in range(5)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with SandboxProcess(tmp_path_factory.mktemp("pipeline") / "sandbox.sqlite", tokens=["demo-token"]) as proc:
        warm_up(proc.url)
        yield proc


@pytest.fixture
def control(server: SandboxProcess) -> Iterator[SandboxControl]:
    control = SandboxControl(server.url)
    control.clear_faults()
    yield control
    control.clear_faults()
    control.reset_rates()


@pytest.fixture
def token(control: SandboxControl) -> str:
    token = f"pipeline-{uuid.uuid4().hex}"
    control.add_account(token)
    return token


def no_token_in(folder: Path, token: str) -> None:
    leaks = [str(p) for p in folder.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    assert leaks == [], f"the token is in {leaks}"


def kernel(token: str, url: str, cache_dir: Path, message: str, numbers: list[str], **extra: Any) -> dict:
    return {"task": "send", "token": token, "url": url, "cache_dir": str(cache_dir), "message": message,
            "numbers": numbers, "sender": "MegaShop", **extra}


def exact_balance(control: SandboxControl, token: str, url: str, message: str, numbers: list[str]) -> Decimal:
    """Set the balance to 100 + the server's own price, so that one debit leaves exactly 100.000."""
    total = reference_quote(url, token, message, numbers)["total"]
    control.set_balance(token, Decimal(100) + total)
    return total


# --- item 1: two kernels, one machine ----------------------------------------------------------

def test_two_kernels_with_their_own_cache_folders_send_once(server, control, token, tmp_path, state_dir):
    """Two notebooks (two processes, two cache folders: two ledgers) run the same campaign at the
    same moment; each POST takes a second on the server.  One sending, one debit."""
    numbers = phone_numbers(4, seed=181)
    message = "Same campaign, two kernels"
    total = exact_balance(control, token, server.url, message, numbers)
    control.inject("latency", path=spec.SENDINGS, method="POST", exact=True, seconds=1.0, count=2)
    control.reset_stats()

    outcomes = run_kernels(tmp_path, state_dir, [kernel(token, server.url, tmp_path / f"cache-{i}", message, numbers)
                                                 for i in range(2)])

    sendings = server_sendings(server.url, token)
    assert len(sendings) == 1, f"{len(sendings)} sendings: {outcomes}"
    assert server_balance(server.url, token) == Decimal("100.000")  # debited once, by the price
    assert control.stats()[POST_SENDINGS] == 1
    assert sorted(o["outcome"] for o in outcomes) == ["DuplicateSendError", "sent"]
    sent = next(o for o in outcomes if o["outcome"] == "sent")
    refused = next(o for o in outcomes if o["outcome"] != "sent")
    assert sent["sending_id"] == sendings[0]["id"] and Decimal(sent["total"]) == total
    assert f"sending {sendings[0]['id']}" in refused["message"] and "another notebook" in refused["message"]
    no_token_in(state_dir, token)


def test_a_second_click_a_second_later_while_the_server_is_slow_sends_once(server, control, token, tmp_path,
                                                                             state_dir):
    """Kernel A sends; the server takes 3 s over the POST; kernel B (its own cache folder) sends the
    same campaign 1 s later.  B waits for A's send, then sees A's sending on the server."""
    numbers = phone_numbers(3, seed=182)
    message = "Slow server, second click"
    exact_balance(control, token, server.url, message, numbers)
    control.inject("latency", path=spec.SENDINGS, method="POST", exact=True, seconds=3.0, count=2)
    control.reset_stats()

    first, second = run_kernels(tmp_path, state_dir, [
        kernel(token, server.url, tmp_path / "cache-a", message, numbers),
        kernel(token, server.url, tmp_path / "cache-b", message, numbers, delay=1.0)])

    sendings = server_sendings(server.url, token)
    assert len(sendings) == 1, f"{len(sendings)} sendings: {first}, {second}"
    assert server_balance(server.url, token) == Decimal("100.000")
    assert control.stats()[POST_SENDINGS] == 1
    assert first["outcome"] == "sent" and first["sending_id"] == sendings[0]["id"]
    assert second["outcome"] == "DuplicateSendError" and f"sending {sendings[0]['id']}" in second["message"]
    assert second["ended"] - second["started"] >= 1.5  # it waited for A's POST (3 s from A's start)


def test_a_lock_held_too_long_is_refused_naming_its_holder(server, control, token, tmp_path, state_dir):
    """The wait for the account's send lock is bounded: past ``send_lock_timeout`` the send gives
    up, names the process holding it, and sends nothing."""
    (tmp_path / "holder.json").write_text(json.dumps({
        "task": "hold_lock", "token": token, "url": server.url, "cache_dir": str(tmp_path / "holder-cache"),
        "seconds": 30, "ready": str(tmp_path / "ready"), "go": str(tmp_path / "go"), "out": str(tmp_path / "out")}))
    holder = subprocess.Popen([sys.executable, str(HERE / "kernel_child.py"), str(tmp_path / "holder.json")],
                              env=child_env(SMSGIC_STATE_DIR=str(state_dir)), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (tmp_path / "ready").exists() or holder.poll() is not None, 60, "the holder")
        (tmp_path / "go").touch()
        wait_for(lambda: (tmp_path / "ready.held").exists() or holder.poll() is not None, 30, "the lock")
        assert holder.poll() is None, holder.stderr.read()
        control.reset_stats()
        client = sa.connect(token=token, base_url=server.url, cache_dir=tmp_path / "cache", send_lock_timeout=1.0)
        started = time.monotonic()
        with pytest.raises(sa.SMSgicError) as caught:
            client.send("Lock held elsewhere", phone_numbers(2, seed=183), "MegaShop", confirm=True)
        waited = time.monotonic() - started
        client.close()
    finally:
        holder.kill()
        holder.wait(30)
    assert server_sendings(server.url, token) == [] and POST_SENDINGS not in control.stats()
    error = caught.value
    assert type(error).__name__ == "SendLockTimeoutError", error
    assert f"process {holder.pid}" in str(error) and "a test holding the lock" in str(error)
    assert "Nothing was sent" in str(error) and error.holder["pid"] == holder.pid
    assert waited < 20


# --- item 2: one server, two spellings ----------------------------------------------------------

def test_two_spellings_of_one_server_are_one_account(server, control, token, tmp_path, state_dir):
    """One cache folder; one kernel on http://localhost:PORT, the other on http://127.0.0.1:PORT/,
    the same campaign at the same moment: one account, one sending."""
    port = server.url.rsplit(":", 1)[1]
    spellings = [f"http://localhost:{port}", f"http://127.0.0.1:{port}/"]
    numbers = phone_numbers(3, seed=184)
    message = "Same server, two spellings"
    exact_balance(control, token, server.url, message, numbers)
    control.inject("latency", path=spec.SENDINGS, method="POST", exact=True, seconds=1.0, count=2)
    control.reset_stats()

    outcomes = run_kernels(tmp_path, state_dir, [kernel(token, url, tmp_path / "cache", message, numbers)
                                                 for url in spellings])

    sendings = server_sendings(server.url, token)
    assert len(sendings) == 1, f"{len(sendings)} sendings: {outcomes}"
    assert server_balance(server.url, token) == Decimal("100.000")
    assert sorted(o["outcome"] for o in outcomes) == ["DuplicateSendError", "sent"]
    # ...and one account in every spelling the issue lists, in one ledger
    names = {f"http://LOCALHOST:{port}/", f"http://[::1]:{port}", *spellings, server.url}
    clients = [sa.connect(token=token, base_url=url, cache_dir=tmp_path / "cache") for url in names]
    try:
        assert len({c.settings.account for c in clients}) == 1
        sends = clients[0].ledger.sends(clients[0].settings.account)
        assert sends["sending_id"].tolist() == [sendings[0]["id"]]
    finally:
        for client in clients:
            client.close()


# --- item 6: a fresh price at send ------------------------------------------------------------------

def lmt_at(control: SandboxControl, url: str, token: str, rate: str) -> None:
    """Set Latvia LMT's rate, and check (with a plain calculate) that the test's numbers are priced by it."""
    control.set_rate(*LMT, rate)
    answer = reference_quote(url, token, "check", LMT_NUMBERS)
    assert set(answer["per_number"].values()) == {Decimal(rate)}, answer


def test_a_price_change_after_the_preview_refuses_before_any_post(server, control, token, tmp_path):
    lmt_at(control, server.url, token, "0.0800")
    client = sa.connect(token=token, base_url=server.url, cache_dir=tmp_path / "cache")
    campaign = sa.Campaign(client, "Price check", LMT_NUMBERS, "MegaShop", progress=False)
    preview = campaign.preview()
    assert preview.total == Decimal("0.4000")  # 5 numbers x 1 SMS x 0.0800
    lmt_at(control, server.url, token, "0.1200")
    control.reset_stats()

    with pytest.raises(sa.SMSgicError) as caught:
        campaign.run(confirm=True)
    assert server_sendings(server.url, token) == [] and POST_SENDINGS not in control.stats()
    assert server_balance(server.url, token) == Decimal("450.000")
    error = caught.value
    assert type(error).__name__ == "PriceChangedError", error
    assert (error.confirmed, error.current, error.currency) == (Decimal("0.4000"), Decimal("0.6000"), "GBP")
    assert "0.4000 GBP" in str(error) and "0.6000 GBP" in str(error) and "Nothing was sent" in str(error)
    assert isinstance(error, sa.errors.ConfirmationRequiredError)
    with pytest.raises(sa.SMSgicError, match="0.6000"):
        campaign.run(confirm=True)  # still refused: the confirmed plan is the old price

    again = campaign.preview()  # a new confirmation at the new price
    assert again.total == Decimal("0.6000")
    result = campaign.run(confirm=True, confirmed=again)
    assert result.total == Decimal("0.6000")
    assert [s["id"] for s in server_sendings(server.url, token)] == [result.sending_id]
    assert server_balance(server.url, token) == Decimal("449.400")  # 450 - 0.6000
    sends = client.ledger.sends(client.settings.account)
    quotes = client.ledger.quotes(client.settings.account).set_index("id")
    assert quotes.loc[sends["quote_id"].iloc[0], "total"] == Decimal("0.6000")
    assert sends["plan_hash"].tolist() == [again.plan_hash] and again.plan_hash == campaign.plan.digest
    client.close()


def test_a_send_never_uses_a_cached_price(server, control, token, tmp_path):
    """client.send in one go after a price change: the 24 h calculate cache holds the old price;
    the send quotes afresh, records and reports what the server charges."""
    lmt_at(control, server.url, token, "0.0800")
    client = sa.connect(token=token, base_url=server.url, cache_dir=tmp_path / "cache")
    assert client.calculate("Cached price", LMT_NUMBERS, progress=False).total == Decimal("0.4000")  # cached
    lmt_at(control, server.url, token, "0.1100")

    result = client.send("Cached price", LMT_NUMBERS, "MegaShop", confirm=True)

    assert server_balance(server.url, token) == Decimal("449.450")  # 450 - 5 x 0.1100
    assert result.total == Decimal("0.5500")
    assert client.spend()["cost"].sum() == Decimal("0.5500")
    client.close()


def test_a_price_change_while_the_post_is_in_flight_is_recorded_at_the_charged_cost(server, control, token, tmp_path):
    """The server prices a sending when it commits it, and its answer carries no cost (the API
    document: message and sending_id).  A price change while a slow POST is in flight is
    charged at the new price; the balance shows it, and the ledger and spend() record that cost
    and say it is not the confirmed one."""
    lmt_at(control, server.url, token, "0.0800")
    client = sa.connect(token=token, base_url=server.url, cache_dir=tmp_path / "cache", timeout=30)
    campaign = sa.Campaign(client, "Price in flight", LMT_NUMBERS, "MegaShop", progress=False)
    preview = campaign.preview()
    assert preview.total == Decimal("0.4000")  # 5 numbers x 1 SMS x 0.0800
    control.inject("latency", path=spec.SENDINGS, method="POST", exact=True, seconds=2)
    control.reset_stats()

    def reprice_while_in_flight() -> None:
        wait_for(lambda: control.stats().get(POST_SENDINGS, 0) >= 1, 30, "the POST to reach the server")
        control.set_rate(*LMT, "0.1200")

    repricer = threading.Thread(target=reprice_while_in_flight)
    repricer.start()
    try:
        with pytest.warns(UserWarning, match=r"charged 0\.6000 GBP, not the confirmed 0\.4000 GBP"):
            result = campaign.run(confirm=True, confirmed=preview)
    finally:
        repricer.join()
    assert server_balance(server.url, token) == Decimal("449.400")  # the server took 5 x 0.1200
    assert result.total == Decimal("0.6000") and "not the confirmed 0.4000 GBP" in result.note
    spend = client.spend()
    assert spend["priced"].all() and sum(spend["cost"], Decimal(0)) == Decimal("0.6000")
    [send] = client.ledger.sends(client.settings.account).to_dict("records")
    assert "the price changed while the send was in flight" in send["error"]
    assert send["state"] == "created" and send["plan_hash"] == preview.plan_hash  # the plan sent is the confirmed one
    client.close()


def test_a_send_charged_as_confirmed_says_nothing(server, control, token, tmp_path, recwarn):
    lmt_at(control, server.url, token, "0.0800")
    client = sa.connect(token=token, base_url=server.url, cache_dir=tmp_path / "cache")
    result = client.send("Price as confirmed", LMT_NUMBERS, "MegaShop", confirm=True)
    assert (result.total, result.note) == (Decimal("0.4000"), "")
    assert client.ledger.sends(client.settings.account)["error"].isna().all()
    assert not [w for w in recwarn if "charged" in str(w.message) or "balance fell" in str(w.message)]
    client.close()


def test_the_sender_app_shows_a_price_change_and_sends_nothing(server, control, token, tmp_path):
    lmt_at(control, server.url, token, "0.0800")
    client = sa.connect(token=token, base_url=server.url, cache_dir=tmp_path / "cache")
    app = sa.SenderApp(client)
    app.sender_input.value = "MegaShop"
    app.recipients_input.value = "\n".join(LMT_NUMBERS)
    app.message_input.value = "Price in the app"
    app.quote()
    app.request_send()
    assert app.preview.total == Decimal("0.4000")
    lmt_at(control, server.url, token, "0.0900")
    control.reset_stats()

    assert app.confirm() is None
    assert server_sendings(server.url, token) == [] and POST_SENDINGS not in control.stats()
    assert app.state == "failed" and type(app.result).__name__ == "PriceChangedError"
    shown = app.result_label.value
    assert "price changed" in shown and "0.4000" in shown and "0.4500" in shown and "Nothing was sent" in shown
    app.quote()  # quoting again shows (and confirms) the new total
    app.request_send()
    assert app.preview.total == Decimal("0.4500")
    assert app.confirm() is not None and server_balance(server.url, token) == Decimal("449.550")
    client.close()


# --- item 8: a campaign is a frozen plan -----------------------------------------------------------

def test_a_campaign_changed_after_its_preview_sends_nothing_until_previewed_again(server, control, token, tmp_path):
    lmt_at(control, server.url, token, "0.0500")
    client = sa.connect(token=token, base_url=server.url, cache_dir=tmp_path / "cache")
    numbers = LMT_NUMBERS[:3]
    campaign = sa.Campaign(client, "Frozen plan", numbers, "MegaShop", progress=False)
    preview = campaign.preview()
    assert preview.total == Decimal("0.1500")  # 3 x 0.0500
    control.reset_stats()

    refusals = []
    campaign.recipients = LMT_NUMBERS  # 2 more numbers
    refusals.append(_refused(campaign))
    campaign.recipients = numbers
    campaign.message = "Frozen plan, now a longer text " + "x" * 150  # 2 SMS each
    refusals.append(_refused(campaign))
    campaign.message = "Frozen plan"
    numbers.append(LMT_NUMBERS[4])  # the very list it was given, changed in place
    refusals.append(_refused(campaign))
    assert server_sendings(server.url, token) == [] and POST_SENDINGS not in control.stats()
    assert [type(e).__name__ for e in refusals] == ["PlanChangedError"] * 3
    assert refusals[0].changed == {"recipients": "2 added (now 5)"}
    assert list(refusals[1].changed) == ["message"] and "changed after its preview" in str(refusals[1])
    assert refusals[2].changed == {"recipients": "1 added (now 4)"}

    now = campaign.preview()  # what is confirmed now: 4 numbers
    assert now.total == Decimal("0.2000") and now.recipients == 4
    stale = _refused(campaign, confirmed=preview)  # the first preview confirms nothing any more
    assert type(stale).__name__ == "PlanChangedError" and stale.changed["recipients"] == "3 -> 4"
    assert stale.changed["total"] == "0.15 -> 0.2"  # as the API wrote them
    assert server_sendings(server.url, token) == [] and POST_SENDINGS not in control.stats()
    result = campaign.run(confirm=True, confirmed=now)
    sendings = server_sendings(server.url, token)
    assert [(s["id"], s["text"], s["total_sms"]) for s in sendings] == [(result.sending_id, "Frozen plan", 4)]
    assert server_balance(server.url, token) == Decimal("449.800")  # 450 - 4 x 0.0500
    assert client.ledger.sends(client.settings.account)["plan_hash"].tolist() == [now.plan_hash]
    client.close()


def _refused(campaign: sa.Campaign, **kwargs: Any) -> sa.SMSgicError:
    with pytest.raises(sa.SMSgicError) as caught:
        campaign.run(confirm=True, **kwargs)
    return caught.value


class EditedMidway(sa.Campaign):
    """A campaign whose inputs are edited (another cell, another thread) once run() has passed its
    checks and before it posts."""

    def check_duplicate(self, allow_duplicate: bool = False) -> None:
        super().check_duplicate(allow_duplicate)
        self.message, self.recipients = "Edited during the send " + "x" * 150, LMT_NUMBERS


def test_what_is_posted_is_the_frozen_plan_even_if_the_campaign_changes_during_the_send(server, control, token,
                                                                                          tmp_path):
    """The payload comes from the plan, never from the campaign's attributes: an edit made while
    the send is under way (after the checks) does not reach the server."""
    lmt_at(control, server.url, token, "0.0500")
    client = sa.connect(token=token, base_url=server.url, cache_dir=tmp_path / "cache")
    campaign = EditedMidway(client, "Plan in flight", LMT_NUMBERS[:2], "MegaShop", progress=False)
    campaign.preview()
    result = campaign.run(confirm=True)
    sendings = server_sendings(server.url, token)
    assert [(s["id"], s["text"], s["total_sms"]) for s in sendings] == [(result.sending_id, "Plan in flight", 2)]
    assert server_balance(server.url, token) == Decimal("449.900")
    client.close()


# --- the shared rate-limit budget -----------------------------------------------------------------

def test_two_kernels_share_one_rate_limit_budget(server, control, token, tmp_path, state_dir):
    """120 calculate/min (98 %: 117, spread as 2 per second): two kernels each asking 3 calculates at
    once share the account's budget, so no second of the server's holds more than 2 of the 6."""
    numbers = phone_numbers(1, seed=185)
    configs = [{"task": "calculate", "token": token, "url": server.url, "cache_dir": str(tmp_path / f"cache-{i}"),
                "message": f"Budget {i}", "numbers": numbers, "count": 3,
                "settings": {"calculate_per_minute": 120}} for i in range(2)]
    control.reset_stats()
    outcomes = run_kernels(tmp_path, state_dir, configs)
    assert control.stats()[POST_CALCULATE] == 6
    times = sorted(t for o in outcomes for t in o["times"])
    gaps = [round(later - earlier, 3) for earlier, later in zip(times, times[2:])]
    print(f"shared budget: 6 calculates from 2 kernels, every third one {min(gaps)}-{max(gaps)} s after the first")
    assert min(gaps) >= 0.75, f"3 calculates within {min(gaps)} s: each kernel had its own budget ({times})"
    no_token_in(state_dir, token)


# --- POST /sendings on a fresh connection -----------------------------------------------------------

class ResettingProxy:
    """A TCP forwarder in front of the sandbox.  Armed, it resets (RST, nothing forwarded) a
    kept-alive connection the moment a new request arrives on it: what a client meets when the
    server dropped an idle keep-alive connection just as the client reused it."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.armed = threading.Event()
        self.connections = self.resets = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target))
        answered = False  # a response went back since the last request bytes: the next bytes are a new request
        try:
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 30)
                if not ready:
                    return
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        return
                    if answered and self.armed.is_set():
                        self.resets += 1
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                        return  # closing with linger 0: RST
                    answered = False
                    upstream.sendall(data)
                if upstream in ready:
                    data = upstream.recv(65536)
                    if not data:
                        return
                    answered = True
                    client.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self.listener.close()


def test_post_sendings_goes_out_on_a_fresh_connection(server, control, token, tmp_path):
    proxy = ResettingProxy(int(server.url.rsplit(":", 1)[1]))
    client = sa.connect(token=token, base_url=proxy.url, cache_dir=tmp_path / "cache")
    post = client.api.create_sending

    def armed_post(payload):
        proxy.armed.set()  # from now on a reused keep-alive connection is reset
        try:
            return post(payload)
        finally:
            proxy.armed.clear()

    client.api.create_sending = armed_post
    campaign = sa.Campaign(client, "Fresh connection", phone_numbers(2, seed=186), "MegaShop", progress=False)
    control.reset_stats()
    try:
        result = campaign.run(confirm=True)
    finally:
        proxy.close()
        client.close()
    assert proxy.resets == 0  # the POST met no reused connection...
    assert proxy.connections >= 2  # ...it had one of its own
    assert [s["id"] for s in server_sendings(server.url, token)] == [result.sending_id]
    assert control.stats()[POST_SENDINGS] == 1
    assert client.ledger.sends(client.settings.account)["state"].tolist() == ["created"]


# --- the window that remains between two machines -----------------------------------------------------

def test_the_window_between_two_machines_is_measured(server, control, token, tmp_path):
    """The send lock is per machine: two machines are guarded by the server check alone, which a
    second machine can pass from the moment the first one's GET /sendings is answered until its
    POST has committed.  Measured here (client side: an upper bound of the server-side window)."""
    client = sa.connect(token=token, base_url=server.url, cache_dir=tmp_path / "cache")
    marks: dict[str, float] = {}
    sendings, post, calculate = client.api.sendings, client.api.create_sending, client.api.calculate

    def timed_sendings():
        answer = sendings()
        marks["checked"] = time.perf_counter()
        return answer

    def timed_calculate(*args, **kwargs):
        answer = calculate(*args, **kwargs)
        marks["priced"] = time.perf_counter()
        return answer

    def timed_post(payload):
        try:
            return post(payload)
        finally:
            marks["committed"] = time.perf_counter()

    client.api.sendings, client.api.create_sending, client.api.calculate = timed_sendings, timed_post, timed_calculate
    windows, priced = [], []
    for i in range(8):
        client.send(f"Window {i}", phone_numbers(10, seed=190 + i), "MegaShop", confirm=True)
        windows.append(marks["committed"] - marks["checked"])
        priced.append(marks["committed"] - marks["priced"])
    client.close()
    median, worst = statistics.median(windows), max(windows)
    print(f"two-machine window (server check answered -> POST answered): median {median * 1000:.0f} ms, "
          f"max {worst * 1000:.0f} ms; fresh price -> POST answered: median {statistics.median(priced) * 1000:.0f} "
          f"ms, max {max(priced) * 1000:.0f} ms; {len(windows)} sends of 10 recipients")
    assert len(server_sendings(server.url, token)) == 8
    assert worst < 2.0 and max(priced) < 5.0  # claims in RELIABILITY.md: well under a second on the sandbox
