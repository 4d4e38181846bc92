"""The local ledger: every quote, send and balance snapshot, in one SQLite file -- the store.

Why: the API's /sendings rows carry no cost, so spend can only be known from what the
toolkit itself quoted and sent.  The file lives next to the HTTP cache
(``Settings.cache_dir / "ledger.sqlite"``), survives kernel restarts, and is safe when two
notebooks (two processes) write at once: WAL journal, a busy timeout, one short
``BEGIN IMMEDIATE`` transaction per write and one connection per call.

This module is the SQL store only: which state a send may move to is ``state``'s transition
table, how a send is told apart (campaign key, fingerprint) and what a refusal says is
``fingerprint``, which server the ledger is talking to is ``identity``, and spend analytics are
pure functions in ``spend``.

Every sending id is kept with the *server epoch* it belongs to (``server_epoch``: 1 for the
first server behind the account's URL, a new one each time the server is found replaced), and
every send with the in-flight window its sender gave it (``in_flight``: timeout plus commit
grace), which every reconciler uses instead of its own.  Times are the ledger's ``clock``: the
server's (``core.dates.ServerClock``) when a ``Client`` made it.

Accounts are named by ``config.account_key(...)``, never by the token.  Money is stored
as TEXT and read back as ``Decimal``.

>>> from pathlib import Path; import tempfile
>>> ledger = Ledger(Path(tempfile.mkdtemp()) / "ledger.sqlite")
>>> ledger.record_balance("anonymous", Decimal("450.000"), "GBP")
1
>>> ledger.balance_history("anonymous")["amount"].tolist()
[Decimal('450.000')]
"""
from __future__ import annotations

import contextlib
import re
import secrets
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import pandas as pd

from ..core import spec
from ..core.config import ACCOUNT_KEY_RE
from ..core.dates import as_utc, format_scheduled_at, parse_scheduled_at
from ..core.errors import DuplicateSendError, SMSgicError
from ..core.money import is_missing, parse_money
from ..pricing.quote import DESTINATIONS_COLUMNS
from .fingerprint import (
    LANES,
    NoFreeSecondError,
    campaign_key,
    choose_fingerprint,
    duplicate_message,
    recipients_hash,
    sha256_text,
    unresolved_message,
)
from .identity import Known, text_hash
from .state import (
    ANSWERED,
    CREATED,
    FAILED,
    FOUND,
    LIVE_STATES,
    LOST,
    PENDING,
    RECONCILED,
    REFUSED,
    RULED_SENT,
    SPENT_STATES,
    STATES,
    UNKNOWN,
    UNRESOLVED,
    InvalidTransitionError,
    SendFacts,
    late_answer_note,
    next_state,
)

# Re-exported from their homes (state, fingerprint) for code that imported them from here.
__all__ = ["LEDGER_FILENAME", "RECONCILED", "SCHEMA_VERSION", "UNKNOWN", "InvalidTransitionError", "Ledger",
           "LedgerError", "SendNotFoundError", "campaign_key", "recipients_hash"]

LEDGER_FILENAME = "ledger.sqlite"
SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for the other notebook's transaction


