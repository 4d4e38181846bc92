"""The local spend ledger: every quote, send and balance snapshot, in one SQLite file.

Why: the API's /sendings rows carry no cost, so spend can only be known from what the
toolkit itself quoted and sent.  The file lives next to the HTTP cache
(``Settings.cache_dir / "ledger.sqlite"``), survives kernel restarts, and is safe when two
notebooks (two processes) write at once: WAL journal, a busy timeout, one short
``BEGIN IMMEDIATE`` transaction per write and one connection per call.

Accounts are named by ``config.account_key(token)``, never by the token.  Money is stored
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
import hashlib
import json
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import pandas as pd

from . import spec
from .errors import DuplicateSendError

LEDGER_FILENAME = "ledger.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for the other notebook's transaction

PENDING, CREATED, FAILED, UNKNOWN, RECONCILED = "pending", "created", "failed", "unknown", "reconciled"
STATES = (PENDING, CREATED, FAILED, UNKNOWN, RECONCILED)
# States in which a sending may exist on the server: the duplicate guard counts them.
LIVE_STATES = (PENDING, CREATED, UNKNOWN, RECONCILED)
# States whose cost was spent: the sending exists on the server.
SPENT_STATES = (CREATED, RECONCILED)
UNKNOWN_STATUS = "unknown"  # /sendings status of a sending the API did not list

FREQS = {"D": "day", "W": "week", "M": "month"}
SUMMARY_KEYS = ("period", "country", "operator", "sender", "status", "destination", "sending_id", "currency")

# An account is a 16-hex-digit hash (or "anonymous"); anything else may be a raw token.
_ACCOUNT_RE = re.compile(r"^(?:[0-9a-f]{16}|anonymous)$")

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
    resolved_at TEXT
);
CREATE INDEX IF NOT EXISTS sends_campaign ON sends(account, campaign_key, created_at);
CREATE INDEX IF NOT EXISTS sends_state ON sends(account, state);
CREATE TABLE IF NOT EXISTS balance_snapshots (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS balance_account ON balance_snapshots(account, taken_at);
"""

# Which state each transition may start from.
_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "complete_send": (PENDING,),
    "fail_send": (PENDING,),
    "mark_unknown": (PENDING,),
    # A pending row left by a crashed kernel is as uncertain as an unknown one.
    "reconcile": (PENDING, UNKNOWN),
}


class LedgerError(Exception):
    """Base class for ledger misuse."""


class InvalidTransitionError(LedgerError, ValueError):
    """A send was moved to a state its current state cannot reach (e.g. created -> failed)."""


class SendNotFoundError(LedgerError, LookupError):
    """No send with that id in this ledger."""


# --------------------------------------------------------------------------- helpers


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recipients_hash(recipients: Iterable[str]) -> str:
    """Order-independent hash of a recipient list: the ledger stores this, not the numbers."""
    return _sha256(json.dumps(sorted(str(r) for r in recipients)))


def format_scheduled_at(scheduled_at: datetime | str | None) -> str | None:
    """``scheduled_at`` as the API's ``Y-m-d H:i:s`` text (aware datetimes converted to UTC)."""
    if scheduled_at is None:
        return None
    if isinstance(scheduled_at, str):
        try:
            datetime.strptime(scheduled_at, spec.SCHEDULED_AT_FORMAT)
        except ValueError:
            raise ValueError(
                f"scheduled_at: must be Y-m-d H:i:s (e.g. 2024-05-01 09:00:00), got {scheduled_at!r}"
            ) from None
        return scheduled_at
    if scheduled_at.tzinfo is not None:
        scheduled_at = scheduled_at.astimezone(UTC).replace(tzinfo=None)
    return scheduled_at.strftime(spec.SCHEDULED_AT_FORMAT)


def campaign_key(message: str, recipients: Iterable[str], sender: str,
                 scheduled_at: datetime | str | None = None) -> str:
    """Identity of a campaign for the duplicate guard: hash of message, sorted recipients, sender, scheduled_at.

    >>> campaign_key("Hi", ["4479", "4478"], "MEGA") == campaign_key("Hi", ["4478", "4479"], "MEGA")
    True
    """
    payload = [message, sorted(str(r) for r in recipients), sender, format_scheduled_at(scheduled_at)]
    return _sha256(json.dumps(payload, ensure_ascii=False))


