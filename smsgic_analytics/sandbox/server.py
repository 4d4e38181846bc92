"""Run the sandbox: in-process (``running()``) or as ``smsgic-analytics sandbox``.

Both serve with uvicorn's h11 protocol (the drop faults need its transport) on a socket
bound before the server starts, so port 0 gives a free port whose URL is known at once.
"""
from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import uvicorn
from platformdirs import user_data_dir

from .. import spec
from .app import create_app
from .lifecycle import parse_instant
from .state import open_state

DEFAULT_TOKEN = "demo-token"
STARTUP_TIMEOUT = 60.0


def default_db() -> Path:
    return Path(user_data_dir("smsgic-analytics")) / "sandbox.sqlite"


@contextmanager
def running(tokens: Iterable[str] = (DEFAULT_TOKEN,), db: str | Path | None = None, seed: int = 0,
            clock: str | None = None, calculate_per_minute: int = spec.CALCULATE_PER_MINUTE,
            host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> Iterator[str]:
    """Serve a sandbox in a background thread; yields its base URL, stops it on exit.

    ``db=None`` uses a temporary file removed afterwards.  ``clock``: None resumes the db's
    clock (wall time when new), "real" follows wall time, an ISO instant freezes it there.

    >>> with running(clock="2024-01-01T12:00:00Z") as url:  # doctest: +SKIP
    ...     requests.get(url + "/status").json()
    ['OK']
    """
    with tempfile.TemporaryDirectory(prefix="smsgic-sandbox-") as tmp:
        state = open_state(db or Path(tmp) / "sandbox.sqlite", tokens=tuple(tokens), seed=seed,
                           clock=clock, calculate_per_minute=calculate_per_minute)
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        config = uvicorn.Config(create_app(state), http="h11", lifespan="off", log_config=None,
                                log_level=log_level, access_log=log_level in ("debug", "info"),
                                timeout_graceful_shutdown=5)
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
            yield f"http://{shown}:{bound_port}"
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
                        help=f"account token; repeat for more accounts (default {DEFAULT_TOKEN})")
    parser.add_argument("--calculate-per-minute", type=int, default=spec.CALCULATE_PER_MINUTE,
                        help=f"POST /sendings/calculate requests per minute per account (default {spec.CALCULATE_PER_MINUTE})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world rate card and of failures (default 0)")
    parser.add_argument("--clock", type=_clock_arg, default=None,
                        help="'real' (wall time) or an ISO-8601 instant to start a frozen clock "
                             "(default: resume the clock saved in the db, else real)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.set_defaults(func=run)


def _clock_arg(value: str) -> str:
    if value != "real":
        try:
            parse_instant(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected 'real' or an ISO-8601 instant, got {value!r}") from None
    return value


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; prints the base URL alone on a line once it accepts requests."""
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    db = args.db or default_db()
    with running(tokens=args.token or [DEFAULT_TOKEN], db=db, seed=args.seed, clock=args.clock,
                 calculate_per_minute=args.calculate_per_minute, host=args.host, port=args.port,
                 log_level=args.log_level) as url:
        print(url, flush=True)
        print(f"sandbox db: {db}; accounts: {len(args.token or [DEFAULT_TOKEN])}; Ctrl-C stops", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    return 0