_SCHEMA = """
CREATE TABLE IF NOT EXISTS quotes (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    created_at TEXT NOT NULL,
    message TEXT NOT NULL,
    message_hash TEXT NOT NULL,
    recipients_hash TEXT NOT NULL,
    recipients INTEGER NOT NULL,
    sms_count INTEGER NOT NULL,
    subtotal TEXT NOT NULL,
    tax TEXT NOT NULL,
    total TEXT NOT NULL,
    currency TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quotes_account ON quotes(account, created_at);
CREATE TABLE IF NOT EXISTS quote_destinations (
    id INTEGER PRIMARY KEY,
    quote_id INTEGER NOT NULL REFERENCES quotes(id),
    destination TEXT NOT NULL,
    country TEXT,
    operator TEXT,
    numbers INTEGER NOT NULL,
    sms_count INTEGER NOT NULL,
    price TEXT NOT NULL,
    total TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quote_destinations_quote ON quote_destinations(quote_id);
CREATE TABLE IF NOT EXISTS sends (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    created_at TEXT NOT NULL,
    campaign_key TEXT NOT NULL,
    quote_id INTEGER REFERENCES quotes(id),
    sender TEXT NOT NULL,
    scheduled_at TEXT,
    type TEXT NOT NULL,
    recipients INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'created', 'failed', 'unknown', 'reconciled')),
    sending_id INTEGER,
    error TEXT,
    resolved_at TEXT,
    auto_schedule INTEGER NOT NULL DEFAULT 0,
    in_flight REAL,
    server_epoch INTEGER NOT NULL DEFAULT 1,
    plan_hash TEXT
);
CREATE INDEX IF NOT EXISTS sends_campaign ON sends(account, campaign_key, created_at);
CREATE INDEX IF NOT EXISTS sends_state ON sends(account, state);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS balance_snapshots (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS balance_account ON balance_snapshots(account, taken_at);
CREATE TABLE IF NOT EXISTS server_epochs (
    account TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    noticed_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (account, epoch)
);
CREATE TABLE IF NOT EXISTS server_sendings (
    account TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    sending_id INTEGER NOT NULL,
    text_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    scheduled_at TEXT,
    PRIMARY KEY (account, epoch, sending_id)
);
"""
# Schema upgrades, each from the version before it: an older file is upgraded in place, its rows
# kept.  New tables come from _SCHEMA (CREATE ... IF NOT EXISTS, run at every open).  Every ADD
# COLUMN is checked at each open and runs only when its column is missing, whatever the file's
# version: steps written side by side on parallel branches (3 and 4) upgrade a file whichever of
# them reached it first.  Any other statement runs once, when the file's version is below its step.
_MIGRATIONS = {
    # 2: the client chooses every send's scheduled_at (the fingerprint) and says when it did;
    #    the file's fingerprint lane lives in the (new) meta table.
    2: ["ALTER TABLE sends ADD COLUMN auto_schedule INTEGER NOT NULL DEFAULT 0"],
    # 3 (issue 18, the frozen plan): each send stores the content hash of the plan it sent
    #    (``sending.plan.Plan.digest``); sends from before have none (NULL).
    3: ["ALTER TABLE sends ADD COLUMN plan_hash TEXT"],
    # 4: issue 18 -- the sender's in-flight window (seconds; NULL for older sends: a reconciler then
    #    uses its own) and the server epoch of each send's sending (1: the first server, which is
    #    every older row's); tables server_epochs and server_sendings are new (from _SCHEMA).
    4: ["ALTER TABLE sends ADD COLUMN in_flight REAL",
        "ALTER TABLE sends ADD COLUMN server_epoch INTEGER NOT NULL DEFAULT 1"],
}
_ADD_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", re.IGNORECASE)

class LedgerError(SMSgicError):
    """Base class for ledger misuse."""


class SendNotFoundError(LedgerError, LookupError):
    """No send with that id in this ledger."""


# --------------------------------------------------------------------------- helpers


def _money_text(value: Any, field: str) -> str:
    return str(parse_money(value, field))


def _to_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, Real) and float(value).is_integer():
            return int(value)
        raise ValueError(f"{field}: expected a whole number, got {value!r}")
    return int(value)


def _ts(dt: datetime) -> str:
    # One fixed-width format so that text order is time order in SQL comparisons.
    return as_utc(dt).isoformat(timespec="microseconds")


def _text_or_none(value: Any) -> str | None:
    if is_missing(value):
        return None
    text = str(value).strip()
    return text or None


def _check_account(account: str) -> str:
    # Never echo the value: if it is not a hash it may be the token itself.
    if not isinstance(account, str) or not ACCOUNT_KEY_RE.match(account):
        raise ValueError("account: must be config.account_key(token) (16 hex digits), never the token itself")
    return account


# --------------------------------------------------------------------------- the ledger


