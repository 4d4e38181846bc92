"""The launchers behind ``make lab`` / ``make dashboard``: options, commands, and where the
client's cache and ledger live.

The sandbox the launcher starts is a real child process (``smsgic-analytics sandbox``) on a
real port; the notebooks' client is a real ``sa.connect()`` from the environment the launcher
gives its kernels.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.api.http import CACHE_FILE
from smsgic_analytics.lab import cli
from smsgic_analytics.lab import launcher as lab
from smsgic_analytics.sending.ledger import LEDGER_FILENAME

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "Launcher test: spring sale starts today. Reply STOP to opt out"
NUMBERS = ["447400123456", "37121234567"]


def _lab_args(*argv: str):
    return cli.parser().parse_args(["lab", *argv])


# --- options and commands ---------------------------------------------------------------------


def test_lab_takes_a_port_a_no_browser_switch_and_a_token() -> None:
    args = _lab_args("--port", "9123", "--no-browser", "--token", "t0k3n", "--notebooks", "nb")
    assert (args.port, args.no_browser, args.token) == (9123, True, "t0k3n")
    cmd = lab.lab_command(args)
    assert cmd[1:4] == ["-m", "jupyter", "lab"]
    assert "--port=9123" in cmd and "--no-browser" in cmd and "--notebook-dir=nb" in cmd
    assert "t0k3n" not in " ".join(cmd)  # the API token goes to the kernels' environment only
    plain = lab.lab_command(_lab_args())
    assert "--no-browser" not in plain and not any(c.startswith("--port") for c in plain)


def test_the_dashboard_command_takes_the_same_switches() -> None:
    cmd = lab.lab_command(_lab_args("--voila", "notebooks/04.ipynb", "--port", "9124", "--no-browser"))
    assert cmd[1:4] == ["-m", "voila", "notebooks/04.ipynb"]
    assert "--port=9124" in cmd and "--no-browser" in cmd
    assert "--port=8866" in lab.lab_command(_lab_args("--voila", "x.ipynb"))  # Voilà's usual port by default
    assert "--template=smsgic" in cmd  # the lab template without its Font Awesome CDN links


def test_the_voila_template_asks_no_other_host() -> None:
    env = lab.voila_environment({"JUPYTER_PATH": "/elsewhere"})
    first, rest = env["JUPYTER_PATH"].split(os.pathsep, 1)
    assert rest == "/elsewhere"
    template = Path(first) / "voila" / "templates" / "smsgic" / "index.html.j2"
    text = template.read_text()
    assert "extends 'voila/templates/lab/index.html.j2'" in text and "http" not in text.split("-#}", 1)[1]


def test_the_dashboard_history_is_sent_once_in_the_past(user_cache: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from smsgic_analytics.lab.demo import seed_lab_history
    from smsgic_analytics.sandbox import SandboxControl

    with lab.api_environment(tmp_path / "data") as env:
        control = SandboxControl(env["SMSGIC_BASE_URL"], admin_token=env["SMSGIC_SANDBOX_ADMIN_TOKEN"])
        ahead = control.now() - datetime.now(UTC)
        args = (env["SMSGIC_BASE_URL"], env["SMSGIC_TOKEN"], env["SMSGIC_SANDBOX_ADMIN_TOKEN"], env["SMSGIC_CACHE_DIR"])
        first = seed_lab_history(*args)
        assert len(first) == 5
        assert seed_lab_history(*args) == []  # once: the account has its history
        # the clock is where it was: running as far from wall time as before (seconds of work aside)
        assert abs((control.now() - datetime.now(UTC)) - ahead).total_seconds() < 5
        with _client(env) as client:
            sendings = client.sendings()
            assert sorted(sendings["id"]) == sorted(first)
            assert (sendings["created_at"] < pd.Timestamp.now(tz="UTC")).all()
            assert set(sendings["status"].astype(str)) <= {"Sent", "Failed"}  # all settled, scheduled ones too
            assert client.spend()["priced"].all()  # the ledger in the data folder knows every cost


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["lab", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--port", "--no-browser", "--token", "--data", "--voila", "--notebooks"):
        assert option in text
    assert "SMSGIC_TOKEN" in text and "cache" in text


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_passes_a_port_and_the_no_browser_switch() -> None:
    def dry_run(*argv: str) -> str:
        out = subprocess.run(["make", "-n", *argv], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return next(line for line in out.splitlines() if "smsgic-analytics lab" in line)

    assert "--port 8888" in dry_run("lab") and "--no-browser" not in dry_run("lab")
    line = dry_run("lab", "PORT=9125", "NO_BROWSER=1", "DATA=/tmp/x")
    assert "--port 9125" in line and "--no-browser" in line and "--data /tmp/x" in line
    dashboard = dry_run("dashboard", "NO_BROWSER=1")
    assert "--voila notebooks/dashboard.ipynb" in dashboard
    assert "--port 8866" in dashboard and "--no-browser" in dashboard


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_chromium_installs_an_emoji_font() -> None:
    # -B: as on a machine with nothing installed yet; -n: print the recipe, run nothing.
    out = subprocess.run(["make", "-n", "-B", "chromium"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    install = [line for line in out.splitlines() if "apt-get install" in line]
    assert install and any("chromium" in line for line in install)
    assert any("fonts-noto-color-emoji" in line for line in install), install


# --- where the cache and ledger live ------------------------------------------------------------


@pytest.fixture
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The platform's user cache folder, pointed at a temporary one; no SMSGIC_* from outside."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in ("SMSGIC_TOKEN", "SMSGIC_BASE_URL", "SMSGIC_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return home / ".cache"


def _client(env: dict[str, str]) -> sa.Client:
    """The client a notebook kernel builds from the launcher's environment."""
    return sa.connect(token=env["SMSGIC_TOKEN"], base_url=env.get("SMSGIC_BASE_URL"),
                      cache_dir=env.get("SMSGIC_CACHE_DIR"))