def to_decimal(value: Any, field: str) -> Decimal:
    """Exact Decimal from Decimal, int, str or float (via its shortest repr, so 0.45 stays 0.45)."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected an amount, got a boolean {value!r}")
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, Integral):
            result = Decimal(int(value))
        elif isinstance(value, Real):
            result = Decimal(repr(float(value)))
        elif isinstance(value, str):
            result = Decimal(value.strip())
        else:
            raise TypeError
    except (TypeError, InvalidOperation, ValueError):
        raise ValueError(f"{field}: expected an amount, got {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{field}: amount must be finite, got {value!r}")
    return result


def _to_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, Real) and float(value).is_integer():
            return int(value)
        raise ValueError(f"{field}: expected a whole number, got {value!r}")
    return int(value)


def _utc(dt: datetime) -> datetime:
    """Aware UTC; naive datetimes are taken as UTC (the project's convention for the API's naive times)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _ts(dt: datetime) -> str:
    # One fixed-width format so that text order is time order in SQL comparisons.
    return _utc(dt).isoformat(timespec="microseconds")


def is_missing(value: Any) -> bool:
    """None, NaN, NA or NaT: a cell with no value."""
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT


def _text_or_none(value: Any) -> str | None:
    if is_missing(value):
        return None
    text = str(value).strip()
    return text or None


def _check_account(account: str) -> str:
    # Never echo the value: if it is not a hash it may be the token itself.
    if not isinstance(account, str) or not _ACCOUNT_RE.match(account):
        raise ValueError("account: must be config.account_key(token) (16 hex digits), never the token itself")
    return account


def period_start(times: pd.Series, freq: str = "D") -> pd.Series:
    """Start (UTC) of the day, Monday-based week or month each timestamp falls in.

    >>> period_start(pd.Series(pd.to_datetime(["2024-05-15 13:00"], utc=True)), "M").iloc[0]
    Timestamp('2024-05-01 00:00:00+0000', tz='UTC')
    """
    if freq not in FREQS:
        raise ValueError(f"freq: must be one of {', '.join(FREQS)} (day, week, month), got {freq!r}")
    times = pd.to_datetime(times, utc=True)
    day = times.dt.floor("D")
    if freq == "D":
        return day
    if freq == "W":
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return day - pd.to_timedelta(day.dt.day - 1, unit="D")


