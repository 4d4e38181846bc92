"""The test controls of ``smsgic-analytics sandbox``, as real child processes: off unless
``--controls``, then locked behind an admin token, and refused on a non-loopback address
unless allowed twice.  Regression of issue #11: anyone who could reach the port could set
balances, add accounts and inject faults.
"""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import api_doc
import by_hand
import pytest
import requests

from smsgic_analytics.core import spec
from smsgic_analytics.core.config import ENV_SANDBOX_ADMIN_TOKEN
from smsgic_analytics.sandbox import SandboxControl, SandboxControlError, running
from smsgic_analytics.sandbox.control import registered_admin_token
from smsgic_analytics.sandbox.server import RemoteControlsRefused

CONTROL_CALLS = [("GET", "/clock"), ("POST", "/clock/advance"), ("POST", "/clock/offset"), ("GET", "/faults"),
                 ("POST", "/faults"), ("DELETE", "/faults"), ("POST", "/accounts"), ("PUT", "/accounts/balance"),
                 ("PUT", "/rates"), ("DELETE", "/rates"), ("GET", "/stats"), ("DELETE", "/stats"),
                 ("GET", "/countries")]
TOKEN_LINE = re.compile(r"^sandbox admin token \(.*\): (\S+)$")
UNAUTHENTICATED = {"message": api_doc.UNAUTHENTICATED}


@dataclass
class Sandbox:
    process: subprocess.Popen
    url: str
    stderr: list[str] = field(default_factory=list)

    def admin_token(self) -> str:
        tokens = [m.group(1) for m in map(TOKEN_LINE.match, self.stderr) if m]
        assert len(tokens) == 1, self.stderr
        return tokens[0]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGIC_")}
    return {**env, **extra}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "smsgic_analytics.lab.cli", "sandbox", "--port", "0", "--log-level", "info", *args]


@contextmanager
def serving(tmp_path, *args: str, env: dict[str, str] | None = None) -> Iterator[Sandbox]:
    """The sandbox command on a fresh db; yields once it printed its URL (and its stderr
    banner), stops it with SIGTERM and checks stdout carried nothing but the URL."""
    process = subprocess.Popen(command("--db", str(tmp_path / "s.sqlite"), *args), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env or child_env())
    errors: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [errors.put(line.rstrip("\n")) for line in process.stderr], daemon=True).start()
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), f"no URL; stderr: {list(errors.queue)}"
        sandbox = Sandbox(process, url)
        while not any(line.startswith("sandbox db:") for line in sandbox.stderr):  # the banner's last line
            sandbox.stderr.append(errors.get(timeout=30))
        yield sandbox
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0
        assert rest == "", f"stdout must carry only the URL line, also got {rest!r}"
        while not errors.empty():
            sandbox.stderr.append(errors.get())


def refused(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), capture_output=True, text=True, timeout=60, env=env or child_env())


def test_without_the_flag_the_controls_answer_as_unknown_routes(tmp_path):
    with serving(tmp_path) as sandbox:
        assert any("controls off" in line for line in sandbox.stderr)
        for method, path in CONTROL_CALLS:
            for headers in ({}, {"Authorization": "Bearer demo-token"}):
                answer = requests.request(method, f"{sandbox.url}/__sandbox__{path}", json={}, headers=headers,
                                          timeout=10)
                unknown = requests.request(method, f"{sandbox.url}/__nowhere__{path}", json={}, headers=headers,
                                           timeout=10)
                assert answer.status_code == unknown.status_code == 404
                assert answer.json() == {"message": by_hand.route_not_found(f"__sandbox__{path}")}
                assert answer.headers["content-type"] == unknown.headers["content-type"]
        with pytest.raises(SandboxControlError, match="404"):
            SandboxControl(sandbox.url).now()


