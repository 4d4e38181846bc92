"""SQLite persistence for the sandbox: accounts, senders, sendings and the clock.

Money is stored as integer ten-thousandths of the account currency (rates have 4 decimals,
so every debit is exact).  Tokens are never stored: an account is found by sha256(token).
A connection is opened per operation (cheap, and safe from any server thread); the file is
in WAL mode so readers never wait for the writer, and a send runs in one BEGIN IMMEDIATE
transaction so concurrent sends cannot lose a debit.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Iterator

from ..core.spec import BALANCE_STEP, DEMO_BALANCE, DEMO_SENDERS

UNITS = 10_000  # money unit: 1/10,000 of the currency
FIRST_SENDING_ID = 301  # the documentation's first example id
CURRENCY_SIGN = "£"
CURRENCY_CODE = "GBP"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    balance_units INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS senders (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    id INTEGER NOT NULL,
    sender TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE TABLE IF NOT EXISTS sendings (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    text TEXT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    recipients INTEGER NOT NULL,
    total_sms INTEGER NOT NULL,
    cost_units INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    scheduled_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sendings_account ON sendings(account_id, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def to_units(amount: str | Decimal) -> int:
    """Decimal money -> integer units; refuses more than 4 decimals rather than rounding."""
    try:
        value = Decimal(str(amount))
    except ArithmeticError:
        raise ValueError(f"amount {amount!r} is not a decimal number") from None
    units = value * UNITS
    if not value.is_finite() or units != units.to_integral_value():
        raise ValueError(f"amount {amount!r} is not a finite number with at most 4 decimals")
    return int(units)


def from_units(units: int) -> Decimal:
    return Decimal(units) / UNITS


def balance_text(units: int) -> str:
    """The balance as the API shows it: 3 decimals, rounded down so it never overstates."""
    return str(from_units(units).quantize(Decimal(BALANCE_STEP), rounding=ROUND_FLOOR))


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SendingRow:
    id: int
    text: str
    sender: str
    type: str
    recipients: int
    total_sms: int
    cost_units: int
    created_at: int
    scheduled_at: int


class InsufficientBalance(Exception):
    """The balance (``balance_units``) does not cover the sending."""

    def __init__(self, balance_units: int) -> None:
        super().__init__("insufficient balance")
        self.balance_units = balance_units


class Store:
    """The sandbox's state in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    # accounts -------------------------------------------------------------------------
    def add_account(self, token: str, balance: str | Decimal = DEMO_BALANCE, *, reset_balance: bool = True) -> int:
        """Create the account with the demo senders, or (``reset_balance``) set an existing one's balance."""
        units = to_units(balance)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT id FROM accounts WHERE token_sha256=?", (token_key(token),)).fetchone()
            if row:
                if reset_balance:
                    db.execute("UPDATE accounts SET balance_units=? WHERE id=?", (units, row[0]))
                db.execute("COMMIT")
                return int(row[0])
            account = db.execute(
                "INSERT INTO accounts(token_sha256, balance_units) VALUES (?, ?)", (token_key(token), units)
            ).lastrowid
            db.executemany(
                "INSERT INTO senders(account_id, id, sender) VALUES (?, ?, ?)",
                [(account, sid, name) for sid, name in DEMO_SENDERS],
            )
            db.execute("COMMIT")
            return int(account)

    def account_id(self, token: str) -> int | None:
        with self._connect() as db:
            row = db.execute("SELECT id FROM accounts WHERE token_sha256=?", (token_key(token),)).fetchone()
        return int(row[0]) if row else None

    def balance_units(self, account_id: int) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT balance_units FROM accounts WHERE id=?", (account_id,)).fetchone()[0])

    def senders(self, account_id: int) -> list[tuple[int, str]]:
        with self._connect() as db:
            rows = db.execute("SELECT id, sender FROM senders WHERE account_id=? ORDER BY id", (account_id,))
            return [(int(i), str(s)) for i, s in rows]

    # sendings -------------------------------------------------------------------------
    def create_sending(self, account_id: int, *, text: str, sender: str, type: str, recipients: int,
                       total_sms: int, cost_units: int, created_at: int, scheduled_at: int) -> int:
        """Debit the cost and insert the sending atomically; raises InsufficientBalance untouched."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                balance = int(db.execute("SELECT balance_units FROM accounts WHERE id=?", (account_id,)).fetchone()[0])
                if balance < cost_units:
                    raise InsufficientBalance(balance)
                db.execute("UPDATE accounts SET balance_units=balance_units-? WHERE id=?", (cost_units, account_id))
                sending_id = int(db.execute(
                    "SELECT COALESCE(MAX(id), ?) + 1 FROM sendings", (FIRST_SENDING_ID - 1,)
                ).fetchone()[0])
                db.execute(
                    "INSERT INTO sendings(id, account_id, text, sender, type, recipients, total_sms, cost_units,"
                    " created_at, scheduled_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (sending_id, account_id, text, sender, type, recipients, total_sms, cost_units,
                     created_at, scheduled_at),
                )
                db.execute("COMMIT")
                return sending_id
            except BaseException:
                db.execute("ROLLBACK")
                raise

    _COLUMNS = "id, text, sender, type, recipients, total_sms, cost_units, created_at, scheduled_at"

    def sendings(self, account_id: int) -> list[SendingRow]:
        with self._connect() as db:
            rows = db.execute(f"SELECT {self._COLUMNS} FROM sendings WHERE account_id=? ORDER BY id", (account_id,))
            return [SendingRow(*row) for row in rows]

    def sending(self, account_id: int, sending_id: int) -> SendingRow | None:
        with self._connect() as db:
            row = db.execute(
                f"SELECT {self._COLUMNS} FROM sendings WHERE account_id=? AND id=?", (account_id, sending_id)
            ).fetchone()
        return SendingRow(*row) if row else None

    # meta -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> dict | None:
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, key: str, value: dict) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))