def decimal_sum(values: Iterable[Any]) -> Decimal:
    """Exact sum of the non-missing amounts."""
    return sum((to_decimal(v, "amount") for v in values if not is_missing(v)), Decimal(0))


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` over ``weights`` proportionally, exactly (largest remainder method).

    The shares are multiples of the finest decimal place among the inputs and always add
    up to ``amount`` to the last digit: a sending's tax spread over its destinations.

    >>> allocate(Decimal("0.10"), [Decimal("1"), Decimal("1"), Decimal("1")])
    [Decimal('0.04'), Decimal('0.03'), Decimal('0.03')]
    """
    if not weights:
        return []
    exponent = min(int(d.as_tuple().exponent) for d in (amount, *weights))
    quantum = Decimal(1).scaleb(exponent)
    weight_total = sum(weights, Decimal(0))
    if weight_total == 0:
        shares = [Decimal(0).quantize(quantum)] * len(weights)
        shares[-1] = amount.quantize(quantum)
        return shares
    sign = -1 if amount < 0 else 1
    units = int((abs(amount) / quantum).to_integral_value())
    exact = [Decimal(units) * w / weight_total for w in weights]
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    left = units - sum(floors)
    # Hand the leftover units to the largest fractional parts; ties go to the earlier row.
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [(sign * Decimal(n) * quantum).quantize(quantum) for n in floors]


# --------------------------------------------------------------------------- the ledger


class Ledger:
    """Quotes, sends and balance snapshots of one or more accounts in one SQLite file.

    ``clock`` (returns an aware datetime) exists so that the duplicate window can be tested
    without sleeping.

    >>> ledger = Ledger.for_settings(settings)                         # doctest: +SKIP
    >>> qid = ledger.record_quote(settings.account, text, numbers, quote)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._create_schema()

    @classmethod
    def for_settings(cls, settings: Any, **kw: Any) -> "Ledger":
        """The ledger next to the HTTP cache: ``settings.cache_dir / "ledger.sqlite"``."""
        return cls(Path(settings.cache_dir) / LEDGER_FILENAME, **kw)

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

    def _create_schema(self) -> None:
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
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def schema_version(self) -> int:
        """The file's ``PRAGMA user_version``."""
        with self._connect() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def now(self) -> datetime:
        """The time (aware UTC) this ledger stamps its rows with: wall time unless a ``clock`` was given."""
        return _utc(self._clock())

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
            account, self._now(), str(message), _sha256(str(message)), recipients_hash(recipients),
            len(recipients), _to_int(quote_like.sms_count, "quote.sms_count"),
            str(to_decimal(quote_like.subtotal, "quote.subtotal")),
            str(to_decimal(quote_like.tax, "quote.tax")),
            str(to_decimal(quote_like.total, "quote.total")),
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
        frame = _frame(rows, _DESTINATION_COLUMNS)
        for col in ("price", "total"):
            frame[col] = _decimals(frame[col])
        return frame.astype({"numbers": "int64", "sms_count": "int64"})

    # ------------------------------------------------------------ sends

    def begin_send(self, account: str, campaign_key: str, quote_id: int | None, sender: str,
                   scheduled_at: datetime | str | None, type: str, n_recipients: int, *,
                   duplicate_window: timedelta | None = None) -> int:
        """Record a send as 'pending' BEFORE the POST leaves; returns the send id.

        With ``duplicate_window`` the duplicate check and the insert are one transaction, so
        two notebooks sending the same campaign at the same moment cannot both pass:
        the second gets ``DuplicateSendError``.
        """
        return self._insert_send(account, campaign_key, quote_id, sender, scheduled_at, type, n_recipients,
                                 duplicate_window=duplicate_window, block_unresolved=False)

    def claim_send(self, account: str, campaign_key: str, quote_id: int | None, sender: str,
                   scheduled_at: datetime | str | None, type: str, n_recipients: int, *,
                   duplicate_window: timedelta | None) -> int:
        """``begin_send`` for campaign.py: also refuses while an earlier send of the campaign
        is unresolved ('pending' or 'unknown', however old), whatever the window.

        Check and insert are one BEGIN IMMEDIATE transaction: of two threads or notebooks
        claiming the same campaign at once, exactly one gets a send id; the other gets
        ``DuplicateSendError`` (``.previous`` is the earlier send).  ``duplicate_window=None``
        (allow_duplicate) skips only the window check.
        """
        return self._insert_send(account, campaign_key, quote_id, sender, scheduled_at, type, n_recipients,
                                 duplicate_window=duplicate_window, block_unresolved=True)

    def check_send(self, account: str, campaign_key: str, duplicate_window: timedelta | None) -> None:
        """Raise ``DuplicateSendError`` if ``claim_send`` would refuse now (a read: the early,
        friendly check; ``claim_send`` repeats it atomically)."""
        _check_account(account)
        with self._connect() as conn:
            self._guard(conn, account, campaign_key, duplicate_window, block_unresolved=True)

    def _guard(self, conn: sqlite3.Connection, account: str, key: str, window: timedelta | None, *,
               block_unresolved: bool) -> None:
        if block_unresolved:
            row = conn.execute(
                "SELECT * FROM sends WHERE account = ? AND campaign_key = ? AND state IN (?, ?)"
                " ORDER BY created_at DESC, id DESC LIMIT 1",
                (account, key, PENDING, UNKNOWN),
            ).fetchone()
            if row is not None:
                previous = _send_dict(row)
                error = DuplicateSendError(_unresolved_message(previous))
                error.previous = previous  # type: ignore[attr-defined]
                raise error
        if window is not None:
            previous = self._recent(conn, account, key, window)
            if previous is not None:
                error = DuplicateSendError(_duplicate_message(previous, window))
                error.previous = previous  # type: ignore[attr-defined]
                raise error

    def _insert_send(self, account: str, campaign_key: str, quote_id: int | None, sender: str,
                     scheduled_at: datetime | str | None, type: str, n_recipients: int, *,
                     duplicate_window: timedelta | None, block_unresolved: bool) -> int:
        _check_account(account)
        if type not in spec.SEND_TYPES:
            raise ValueError(f"type: must be one of {', '.join(spec.SEND_TYPES)}, got {type!r}")
        if not sender:
            raise ValueError("sender: required (an approved sender name)")
        n_recipients = _to_int(n_recipients, "n_recipients")
        if n_recipients < 0:
            raise ValueError(f"n_recipients: must be >= 0, got {n_recipients}")
        scheduled_text = format_scheduled_at(scheduled_at)
        with self._write() as conn:
            if quote_id is not None and conn.execute(
                "SELECT 1 FROM quotes WHERE id = ? AND account = ?", (int(quote_id), account)
            ).fetchone() is None:
                raise ValueError(f"quote_id: no quote {quote_id} recorded for this account")
            self._guard(conn, account, campaign_key, duplicate_window, block_unresolved=block_unresolved)
            cur = conn.execute(
                "INSERT INTO sends (account, created_at, campaign_key, quote_id, sender, scheduled_at,"
                " type, recipients, state) VALUES (?,?,?,?,?,?,?,?,?)",
                (account, self._now(), campaign_key, None if quote_id is None else int(quote_id), sender,
                 scheduled_text, type, n_recipients, PENDING),
            )
            return int(cur.lastrowid)

    def complete_send(self, send_id: int, sending_id: int) -> None:
        """The API answered 200 with ``sending_id``: pending -> created."""
        self._move(send_id, "complete_send", CREATED, sending_id=_to_int(sending_id, "sending_id"), resolved=True)

    def fail_send(self, send_id: int, error: str) -> None:
        """The API definitely did not create the sending (e.g. 422): pending -> failed."""
        self._move(send_id, "fail_send", FAILED, error=str(error), resolved=True)

    def mark_unknown(self, send_id: int, error: str) -> None:
        """The POST left but its answer was lost: pending -> unknown (reconcile before re-sending)."""
        self._move(send_id, "mark_unknown", UNKNOWN, error=str(error), resolved=False)

    def reconcile(self, send_id: int, sending_id: int | None) -> None:
        """Settle an unknown (or stale pending) send after looking at /sendings.

        Found (``sending_id`` given) -> 'reconciled' with that id; not found -> 'failed'.
        """
        if sending_id is None:
            self._move(send_id, "reconcile", FAILED, resolved=True,
                       error_suffix="reconcile: no matching sending found on the server")
        else:
            self._move(send_id, "reconcile", RECONCILED, sending_id=_to_int(sending_id, "sending_id"), resolved=True)

    def _move(self, send_id: int, action: str, target: str, *, sending_id: int | None = None,
              error: str | None = None, error_suffix: str | None = None, resolved: bool) -> None:
        allowed = _TRANSITIONS[action]
        with self._write() as conn:
            row = conn.execute("SELECT state, error FROM sends WHERE id = ?", (int(send_id),)).fetchone()
            if row is None:
                raise SendNotFoundError(f"send {send_id}: no such send in {self.path}")
            if row["state"] not in allowed:
                raise InvalidTransitionError(
                    f"send {send_id}: cannot go from '{row['state']}' to '{target}' ({action} needs state "
                    f"{' or '.join(repr(s) for s in allowed)})"
                )
            if target == RECONCILED and sending_id is not None:
                # One sending pays for one send: linking it twice would count its cost twice.
                other = conn.execute(
                    "SELECT id FROM sends WHERE sending_id = ? AND id != ? AND account ="
                    " (SELECT account FROM sends WHERE id = ?)", (sending_id, int(send_id), int(send_id)),
                ).fetchone()
                if other is not None:
                    raise LedgerError(
                        f"send {send_id}: sending {sending_id} is already linked to ledger send {other['id']}")
            if error_suffix is not None:
                error = f"{row['error']}; {error_suffix}" if row["error"] else error_suffix
            conn.execute(
                "UPDATE sends SET state = ?, sending_id = COALESCE(?, sending_id), error = COALESCE(?, error),"
                " resolved_at = ? WHERE id = ?",
                (target, sending_id, error, self._now() if resolved else None, int(send_id)),
            )

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
            f" AND state IN ({','.join('?' * len(LIVE_STATES))}) ORDER BY created_at DESC, id DESC LIMIT 1",
            (account, key, cutoff, *LIVE_STATES),
        ).fetchone()
        return None if row is None else _send_dict(row)

    def sends(self, account: str) -> pd.DataFrame:
        """All sends of the account, oldest first."""
        return self._sends(account, STATES)

    def unresolved(self, account: str) -> pd.DataFrame:
        """Sends in state unknown or pending: they may exist on the server; reconcile them."""
        return self._sends(account, (UNKNOWN, PENDING))

    def _sends(self, account: str, states: Sequence[str]) -> pd.DataFrame:
        _check_account(account)
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT * FROM sends WHERE account = ? AND state IN ({','.join('?' * len(states))}) ORDER BY id",
                (account, *states),
            ).fetchall()
        frame = _frame(rows, _SEND_COLUMNS)
        for col in ("created_at", "resolved_at"):
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
        frame["scheduled_at"] = pd.to_datetime(frame["scheduled_at"], utc=True, format=spec.SCHEDULED_AT_FORMAT)
        return frame.astype({"id": "int64", "quote_id": "Int64", "recipients": "int64", "sending_id": "Int64"})

    # ------------------------------------------------------------ balance

    def record_balance(self, account: str, amount: Any, currency: str, taken_at: datetime | None = None) -> int:
        """Store a balance snapshot (``taken_at`` defaults to now; naive means UTC); returns its id."""
        _check_account(account)
        if not currency:
            raise ValueError("currency: required (the /balance 'code', e.g. GBP)")
        value = to_decimal(amount, "amount")
        when = self._now() if taken_at is None else _ts(taken_at)
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO balance_snapshots (account, taken_at, amount, currency) VALUES (?,?,?,?)",
                (account, when, str(value), str(currency)),
            )
            return int(cur.lastrowid)

    def balance_history(self, account: str) -> pd.DataFrame:
        """DataFrame[taken_at, amount, amount_float, currency], oldest first.

        ``amount`` holds exact Decimal objects; ``amount_float`` (float64) is for plotting.
        """
        _check_account(account)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT taken_at, amount, currency FROM balance_snapshots WHERE account = ? ORDER BY taken_at, id",
                (account,),
            ).fetchall()
        frame = _frame(rows, ["taken_at", "amount", "currency"])
        frame["taken_at"] = pd.to_datetime(frame["taken_at"], utc=True, format="ISO8601")
        frame["amount"] = _decimals(frame["amount"])
        frame.insert(2, "amount_float", frame["amount"].map(float).astype("float64"))
        return frame

    # ------------------------------------------------------------ spend

    def spend(self, account: str, sendings: pd.DataFrame | None = None, freq: str = "D") -> pd.DataFrame:
        """Tidy spend table: one row per (sending, destination).

        Joins sends that exist on the server (created/reconciled) with their quote's
        per-destination breakdown and with ``sendings`` (as ``client.sendings()`` returns;
        None -> status 'unknown').  ``cost`` = the destination's quoted total plus its exact
        share of the quote's tax (``net`` + ``tax``), so a sending's rows add up to the
        quote's total, the amount the balance is debited.  Sendings the API lists that the
        ledger never recorded appear as ``priced=False`` rows with no cost, not dropped.

        Columns: period, sending_id, send_id, created_at, sender, status, destination,
        country, operator, numbers, sms_count, net, tax, cost (Decimal), cost_float,
        currency, priced.

        >>> ledger.spend(settings.account, client.sendings(), freq="W")   # doctest: +SKIP
        """
        _check_account(account)
        if freq not in FREQS:
            raise ValueError(f"freq: must be one of {', '.join(FREQS)} (day, week, month), got {freq!r}")
        statuses = _status_lookup(sendings)
        rows: list[dict[str, Any]] = []
        seen: set[int] = set()
        for send, dests in self._spent_sends(account):
            seen.add(send["sending_id"])
            status = statuses.get(send["sending_id"], {}).get("status", UNKNOWN_STATUS)
            rows.extend(_spend_rows(send, dests, status))
        for sid, info in statuses.items():
            if sid not in seen:
                rows.append(_unpriced_row(sid, info))
        frame = pd.DataFrame(rows, columns=_ROW_COLUMNS)
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
        frame = frame.sort_values(["created_at", "sending_id", "_order"], kind="stable").drop(columns="_order")
        frame.insert(0, "period", period_start(frame["created_at"], freq))
        frame["cost_float"] = frame["cost"].map(lambda v: float("nan") if v is None else float(v)).astype("float64")
        return frame.astype({"sending_id": "Int64", "send_id": "Int64", "numbers": "Int64",
                             "sms_count": "Int64", "priced": "bool"}).reset_index(drop=True)[SPEND_COLUMNS]

    def _spent_sends(self, account: str) -> Iterator[tuple[dict[str, Any], list[sqlite3.Row]]]:
        with self._connect() as conn:
            conn.execute("BEGIN")  # one read snapshot for both queries
            sends = conn.execute(
                "SELECT s.id AS send_id, s.created_at, s.sender, s.sending_id, s.quote_id, q.tax, q.total,"
                " q.currency FROM sends s LEFT JOIN quotes q ON q.id = s.quote_id"
                f" WHERE s.account = ? AND s.state IN ({','.join('?' * len(SPENT_STATES))}) ORDER BY s.id",
                (account, *SPENT_STATES),
            ).fetchall()
            dests: dict[int, list[sqlite3.Row]] = {}
            for row in conn.execute(
                "SELECT * FROM quote_destinations WHERE quote_id IN (SELECT quote_id FROM sends"
                f" WHERE account = ? AND state IN ({','.join('?' * len(SPENT_STATES))})) ORDER BY id",
                (account, *SPENT_STATES),
            ):
                dests.setdefault(row["quote_id"], []).append(row)
            conn.execute("COMMIT")
        for send in sends:
            yield dict(send), dests.get(send["quote_id"], [])


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
_DESTINATION_COLUMNS = ["destination", "country", "operator", "numbers", "sms_count", "price", "total"]
_SEND_COLUMNS = ["id", "account", "created_at", "campaign_key", "quote_id", "sender", "scheduled_at", "type",
                 "recipients", "state", "sending_id", "error", "resolved_at"]
SPEND_COLUMNS = ["period", "sending_id", "send_id", "created_at", "sender", "status", "destination", "country",
                 "operator", "numbers", "sms_count", "net", "tax", "cost", "cost_float", "currency", "priced"]
# What _spend_rows builds: the derived columns come later; _order keeps a quote's destination order.
_ROW_COLUMNS = [*(c for c in SPEND_COLUMNS if c not in ("period", "cost_float")), "_order"]


def _frame(rows: Sequence[sqlite3.Row], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r[c] for c in columns) for r in rows], columns=columns)


def _decimals(col: pd.Series) -> pd.Series:
    return pd.Series([None if v is None else Decimal(v) for v in col], index=col.index, dtype=object)


def _send_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in ("created_at", "resolved_at"):
        out[key] = None if out[key] is None else datetime.fromisoformat(out[key])
    return out


def _duplicate_message(previous: Mapping[str, Any], window: timedelta) -> str:
    sid = previous["sending_id"]
    where = f"sending {sid}" if sid is not None else f"state '{previous['state']}'"
    return (
        f"This campaign (same message, recipients, sender and scheduled_at) was already sent at "
        f"{previous['created_at']:%Y-%m-%d %H:%M:%S} UTC ({where}, ledger send {previous['id']}), "
        f"within the duplicate window of {window}; pass allow_duplicate=True to send it again"
    )


def _unresolved_message(previous: Mapping[str, Any]) -> str:
    if previous["state"] == UNKNOWN:
        why = "its outcome is unknown (the request left but the answer was lost): the sending may exist"
    else:
        why = "it is still 'pending': in flight right now, or interrupted before its answer was recorded"
    return (
        f"This campaign (same message, recipients, sender and scheduled_at) was already sent at "
        f"{previous['created_at']:%Y-%m-%d %H:%M:%S} UTC (ledger send {previous['id']}, no sending id yet) and "
        f"{why}. Run client.reconcile() first: it links the sending if the server has it, or marks the "
        f"send failed so that it can be sent again"
    )


def _destination_rows(destinations: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Validated rows of a quote's destinations DataFrame; errors name the row and column."""
    missing = [c for c in _DESTINATION_COLUMNS if c not in destinations.columns]
    if missing:
        raise ValueError(f"quote.destinations: missing column(s) {', '.join(missing)}")
    for i, rec in enumerate(destinations[_DESTINATION_COLUMNS].to_dict("records")):
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
            str(to_decimal(rec["price"], f"{where}: price")),
            str(to_decimal(rec["total"], f"{where}: total")),
        )


def _status_lookup(sendings: pd.DataFrame | None) -> dict[int, dict[str, Any]]:
    if sendings is None:
        return {}
    missing = [c for c in ("id", "status") if c not in sendings.columns]
    if missing:
        raise ValueError(f"sendings: missing column(s) {', '.join(missing)} (expected client.sendings())")
    lookup: dict[int, dict[str, Any]] = {}
    for i, rec in enumerate(sendings.to_dict("records")):
        if is_missing(rec["id"]):
            raise ValueError(f"sendings row {i}: id is empty")
        lookup[_to_int(rec["id"], f"sendings row {i}: id")] = rec
    return lookup


def _spend_rows(send: dict[str, Any], dests: list[sqlite3.Row], status: str) -> list[dict[str, Any]]:
    base = {
        "sending_id": send["sending_id"], "send_id": send["send_id"], "created_at": send["created_at"],
        "sender": send["sender"], "status": status, "currency": send["currency"], "priced": True,
    }
    if not dests:
        # A send without a quote breakdown still happened: one row, at the quote total if known.
        cost = None if send["total"] is None else Decimal(send["total"])
        return [{**base, "destination": None, "country": None, "operator": None, "numbers": None,
                 "sms_count": None, "net": cost, "tax": None if cost is None else Decimal(0), "cost": cost,
                 "priced": cost is not None, "_order": 0}]
    nets = [Decimal(d["total"]) for d in dests]
    taxes = allocate(Decimal(send["tax"]), nets)
    return [
        {**base, "destination": d["destination"], "country": d["country"], "operator": d["operator"],
         "numbers": d["numbers"], "sms_count": d["sms_count"], "net": net, "tax": tax, "cost": net + tax,
         "_order": i}
        for i, (d, net, tax) in enumerate(zip(dests, nets, taxes))
    ]


def _unpriced_row(sending_id: int, info: Mapping[str, Any]) -> dict[str, Any]:
    total_sms = info.get("total_sms")
    created = info.get("created_at")
    return {
        "sending_id": sending_id, "send_id": None,
        "created_at": None if is_missing(created) else pd.Timestamp(created).isoformat(),
        "sender": None, "status": info.get("status"), "destination": None, "country": None, "operator": None,
        "numbers": None, "sms_count": None if is_missing(total_sms) else int(total_sms),
        "net": None, "tax": None, "cost": None, "currency": None, "priced": False, "_order": 0,
    }


def _priced_sum(costs: pd.Series) -> Decimal | None:
    # A group with no known cost has an unknown total, not a total of zero.
    known = [c for c in costs if not is_missing(c)]
    return decimal_sum(known) if known else None


def spend_summary(spend_df: pd.DataFrame, by: str | Sequence[str] = "period") -> pd.DataFrame:
    """Totals of a ``Ledger.spend`` table grouped by period, country, operator, sender or status.

    Always grouped by currency too (amounts in two currencies never add up).  ``cost`` is an
    exact Decimal sum of the priced rows (None when none is priced); ``unpriced`` counts the
    rows whose cost is unknown.

    >>> spend_summary(ledger.spend(account), by=["period", "country"])   # doctest: +SKIP
    """
    keys = [by] if isinstance(by, str) else list(by)
    bad = [k for k in keys if k not in SUMMARY_KEYS]
    if bad or not keys:
        raise ValueError(f"by: must name columns among {', '.join(SUMMARY_KEYS)}, got {by!r}")
    missing = [c for c in (*keys, "cost", "sending_id") if c not in spend_df.columns]
    if missing:
        raise ValueError(f"spend_df: missing column(s) {', '.join(missing)} (expected Ledger.spend())")
    if "currency" not in keys:
        keys.append("currency")
    out_cols = [*keys, "sendings", "numbers", "sms_count", "cost", "cost_float", "unpriced"]
    if spend_df.empty:
        return pd.DataFrame(columns=out_cols)
    df = spend_df.copy()
    if "priced" not in df.columns:
        df["priced"] = df["cost"].map(lambda v: not is_missing(v))
    for col in ("numbers", "sms_count"):
        if col not in df.columns:
            df[col] = pd.NA
    grouped = df.groupby(keys, dropna=False, sort=False)
    out = grouped.agg(
        sendings=("sending_id", "nunique"),
        numbers=("numbers", lambda s: int(pd.to_numeric(s, errors="coerce").sum())),
        sms_count=("sms_count", lambda s: int(pd.to_numeric(s, errors="coerce").sum())),
        cost=("cost", _priced_sum),
        unpriced=("priced", lambda s: int((~s.astype(bool)).sum())),
    ).reset_index()
    out["cost_float"] = out["cost"].map(lambda v: float("nan") if v is None else float(v)).astype("float64")
    if "period" in keys:
        out = out.sort_values(keys, kind="stable")
    else:
        out = out.sort_values(["cost_float", *keys], ascending=[False, *([True] * len(keys))], kind="stable")
    return out[out_cols].reset_index(drop=True)