def test_a_started_sandbox_keeps_the_cache_and_ledger_in_its_data_folder(user_cache: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with lab.api_environment(data) as env:
        assert env["SMSGIC_CACHE_DIR"] == str(data / "cache")
        with _client(env) as client:
            client.send(MESSAGE, NUMBERS, "MegaShop", confirm=True)
    assert (data / "cache" / LEDGER_FILENAME).exists() and (data / "cache" / CACHE_FILE).exists()
    assert (data / "sandbox.sqlite").exists()
    # (The user cache may hold the numbering tables: data of the phonenumbers release, no account's.)
    for name in (LEDGER_FILENAME, CACHE_FILE):
        assert not list(user_cache.rglob(name)), f"the sandbox's {name} went to the user cache"


def test_a_fresh_data_folder_on_the_same_port_inherits_no_sends(user_cache: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # `make lab`, then `make dashboard` on a fresh data folder: the same port and token, a new
    # database.  Its first send must not be refused as a duplicate of the other server's.
    port = lab.free_port(0)
    monkeypatch.setattr(lab, "free_port", lambda preferred=8765: port)
    with lab.api_environment(tmp_path / "lab-data") as env, _client(env) as client:
        assert env["SMSGIC_BASE_URL"].endswith(f":{port}")
        first = client.send(MESSAGE, NUMBERS, "MegaShop", confirm=True)
    with lab.api_environment(tmp_path / "fresh-data") as env, _client(env) as client:
        assert env["SMSGIC_BASE_URL"].endswith(f":{port}")
        assert client.ledger.sends(client.settings.account).empty
        again = client.send(MESSAGE, NUMBERS, "MegaShop", confirm=True)
        assert client.sendings()["id"].tolist() == [again.sending_id]
    assert first.sending_id == again.sending_id == 301  # two databases, each with its first sending


def test_a_port_taken_between_the_check_and_the_start_is_retried_on_a_free_one(
        user_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two launchers (or two test workers) at once: both see 8765 free, one binds it first.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        monkeypatch.setattr(lab, "free_port", lambda preferred=8765: busy)  # "free", but bound by now
        with lab.api_environment(tmp_path / "data") as env, _client(env) as client:
            assert not env["SMSGIC_BASE_URL"].endswith(f":{busy}")
            assert client.status() is True


def test_with_a_token_no_sandbox_starts_and_the_user_cache_is_left_alone(user_cache: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SMSGIC_BASE_URL", "https://api.example.invalid")
    with lab.api_environment(tmp_path / "data", token="real-t0k3n") as env:
        assert env["SMSGIC_TOKEN"] == "real-t0k3n" and env["SMSGIC_BASE_URL"] == "https://api.example.invalid"
        assert "SMSGIC_CACHE_DIR" not in env  # the platform's user cache folder, as without the launcher
    assert not (tmp_path / "data").exists()
    assert "real-t0k3n" not in capsys.readouterr().out
    monkeypatch.setenv("SMSGIC_TOKEN", "from-env")
    monkeypatch.setenv("SMSGIC_CACHE_DIR", str(tmp_path / "mine"))
    with lab.api_environment(tmp_path / "data") as env:
        assert env["SMSGIC_TOKEN"] == "from-env" and env["SMSGIC_CACHE_DIR"] == str(tmp_path / "mine")
    assert os.environ["SMSGIC_TOKEN"] == "from-env"
