"""``sa.notebook_session``: the notebooks' setup call, over a real sandbox on 127.0.0.1."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import plotly.graph_objects as go
import plotly.io as pio
import pytest
import requests

import smsgic_analytics as sa
from smsgic_analytics import sandbox
from smsgic_analytics.lab import notebook

CLOCK = "2026-03-02T09:00:00Z"
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No token from the caller's shell; plotly's renderer and any session restored afterwards."""
    for name in ("SMSGIC_TOKEN", "SMSGIC_BASE_URL", "SMSGIC_CACHE_DIR", notebook.ENV_REPORT):
        monkeypatch.delenv(name, raising=False)
    renderer = pio.renderers.default
    yield
    if notebook._current is not None:
        notebook._current.close()
        notebook._current = None
    pio.renderers.default = renderer


def test_sandbox_session_is_connected_frozen_and_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    session = sa.notebook_session(seed=5, clock=CLOCK)
    client, control = session
    printed = capsys.readouterr().out
    assert printed == ("Sandbox SMSgic API: seed 5, clock frozen at 2026-03-02 09:00:00 UTC, "
                       "fresh database, cache and ledger.\n")
    assert session.is_sandbox and control is session.control
    assert client.status() is True
    assert client.balance().amount == Decimal("450.000")
    assert control.now() == START
    assert repr(session) == "NotebookSession(sandbox, seed=5, clock='2026-03-02T09:00:00Z')"
    assert "demo-token" not in repr(session) + repr(client) + printed


def test_the_ledger_follows_the_sandbox_clock() -> None:
    client, control = sa.notebook_session(seed=5, clock=CLOCK)
    client.balance()
    control.advance(3600)
    client.balance()
    taken = list(client.balance_history()["taken_at"])
    assert taken == [START, START + timedelta(hours=1)]


def test_calling_again_starts_over_and_stops_the_previous_sandbox() -> None:
    first = sa.notebook_session(seed=5, clock=CLOCK)
    old_url, old_cache = first.control.url, Path(first.client.settings.cache_dir)
    rates = first.client.rates()
    first.client.send("Hello from the test", ["37120000001"], "MegaShop", confirm=True)
    assert len(first.client.sendings()) == 1

    second = sa.notebook_session(seed=5, clock=CLOCK)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{old_url}/status", timeout=5)
    assert not old_cache.exists(), "the previous session's temporary folder was left behind"
    assert second.client.sendings().empty, "the new session did not get a fresh database"
    assert second.client.balance().amount == Decimal("450.000")
    # Same seed, same rate card: reruns of a notebook see the same prices.
    assert second.client.rates().equals(rates)


def test_close_is_idempotent() -> None:
    session = sa.notebook_session(seed=1, clock=CLOCK)
    url = session.control.url
    session.close()
    session.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/status", timeout=5)


def test_with_a_token_on_the_make_lab_sandbox_it_uses_that_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # `make lab` runs a persistent sandbox and exports its URL and token: the session must use
    # that account (not start a sandbox of its own) and expose that sandbox's controls.
    with sandbox.running(tokens=("lab-token",), clock=CLOCK) as url:
        sandbox.SandboxControl(url).set_balance("lab-token", "12.5")
        monkeypatch.setenv("SMSGIC_TOKEN", "lab-token")
        monkeypatch.setenv("SMSGIC_BASE_URL", url)
        monkeypatch.setenv("SMSGIC_CACHE_DIR", str(tmp_path))
        session = sa.notebook_session(seed=5, clock=CLOCK)
        client, control = session
        printed = capsys.readouterr().out
        assert control is not None and control.url == url
        assert client.balance().amount == Decimal("12.500")
        assert client.ledger.now() == control.now()  # the ledger follows that sandbox's clock
        assert "lab-token" not in printed and url not in printed
        assert printed.startswith("Local sandbox SMSgic API (make lab, make dashboard)")
        session.close()


def test_a_remote_api_is_never_probed_for_sandbox_controls() -> None:
    # Not loopback: answered without any request (the host does not even resolve).
    assert notebook._local_sandbox("https://api.smsgic.invalid") is None


def test_a_loopback_url_that_is_no_sandbox_has_no_controls() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    assert notebook._local_sandbox(f"http://127.0.0.1:{port}") is None