class Ledger:
    """Quotes, sends and balance snapshots of one or more accounts in one SQLite file.

    ``clock`` (returns an aware datetime) is the time rows are stamped with and windows are
    measured on: a ``Client`` gives its ``ServerClock`` (the server's time), tests a clock they
    move by hand.  ``lane`` (0-29) sets the fingerprint lane of a new file (default: drawn at
    random, once, and kept in the file): notebooks fix it so their outputs repeat.
    ``in_flight`` is stored with every send this object claims: how long its request may still
    commit on the server (the sender's timeout plus commit grace; ``for_settings`` fills it in).

    >>> ledger = Ledger.for_settings(settings)                         # doctest: +SKIP
    >>> qid = ledger.record_quote(settings.account, text, numbers, quote)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], datetime] | None = None,
                 lane: int | None = None, in_flight: timedelta | None = None) -> None:
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if lane is not None and not (isinstance(lane, int) and 0 <= lane < LANES):
            raise ValueError(f"lane: must be an integer 0-{LANES - 1}, got {lane!r}")
        if in_flight is not None and (not isinstance(in_flight, timedelta) or in_flight <= timedelta(0)):
            raise ValueError(f"in_flight: must be a positive timedelta, got {in_flight!r}")
        self.in_flight = in_flight
        self.lane = self._create_schema(lane)

    @classmethod
    def for_settings(cls, settings: Any, **kw: Any) -> "Ledger":
        """The ledger next to the HTTP cache: ``settings.cache_dir / "ledger.sqlite"``; the sends
        it claims keep ``settings.timeout + settings.commit_grace`` as their in-flight window."""
        timeout, grace = getattr(settings, "timeout", None), getattr(settings, "commit_grace", None)
        if timeout is not None and grace is not None:
            kw.setdefault("in_flight", timedelta(seconds=float(timeout) + float(grace)))
        return cls(Path(settings.cache_dir) / LEDGER_FILENAME, **kw)

    @property
    def clock(self) -> Callable[[], datetime]:
        """The clock this ledger reads (a ``ServerClock`` when a ``Client`` made it)."""
        return self._clock

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    # ------------------------------------------------------------ connections

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One connection per call: safe from any thread, and nothing stays locked between calls.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")  # a 'pending' row must survive a crash
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; BEGIN IMMEDIATE takes the write lock up front, so a
        concurrent writer waits on busy_timeout instead of failing with 'database is locked'."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _create_schema(self, lane: int | None) -> int:
        """Create or upgrade the schema; the file's fingerprint lane (``lane`` if it has none yet)."""
        with self._connect() as conn:
            mode = _switch_to_wal(conn)
            if mode != "wal":
                raise LedgerError(f"{self.path}: could not switch the ledger to WAL mode (got {mode!r})")
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"{self.path}: ledger schema version {version} is newer than this toolkit's "
                    f"({SCHEMA_VERSION}); upgrade smsgic-analytics"
                )
            fresh = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sends'").fetchone()[0] == 0
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if not fresh:
                for step in sorted(_MIGRATIONS):
                    for statement in _MIGRATIONS[step]:
                        added = _ADD_COLUMN.match(statement)
                        if added:  # checked at every open, whatever the version says (see _MIGRATIONS)
                            columns = {r["name"] for r in conn.execute(f"PRAGMA table_info({added[1]})")}
                            if added[2] not in columns:
                                conn.execute(statement)
                        elif step > version:
                            conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('lane', ?)",
                         (str(secrets.randbelow(LANES) if lane is None else lane),))
            return int(conn.execute("SELECT value FROM meta WHERE key = 'lane'").fetchone()[0])

    def schema_version(self) -> int:
        """The file's ``PRAGMA user_version``."""
        with self._connect() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def now(self) -> datetime:
        """The time (aware UTC) this ledger stamps its rows with and measures windows on: its
        ``clock`` (the server's time when a ``Client`` made it), wall time if none was given."""
        return as_utc(self._clock())

    def _now(self) -> str:
        return _ts(self._clock())

    # ------------------------------------------------------------ quotes

    def record_quote(self, account: str, message: str, recipients: Sequence[str], quote_like: Any,
                     currency: str | None = None) -> int:
        """Store a quote (totals and per-destination breakdown); returns its id.

        ``quote_like`` needs ``.sms_count, .subtotal, .tax, .total, .currency`` and a
        ``.destinations`` DataFrame[destination, country, operator, numbers, sms_count,
        price, total].  ``currency`` overrides ``quote_like.currency``.  Only a hash and the
        count of the recipients are kept.
        """
        _check_account(account)
        currency = currency or getattr(quote_like, "currency", None)
        if not currency:
            raise ValueError("quote.currency: a quote needs its currency (from /balance 'code'); pass currency=")
        header = (
            account, self._now(), str(message), sha256_text(str(message)), recipients_hash(recipients),
            len(recipients), _to_int(quote_like.sms_count, "quote.sms_count"),
            _money_text(quote_like.subtotal, "quote.subtotal"),
            _money_text(quote_like.tax, "quote.tax"),
            _money_text(quote_like.total, "quote.total"),
            str(currency),
        )
        rows = list(_destination_rows(quote_like.destinations))
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO quotes (account, created_at, message, message_hash, recipients_hash, recipients,"
                " sms_count, subtotal, tax, total, currency) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                header,
            )
            quote_id = int(cur.lastrowid)
            conn.executemany(
                "INSERT INTO quote_destinations (quote_id, destination, country, operator, numbers,"
                " sms_count, price, total) VALUES (?,?,?,?,?,?,?,?)",
                [(quote_id, *row) for row in rows],
            )
        return quote_id

    def quotes(self, account: str) -> pd.DataFrame:
        """All quotes of the account, oldest first; subtotal/tax/total as Decimal."""
        _check_account(account)
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM quotes WHERE account = ? ORDER BY id", (account,)).fetchall()
        frame = _frame(rows, _QUOTE_COLUMNS)
        for col in ("subtotal", "tax", "total"):
            frame[col] = _decimals(frame[col])
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
        return frame.astype({"id": "int64", "recipients": "int64", "sms_count": "int64"})

    def quote_destinations(self, quote_id: int) -> pd.DataFrame:
        """The per-destination breakdown of one quote; price/total as Decimal."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT destination, country, operator, numbers, sms_count, price, total"
                " FROM quote_destinations WHERE quote_id = ? ORDER BY id", (int(quote_id),),
            ).fetchall()
        frame = _frame(rows, DESTINATIONS_COLUMNS)
        for col in ("price", "total"):
            frame[col] = _decimals(frame[col])
        return frame.astype({"numbers": "int64", "sms_count": "int64"})

    # ------------------------------------------------------------ sends

    def claim_send(self, account: str, campaign_key: str, quote_id: int | None, sender: str,
                   scheduled_at: datetime | str | None, type: str, n_recipients: int, *,
                   duplicate_window: timedelta | None, in_flight: timedelta | None = None,
                   plan_hash: str | None = None) -> tuple[int, str]:
        """Record a send as 'pending' BEFORE the POST leaves: (send id, the scheduled_at to send).

        Check and insert are one BEGIN IMMEDIATE transaction: of two threads or notebooks
        claiming the same campaign at once exactly one gets a send id; the other gets
        ``DuplicateSendError`` (``.previous`` is the earlier send).  It refuses while an earlier
        send of the campaign is unresolved ('pending' or 'unknown'), however old, and -- unless
        ``duplicate_window`` is None (allow_duplicate) -- a live one within the window.

        The returned ``scheduled_at`` is the send's fingerprint (``fingerprint.choose_fingerprint``):
        the one asked for, or for "now" (None) the first whole second 1-30 s after now (the
        server's time, through the ledger's clock) in this ledger's lane that no other live send
        of this account and text uses.  An asked-for second that another live send of the same
        text already uses is refused (``ValidationError`` naming the next free second).

        The send keeps ``in_flight`` (default: the ledger's) -- how long its request may still
        commit -- and the account's current server epoch.
        ``plan_hash`` is the content hash of the frozen plan being sent (``Plan.digest``), kept
        with the send.
        """
        _check_account(account)
        if plan_hash is not None and not (isinstance(plan_hash, str) and len(plan_hash) == 64
                                          and all(c in "0123456789abcdef" for c in plan_hash)):
            raise ValueError("plan_hash: expected a sha256 hex digest (Plan.digest)")
        if type not in spec.SEND_TYPES:
            raise ValueError(f"type: must be one of {', '.join(spec.SEND_TYPES)}, got {type!r}")
        if not sender:
            raise ValueError("sender: required (an approved sender name)")
        n_recipients = _to_int(n_recipients, "n_recipients")
        if n_recipients < 0:
            raise ValueError(f"n_recipients: must be >= 0, got {n_recipients}")
        window = self.in_flight if in_flight is None else in_flight
        if window is not None and (not isinstance(window, timedelta) or window <= timedelta(0)):
            raise ValueError(f"in_flight: must be a positive timedelta, got {window!r}")
        asked = format_scheduled_at(scheduled_at)
        with self._write() as conn:
            message = None
            if quote_id is not None:
                row = conn.execute("SELECT message FROM quotes WHERE id = ? AND account = ?",
                                   (int(quote_id), account)).fetchone()
                if row is None:
                    raise ValueError(f"quote_id: no quote {quote_id} recorded for this account")
                message = row["message"]
            self._guard(conn, account, campaign_key, duplicate_window)
            taken = {r[0] for r in conn.execute(
                "SELECT s.scheduled_at FROM sends s JOIN quotes q ON q.id = s.quote_id WHERE s.account = ?"
                f" AND q.message IS ? AND s.scheduled_at IS NOT NULL AND s.state IN ({_marks(LIVE_STATES)})",
                (account, message, *LIVE_STATES))}
            try:
                fingerprint = choose_fingerprint(asked, taken, self.now(), self.lane)
            except NoFreeSecondError as exc:  # pragma: no cover - an hour of same-text sends, one per second
                raise LedgerError(str(exc)) from None
            cur = conn.execute(
                "INSERT INTO sends (account, created_at, campaign_key, quote_id, sender, scheduled_at,"
                " type, recipients, state, auto_schedule, in_flight, server_epoch, plan_hash)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (account, self._now(), campaign_key, None if quote_id is None else int(quote_id), sender,
                 fingerprint, type, n_recipients, PENDING, int(asked is None),
                 None if window is None else window.total_seconds(), _epoch(conn, account), plan_hash),
            )
            return int(cur.lastrowid), fingerprint

    def adopt(self, legacy: str, account: str) -> int:
        """Move every row recorded under ``legacy`` (an older name of this account, see
        ``config.legacy_account_key``) to ``account``; returns how many rows moved.  Idempotent."""
        _check_account(legacy)
        _check_account(account)
        moved = 0
        with self._write() as conn:
            for table in ("quotes", "sends", "balance_snapshots"):
                moved += conn.execute(f"UPDATE {table} SET account = ? WHERE account = ?", (account, legacy)).rowcount
        return moved

    def check_send(self, account: str, campaign_key: str, duplicate_window: timedelta | None) -> None:
        """Raise ``DuplicateSendError`` if ``claim_send`` would refuse now (a read: the early,
        friendly check; ``claim_send`` repeats it atomically)."""
        _check_account(account)
        with self._connect() as conn:
            self._guard(conn, account, campaign_key, duplicate_window)

    def _guard(self, conn: sqlite3.Connection, account: str, key: str, window: timedelta | None) -> None:
        row = conn.execute(
            f"SELECT * FROM sends WHERE account = ? AND campaign_key = ? AND state IN ({_marks(UNRESOLVED)})"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            (account, key, *UNRESOLVED),
        ).fetchone()
        if row is not None:
            previous = _send_dict(row)
            error = DuplicateSendError(unresolved_message(previous))
            error.previous = previous  # type: ignore[attr-defined]
            raise error
        if window is not None:
            previous = self._recent(conn, account, key, window)
            if previous is not None:
                error = DuplicateSendError(duplicate_message(previous, window))
                error.previous = previous  # type: ignore[attr-defined]
                raise error

    # Each entry point is one event of ``state.TRANSITIONS``; the table decides where it may go.

    def complete_send(self, send_id: int, sending_id: int) -> None:
        """The API answered 200 with ``sending_id``: pending -> created (also after a verdict
        that came too early: the answer is proof, see ``state``)."""
        self.apply(send_id, ANSWERED, sending_id=sending_id)

    def fail_send(self, send_id: int, error: str) -> None:
        """The API definitely did not create the sending (a 4xx, or it never left): pending -> failed."""
        self.apply(send_id, REFUSED, note=error)

    def mark_unknown(self, send_id: int, error: str) -> None:
        """The POST may have reached the server but its answer was lost: pending -> unknown."""
        self.apply(send_id, LOST, note=error)

    def apply(self, send_id: int, event: str, *, sending_id: int | None = None, note: str | None = None) -> str:
        """Move a send by ``event`` (``state.TRANSITIONS``) in one transaction; returns its new state.

        ``found``/``answered``/``ruled sent`` link ``sending_id`` on the server now behind the URL
        (the account's current server epoch); one sending is never linked to two sends of an
        account (its cost would count twice).  ``note`` is appended to the send's error text, so
        an unknown send that is later settled keeps both stories.
        """
        linking = event in (ANSWERED, FOUND, RULED_SENT)
        if linking:
            sending_id = _to_int(sending_id, "sending_id")
        elif sending_id is not None:
            raise ValueError(f"event {event!r} links no sending; got sending_id={sending_id!r}")
        with self._write() as conn:
            row = conn.execute("SELECT state, error, account, sending_id FROM sends WHERE id = ?",
                               (int(send_id),)).fetchone()
            if row is None:
                raise SendNotFoundError(f"send {send_id}: no such send in {self.path}")
            try:
                target = next_state(row["state"], event)
            except InvalidTransitionError as exc:
                raise InvalidTransitionError(f"send {send_id}: {exc}") from None
            epoch = _epoch(conn, row["account"])
            if linking:
                other = conn.execute("SELECT id FROM sends WHERE sending_id = ? AND id != ? AND account = ?"
                                     " AND server_epoch = ?", (sending_id, int(send_id), row["account"], epoch)).fetchone()
                if other is not None:
                    raise LedgerError(
                        f"send {send_id}: sending {sending_id} is already linked to ledger send {other['id']}")
            if event == ANSWERED and row["state"] != PENDING:
                late = late_answer_note(row["state"], sending_id)  # type: ignore[arg-type]
                note = f"{note}; {late}" if note else late
            error = row["error"]
            if note:
                error = f"{error}; {note}" if error else note
            resolved = target in (CREATED, FAILED, RECONCILED)
            conn.execute(
                "UPDATE sends SET state = ?, sending_id = COALESCE(?, sending_id), error = ?, resolved_at = ?,"
                " server_epoch = CASE WHEN ? THEN ? ELSE server_epoch END WHERE id = ?",
                (target, sending_id, error, self._now() if resolved else None, int(linking), epoch, int(send_id)),
            )
            return target

    def record_charge(self, send_id: int, note: str, quote_id: int | None = None) -> None:
        """What the server's balance showed a send was charged, when that is not the confirmed
        quote: ``note`` is appended to the send's notes; ``quote_id`` (a quote of the account, the
        price the server charged) becomes the send's quote, so ``spent``/spend() report that cost."""
        with self._write() as conn:
            row = conn.execute("SELECT account, error FROM sends WHERE id = ?", (int(send_id),)).fetchone()
            if row is None:
                raise SendNotFoundError(f"send {send_id}: no such send in {self.path}")
            if quote_id is not None and conn.execute("SELECT 1 FROM quotes WHERE id = ? AND account = ?",
                                                     (int(quote_id), row["account"])).fetchone() is None:
                raise ValueError(f"quote_id: no quote {quote_id} recorded for this account")
            conn.execute("UPDATE sends SET quote_id = COALESCE(?, quote_id), error = ? WHERE id = ?",
                         (quote_id, f"{row['error']}; {note}" if row["error"] else note, int(send_id)))

    def get_send(self, send_id: int) -> dict[str, Any]:
        """One send as a dict (datetimes aware UTC)."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM sends WHERE id = ?", (int(send_id),)).fetchone()
        if row is None:
            raise SendNotFoundError(f"send {send_id}: no such send in {self.path}")
        return _send_dict(row)

    def find_recent_send(self, account: str, campaign_key: str, within: timedelta) -> dict[str, Any] | None:
        """The latest send of this campaign that may exist on the server (pending, created,
        unknown or reconciled) made within ``within`` of now, or None."""
        _check_account(account)
        with self._connect() as conn:
            return self._recent(conn, account, campaign_key, within)

    def _recent(self, conn: sqlite3.Connection, account: str, key: str, within: timedelta) -> dict[str, Any] | None:
        if not isinstance(within, timedelta) or within <= timedelta(0):
            raise ValueError(f"within: must be a positive timedelta, got {within!r}")
        cutoff = _ts(self._clock() - within)
        row = conn.execute(
            f"SELECT * FROM sends WHERE account = ? AND campaign_key = ? AND created_at >= ?"
            f" AND state IN ({_marks(LIVE_STATES)}) ORDER BY created_at DESC, id DESC LIMIT 1",
            (account, key, cutoff, *LIVE_STATES),
        ).fetchone()
        return None if row is None else _send_dict(row)

    def sends(self, account: str) -> pd.DataFrame:
        """All sends of the account, oldest first."""
        return self._sends(account, STATES)

    def unresolved(self, account: str) -> pd.DataFrame:
        """Sends in state unknown or pending: they may exist on the server; reconcile them."""
        return self._sends(account, UNRESOLVED)

    def unresolved_facts(self, account: str) -> list[SendFacts]:
        """What reconciling needs of each unresolved send: its quote's text and SMS count, its
        fingerprint (and whether the ledger chose it), its sender's in-flight window, its server epoch."""
        _check_account(account)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT s.id, s.state, s.created_at, s.scheduled_at, s.auto_schedule, s.in_flight, s.server_epoch,"
                " q.message, q.sms_count FROM sends s LEFT JOIN quotes q ON q.id = s.quote_id WHERE s.account = ?"
                f" AND s.state IN ({_marks(UNRESOLVED)}) ORDER BY s.id", (account, *UNRESOLVED)).fetchall()
        return [SendFacts(send_id=int(r["id"]), state=r["state"], created_at=datetime.fromisoformat(r["created_at"]),
                          message=r["message"], sms_count=None if r["sms_count"] is None else int(r["sms_count"]),
                          scheduled_at=None if r["scheduled_at"] is None else parse_scheduled_at(r["scheduled_at"]),
                          auto_schedule=bool(r["auto_schedule"]),
                          in_flight=None if r["in_flight"] is None else timedelta(seconds=float(r["in_flight"])),
                          server_epoch=int(r["server_epoch"]))
                for r in rows]

    def linked_sendings(self, account: str) -> set[int]:
        """Sending ids some send of the account is linked to on the server now behind the URL
        (an id of an earlier server names nothing on this one)."""
        _check_account(account)
        with self._connect() as conn:
            rows = conn.execute("SELECT sending_id FROM sends WHERE account = ? AND sending_id IS NOT NULL"
                                " AND server_epoch = ?", (account, _epoch(conn, account))).fetchall()
        return {int(r[0]) for r in rows}

    def answered_since(self, account: str, since: datetime) -> list[dict[str, Any]]:
        """Sends answered with their sending id (state created) on the current server, claimed at or
        after ``since``: [{id, sending_id, created_at, resolved_at}] (aware UTC) -- what
        ``reconcile.observe_clock`` reads."""
        _check_account(account)
        with self._connect() as conn:
            rows = conn.execute("SELECT id, sending_id, created_at, resolved_at FROM sends WHERE account = ?"
                                " AND state = ? AND sending_id IS NOT NULL AND resolved_at IS NOT NULL"
                                " AND created_at >= ? AND server_epoch = ? ORDER BY id",
                                (account, CREATED, _ts(since), _epoch(conn, account))).fetchall()
        return [{"id": int(r["id"]), "sending_id": int(r["sending_id"]),
                 "created_at": datetime.fromisoformat(r["created_at"]),
                 "resolved_at": datetime.fromisoformat(r["resolved_at"])} for r in rows]

    # ------------------------------------------------------------ server identity (policy: identity.py)

    def server_epoch(self, account: str) -> int:
        """The account's current server epoch: 1 for the first server behind its URL, one more
        each time ``new_server_epoch`` found it replaced."""
        _check_account(account)
        with self._connect() as conn:
            return _epoch(conn, account)

    def new_server_epoch(self, account: str, seen: int, reason: str) -> int:
        """Record that the server behind the URL is no longer the one of epoch ``seen`` (``reason``
        says how that was noticed); returns the current epoch.  When another thread or notebook
        recorded it first (the epoch is no longer ``seen``), nothing is added."""
        _check_account(account)
        with self._write() as conn:
            current = _epoch(conn, account)
            if current == int(seen):
                conn.execute("INSERT INTO server_epochs (account, epoch, noticed_at, reason) VALUES (?,?,?,?)",
                             (account, current + 1, self._now(), str(reason)))
                current += 1
            return current

    def server_epochs(self, account: str) -> pd.DataFrame:
        """DataFrame[epoch, noticed_at, reason]: each time the server was found replaced (epoch 1,
        the first server, has no row)."""
        _check_account(account)
        with self._connect() as conn:
            rows = conn.execute("SELECT epoch, noticed_at, reason FROM server_epochs WHERE account = ?"
                                " ORDER BY epoch", (account,)).fetchall()
        frame = _frame(rows, ["epoch", "noticed_at", "reason"])
        frame["noticed_at"] = pd.to_datetime(frame["noticed_at"], utc=True, format="ISO8601")
        return frame.astype({"epoch": "int64"})

    def known_sendings(self, account: str) -> tuple[int, list[Known]]:
        """(the current epoch, what the ledger knows of sendings on that server): each recorded
        sending (``remember_sendings``), and each sending a send is linked to with its quote's text
        and its fingerprint; one read snapshot."""
        _check_account(account)
        with self._connect() as conn:
            conn.execute("BEGIN")
            epoch = _epoch(conn, account)
            seen = conn.execute("SELECT sending_id, text_hash, created_at, scheduled_at FROM server_sendings"
                                " WHERE account = ? AND epoch = ?", (account, epoch)).fetchall()
            linked = conn.execute(
                "SELECT s.sending_id, s.scheduled_at, q.message FROM sends s LEFT JOIN quotes q ON q.id = s.quote_id"
                " WHERE s.account = ? AND s.server_epoch = ? AND s.sending_id IS NOT NULL", (account, epoch)).fetchall()
            conn.execute("COMMIT")
        known = [Known(int(r["sending_id"]), r["text_hash"], datetime.fromisoformat(r["created_at"]), r["scheduled_at"])
                 for r in seen]
        recorded = {k.sending_id for k in known}
        known += [Known(int(r["sending_id"]), None if r["message"] is None else text_hash(r["message"]), None,
                        r["scheduled_at"]) for r in linked if int(r["sending_id"]) not in recorded]
        return epoch, known

    def remember_sendings(self, account: str, epoch: int, sendings: Iterable[Known]) -> None:
        """Record sendings seen on the server of ``epoch`` (first sighting kept; nothing is
        recorded once the epoch is over)."""
        _check_account(account)
        rows = [(account, int(epoch), k.sending_id, k.text_hash, _ts(k.created_at), k.scheduled_at)
                for k in sendings if k.text_hash is not None and k.created_at is not None]
        if not rows:
            return
        with self._write() as conn:
            if _epoch(conn, account) == int(epoch):
                conn.executemany("INSERT OR IGNORE INTO server_sendings (account, epoch, sending_id, text_hash,"
                                 " created_at, scheduled_at) VALUES (?,?,?,?,?,?)", rows)

    def _sends(self, account: str, states: Sequence[str]) -> pd.DataFrame:
        _check_account(account)
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT * FROM sends WHERE account = ? AND state IN ({_marks(states)}) ORDER BY id",
                (account, *states),
            ).fetchall()
        frame = _frame(rows, _SEND_COLUMNS)
        for col in ("created_at", "resolved_at"):
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
        frame["scheduled_at"] = pd.to_datetime(frame["scheduled_at"], utc=True, format=spec.SCHEDULED_AT_FORMAT)
        frame["auto_schedule"] = frame["auto_schedule"].astype(bool)
        frame["in_flight"] = pd.to_timedelta(frame["in_flight"].astype("float64"), unit="s")
        return frame.astype({"id": "int64", "quote_id": "Int64", "recipients": "int64", "sending_id": "Int64",
                             "server_epoch": "int64"})

    # ------------------------------------------------------------ balance

    def record_balance(self, account: str, amount: Any, currency: str, taken_at: datetime | None = None) -> int:
        """Store a balance snapshot (``taken_at`` defaults to now; naive means UTC); returns its id."""
        _check_account(account)
        if not currency:
            raise ValueError("currency: required (the /balance 'code', e.g. GBP)")
        value = parse_money(amount, "amount")
        when = self._now() if taken_at is None else _ts(taken_at)
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO balance_snapshots (account, taken_at, amount, currency) VALUES (?,?,?,?)",
                (account, when, str(value), str(currency)),
            )
            return int(cur.lastrowid)

    def balance_history(self, account: str) -> pd.DataFrame:
        """DataFrame[taken_at, amount, currency], oldest first; ``amount`` holds exact Decimals."""
        _check_account(account)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT taken_at, amount, currency FROM balance_snapshots WHERE account = ? ORDER BY taken_at, id",
                (account,),
            ).fetchall()
        frame = _frame(rows, ["taken_at", "amount", "currency"])
        frame["taken_at"] = pd.to_datetime(frame["taken_at"], utc=True, format="ISO8601")
        frame["amount"] = _decimals(frame["amount"])
        return frame

    # ------------------------------------------------------------ spend (analytics: spend.py)

    def spent(self, account: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The sends whose sending exists (created/reconciled) with their quote's totals, and those
        quotes' destinations; one read snapshot.  ``spend.spend_frame`` joins them with /sendings.

        Sends: DataFrame[send_id, created_at, sender, sending_id, server_epoch, quote_id, tax, total,
        currency] (a sending is named by its server epoch and id together); destinations:
        DataFrame[quote_id, destination, country, operator, numbers, sms_count, price, total].
        """
        _check_account(account)
        states = _marks(SPENT_STATES)
        with self._connect() as conn:
            conn.execute("BEGIN")  # one read snapshot for both queries
            sends = conn.execute(
                "SELECT s.id AS send_id, s.created_at, s.sender, s.sending_id, s.server_epoch, s.quote_id, q.tax, q.total,"
                f" q.currency FROM sends s LEFT JOIN quotes q ON q.id = s.quote_id WHERE s.account = ?"
                f" AND s.state IN ({states}) ORDER BY s.id", (account, *SPENT_STATES)).fetchall()
            dests = conn.execute(
                "SELECT quote_id, destination, country, operator, numbers, sms_count, price, total"
                f" FROM quote_destinations WHERE quote_id IN (SELECT quote_id FROM sends WHERE account = ?"
                f" AND state IN ({states})) ORDER BY id", (account, *SPENT_STATES)).fetchall()
            conn.execute("COMMIT")
        send_frame = _frame(sends, ["send_id", "created_at", "sender", "sending_id", "server_epoch", "quote_id", "tax",
                                    "total", "currency"])
        for col in ("tax", "total"):
            send_frame[col] = _decimals(send_frame[col])
        send_frame["created_at"] = pd.to_datetime(send_frame["created_at"], utc=True, format="ISO8601")
        dest_frame = _frame(dests, ["quote_id", *DESTINATIONS_COLUMNS])
        for col in ("price", "total"):
            dest_frame[col] = _decimals(dest_frame[col])
        return send_frame, dest_frame


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    """Put the file in WAL mode (a property of the file, kept once set).

    Switching needs the file to itself and SQLite does not wait for that on busy_timeout:
    two notebooks creating the ledger at the same moment would see 'database is locked'.
    So retry for as long as a writer would wait.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


# --------------------------------------------------------------------------- frames

_QUOTE_COLUMNS = ["id", "account", "created_at", "message", "message_hash", "recipients_hash", "recipients",
                  "sms_count", "subtotal", "tax", "total", "currency"]
_SEND_COLUMNS = ["id", "account", "created_at", "campaign_key", "quote_id", "sender", "scheduled_at", "type",
                 "recipients", "state", "sending_id", "error", "resolved_at", "auto_schedule", "in_flight",
                 "server_epoch", "plan_hash"]


def _marks(values: Sequence[Any]) -> str:
    """``?,?,?``: one SQL parameter mark per value."""
    return ",".join("?" * len(values))


def _epoch(conn: sqlite3.Connection, account: str) -> int:
    """The account's current server epoch (1 until a replacement was recorded)."""
    return int(conn.execute("SELECT COALESCE(MAX(epoch), 1) FROM server_epochs WHERE account = ?",
                            (account,)).fetchone()[0])


def _frame(rows: Sequence[sqlite3.Row], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r[c] for c in columns) for r in rows], columns=columns)


