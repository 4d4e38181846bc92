"""The walk of a new user, in Chromium, on JupyterLab started by the README's launcher.

``smsgic-analytics lab --notebooks <copy> --data <data> --port <free> --no-browser`` (what
``make lab PORT=... NO_BROWSER=1`` runs) with HOME and the XDG cache folder pointing at a
temporary "user cache": open notebook 03, Run All, Run All again, then 04, then 02, then 01 --
no error output, and what the analyst reads fits the ~970 px notebook column (figures, the
sender app's buttons and placeholder, padded table columns, colour emoji).  Then the
launcher stops and ``--voila`` (what ``make dashboard`` runs) serves the read-only dashboard page on a fresh data folder
with the same user cache: the page renders, no "There was an error when executing cell".

It also proves what the notebooks' texts promise under ``make lab`` (this was
tests/notebooks/test_lab_runs.py's headless walk, which ran the same notebooks in the same
environment a second time): each 03 run sends once from a new demo account, its low-balance
lesson refuses and the duplicate guard refuses the repeat; 04 says where the sandbox clock
started and that it moved it 49 hours, and both are true of the sandbox's own clock (its
``Date`` header); the lab account's balance is untouched by it all; the ledger is in the data
folder.  ``make dashboard`` on a fresh data folder (with the same user cache, and the same
sandbox port when 8765 is free) is the Voilà step.

Screenshots of every step go to test-artifacts/walk-*.png.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from browser_support import free_port, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
START_TIMEOUT = 120.0  # s: the launcher starts its sandbox, then JupyterLab or Voilà
LAUNCHER = str(Path(sys.executable).parent / "smsgic-analytics")  # .venv/bin/smsgic-analytics, as in the README
RUN_TIMEOUT = 420.0  # s: a kernel starts and runs every cell (01 quotes 3,000 numbers) on a busy 2-core machine
VIEWPORT = {"width": 1400, "height": 900}  # with the file browser open, the notebook column is ~970 px wide
STDERR = "application/vnd.jupyter.stderr"


# --- processes ---------------------------------------------------------------------------------


@contextmanager
def launched(args: list[str], ready: Callable[[], bool], env: dict[str, str],
             log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run the launcher (its own process group: JupyterLab, kernels and the sandbox with it)
    until ``ready()``; stop it as Ctrl-C would at the end (SIGTERM to the launcher)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([LAUNCHER, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"the launcher exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the launcher is not serving after {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the launcher stops JupyterLab, then its sandbox
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of that group is left (a stuck kernel)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@contextmanager
def new_page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context of the walk's viewport, closed at the end."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@contextmanager
def lab_open(page: Any, token: str, dirs: dict[str, Path], notebook: str) -> Iterator[tuple[str, str, str]]:
    """The README's launcher serving ``dirs``' notebooks, ``notebook`` opened in ``page``:
    (base URL, the lab sandbox's URL, the lab account's balance before the walk)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = dirs["root"] / "lab.log"
    with launched(["lab", "--notebooks", str(dirs["notebooks"]), "--data", str(dirs["lab_data"]),
                   "--port", str(port), "--no-browser"], answers(f"{base}/api/status?token={token}"),
                  walk_env(dirs, token), log):
        api = sandbox_url(log)
        balance = lab_balance(api)
        open_notebook(page, base, token, notebook)
        yield base, api, balance


@contextmanager
def notebook_in_lab(browser: Any, token: str, tmp_path: Path, notebook: str) -> Iterator[tuple[Any, str, str, str]]:
    """One notebook copied alone into a fresh lab under the README's launcher and opened in a new
    page: (page, base URL, the lab sandbox's URL, the lab account's balance before the walk)."""
    dirs = {"root": tmp_path, "notebooks": tmp_path / "notebooks", "home": tmp_path / "home",
            "lab_data": tmp_path / "lab-data"}
    dirs["notebooks"].mkdir()
    shutil.copy(ROOT / "notebooks" / notebook, dirs["notebooks"] / notebook)
    with new_page(browser) as page, lab_open(page, token, dirs, notebook) as (base, api, balance):
        yield page, base, api, balance


