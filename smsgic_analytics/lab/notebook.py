"""``notebook_session``: the one setup call at the top of every notebook.

Without SMSGIC_TOKEN it starts the in-process sandbox (fixed seed, frozen clock, a fresh
temporary database and a fresh temporary cache/ledger folder), so re-running a notebook
draws exactly the same outputs -- which is what lets nbval check the committed outputs.
With SMSGIC_TOKEN set it connects to that account (SMSGIC_BASE_URL): the real API, with no
sandbox controls, or the persistent local sandbox ``make lab`` starts, with its controls --
where ``demo_account=True`` (the notebooks that send) opens a new demo account for the
session, so that a re-run never meets the sends of an earlier one.  Either way it prints one
line without URLs, ports, paths or the token.

It also makes plotly figures display reproducibly: the ``application/vnd.plotly.v1+json``
mime bundle (JupyterLab draws it natively), plus -- for HTML reports (SMSGIC_REPORT=1, set
by ``smsgic-analytics report``) -- ``text/html`` with plotly.js embedded once, so the report
needs no CDN.  Div ids are numbered, not random.

>>> import smsgic_analytics as sa
>>> client, control = sa.notebook_session(seed=7, clock="2026-03-02T09:00:00Z")  # doctest: +SKIP
Sandbox SMSgic API: seed 7, clock frozen at 2026-03-02 09:00:00 UTC, fresh database, cache and ledger.
"""
from __future__ import annotations

import atexit
import itertools
import os
import secrets
import shutil
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal

from ..client import Client, connect
from ..core import spec
from ..core.config import ENV_SANDBOX_ADMIN_TOKEN, ENV_TOKEN
from ..core.dates import format_instant
from ..sending.ledger import LEDGER_FILENAME, Ledger

if TYPE_CHECKING:
    from ..sandbox import SandboxControl

# plotly and the sandbox (FastAPI, uvicorn) are imported when a session starts, not with the
# package: ``import smsgic_analytics`` stays quick.

ENV_REPORT = "SMSGIC_REPORT"
RENDERER = "smsgic"
DEFAULT_CLOCK = "2026-03-02T09:00:00Z"

Figures = Literal["auto", "json", "html"]

_current: "NotebookSession | None" = None


def _figure_renderer(html: bool) -> Any:
    """The plotly mime bundle, plus optionally deterministic ``text/html`` (numbered div ids,
    no mathjax, plotly.js loaded once by ``notebook_session``)."""
    import plotly.io as pio
    from plotly.io._base_renderers import PlotlyRenderer

    from ..analytics.figures import export_config

    class FigureRenderer(PlotlyRenderer):
        def __init__(self) -> None:
            super().__init__(config={"displaylogo": False})
            self._ids = itertools.count(1)

        def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
            bundle = super().to_mimebundle(fig_dict)
            # The modebar's PNG download is named after the figure, not "newplot".
            title = ((fig_dict.get("layout") or {}).get("title") or {}).get("text") or ""
            bundle["application/vnd.plotly.v1+json"]["config"] = {**self.config, **export_config(title)}
            if html:
                bundle["text/html"] = pio.to_html(
                    fig_dict, config={**self.config, **export_config(title)}, full_html=False, include_plotlyjs=False,
                    include_mathjax=False, div_id=f"smsgic-figure-{next(self._ids)}", validate=False)
            return bundle

    return FigureRenderer()


def _plotlyjs_html() -> str:
    """plotly.js inline, once per page.  AMD ``define`` (require.js, if a page has it) is
    hidden while the bundle runs so that it sets ``window.Plotly`` as the figures expect."""
    from plotly.offline import get_plotlyjs

    return ("<script>window.PlotlyConfig = {MathJaxConfig: 'local'};"
            "window.__smsgicDefine = window.define; window.define = undefined;</script>"
            f"<script>{get_plotlyjs()}</script>"
            "<script>window.define = window.__smsgicDefine;</script>")


