"""Test controls under ``/__sandbox__/``: clock, faults, accounts, rates, statistics.

Served only when the sandbox runs with controls on (``create_app(admin_token=...)``,
``smsgic-analytics sandbox --controls``); otherwise the prefix is an unknown route like any
other.  Every call needs ``Authorization: Bearer <admin token>`` -- never an account token,
and the admin token opens no API endpoint -- else ``401 {"message":"Unauthenticated."}``.
Kept out of /openapi.json.  ``SandboxControl`` in control.py is the Python client for
these.  Inputs are range-checked by admin_rules.py: ``422 {"message", "errors": {field: [...]}}``.

GET    /__sandbox__/clock             {"now": ISO, "frozen": bool}
POST   /__sandbox__/clock             {"now": ISO}       jump the clock there (2000..2100)
POST   /__sandbox__/clock/advance     {"seconds": x}     move it forward (|x| <= 100 years)
POST   /__sandbox__/clock/offset      {"seconds": x}     run x seconds off wall time, ticking (unfreezes)
GET    /__sandbox__/faults            {"faults": [...]}  queued faults
POST   /__sandbox__/faults            {"kind", "path", "method", "count", "status", "retry_after", "seconds", "exact"}
DELETE /__sandbox__/faults            drop every queued fault
POST   /__sandbox__/accounts          {"token", "balance"}  create (or reset the balance of) an account
PUT    /__sandbox__/accounts/balance  {"token", "balance"}  set an existing account's balance
PUT    /__sandbox__/rates             {"mcc", "mnc", "rate", "country_id"?} or {"factor"}: change prices;
                                      with "at" (ISO instant): a dated change, in force once the clock is there
GET    /__sandbox__/rates/scheduled   {"scheduled": [{"at", ...body}]}  dated changes not yet in force
POST   /__sandbox__/rates/history     {"start", "changes"?, "every_days"?, "countries"?}: schedule the seed's
                                      price history (price_history.seeded_changes)
DELETE /__sandbox__/rates             back to the seed's card (dated changes dropped too)
GET    /__sandbox__/stats             {"requests": [{"method", "path", "count"}]}
DELETE /__sandbox__/stats             zero the counters
GET    /__sandbox__/countries         {"countries": [{"country_id", "country", "region", "iso3", "mcc"}]}
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..core import spec
from ..core.spec import DEMO_BALANCE
from .admin_rules import account_from, advance_seconds, clock_target, fault_from, offset_seconds, rate_changes_from
from .faults import ADMIN_PREFIX
from .jsonwire import WireJSON, error
from .limits import load_json
from .price_history import seeded_changes
from .ratecard import RateCard
from .state import SandboxState
from .store import balance_text, to_units
from .validation import Invalid

ADMIN_TOKEN_RE = re.compile(r"[A-Za-z0-9._~+/=-]{16,256}", re.ASCII)


def new_admin_token() -> str:
    """A fresh admin token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def check_admin_token(token: str) -> str:
    """``token`` if it can be an admin token (16-256 header-safe characters), else ValueError."""
    if not ADMIN_TOKEN_RE.fullmatch(token):
        raise ValueError("an admin token must be 16 to 256 characters from A-Z a-z 0-9 . _ ~ + / = -")
    return token


async def require_admin(request: Request) -> None:
    """Refuse (401) a control call without ``Authorization: Bearer <admin token>``."""
    expected: str = request.app.state.admin_token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # compare_digest: the time taken says nothing about how much of the token was right
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(401, spec.MSG_UNAUTHENTICATED)


