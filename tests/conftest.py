"""Shared fixtures of every suite: one real sandbox server on 127.0.0.1 for the session.

* ``sandbox_url``   (session) base URL of a sandbox with accounts "demo-token" and
                    "other-token" (450.000 GBP each at start), a temporary SQLite db, seed 0,
                    real (wall) clock, 3000 calculate requests/minute.
* ``sandbox``       (function) a ``SandboxControl`` for it; queued faults are cleared before
                    and after each test (``control`` is the same fixture under another name).
* ``fresh_token``   (function) a new account on the session sandbox (450.000 GBP, demo
                    senders) for tests that need an exact balance or an empty history.
* ``sandbox_factory`` (function) ``sandbox_factory(**running_kwargs) -> (url, control)``
                    starts a private sandbox (e.g. a frozen clock or a low rate limit),
                    stopped at the end of the test.
* ``make_client``   (function) ``make_client(token="demo-token", url=None, **settings)``
                    builds a real ``Client`` on the session sandbox (or ``url``) with its own
                    SQLite cache in ``cache_dir`` (a temporary folder) and a short backoff,
                    closed after the test.
* ``state_dir``     (function, autouse) the machine-wide state folder (send locks, the shared
                    rate-limit budget) of this test alone: SMSGIC_STATE_DIR points at a new
                    temporary folder, so no test shares a lock or a budget with another (or
                    with the user's own).  Child processes that should share it get it passed.
* ``dask_cluster``  (session) a real ``distributed.LocalCluster``: two worker processes, one
                    thread each, no dashboard.  No Client is made the default here: a test
                    connects one (``distributed.Client(dask_cluster)``) for as long as it
                    needs it, so other tests keep Dask's local scheduler.

State on the session sandbox is shared: tests must not assume a balance or history they
did not create (use ``fresh_token``).

Hypothesis profiles (``HYPOTHESIS_PROFILE``, default ``ci``): ``ci`` runs every property test
with ``CI_EXAMPLES`` examples, ``thorough`` with ten times as many.  No test writes an absolute
example count: a test that needs more or fewer scales the profile's own budget (the HTTP fuzz
tests take a fraction of it, the segment packer a multiple), so ``thorough`` scales everything.

Parallel runs (``make test``: pytest-xdist, ``-n auto --dist loadfile``): each test file runs
whole on one worker, so what a module shares (a module-scoped sandbox, Jupyter server, browser
or notebook kernel) is set up once and used in order; session fixtures exist once per worker
(each worker has its own session sandbox and, if its files ask for one, its own Dask cluster).
Nothing is shared across files: child-process sandboxes bind port 0, and the launcher's
preferred port 8765 is retried on a free one when another process takes it first.  (Why not
``--dist loadgroup`` and ``xdist_group`` marks: see the root ``conftest.py``.)
"""
from __future__ import annotations

import os
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from hypothesis import HealthCheck, settings

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.core.config import ENV_STATE_DIR
from smsgic_analytics.sandbox import SandboxControl, running

TOKENS = ("demo-token", "other-token")

CI_EXAMPLES = 200
settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", settings.get_profile("ci"), max_examples=10 * CI_EXAMPLES)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def sandbox_tokens() -> tuple[str, ...]:
    return TOKENS


@pytest.fixture(scope="session")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite"
    with running(tokens=TOKENS, db=db, seed=0, clock="real") as url:
        # The first calculate loads (on a fresh machine: builds, for seconds) the numbering
        # tables: do it here, so that no test's timeouts or request counts depend on it.
        response = requests.post(url + spec.CALCULATE, json={"message": "warm up", "recipients": ["447400123456"]},
                                 headers={"Authorization": f"Bearer {TOKENS[0]}"}, timeout=300)
        response.raise_for_status()
        yield url


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[SandboxControl]:
    control = SandboxControl(sandbox_url)
    control.clear_faults()
    yield control
    control.clear_faults()


@pytest.fixture
def control(sandbox: SandboxControl) -> SandboxControl:
    return sandbox


@pytest.fixture
def fresh_token(sandbox: SandboxControl) -> str:
    token = f"test-{uuid.uuid4().hex}"
    sandbox.add_account(token)
    return token


@pytest.fixture
def sandbox_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., tuple[str, SandboxControl]]]:
    with ExitStack() as stack:

        def start(**kwargs: Any) -> tuple[str, SandboxControl]:
            kwargs.setdefault("tokens", TOKENS)
            kwargs.setdefault("db", tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite")
            url = stack.enter_context(running(**kwargs))
            return url, SandboxControl(url)

        yield start


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv(ENV_STATE_DIR, str(path))
    return path


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def make_client(sandbox_url: str, cache_dir: Path) -> Iterator[Callable[..., sa.Client]]:
    clients: list[sa.Client] = []

    def make(token: str | None = "demo-token", url: str | None = None, **overrides: Any) -> sa.Client:
        overrides.setdefault("backoff_factor", 0.01)  # retries are exercised, not waited for
        overrides.setdefault("timeout", 10.0)
        overrides.setdefault("cache_dir", cache_dir)
        client = sa.connect(token=token, base_url=url or sandbox_url, **overrides)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        yield cluster
    finally:
        cluster.close()