def use_figure_renderer(figures: Figures = "auto") -> str:
    """Make plotly display through the deterministic renderer; returns "json" or "html".

    "auto" is "html" when SMSGIC_REPORT is set (an HTML report), else "json".
    """
    if figures not in ("auto", "json", "html"):
        raise ValueError(f"figures must be 'auto', 'json' or 'html', not {figures!r}")
    import plotly.io as pio

    mode = ("html" if os.environ.get(ENV_REPORT) else "json") if figures == "auto" else figures
    pio.renderers[RENDERER] = _figure_renderer(html=mode == "html")
    pio.renderers.default = RENDERER
    if mode == "html":
        try:
            from IPython.display import HTML, display
        except ImportError:  # pragma: no cover - plain Python: nothing to display into
            return mode
        display(HTML(_plotlyjs_html()))
    return mode


class NotebookSession:
    """A connected ``client`` and, on the sandbox, its ``control`` (clock, faults, accounts).

    Unpacks as ``client, control = session``; ``control`` is None on the real API.
    """

    def __init__(self, client: Client, control: "SandboxControl | None", *, seed: int | None,
                 clock: str | None, stack: ExitStack) -> None:
        self.client = client
        self.control = control
        self.seed = seed
        self.clock = clock
        self._stack = stack

    def __iter__(self) -> Iterator[Any]:
        yield self.client
        yield self.control

    def __repr__(self) -> str:
        if self.control is None:
            return "NotebookSession(api)"
        return f"NotebookSession(sandbox, seed={self.seed}, clock={self.clock!r})"

    @property
    def is_sandbox(self) -> bool:
        return self.control is not None

    def now(self) -> datetime:
        """The API's clock: the sandbox clock, or wall time (UTC) on the real API."""
        return self.control.now() if self.control is not None else datetime.now(UTC)

    def ledger(self) -> Ledger:
        """The client's ledger (next to its cache), timed by ``now()`` so sandbox runs repeat."""
        clock: Callable[[], datetime] = self.now
        return Ledger.for_settings(self.client.settings, clock=clock)

    def close(self) -> None:
        """Stop the sandbox, close the client and remove the temporary folders (idempotent)."""
        self._stack.close()


def notebook_session(seed: int = 0, clock: str | None = DEFAULT_CLOCK, *, figures: Figures = "auto",
                     calculate_per_minute: int | None = None, demo_account: bool = False) -> NotebookSession:
    """Connect a notebook: the sandbox when SMSGIC_TOKEN is unset, else the real API.

    Sandbox: ``seed`` fixes the rate card and which sendings fail; ``clock`` freezes the
    sandbox clock at that instant (None or "real" follow wall time); the database and the
    client's cache and ledger are fresh temporary files, and the ledger is stamped with the
    sandbox clock.  SMSGIC_TOKEN set: ``seed`` and ``clock`` are not used; on the real API
    ``control`` is None, on the persistent local sandbox ``make lab`` starts it is that
    sandbox's controls (so the notebooks' sandbox-only cells run there too) and the ledger
    follows that sandbox's clock.  ``demo_account=True`` there: the client is a new account
    of that sandbox (a random token, never shown, with spec.DEMO_BALANCE and the demo senders),
    not the lab's own, so every run starts with an empty history and the same balance; on
    the real API it changes nothing (there is no demo account to open).

    The sandbox lives as long as the kernel (stopped at exit); calling this again stops the
    previous session first, so re-running the setup cell starts over.

    >>> client, control = notebook_session(seed=7)   # doctest: +SKIP
    """
    global _current
    if _current is not None:
        _current.close()
        _current = None
    use_figure_renderer(figures)
    stack = ExitStack()
    try:
        if os.environ.get(ENV_TOKEN):
            client = stack.enter_context(connect())
            control = _local_sandbox(client.settings.base_url)
            if control is not None and demo_account:
                client.close()  # the lab's own account stays untouched: a demo account of its own
                client = stack.enter_context(_demo_client(control, client))
            session = NotebookSession(client, control, seed=None, clock=None, stack=stack)
            if control is None:
                print("SMSgic API: connected with SMSGIC_TOKEN; sends spend that account's balance.")
            else:
                client.ledger = session.ledger()
                account = (f"a new demo account for this session (balance {spec.DEMO_BALANCE}, no sendings)" if demo_account
                           else "its own account")
                print(f"Local sandbox SMSgic API (make lab, make dashboard): persistent database, {account}, "
                      f"sandbox clock at {session.now():%Y-%m-%d %H:%M} UTC.")
        else:
            session = _sandbox_session(stack, seed, clock, calculate_per_minute)
            print(f"Sandbox SMSgic API: seed {seed}, {_clock_text(clock)}, fresh database, cache and ledger.")
    except BaseException:
        stack.close()
        raise
    _current = session
    return session


