"""The send guard: on one machine, one send of an account at a time, and never a duplicate.

Both duplicate checks -- this ledger's (the same campaign within the window, or an earlier send
whose outcome is unresolved) and the server's (a recent sending with the same text and SMS
count that no send of this ledger owns: another notebook or machine) -- are reads followed by
an act.  Two processes that both read before either acts would both pass.  So the checks, the
ledger's claim, the POST and the ledger's record of its outcome all run under one lock per
account per machine: a real file lock (``filelock``) in the machine-wide state folder
(``Settings.state_dir``, not the cache folder: two notebooks with two cache folders, hence two
ledgers, still share it), named by the account's key (a hash, never the token).  The second
process gets the lock only once the first one's sending exists on the server and in its ledger,
and its server check then sees it.

The lock is per machine: two machines on one account are guarded by the server check alone,
which leaves the window from one machine's GET /sendings to its POST's commit (RELIABILITY.md
gives its measured size).

>>> with AccountLock(settings.state_dir, settings.account, timeout=120).held("a send"):  # doctest: +SKIP
...     ...
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
from filelock import FileLock, Timeout

from ..api.endpoints import Api
from ..core.config import Settings
from ..core.dates import format_instant
from ..core.errors import DuplicateSendError, SendLockTimeoutError
from .budget import check_budget
from .ledger import Ledger
from .plan import Plan

LOCKS_DIR = "locks"


def lock_path(state_dir: Path, account: str) -> Path:
    """The account's send lock file: ``<state_dir>/locks/send-<account key>.lock``."""
    return Path(state_dir) / LOCKS_DIR / f"send-{account}.lock"


