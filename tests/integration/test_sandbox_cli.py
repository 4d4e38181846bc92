"""``smsgic-analytics sandbox`` as a real subprocess: prints its URL, serves, stops on a signal."""
from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading

import requests

from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import running


def start(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "smsgic_analytics.lab.cli", "sandbox", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=60)
    except queue.Empty:
        process.kill()
        raise AssertionError("the sandbox printed no URL: " + process.stderr.read())
    return process, first


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM) -> int:
    process.send_signal(signum)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


ADMIN = "cli-admin-token-0123456789"


def test_cli_prints_its_url_and_serves_every_option(tmp_path):
    db = tmp_path / "cli.sqlite"
    process, line = start("--host", "127.0.0.1", "--port", "0", "--db", str(db), "--token", "cli-a",
                          "--token", "cli-b", "--calculate-per-minute", "5", "--seed", "3",
                          "--clock", "2024-01-01T00:00:00Z", "--log-level", "warning",
                          "--controls", "--admin-token", ADMIN)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+\n", line), line
        url = line.strip()
        assert requests.get(url + spec.STATUS, timeout=10).json() == spec.STATUS_OK
        for token in ("cli-a", "cli-b"):
            answer = requests.get(url + spec.BALANCE, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert answer.json()["balance"] == "450.000"
        assert requests.get(url + spec.BALANCE, headers={"Authorization": "Bearer demo-token"}, timeout=10).status_code == 401
        clock = requests.get(url + "/__sandbox__/clock", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)
        assert clock.json() == {"now": "2024-01-01T00:00:00+00:00", "frozen": True}
        codes = [requests.post(url + spec.CALCULATE, headers={"Authorization": "Bearer cli-a"}, timeout=10,
                               json={"message": "m", "recipients": ["4591234567"]}).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        cli_rates = requests.get(url + spec.RATES, headers={"Authorization": "Bearer cli-a"}, timeout=10).json()
        for seed, same in ((3, True), (4, False)):  # the card is a function of the seed, across processes
            with running(seed=seed) as other:
                rates = requests.get(other + spec.RATES, headers={"Authorization": "Bearer demo-token"}, timeout=10).json()
            assert (rates == cli_rates) is same
    finally:
        assert stop(process) == 0
    assert db.exists()


def test_cli_defaults_to_the_demo_token_and_stops_on_ctrl_c(tmp_path):
    process, line = start("--port", "0", "--db", str(tmp_path / "d.sqlite"), "--log-level", "warning")
    try:
        url = line.strip()
        answer = requests.get(url + spec.BALANCE, headers={"Authorization": "Bearer demo-token"}, timeout=10)
        assert answer.json() == {"balance": "450.000", "sign": "£", "code": "GBP"}
    finally:
        assert stop(process, signal.SIGINT) == 0


def test_cli_refuses_a_bad_clock(tmp_path):
    done = subprocess.run([sys.executable, "-m", "smsgic_analytics.lab.cli", "sandbox", "--clock", "tomorrow",
                           "--db", str(tmp_path / "x.sqlite")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--clock" in done.stderr and done.stdout == ""