def answers(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return requests.get(url, timeout=5).status_code == 200
        except requests.RequestException:
            return False
    return ready


def listens(port: int) -> Callable[[], bool]:
    """Voilà runs the notebook on every GET of its page: readiness is its port accepting."""
    def ready() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0
    return ready


@pytest.fixture(scope="module")
def walk_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("walk")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    for notebook in [*sorted((ROOT / "notebooks").glob("0[1-4]_*.ipynb")), ROOT / "notebooks" / "dashboard.ipynb"]:
        shutil.copy(notebook, notebooks / notebook.name)
    return {"root": root, "notebooks": notebooks, "home": root / "home", "lab_data": root / "lab-data",
            "fresh_data": root / "fresh-data"}


def walk_env(dirs: dict[str, Path], token: str) -> dict[str, str]:
    """A user's shell: no SMSGIC_*, a HOME whose cache folder is the "user cache", a Jupyter token."""
    home = dirs["home"]
    env = server_env(home / "jupyter", HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), JUPYTER_TOKEN=token)
    config = Path(env["JUPYTER_CONFIG_DIR"])
    server = {"ServerApp": {"port_retries": 0, "ip": "127.0.0.1"},
              "LabApp": {"news_url": "", "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                         "extension_manager": "readonly"}}
    for name in ("jupyter_server_config.json", "jupyter_lab_config.json"):
        (config / name).write_text(json.dumps(server))
    # Every cell stays in the page (JupyterLab 4 may otherwise detach cells scrolled out of view).
    tracker = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text('{"windowingMode": "none"}')
    return env


# --- the page ----------------------------------------------------------------------------------


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"walk-{name}.png"), full_page=True)


PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
STATE_JS = """(panel) => {
    const root = document.querySelector(panel);
    if (!root) return null;
    const prompts = [...root.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
    const stderr = [...root.querySelectorAll('.jp-OutputArea-output[data-mime-type="%s"]')].map(e => e.innerText);
    const busy = [...document.querySelectorAll('.jp-StatusBar-TextItem')].some(e => /\\|\\s*Busy/.test(e.textContent));
    return {prompts, stderr, busy};
}""" % STDERR


def open_notebook(page: Any, base: str, token: str, name: str) -> None:
    """Open ``name`` alone (a reset workspace) and wait for its kernel to be idle."""
    page.goto(f"{base}/lab/tree/{name}?reset&token={token}")
    page.locator(f"{PANEL} .jp-Notebook").first.wait_for(timeout=RUN_TIMEOUT * 1000)
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle\s*$")).first.wait_for(
        timeout=RUN_TIMEOUT * 1000)


WATCH_JS = """(panel) => {
    // Seen running: a prompt turned "[*]" after the click (the committed prompts [1]..[n] of a
    // fresh kernel look the same before and after, so only this tells a finished run apart).
    window.__smsgicRan = false;
    const root = document.querySelector(panel);
    const seen = () => { if ([...root.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*')))
                            window.__smsgicRan = true; };
    new MutationObserver(seen).observe(root, {subtree: true, childList: true, characterData: true});
}"""


def run_all(page: Any, label: str) -> dict[str, Any]:
    """Run -> Run All Cells from the menu bar; wait until the cells ran (a "[*]" was seen), every
    code cell has its number and the kernel is idle; fail at once on an error output."""
    page.evaluate(WATCH_JS, PANEL)
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        state = page.evaluate(STATE_JS, PANEL)
        if state["stderr"]:
            shoot(page, f"{label}-error")
            pytest.fail(f"{label}: an output on stderr (an error cell):\n" + "\n---\n".join(state["stderr"])[:4000])
        ran = page.evaluate("() => window.__smsgicRan")
        if ran and all(re.fullmatch(r"\[\d+\]:?", p) for p in state["prompts"]) and not state["busy"]:
            return state
        if time.monotonic() > deadline:
            shoot(page, f"{label}-timeout")
            pytest.fail(f"{label}: Run All did not finish in {RUN_TIMEOUT} s; prompts {state['prompts']}")
        time.sleep(0.5)


def shut_down_kernels(base: str, token: str) -> None:
    """Between notebooks, as closing them would: two cores are shared with the next kernel."""
    for kernel in requests.get(f"{base}/api/kernels", params={"token": token}, timeout=30).json():
        requests.delete(f"{base}/api/kernels/{kernel['id']}", params={"token": token}, timeout=30)


FIT_JS = """(scope) => {
    const root = document.querySelector(scope);
    const out = {figures: [], overflowing: []};
    for (const plot of root.querySelectorAll('.js-plotly-plot')) {
        const svg = plot.querySelector('.main-svg');
        const column = plot.closest('.jp-OutputArea-output, .widget-output, .jp-OutputArea') || root;
        if (!svg || plot.offsetParent === null) continue;
        const s = svg.getBoundingClientRect(), c = column.getBoundingClientRect();
        out.figures.push({title: (plot.querySelector('.gtitle') || {}).textContent || '', width: s.width,
                          left: s.left, right: s.right, column_left: c.left, column_right: c.right});
    }
    for (const app of root.querySelectorAll('[class*="smsgic-"][class$="-app"], .jp-OutputArea-output')) {
        if (app.scrollWidth > app.clientWidth + 1)
            out.overflowing.push({cls: app.className, scroll: app.scrollWidth, client: app.clientWidth});
    }
    const cells = root.querySelector('.jp-OutputArea-output');
    out.column = cells ? cells.getBoundingClientRect().width : null;
    return out;
}"""