class AccountLock:
    """The machine-wide send lock of one account (a file lock: every thread and process on the
    machine that names the same file waits for it).  A wait longer than ``timeout`` seconds
    raises ``SendLockTimeoutError`` naming the holder (its pid, host, since when, doing what),
    which the holder writes next to the lock while it holds it."""

    def __init__(self, state_dir: Path, account: str, timeout: float) -> None:
        self.path = lock_path(state_dir, account)
        self.holder_path = self.path.with_name(self.path.name + ".holder")
        self.timeout = float(timeout)

    def __repr__(self) -> str:
        return f"AccountLock({str(self.path)!r}, timeout={self.timeout})"

    @contextlib.contextmanager
    def held(self, what: str) -> Iterator[None]:
        """Hold the lock for the block (``what``: words for whoever waits on it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path), timeout=self.timeout)
        started = time.monotonic()
        try:
            lock.acquire()
        except Timeout:
            raise self._timed_out(time.monotonic() - started) from None
        try:
            self._write_holder(what)
            yield
        finally:
            with contextlib.suppress(OSError):
                self.holder_path.unlink()
            lock.release()

    def holder(self) -> dict[str, Any] | None:
        """What the holder wrote (pid, host, since, what), or None when nothing readable is there."""
        try:
            data = json.loads(self.holder_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write_holder(self, what: str) -> None:
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.now(UTC).isoformat(timespec="seconds"), "what": what}
        temporary = self.holder_path.with_name(f"{self.holder_path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):  # only words for a waiter: never a reason not to send
            temporary.write_text(json.dumps(record), encoding="utf-8")
            os.replace(temporary, self.holder_path)

    def _timed_out(self, waited: float) -> SendLockTimeoutError:
        holder = self.holder()
        if holder is None:
            who = "held by another process or thread (it did not say which)"
        else:
            since = holder.get("since", "?")
            who = (f"held by process {holder.get('pid', '?')} on {holder.get('host', '?')} since {since} "
                   f"({holder.get('what', 'a send')})")
        return SendLockTimeoutError(
            f"Nothing was sent: another send of this account on this machine has the send lock, {who}, and "
            f"it was not released within {waited:.0f} s (Settings.send_lock_timeout = {self.timeout:g} s). "
            f"Let that send finish (or stop the process), then send again: the duplicate guards will then see "
            f"what it sent. Lock file: {self.path}", holder=holder)


def check_server_duplicate(api: Api, ledger: Ledger, account: str, message: str, sms_count: int,
                           window: timedelta) -> None:
    """The server's guard: refuse (``DuplicateSendError``) when GET /sendings lists a sending with
    this text and SMS count, created within ``window`` of the ledger's now, that no send of this
    ledger owns (a ledger send of another campaign owns its sending)."""
    sendings = api.sendings()
    since = pd.Timestamp(ledger.now() - window)
    mine = ledger.linked_sendings(account)
    rows = sendings[(sendings["text"] == message) & (sendings["total_sms"] == sms_count)
                    & (sendings["created_at"] >= since) & ~sendings["id"].isin(list(mine))]
    if len(rows):
        latest = rows.sort_values("created_at").iloc[-1]
        error = DuplicateSendError(
            f"The server already has a sending with the same text and SMS count ({sms_count}): sending "
            f"{int(latest['id'])}, created {format_instant(latest['created_at'])} UTC, within the duplicate "
            f"window of {window}; this notebook's ledger did not send it (another notebook or "
            "machine on this account?). Pass allow_duplicate=True to send this campaign anyway")
        # As the ledger's refusals carry their earlier send: no ledger send ("id" None), a live sending.
        error.previous = {"id": None, "sending_id": int(latest["id"]),  # type: ignore[attr-defined]
                          "created_at": latest["created_at"].to_pydatetime(), "state": "on the server"}
        raise error


@dataclass(frozen=True)
class Claim:
    """A send the ledger recorded as 'pending' under the lock: its id and the scheduled_at to send."""

    send_id: int
    scheduled_at: str


class SendGuard:
    """The duplicate checks and the lock around a send of one account.

    ``check()`` runs both checks (a read: the early, friendly refusal); ``claim()`` takes the
    account's machine-wide lock, runs them again (GET /sendings even when forced: the listing
    verifies the server behind the URL), records the send as 'pending' in the ledger with that
    server epoch and holds the lock while the caller posts and records the outcome.
    """

    def __init__(self, api: Api, ledger: Ledger, settings: Settings, window: timedelta) -> None:
        self.api, self.ledger, self.settings, self.window = api, ledger, settings, window
        self.account = settings.account
        self.lock = AccountLock(settings.state_dir, self.account, settings.send_lock_timeout)

    def check(self, key: str, message: str, sms_count: int, *, forced: bool) -> None:
        """Refuse (``DuplicateSendError``) what the ledger or the server shows was already sent.
        ``forced`` (allow_duplicate) passes the window checks, never an unresolved send."""
        self.ledger.check_send(self.account, key, None if forced else self.window)
        if not forced:
            check_server_duplicate(self.api, self.ledger, self.account, message, sms_count, self.window)

    @contextlib.contextmanager
    def claim(self, plan: Plan, key: str, *, forced: bool) -> Iterator[Claim]:
        """Under the account's lock: check again, then claim the send in the ledger; the lock is
        held until the block ends (the caller posts and records the outcome inside it)."""
        inputs = plan.inputs
        with self.lock.held(f"sending to {len(inputs.recipients)} recipient(s) from {inputs.sender}"):
            self.check(key, inputs.message, plan.sms_count, forced=forced)
            if forced:
                # The server check listed nothing; list anyway: the listing checks that the server
                # behind the URL is still the one the ledger knows (the client's observed Api), so
                # the send is stamped with the server epoch verified now, not one replaced since.
                self.api.sendings()
            check_budget(self.ledger, self.account, plan.total, plan.currency, inputs.scheduled_at)  # pending rows count
            send_id, scheduled = self.ledger.claim_send(
                self.account, key, plan.quote_id, inputs.sender, inputs.scheduled_at, inputs.type,
                len(inputs.recipients), duplicate_window=None if forced else self.window, plan_hash=plan.digest)
            yield Claim(send_id, scheduled)