def test_figures_render_as_the_plotly_json_bundle_only() -> None:
    sa.notebook_session(seed=1, clock=CLOCK)
    fig = go.Figure(go.Bar(x=["a"], y=[1]), layout={"title": {"text": "t"}})
    bundle = pio.renderers[pio.renderers.default].to_mimebundle(fig.to_dict())
    assert set(bundle) == {"application/vnd.plotly.v1+json"}
    assert bundle["application/vnd.plotly.v1+json"]["data"][0]["x"] == ["a"]


def test_report_mode_adds_html_with_numbered_ids_and_no_cdn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(notebook.ENV_REPORT, "1")
    assert notebook.use_figure_renderer() == "html"
    renderer = pio.renderers[pio.renderers.default]
    fig = go.Figure(go.Bar(x=["a"], y=[1]))
    first, second = renderer.to_mimebundle(fig.to_dict()), renderer.to_mimebundle(fig.to_dict())
    assert 'id="smsgic-figure-1"' in first["text/html"] and 'id="smsgic-figure-2"' in second["text/html"]
    for html in (first["text/html"], second["text/html"]):
        assert not re.search(r"<script[^>]+src=", html), "a figure loads a script from elsewhere"
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}", html), "a random id in the figure's HTML"
    assert "application/vnd.plotly.v1+json" in first
    js = notebook._plotlyjs_html()
    assert "window.Plotly" in js or "Plotly" in js
    assert len(js) > 1_000_000, "plotly.js is not embedded"


def test_figures_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="figures must be 'auto', 'json' or 'html'"):
        notebook.use_figure_renderer("svg")  # type: ignore[arg-type]


@pytest.mark.parametrize("clock, text", [
    ("2026-03-02T11:00:00+02:00", "clock frozen at 2026-03-02 09:00:00 UTC"),
    ("2026-03-02T09:00:00", "clock frozen at 2026-03-02 09:00:00 UTC"),
    ("real", "wall clock"),
    (None, "wall clock"),
])
def test_the_clock_is_announced_in_utc(clock: str | None, text: str) -> None:
    assert notebook._clock_text(clock) == text


def test_a_demo_account_session_on_the_make_lab_sandbox_starts_afresh_every_time(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The notebooks that send (03, 04) ask for a demo account: under `make lab` each session is
    # a new account of the lab sandbox, so a second Run All meets no sends of the first one.
    with sandbox.running(tokens=("lab-token",), clock=CLOCK) as url:
        lab = sandbox.SandboxControl(url)
        lab.set_balance("lab-token", "12.5")
        monkeypatch.setenv("SMSGIC_TOKEN", "lab-token")
        monkeypatch.setenv("SMSGIC_BASE_URL", url)
        monkeypatch.setenv("SMSGIC_CACHE_DIR", str(tmp_path))
        sent = []
        for run in range(2):
            client, control = sa.notebook_session(seed=5, clock=CLOCK, demo_account=True)
            printed = capsys.readouterr().out
            assert control is not None and client.settings.token != "lab-token"
            assert client.balance().amount == Decimal("450.000") and client.sendings().empty
            assert client.ledger.now() == control.now() and client.ledger.sends(client.settings.account).empty
            sent.append(client.send("Demo run", ["37120000001"], "MegaShop", confirm=True))  # never a duplicate
            assert printed.startswith("Local sandbox SMSgic API (make lab, make dashboard)") and "a new demo account" in printed
            assert f"sandbox clock at {control.now():%Y-%m-%d %H:%M} UTC" in printed  # the clock it found
            assert client.settings.token not in printed and "lab-token" not in printed and url not in printed
            control.advance(60)
        assert sent[0].sending_id != sent[1].sending_id
        # The lab's own account was not touched by either run.
        with sa.connect(token="lab-token", base_url=url, cache_dir=tmp_path / "lab") as own:
            assert own.balance().amount == Decimal("12.500") and own.sendings().empty


def test_a_demo_account_changes_nothing_without_a_lab_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    client, control = sa.notebook_session(seed=5, clock=CLOCK, demo_account=True)
    assert client.settings.token == "demo-token" and control is not None
    assert capsys.readouterr().out.startswith("Sandbox SMSgic API: seed 5, clock frozen")
