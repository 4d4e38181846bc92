"""The bad-input catalogue: one table, every row a real attempt to send (or read) through the
real client against the real sandbox.

Each row must raise its own error class with a message that names the field or row and the
rule broken - and leave everything consistent: nothing reached POST /sendings, the ledger
holds no send, and the HTTP cache holds no entry for the call that failed.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import api_doc
import by_hand
import pytest

import smsgic_analytics as sa
from smsgic_analytics.core import spec

GOOD = ["447400123456", "37121234567"]
SENDER = "MegaShop"


def send(client: sa.Client, message: str = "Hello from the catalogue", recipients: Any = GOOD,
         sender: str = SENDER, **kw: Any) -> Any:
    return client.send(message, recipients, sender, confirm=True, **kw)


@dataclass(frozen=True)
class Row:
    name: str
    action: Callable[[sa.Client], Any]
    error: type[sa.SMSgicError]  # the exact class expected
    needles: tuple[str, ...]      # texts the message must contain (field/row and rule)
    field: str | None = None      # key expected in .field_errors
    token: str = "fresh"          # "fresh" account, "wrong" (unknown to the server) or "missing"
    faults: tuple[dict[str, Any], ...] = ()  # injected before the attempt
    balance: str | None = None    # set the fresh account's balance first
    uncached: tuple[str, ...] = ()  # endpoints that must have no cache entry after


PAST = (datetime.now(UTC) - timedelta(days=1)).strftime(spec.SCHEDULED_AT_FORMAT)

CATALOGUE = [
    Row("malformed number", lambda c: send(c, recipients=[GOOD[0], "12-34"]),
        sa.errors.InvalidRecipientsError, ("row 1", "'12-34'", "too short: 4 digits"), field="recipients.1"),
    Row("number with letters", lambda c: send(c, recipients=[GOOD[0], "4474OO123456"]),
        sa.errors.InvalidRecipientsError, ("row 1", "'4474OO123456'", "characters other than digits"), field="recipients.1"),
    Row("21-digit number", lambda c: send(c, recipients=["1" * 21, GOOD[0]]),
        sa.errors.InvalidRecipientsError, ("row 0", "too long: 21 digits"), field="recipients.0"),
    Row("empty message", lambda c: send(c, message=""),
        sa.ValidationError, (api_doc.MISSING_MESSAGE,), field="message"),
    # A concatenated SMS has at most 255 parts (the UDH part counter is one octet); the balance
    # is set high so that the balance check cannot be what refuses it.
    Row("10,000-segment message", lambda c: send(c, message="a" * (153 * 10_000)),
        sa.ValidationError, ("10,000 segments", "at most 255"), field="message", balance="1000000"),
    Row("invalid sender", lambda c: send(c, sender="NotMine"),
        sa.ValidationError, ("sender 'NotMine' is not approved", "MegaShop"), field="sender"),
    Row("past schedule", lambda c: send(c, scheduled_at=PAST),
        sa.ValidationError, ("scheduled_at", PAST, "in the past"), field="scheduled_at"),
    Row("malformed schedule", lambda c: send(c, scheduled_at="2024-13-45 25:00"),
        sa.ValidationError, (by_hand.INVALID_SCHEDULED_AT, "'2024-13-45 25:00'"), field="scheduled_at"),
    Row("unknown sending id", lambda c: c.sending(987654321),
        sa.NotFoundError, (api_doc.not_found(987654321),)),
    Row("wrong token", send, sa.AuthenticationError, (api_doc.UNAUTHENTICATED,), token="wrong",
        uncached=(spec.SENDERS, spec.RATES)),
    Row("missing token", send, sa.errors.MissingTokenError, ("needs a token", "SMSGIC_TOKEN"), token="missing"),
    Row("non-JSON calculate answer", send, sa.ServerError,
        ("POST /sendings/calculate", "not valid JSON"),
        faults=({"kind": "garbage", "path": spec.CALCULATE, "method": "POST"},), uncached=(spec.CALCULATE,)),
    Row("truncated senders answer", send, sa.ServerError, ("GET /senders", "not valid JSON", "truncated"),
        faults=({"kind": "truncated", "path": spec.SENDERS, "method": "GET"},), uncached=(spec.SENDERS,)),
]

def _params() -> list[Any]:
    return [pytest.param(row, id=row.name) for row in CATALOGUE]


def cached(client: sa.Client, endpoint: str) -> int:
    entries = client.cache_info().entries
    return int((entries["endpoint"] == endpoint).sum())


@pytest.mark.parametrize("row", _params())
def test_bad_input_is_refused_by_name_and_leaves_no_trace(row: Row, make_client, fresh_token, control, monkeypatch):
    monkeypatch.delenv("SMSGIC_TOKEN", raising=False)
    token = {"fresh": fresh_token, "wrong": f"wrong-{uuid.uuid4().hex}", "missing": None}[row.token]
    if row.balance is not None:
        control.set_balance(fresh_token, row.balance)
    client = make_client(token)
    for fault in row.faults:
        control.inject(**fault)
    control.reset_stats()

    with pytest.raises(sa.SMSgicError) as caught:
        row.action(client)

    error = caught.value
    assert type(error) is row.error, f"{row.name}: got {type(error).__name__}: {error}"
    for needle in row.needles:
        assert needle in str(error), f"{row.name}: {needle!r} not in {str(error)!r}"
    if row.field is not None:
        assert row.field in error.field_errors, f"{row.name}: field_errors {error.field_errors}"
    if row.faults:
        assert control.faults() == [], "the injected fault was never met"
    # nothing was sent, nothing was recorded as sent
    assert control.stats().get(("POST", spec.SENDINGS), 0) == 0
    assert client.ledger.sends(client.settings.account).empty
    # no cache entry for the call that failed (and no quote cached for a refused send)
    for endpoint in (*row.uncached, spec.CALCULATE):
        assert cached(client, endpoint) == 0, f"{row.name}: {endpoint} was cached"
    if row.faults:
        # the spoiled answer is not reused: asking again reaches the server and works
        control.reset_stats()
        result = row.action(client)
        assert result.state == "created"
        assert control.stats()[("POST", spec.SENDINGS)] == 1