def test_with_the_flag_each_call_needs_the_admin_token_printed_at_start(tmp_path):
    with serving(tmp_path, "--controls") as sandbox:
        admin = sandbox.admin_token()
        assert len(admin) >= 32
        for method, path in CONTROL_CALLS:
            for headers in ({}, {"Authorization": "Bearer demo-token"}, {"Authorization": f"Bearer {admin}x"},
                            {"Authorization": admin}, {"X-Admin-Token": admin}):
                answer = requests.request(method, f"{sandbox.url}/__sandbox__{path}", json={}, headers=headers,
                                          timeout=10)
                assert (answer.status_code, answer.json()) == (401, UNAUTHENTICATED), (method, path, headers)
        # the admin token is no account token: the API refuses it, and no account may take it
        assert requests.get(sandbox.url + spec.BALANCE, headers={"Authorization": f"Bearer {admin}"},
                            timeout=10).json() == UNAUTHENTICATED
        control = SandboxControl(sandbox.url, admin_token=admin)
        assert admin not in repr(control)
        assert control.faults() == [] and control.now().year >= 2000
        with pytest.raises(SandboxControlError, match="must not be the admin token"):
            control.add_account(admin)
        with pytest.raises(SandboxControlError, match="401"):
            SandboxControl(sandbox.url).now()  # another process: no token to find
    # printed once, labelled, on stderr; never in the access log lines
    assert sum(admin in line for line in sandbox.stderr) == 1
    assert sum('"GET /__sandbox__/faults HTTP/1.1" 200' in line for line in sandbox.stderr) == 1


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_the_admin_token_can_be_given_and_is_then_never_printed(tmp_path, how):
    admin = "given-admin-token-0123456789"
    args, env = (["--admin-token", admin], None) if how == "flag" else ([], child_env(**{ENV_SANDBOX_ADMIN_TOKEN: admin}))
    with serving(tmp_path, "--controls", *args, env=env) as sandbox:
        SandboxControl(sandbox.url, admin_token=admin).set_balance("demo-token", "12.5")
        answer = requests.get(sandbox.url + spec.BALANCE, headers={"Authorization": "Bearer demo-token"}, timeout=10)
        assert answer.json()["balance"] == "12.500"
    assert not [line for line in sandbox.stderr if admin in line]


@pytest.mark.parametrize("args,says", [
    (["--controls", "--admin-token", "short"], "16 to 256"),
    (["--controls", "--admin-token", "same-as-the-account-token", "--token", "same-as-the-account-token"], "differ"),
    (["--admin-token", "given-admin-token-0123456789"], "need --controls"),
    (["--allow-remote-controls"], "need --controls"),
    (["--clock", "9999-12-31T00:00:00Z"], "--clock"),
])
def test_bad_control_options_exit_2_before_serving(tmp_path, args, says):
    done = refused("--db", str(tmp_path / "x.sqlite"), *args)
    assert done.returncode == 2 and says in done.stderr and done.stdout == ""


def test_a_non_loopback_address_warns_and_refuses_controls_unless_told_twice(tmp_path):
    done = refused("--host", "0.0.0.0", "--controls", "--db", str(tmp_path / "r.sqlite"))
    assert done.returncode == 2 and done.stdout == ""
    assert "WARNING" in done.stderr and "0.0.0.0" in done.stderr and "--allow-remote-controls" in done.stderr

    with serving(tmp_path, "--host", "0.0.0.0") as plain:  # no controls: a warning, then it serves
        assert any(line.startswith("WARNING") and "0.0.0.0" in line for line in plain.stderr)
        port = plain.url.rsplit(":", 1)[1]
        assert requests.get(f"http://127.0.0.1:{port}{spec.STATUS}", timeout=10).json() == api_doc.STATUS_OK

    with serving(tmp_path, "--host", "0.0.0.0", "--controls", "--allow-remote-controls") as shared:
        assert any(line.startswith("WARNING") for line in shared.stderr)
        base = f"http://127.0.0.1:{shared.url.rsplit(':', 1)[1]}"
        assert requests.get(base + "/__sandbox__/clock", timeout=10).status_code == 401
        assert SandboxControl(base, admin_token=shared.admin_token()).faults() == []


def test_in_process_servers_follow_the_same_rules():
    with pytest.raises(RemoteControlsRefused):
        with running(host="0.0.0.0"):
            pass
    with running(controls=False) as url:
        assert requests.get(url + "/__sandbox__/clock", timeout=10).status_code == 404
    with running(admin_token="my-own-admin-token-0123456789") as url:
        assert requests.get(url + "/__sandbox__/clock", timeout=10).status_code == 401
        assert SandboxControl(url).faults() == []  # running() registered its token for this URL
    assert registered_admin_token(url) is None  # stopped: the registration went with it
