"""The token is a secret: after quotes, sends, errors, a notebook run and its HTML report, the
token's bytes are in no file the toolkit wrote, no log line and no repr.  And two accounts in
one process never see each other's cached answers.
"""
from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from reliability_support import phone_numbers

import smsgic_analytics as sa
from smsgic_analytics.core import spec

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_estimate_campaign_cost.ipynb"


def snapshot(folder: Path) -> dict[Path, bytes]:
    """The bytes of every file under ``folder`` (cache, ledger, their -wal/-shm, numbering tables)."""
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_notebook(source: Path, workdir: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """Execute ``source`` headlessly in a kernel with ``env`` and write the executed notebook
    and its HTML report; returns both paths."""
    nb = nbformat.read(source, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute(env=env)
    executed = workdir / "executed.ipynb"
    nbformat.write(nb, executed)
    report = workdir / "report.html"
    body, _ = HTMLExporter().from_notebook_node(nb)
    report.write_text(body, encoding="utf-8")
    return executed, report


@pytest.mark.slow
def test_the_token_is_in_no_file_log_or_repr(tmp_path, sandbox_url, control, caplog, state_dir):
    token = f"SECRET-{uuid.uuid4().hex}-DO-NOT-LEAK"
    control.add_account(token)
    cache_dir = tmp_path / "cache"
    # The notebook's kernel reads the account from the environment, as in `make lab` with a real
    # token; this process passes it explicitly (the in-process sandbox must not see these variables).
    kernel_env = {**{k: v for k, v in os.environ.items() if not k.startswith("SMSGIC_")},
                  "SMSGIC_TOKEN": token, "SMSGIC_BASE_URL": sandbox_url, "SMSGIC_CACHE_DIR": str(cache_dir),
                  "SMSGIC_STATE_DIR": str(state_dir), "SMSGIC_REPORT": "1"}
    caplog.set_level(logging.DEBUG)  # the root logger: every library's debug lines are captured
    texts: list[str] = []
    errors: list[BaseException] = []

    with sa.connect(token=token, base_url=sandbox_url, cache_dir=cache_dir, backoff_factor=0.01) as client:
        texts += [repr(client), repr(client.settings), str(client.settings), repr(client.http)]
        quote = client.calculate("Secret check", phone_numbers(200, seed=21), progress=False, chunk_size=50)
        texts += [repr(quote), quote._repr_html_(), quote.numbers.to_csv(), quote.destinations.to_csv()]
        campaign = sa.Campaign(client, "Secret send", phone_numbers(5, seed=22), "MegaShop", progress=False)
        texts += [repr(campaign), str(campaign.preview())]
        result = campaign.run(confirm=True)
        texts.append(repr(result))
        # errors of every kind, raised while the token is in use
        control.inject("status", path=spec.BALANCE, method="GET", status=503, count=10)
        control.inject("garbage", path=spec.RATES, method="GET")
        for attempt in (client.balance, lambda: client.rates(country="Latvia"), lambda: client.sending(987654321),
                        lambda: client.send("Secret", ["447400123456"], "NotMine", confirm=True),
                        lambda: client.send("Secret", ["12ab"], "MegaShop", confirm=True)):
            with pytest.raises(sa.SMSgicError) as caught:
                attempt()
            errors.append(caught.value)
        control.clear_faults()
        lost = sa.Campaign(client, "Secret lost answer", phone_numbers(3, seed=23), "MegaShop", progress=False)
        lost.preview()
        control.inject("drop_after", path=spec.SENDINGS, method="POST", exact=True)
        with pytest.raises(sa.UnknownOutcomeError) as caught:
            lost.run(confirm=True)
        errors.append(caught.value)  # its text is also stored in the ledger's error column
        settled = client.reconcile()
        texts += [settled.to_csv(), client.ledger.sends(client.settings.account).to_csv(),
                  repr(client.cache_info()), client.cache_info().entries.to_csv(), client.spend().to_csv()]
        for error in errors:
            texts += [str(error), repr(error), str(error.body), str(error.headers), str(error.args)]
        # SQLite's -wal/-shm side files exist while a connection is open (the cache keeps one;
        # the ledger opens one per call, so its WAL is folded back at once): read them now
        open_files = {**snapshot(cache_dir), **snapshot(state_dir)}  # the state folder: locks, rate-limit budget
        assert "http-cache.sqlite-wal" in {p.name for p in open_files}, list(open_files)

    caplog.set_level(logging.INFO, logger="traitlets")  # nbclient's DEBUG echoes whole outputs (scanned as files)
    executed, report = run_notebook(NOTEBOOK, tmp_path, kernel_env)
    texts += [caplog.text, *(str(r.args) for r in caplog.records), *(r.getMessage() for r in caplog.records)]

    blobs = {**{Path(f"{p} (while open)"): b for p, b in open_files.items()}, **snapshot(cache_dir),
             **snapshot(state_dir), executed: executed.read_bytes(), report: report.read_bytes()}
    names = {p.name for p in blobs}
    # the scan covers what it must: cache and ledger (and side files), the state folder, the executed notebook, the report
    assert {"http-cache.sqlite", "ledger.sqlite", "executed.ipynb", "report.html"} <= names, names
    assert any(name.startswith("ratelimit-") for name in names), names
    assert sum(map(len, blobs.values())) > 1_000_000  # real content: answers, quotes, outputs, charts
    ledger_bytes = b"".join(b for p, b in blobs.items() if p.name.startswith("ledger.sqlite"))
    assert client.settings.account.encode() in ledger_bytes  # the ledger names the account by its hash...
    assert b"Secret send" in ledger_bytes  # ...and holds this test's campaigns
    assert len(caplog.records) > 10 and len(errors) == 6

    secret = token.encode()
    leaks = [str(p) for p, blob in blobs.items() if secret in blob]
    leaks += [f"text #{i}: {t[:80]!r}" for i, t in enumerate(texts) if token in t]
    assert leaks == [], f"the token leaked into: {leaks}"
    print(f"scanned {len(blobs)} files ({sum(map(len, blobs.values())):,} bytes: {sorted(p.name for p in blobs)}), "
          f"{len(caplog.records)} log records and {len(texts)} reprs/texts: 0 hits")


def test_two_accounts_in_one_process_never_share_cached_answers(make_client, control, cache_dir):
    tokens = [f"iso-{uuid.uuid4().hex}" for _ in range(2)]
    for token in tokens:
        control.add_account(token)
    one, two = (make_client(token) for token in tokens)  # the same cache file
    numbers = phone_numbers(30, seed=31)

    def ask(client: sa.Client) -> None:
        client.rates()
        client.senders()
        client.calculate("Isolation", numbers, progress=False)

    ask(one)
    control.reset_stats()
    ask(two)  # identical requests: each must reach the server, not one's cache
    stats = control.stats()
    assert (stats[("GET", spec.RATES)], stats[("GET", spec.SENDERS)], stats[("POST", spec.CALCULATE)]) == (1, 1, 1)
    assert one.cache_info().path == two.cache_info().path
    assert len(one.cache_info().entries) == len(two.cache_info().entries) == 3

    # a token the server does not know gets 401s, never another account's cached answers
    intruder = make_client(f"intruder-{uuid.uuid4().hex}")
    for call in (intruder.rates, intruder.senders, lambda: intruder.calculate("Isolation", numbers, progress=False)):
        with pytest.raises(sa.AuthenticationError):
            call()
    assert intruder.cache_info().entries.empty

    one.clear_cache()
    assert one.cache_info().entries.empty and len(two.cache_info().entries) == 3
    control.reset_stats()
    ask(two)
    assert control.stats() == {}  # two's answers are still cached: all three were hits