def _local_sandbox(base_url: str) -> "SandboxControl | None":
    """Controls for a sandbox on this machine (the one ``make lab`` starts), else None.

    Only loopback URLs are asked, so a real API is never probed for test endpoints.  The
    admin token is SMSGIC_SANDBOX_ADMIN_TOKEN (``make lab`` sets it), or the one of a
    sandbox this process serves; without either the controls refuse and this is None.
    """
    from urllib.parse import urlparse

    if urlparse(base_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    from ..sandbox import SandboxControl, SandboxControlError

    control = SandboxControl(base_url, admin_token=os.environ.get(ENV_SANDBOX_ADMIN_TOKEN))
    try:
        control.now()
    except (SandboxControlError, OSError, ValueError, KeyError):
        return None
    return control


def _demo_client(control: "SandboxControl", lab: Client) -> Client:
    """A client of a new account on ``control``'s sandbox, with ``lab``'s server and cache folder."""
    token = f"notebook-demo-{secrets.token_hex(12)}"
    control.add_account(token, spec.DEMO_BALANCE)
    return connect(token=token, base_url=lab.settings.base_url, cache_dir=lab.settings.cache_dir)


def _clock_text(clock: str | None) -> str:
    if clock in (None, "real"):
        return "wall clock"
    instant = datetime.fromisoformat(clock.replace("Z", "+00:00"))
    instant = instant.astimezone(UTC) if instant.tzinfo else instant  # naive means UTC, as in the sandbox
    return f"clock frozen at {format_instant(instant)} UTC"


def _sandbox_session(stack: ExitStack, seed: int, clock: str | None,
                     calculate_per_minute: int | None) -> NotebookSession:
    from ..sandbox import SandboxControl, running

    work = tempfile.mkdtemp(prefix="smsgic-notebook-")
    stack.callback(shutil.rmtree, work, True)  # runs last: after the server and client stopped
    options: dict[str, Any] = {"calculate_per_minute": calculate_per_minute} if calculate_per_minute else {}
    url = stack.enter_context(running(tokens=(spec.DEMO_TOKEN,), db=os.path.join(work, "sandbox.sqlite"),
                                      seed=seed, clock=clock, **options))
    cache = os.path.join(work, "cache")
    # A fresh ledger draws its scheduling lane at random (see ledger.LANES); fixed here, the
    # sends' scheduled_at -- shown in the outputs -- repeat from run to run.
    Ledger(os.path.join(cache, LEDGER_FILENAME), lane=0)
    client = stack.enter_context(connect(token=spec.DEMO_TOKEN, base_url=url, cache_dir=cache))
    session = NotebookSession(client, SandboxControl(url), seed=seed, clock=clock, stack=stack)
    # The ledger stamps quotes, sends and balance snapshots with the sandbox's clock, not the
    # wall clock: spend by day and the duplicate window then follow the sandbox (and repeat).
    client.ledger = session.ledger()
    return session


@atexit.register
def _stop_at_exit() -> None:
    if _current is not None:
        _current.close()