def assert_fits(page: Any, scope: str, label: str, min_figures: int) -> dict[str, Any]:
    """Every drawn figure lies inside its output column; nothing scrolls sideways."""
    fit = page.evaluate(FIT_JS, scope)
    assert len(fit["figures"]) >= min_figures, (label, fit)
    for figure in fit["figures"]:
        assert figure["column_left"] - 1 <= figure["left"] and figure["right"] <= figure["column_right"] + 1, \
            (label, figure)
    assert fit["overflowing"] == [], (label, fit["overflowing"])
    widths = sorted({round(f["width"]) for f in fit["figures"]})
    print(f"{label}: {len(fit['figures'])} figures inside their column ({fit['column']} px), widths {widths}")
    return fit


def assert_labels_fit(page: Any) -> None:
    """The sender app's buttons show their whole caption, the schedule's placeholder fits its box."""
    found = page.evaluate("""() => {
        const app = document.querySelector('.smsgic-sender-app');
        const cut = [...app.querySelectorAll('button, .widget-label')]
            .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
            .map(e => [e.textContent.trim(), e.scrollWidth, e.clientWidth]);
        const input = app.querySelector('.smsgic-sender-schedule input');
        const style = getComputedStyle(input);
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = style.font;
        const text = ctx.measureText(input.placeholder).width;
        const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return {cut, placeholder: input.placeholder, text, room,
                captions: [...app.querySelectorAll('button')].map(b => b.textContent.trim())};
    }""")
    assert found["cut"] == [], found
    assert found["text"] <= found["room"], found
    assert "Confirm and send" in found["captions"]
    print(f"sender app: {len(found['captions'])} buttons uncut; placeholder {found['text']:.0f} px in {found['room']:.0f} px")


def assert_table_columns_apart(page: Any, selector: str) -> None:
    """In an app's table, the text of neighbouring cells is at least 12 px apart (padding)."""
    gaps = page.evaluate("""(selector) => {
        const rows = [...document.querySelectorAll(selector + ' tbody tr')].slice(0, 5);
        const gaps = [];
        for (const row of rows) {
            const boxes = [...row.cells].filter(c => c.textContent.trim()).map(c => {
                const range = document.createRange(); range.selectNodeContents(c);
                return range.getBoundingClientRect();
            });
            for (let i = 1; i < boxes.length; i++) gaps.push(boxes[i].left - boxes[i - 1].right);
        }
        return gaps;
    }""", selector)
    assert gaps and min(gaps) >= 12, gaps
    print(f"estimator table: {len(gaps)} neighbouring cells, text at least {min(gaps):.0f} px apart")


def assert_colour_emoji(page: Any) -> None:
    """🎉 drawn in the page's own font has colour (a missing emoji font draws a grey box)."""
    coloured = page.evaluate("""() => {
        const canvas = document.createElement('canvas'); canvas.width = 64; canvas.height = 64;
        const ctx = canvas.getContext('2d');
        ctx.font = '48px ' + getComputedStyle(document.body).fontFamily;
        ctx.fillText('\\u{1F389}', 4, 52);
        const px = ctx.getImageData(0, 0, 64, 64).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4)
            if (px[i + 3] > 0 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) n++;
        return n;
    }""")
    assert coloured > 50, f"the emoji drew {coloured} coloured pixels: no colour emoji font (make chromium installs one)"
    print(f"emoji: {coloured} coloured pixels")


def page_text(page: Any) -> str:
    return page.locator(PANEL).inner_text()


# --- the launcher's sandbox ----------------------------------------------------------------------


def sandbox_url(log: Path) -> str:
    """The URL the launcher printed for the sandbox it started ("Sandbox serving at URL (...")."""
    found = re.search(r"Sandbox serving at (http://\S+) ", log.read_text())
    assert found, f"the launcher did not say where its sandbox serves:\n{log.read_text()[-3000:]}"
    return found.group(1)


def lab_balance(url: str) -> str:
    """The balance of the lab's own account (the demo token `make lab` hands the notebooks)."""
    answer = requests.get(url + "/balance", headers={"Authorization": "Bearer demo-token"}, timeout=30)
    answer.raise_for_status()
    return answer.json()["balance"]


def sandbox_clock(url: str) -> datetime:
    """The sandbox clock: every answer's Date header is read from it."""
    return parsedate_to_datetime(requests.get(url + "/status", timeout=30).headers["Date"])


# --- the walk ----------------------------------------------------------------------------------