router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False, dependencies=[Depends(require_admin)])


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = load_json(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Invalid({"body": ["The body must be a JSON object."]})
    return body


def _clock(state: SandboxState) -> WireJSON:
    return WireJSON({"now": state.clock.now().isoformat(), "frozen": state.clock.is_frozen})


@router.get("/clock")
async def get_clock(request: Request) -> WireJSON:
    return _clock(_state(request))


@router.post("/clock")
async def set_clock(request: Request) -> WireJSON:
    state = _state(request)
    state.clock.set_now(clock_target(await _json(request)))
    await run_in_threadpool(state.save_clock)
    return _clock(state)


@router.post("/clock/advance")
async def advance_clock(request: Request) -> WireJSON:
    state = _state(request)
    state.clock.advance(advance_seconds(await _json(request), state.clock.now()))
    await run_in_threadpool(state.save_clock)
    return _clock(state)


@router.post("/clock/offset")
async def offset_clock(request: Request) -> WireJSON:
    state = _state(request)
    state.clock.set_offset(offset_seconds(await _json(request), datetime.now(timezone.utc)))
    await run_in_threadpool(state.save_clock)
    return _clock(state)


@router.get("/faults")
async def list_faults(request: Request) -> WireJSON:
    return WireJSON({"faults": _state(request).faults.pending()})


@router.post("/faults")
async def add_fault(request: Request) -> WireJSON:
    state = _state(request)
    state.faults.add(fault_from(await _json(request), queued=len(state.faults.pending())))
    return WireJSON({"faults": state.faults.pending()})


@router.delete("/faults")
async def clear_faults(request: Request) -> WireJSON:
    _state(request).faults.clear()
    return WireJSON({"faults": []})


@router.post("/accounts")
async def add_account(request: Request) -> WireJSON:
    state = _state(request)
    token, balance = account_from(await _json(request), DEMO_BALANCE, request.app.state.admin_token)
    await run_in_threadpool(state.store.add_account, token, balance)
    return WireJSON({"balance": balance_text(to_units(balance))})


@router.put("/accounts/balance")
async def set_balance(request: Request) -> WireJSON:
    state = _state(request)
    token, balance = account_from(await _json(request), None, request.app.state.admin_token)
    if await run_in_threadpool(state.store.account_id, token) is None:
        return error(404, "no account has this token")
    await run_in_threadpool(state.store.add_account, token, balance)
    return WireJSON({"balance": balance_text(to_units(balance))})


def _rate_rows(card: RateCard, keys: Any) -> list[dict[str, Any]]:
    """Rows of ``card`` named in ``keys``, in the GET /rates shape and order."""
    return [{"mcc": r.mcc, "mnc": r.mnc, "country": r.country, "rate": r.rate} for r in card.rows if r.key in keys]


@router.put("/rates")
async def change_rates(request: Request) -> WireJSON:
    """Change one row's rate, or scale them all; answers the rows changed, at their new rates.
    With ``at``: checked now, put in force when the sandbox clock reaches ``at``."""
    state, body = _state(request), await _json(request)
    if "at" in body:
        at = clock_target({"now": body.pop("at")}, field="at")
        planned = rate_changes_from(body, state.card_now())  # refuse a bad change now, not when due
        await run_in_threadpool(state.schedule_rates, at, body)
        return WireJSON({"rates": _rate_rows(state.card.with_rates(planned), planned), "at": at.isoformat()})
    # Planned on the card in force under the state's lock: two scalings at once both apply.
    card, changes = await run_in_threadpool(state.change_rates, lambda current: rate_changes_from(body, current))
    return WireJSON({"rates": _rate_rows(card, changes)})


@router.delete("/rates")
async def reset_rates(request: Request) -> WireJSON:
    await run_in_threadpool(_state(request).clear_scheduled)
    await run_in_threadpool(_state(request).change_rates, None)
    return WireJSON({"rates": []})


@router.get("/rates/scheduled")
async def scheduled_rates(request: Request) -> WireJSON:
    return WireJSON({"scheduled": [{"at": at.isoformat(), **body} for at, body in _state(request).scheduled]})


@router.post("/rates/history")
async def seed_price_history(request: Request) -> WireJSON:
    """Schedule the seed's price history (``price_history.seeded_changes``) after ``start``."""
    state, body = _state(request), await _json(request)
    start = clock_target({"now": body.get("start")}, field="start")
    changes = int(_bounded(body.get("changes", 6), "changes", 1, 50))
    every = int(_bounded(body.get("every_days", 7), "every_days", 1, 60))
    countries = body.get("countries")
    if countries is not None and (not isinstance(countries, list) or not all(isinstance(c, str) for c in countries)):
        raise Invalid({"countries": ["The countries must be a list of country names or ISO-2 codes."]})
    try:
        planned = seeded_changes(state.card_now(), state.seed, start, changes, every, countries)
    except ValueError as exc:
        raise Invalid({"countries": [str(exc)]}) from None
    for at, change in planned:
        await run_in_threadpool(state.schedule_rates, at, change)
    return WireJSON({"scheduled": [{"at": at.isoformat(), **change} for at, change in planned]})


def _bounded(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid({field: [f"The {field.replace('_', ' ')} must be an integer between {low} and {high}."]})
    return value


@router.get("/stats")
async def stats(request: Request) -> WireJSON:
    counts = _state(request).faults.stats()
    rows = [{"method": m, "path": p, "count": n} for (m, p), n in sorted(counts.items())]
    return WireJSON({"requests": rows})


@router.delete("/stats")
async def reset_stats(request: Request) -> WireJSON:
    _state(request).faults.reset_stats()
    return WireJSON({"requests": []})


@router.get("/countries")
async def countries(request: Request) -> WireJSON:
    card = _state(request).card_now()
    return WireJSON({"countries": [c.__dict__ for c in card.countries]})