def _decimals(col: pd.Series) -> pd.Series:
    return pd.Series([None if v is None else Decimal(v) for v in col], index=col.index, dtype=object)


def _send_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in ("created_at", "resolved_at"):
        out[key] = None if out[key] is None else datetime.fromisoformat(out[key])
    return out


def _destination_rows(destinations: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Validated rows of a quote's destinations DataFrame; errors name the row and column."""
    missing = [c for c in DESTINATIONS_COLUMNS if c not in destinations.columns]
    if missing:
        raise ValueError(f"quote.destinations: missing column(s) {', '.join(missing)}")
    for i, rec in enumerate(destinations[DESTINATIONS_COLUMNS].to_dict("records")):
        where = f"quote.destinations row {i}"
        numbers = rec["numbers"]
        if hasattr(numbers, "__len__") and not isinstance(numbers, str):
            numbers = len(numbers)  # the API's list of per-number rows: keep the count
        # Kept verbatim: the API's trailing space ("Singapore ") is how it says "operator unknown".
        destination = None if is_missing(rec["destination"]) else str(rec["destination"])
        if destination is None or not destination.strip():
            raise ValueError(f"{where}: destination is empty")
        yield (
            destination,
            _text_or_none(rec["country"]),
            _text_or_none(rec["operator"]),
            _to_int(numbers, f"{where}: numbers"),
            _to_int(rec["sms_count"], f"{where}: sms_count"),
            _money_text(rec["price"], f"{where}: price"),
            _money_text(rec["total"], f"{where}: total"),
        )