def test_a_new_users_walk_reruns_notebooks_then_serves_the_dashboard(browser: Any, walk_dirs: dict[str, Path],
                                                                    token: str) -> None:
    dirs = walk_dirs
    env = walk_env(dirs, token)
    with new_page(browser) as page:
        with lab_open(page, token, dirs, "03_send_campaign.ipynb") as (base, api, own_balance):
            for attempt in (1, 2):
                started = time.monotonic()
                run_all(page, f"03-run-{attempt}")
                print(f"03 Run All {attempt}: {time.monotonic() - started:.0f} s, no error output")
                shoot(page, f"1-03-run-all-{attempt}")
                text = page_text(page)
                assert "a new demo account" in text and "InsufficientBalanceError: Insufficient balance" in text
                assert "Balance before 450.000, after" in text  # sent once, from a new 450.000 account
                assert "DuplicateSendError: " in text  # the repeat is refused
            page.locator(".smsgic-sender-app").scroll_into_view_if_needed()
            shoot(page, "1-03-sender-app")
            assert_labels_fit(page)
            assert_fits(page, PANEL, "03", min_figures=0)
            shut_down_kernels(base, token)

            open_notebook(page, base, token, "04_status_and_spend.ipynb")
            before = sandbox_clock(api)
            run_all(page, "04")
            after = sandbox_clock(api)
            shoot(page, "2-04-run-all")
            text = page_text(page)
            assert "this notebook moved the sandbox clock 49 hours forward" in text
            # 04 says where the lab clock stood when it started, and how far it moved it: both true.
            started = re.search(r"Sandbox clock at the start: (\w{3} \d{2} \w{3} \d{4} \d{2}:\d{2}) UTC", text).group(1)
            started = datetime.strptime(started, "%a %d %b %Y %H:%M").replace(tzinfo=timezone.utc)
            assert before.replace(second=0) <= started <= after
            assert abs(after - started - timedelta(hours=49)) < timedelta(hours=1)
            page.locator(".smsgic-dashboard-app").scroll_into_view_if_needed()
            shoot(page, "2-04-dashboard-app")
            fit = assert_fits(page, PANEL, "04", min_figures=6)  # 3 of the notebook's, 3 of the dashboard's
            assert 900 <= fit["column"] <= 1040, fit["column"]  # the ~970 px column the issue measured
            dashboard = assert_fits(page, ".smsgic-dashboard-app", "04 dashboard", min_figures=3)
            assert {f["title"] for f in dashboard["figures"]} >= {"Sendings by status", "Spend over time"}
            shut_down_kernels(base, token)

            open_notebook(page, base, token, "02_explore_rates.ipynb")
            run_all(page, "02")
            shoot(page, "3-02-run-all")
            assert_fits(page, PANEL, "02", min_figures=2)
            shut_down_kernels(base, token)

            open_notebook(page, base, token, "01_estimate_campaign_cost.ipynb")
            run_all(page, "01")
            shoot(page, "3-01-run-all")
            assert_fits(page, PANEL, "01", min_figures=3)
            page.locator(".smsgic-estimator-table table").scroll_into_view_if_needed()
            shoot(page, "3-01-estimator-app")
            assert_table_columns_apart(page, ".smsgic-estimator-table")
            bars = page.locator(".smsgic-estimator-chart .bars .point").count()
            assert 2 <= bars <= 13, bars  # the biggest twelve countries and one "Other" bar
            assert_colour_emoji(page)
            shut_down_kernels(base, token)
            assert lab_balance(api) == own_balance  # every send went to a demo account, as the texts say
        # The launcher kept the sandbox's cache and ledger next to its database, not in the user cache.
        assert (dirs["lab_data"] / "cache" / "ledger.sqlite").exists()
        assert not list((dirs["home"] / ".cache").rglob("ledger.sqlite"))

        voila_port = free_port()
        voila = f"http://127.0.0.1:{voila_port}"
        with launched(["lab", "--notebooks", str(dirs["notebooks"]), "--data", str(dirs["fresh_data"]),
                       "--voila", str(dirs["notebooks"] / "dashboard.ipynb"),
                       "--port", str(voila_port), "--no-browser"], listens(voila_port),
                      env, dirs["root"] / "dashboard.log"):
            page.goto(voila + "/")
            app = page.locator(".smsgic-dashboard-app")
            error = page.get_by_text("There was an error when executing cell")
            deadline = time.monotonic() + RUN_TIMEOUT
            while not app.is_visible():
                if error.count():
                    shoot(page, "4-dashboard-error")
                    pytest.fail("Voilà: " + page.locator("body").inner_text()[:3000])
                assert time.monotonic() < deadline, "the dashboard did not render"
                time.sleep(1)
            for role in ("status", "spend", "country"):
                page.locator(f".smsgic-dashboard-{role} .main-svg").first.wait_for(timeout=120_000)
            shoot(page, "4-dashboard")
            body = page.locator("body").inner_text()
            assert "There was an error" not in body and "Traceback" not in body
            assert_fits(page, ".smsgic-dashboard-app", "Voilà dashboard", min_figures=3)
