"""Real-browser fixtures: Debian's Chromium driven by Playwright (sync API, headless), and
JupyterLab / Voilà servers on free 127.0.0.1 ports with a random token, serving a temporary
copy of the notebooks.

* ``browser``       (module) a headless Chromium (never ``playwright install``).
* ``page``          (function) a fresh context and page; on failure a screenshot goes to
                    ``test-artifacts/<test>.png``.
* ``notebook_copy`` (session) a temporary copy of ``notebooks/``.
* ``serve(cmd, url, env)`` starts a server as its own process group, waits until ``url``
  answers, and stops the whole group (kernels included) at the end of the session.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = ROOT / "test-artifacts"
SERVER_START_TIMEOUT = 90.0


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Screenshot the page of a failed test (setup or call) into test-artifacts/."""
    outcome = yield
    report = outcome.get_result()
    page = getattr(item, "funcargs", {}).get("page")
    if report.failed and report.when in ("setup", "call") and page is not None:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", item.nodeid.split("::", 1)[-1])
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(page.content(), encoding="utf-8")
        except Exception as exc:  # noqa: BLE001 - a screenshot must never hide the real failure
            report.sections.append(("screenshot", f"could not save a screenshot: {exc}"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped on purpose: a live ``sync_playwright()`` owns an event loop in this thread,
    and other test folders start their own Playwright (which refuses to run inside a loop)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def notebook_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("notebooks")
    for notebook in sorted((ROOT / "notebooks").glob("0[1-4]_*.ipynb")):
        shutil.copy(notebook, folder / notebook.name)
    return folder


@pytest.fixture(scope="session")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(cmd: list[str], url: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        log = tmp_path_factory.mktemp("server-log") / "server.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # its own group: kernels are stopped with it
        processes.append(proc)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{cmd[2] if len(cmd) > 2 else cmd} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if requests.get(url, timeout=5).status_code == 200:
                    return proc
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not answering {url} after {SERVER_START_TIMEOUT} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)

    yield start
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def token() -> str:
    return secrets.token_hex(16)
