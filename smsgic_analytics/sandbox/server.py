"""Run the sandbox: in-process (``running()``) or as ``smsgic-analytics sandbox``.

Both serve with uvicorn's h11 protocol (the drop faults need its transport) on a socket
bound before the server starts, so port 0 gives a free port whose URL is known at once.

Test controls (``/__sandbox__/``): on for ``running()`` (tests and notebooks drive them),
off for the command line unless ``--controls``.  Either way each control call needs the
admin token (generated unless given); controls on a non-loopback address are refused
unless allowed explicitly (``allow_remote_controls`` / ``--allow-remote-controls``).
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator

import uvicorn
from platformdirs import user_data_dir

from ..core import spec
from ..core.config import ENV_SANDBOX_ADMIN_TOKEN, is_loopback
from ..core.errors import ValidationError
from .admin import check_admin_token, new_admin_token
from .app import create_app
from .control import register_admin_token, unregister_admin_token
from .lifecycle import EARLIEST, LATEST, parse_instant
from .state import open_state

STARTUP_TIMEOUT = 60.0
EXIT_USAGE = 2  # argparse's exit code for a command line it refuses

REMOTE_WARNING = ("WARNING: the sandbox listens on {host}, which other machines may reach. It serves test "
                  "accounts over plain HTTP; bind 127.0.0.1 unless you mean to share it.")
REMOTE_CONTROLS_REFUSED = ("refusing to serve the test controls on {host}: anyone who can reach it could set "
                           "balances, add accounts, move the clock and inject faults (the admin token travels in "
                           "clear text). Bind 127.0.0.1, or add --allow-remote-controls if you really mean it.")


class RemoteControlsRefused(ValidationError, ValueError):
    """Controls were asked for on a non-loopback address without allowing it explicitly (an
    ``SMSgicError`` and, as before, a ``ValueError``)."""


def _admin_token_for(controls: bool, admin_token: str | None, host: str, allow_remote_controls: bool,
                     tokens: tuple[str, ...]) -> str | None:
    """The admin token to serve the controls with (None: controls off), or why not."""
    if not controls:
        if admin_token:
            raise ValueError("admin_token is only used with controls=True")
        return None
    if not is_loopback(host) and not allow_remote_controls:
        raise RemoteControlsRefused(REMOTE_CONTROLS_REFUSED.format(host=host))
    admin = check_admin_token(admin_token) if admin_token else new_admin_token()
    if admin in tokens:
        raise ValueError("the admin token must differ from every account token")
    return admin


def default_db() -> Path:
    return Path(user_data_dir("smsgic-analytics")) / "sandbox.sqlite"


@contextmanager
def running(tokens: Iterable[str] = (spec.DEMO_TOKEN,), db: str | Path | None = None, seed: int = 0,
            clock: str | None = None, calculate_per_minute: int = spec.CALCULATE_PER_MINUTE,
            host: str = "127.0.0.1", port: int = 0, log_level: str = "warning", controls: bool = True,
            admin_token: str | None = None, allow_remote_controls: bool = False,
            clock_offset: float | None = None) -> Iterator[str]:
    """Serve a sandbox in a background thread; yields its base URL, stops it on exit.

    ``db=None`` uses a temporary file removed afterwards.  ``clock``: None resumes the db's
    clock (wall time when new), "real" follows wall time, an ISO instant freezes it there.
    ``clock_offset`` (seconds; ``clock`` None or "real"): a real clock that far ahead of wall
    time (behind when negative), still ticking.  Every answer's ``Date`` header is the
    sandbox clock (uvicorn's own is off).
    ``controls``: serve ``/__sandbox__/`` behind ``admin_token`` (a fresh one when None);
    ``SandboxControl(url)`` in this process finds it.  A non-loopback ``host`` with controls
    raises ``RemoteControlsRefused`` unless ``allow_remote_controls``.

    >>> with running(clock="2024-01-01T12:00:00Z") as url:  # doctest: +SKIP
    ...     requests.get(url + "/status").json()
    ['OK']
    """
    tokens = tuple(tokens)
    if clock_offset is not None:
        check_clock_offset(clock_offset)
    admin = _admin_token_for(controls, admin_token, host, allow_remote_controls, tokens)
    with tempfile.TemporaryDirectory(prefix="smsgic-sandbox-") as tmp:
        state = open_state(db or Path(tmp) / "sandbox.sqlite", tokens=tokens, seed=seed,
                           clock=clock, calculate_per_minute=calculate_per_minute, clock_offset=clock_offset)
        if admin is not None and state.store.account_id(admin) is not None:
            raise ValueError("the admin token must differ from every account token (the db has it)")
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # date_header=False: the app dates every answer by the sandbox clock (dateheader.py);
        # uvicorn's own wall-clock Date would make two.
        config = uvicorn.Config(create_app(state, admin_token=admin), http="h11", lifespan="off", log_config=None,
                                log_level=log_level, access_log=log_level in ("debug", "info"),
                                timeout_graceful_shutdown=5, date_header=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="smsgic-sandbox", daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox server did not start (see the log above)")
                time.sleep(0.01)
            bound_host, bound_port = sock.getsockname()[:2]
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            url = f"http://{shown}:{bound_port}"
            if admin is not None:
                register_admin_token(url, admin)
            try:
                yield url
            finally:
                unregister_admin_token(url)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``sandbox`` sub-command's options."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--db", type=Path, default=None, help=f"SQLite file (default {default_db()})")
    parser.add_argument("--token", action="append", default=None,
                        help=f"account token; repeat for more accounts (default {spec.DEMO_TOKEN})")
    parser.add_argument("--calculate-per-minute", type=int, default=spec.CALCULATE_PER_MINUTE,
                        help=f"POST /sendings/calculate requests per minute per account (default {spec.CALCULATE_PER_MINUTE})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world rate card and of failures (default 0)")
    parser.add_argument("--clock", type=_clock_arg, default=None,
                        help="'real' (wall time) or an ISO-8601 instant to start a frozen clock "
                             "(default: resume the clock saved in the db, else real)")
    parser.add_argument("--clock-offset", type=_clock_offset_arg, default=None, metavar="SECONDS",
                        help="run a real clock SECONDS ahead of wall time (negative: behind), e.g. -7200; "
                             "not with an ISO-8601 --clock")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--controls", action="store_true",
                        help="serve the test controls under /__sandbox__/ (clock, faults, accounts, rates, statistics); "
                             "each call needs the admin token")
    parser.add_argument("--admin-token", default=None, metavar="TOKEN",
                        help=f"the controls' admin token (16-256 characters; default ${ENV_SANDBOX_ADMIN_TOKEN}, "
                             "else a random one printed on stderr)")
    parser.add_argument("--allow-remote-controls", action="store_true",
                        help="with --controls on a non-loopback --host: serve them anyway")
    parser.set_defaults(func=run)


def _clock_arg(value: str) -> str:
    if value != "real":
        try:
            instant = parse_instant(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected 'real' or an ISO-8601 instant, got {value!r}") from None
        if not EARLIEST <= instant <= LATEST:
            raise argparse.ArgumentTypeError(f"the clock must be within {EARLIEST:%Y-%m-%d}..{LATEST:%Y-%m-%d}, "
                                             f"got {value!r}")
    return value


def check_clock_offset(seconds: float) -> float:
    """``seconds`` if a real clock that far off wall time stays within the clock's range."""
    span = (LATEST - EARLIEST).total_seconds()  # checked first: timedelta(seconds=1e308) overflows
    if not (math.isfinite(seconds) and abs(seconds) <= span
            and EARLIEST <= datetime.now(timezone.utc) + timedelta(seconds=seconds) <= LATEST):
        raise ValueError(f"the clock offset must keep the clock within {EARLIEST:%Y-%m-%d}..{LATEST:%Y-%m-%d}, "
                         f"got {seconds!r} seconds")
    return seconds


def _clock_offset_arg(value: str) -> float:
    try:
        return check_clock_offset(float(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected seconds such as -7200 that keep the clock within "
                                         f"{EARLIEST:%Y-%m-%d}..{LATEST:%Y-%m-%d}, got {value!r}") from exc


def _refuse(text: str) -> int:
    print(f"smsgic-analytics sandbox: error: {text}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; prints the base URL alone on a line once it accepts requests.

    Only the URL goes to stdout (tools read it); the admin token, when generated, is printed
    once on stderr, labelled.
    """
    if not args.controls and (args.admin_token or args.allow_remote_controls):
        return _refuse("--admin-token and --allow-remote-controls need --controls")
    if args.clock_offset is not None and args.clock not in (None, "real"):
        return _refuse("--clock-offset runs a real clock: it cannot be combined with an ISO-8601 --clock")
    if not is_loopback(args.host):
        print(REMOTE_WARNING.format(host=args.host), file=sys.stderr, flush=True)
    tokens = tuple(args.token or [spec.DEMO_TOKEN])
    admin = generated = None
    if args.controls:
        admin = args.admin_token or os.environ.get(ENV_SANDBOX_ADMIN_TOKEN) or None
        if admin is None:
            admin = generated = new_admin_token()
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    db = args.db or default_db()
    try:
        serving = running(tokens=tokens, db=db, seed=args.seed, clock=args.clock,
                          calculate_per_minute=args.calculate_per_minute, host=args.host, port=args.port,
                          log_level=args.log_level, controls=args.controls, admin_token=admin,
                          allow_remote_controls=args.allow_remote_controls, clock_offset=args.clock_offset)
        with serving as url:
            print(url, flush=True)
            if generated:
                print(f"sandbox admin token (Authorization: Bearer ... on /__sandbox__/): {generated}",
                      file=sys.stderr, flush=True)
            controls = "controls on (/__sandbox__/)" if args.controls else "controls off"
            print(f"sandbox db: {db}; accounts: {len(tokens)}; {controls}; Ctrl-C stops", file=sys.stderr, flush=True)
            while not stop.wait(0.5):
                pass
    except ValueError as exc:  # running() refused the admin token or the host (RemoteControlsRefused)
        return _refuse(str(exc))
    return 0
