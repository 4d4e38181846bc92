"""The SMSgic API as documented, on FastAPI: routes, auth, throttling and error shapes.

Handlers read the raw body themselves (a body that is not a JSON object counts as empty,
so it meets the documented "required" 422s, never a 500) and answer with ``WireJSON``
(exact Decimals).  Laravel behaviours the documentation implies are kept: Bearer auth
before anything else, throttling before validation, ``{"message": "Server Error"}`` on a
crash, and the ``{"message", "errors"}`` validation shape.
"""
from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ..core import spec
from . import schemas
from .admin import router as admin_router
from .dateheader import ServerDate
from .faults import FaultMiddleware
from .jsonwire import WireJSON, error, number
from .lifecycle import status_at, utc
from .limits import RequestLimits, load_json
from .quote import calculate
from .state import SandboxState
from .store import CURRENCY_CODE, CURRENCY_SIGN, InsufficientBalance, balance_text, from_units
from .validation import Invalid, calculate_input, rate_filters, sending_input

_SENDING_ID_RE = re.compile(r"\d{1,18}", re.ASCII)
bearer = HTTPBearer(auto_error=False, description="An access token from the SMSgic dashboard.")


class ApiError(Exception):
    """Any non-200 answer raised from a handler; rendered as a Laravel-shaped body."""

    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.headers = status, message, errors, headers


def _responses(ok: type, *errors: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {200: {"model": ok}}
    for status in errors:
        model = schemas.ValidationFailure if status == 422 else schemas.Message
        out[status] = {"model": model}
    return out


def _body_schema(model: type) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _rates_parameters(countries: int) -> dict[str, Any]:
    return {"parameters": [
        _query("mcc", {"type": "string", "pattern": r"^\d{3}$"}, "Required when mnc is present."),
        _query("mnc", {"type": "string", "pattern": r"^(\d{0,3}|null)$"}, "An MNC, or 'null' for the country default rows."),
        _query("country", {"type": "string"}, "Part of the country name (case-insensitive)."),
        _query("country_id", {"type": "integer", "minimum": 1, "maximum": countries},
               "1-based position of the country in name order."),
    ]}


_SENDING_PARAMETERS = {"parameters": [
    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}, "description": "The ID of the sending."},
]}


def _allowed_methods(app: FastAPI, path: str) -> str:
    """Every method some route serves at ``path`` (Starlette's Allow names only the first route's)."""
    methods = {m for route in app.routes if isinstance(route, APIRoute) and route.path_regex.match(path)
               for m in route.methods}
    if "GET" in methods:
        methods.add("HEAD")
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    return ", ".join(m for m in order if m in methods)


def _timestamp(epoch: int) -> str:
    return utc(epoch).strftime(spec.TIMESTAMP_FORMAT)


def _scheduled(epoch: int) -> str:
    return utc(epoch).strftime(spec.SCHEDULED_AT_FORMAT)


async def _input(request: Request) -> dict[str, Any]:
    """Query parameters overlaid by the JSON body (Laravel's ``input()``); non-JSON counts as empty.

    ``RequestLimits`` has already refused bodies too large or too deep to read.
    """
    data: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    if raw.strip():
        try:
            body = load_json(raw)
        except ValueError:
            body = None
        if isinstance(body, dict):
            data.update(body)
    return data


def create_app(state: SandboxState, admin_token: str | None = None) -> ServerDate:
    """The ASGI app of one sandbox: FastAPI behind the request limits, behind fault injection,
    every answer dated by the sandbox clock (serve it with uvicorn's ``date_header=False``).

    ``admin_token`` None: no test controls at all (``/__sandbox__/`` is an unknown route);
    else the controls are served and each call must carry ``Authorization: Bearer <it>``.
    """
    app = FastAPI(
        title="SMSgic API (sandbox)",
        version="1.0",
        description="A local server that answers like https://api.smsgic.com, as its documentation describes.",
    )
    app.state.sandbox = state
    app.state.admin_token = admin_token
    secured = [Security(bearer)]

    def account_of(request: Request) -> int:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        account = state.store.account_id(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if account is None:
            raise ApiError(401, spec.MSG_UNAUTHENTICATED)
        return account

    async def authed(request: Request) -> int:
        return await run_in_threadpool(account_of, request)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> WireJSON:
        return error(exc.status, exc.message, exc.errors, exc.headers)

    @app.exception_handler(Invalid)
    async def _invalid(request: Request, exc: Invalid) -> WireJSON:
        return error(422, exc.message, exc.errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> WireJSON:
        path = request.url.path.strip("/")
        if exc.status_code == 404:
            return error(404, spec.MSG_ROUTE_NOT_FOUND.format(path=path))
        if exc.status_code == 405:
            allowed = _allowed_methods(app, request.url.path)
            message = spec.MSG_METHOD_NOT_ALLOWED.format(method=request.method, path=path, allowed=allowed)
            return error(405, message, headers={"Allow": allowed})
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        return Response(status_code=499)  # nobody is listening; nginx's "client closed request"

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> WireJSON:
        # Starlette re-raises after this answer, so uvicorn still logs the traceback.
        return error(500, spec.MSG_SERVER_ERROR)

    @app.get(spec.STATUS, summary="Get SMS API status.", responses={200: {"content": {"application/json": {"example": spec.STATUS_OK}}}})
    async def status() -> WireJSON:
        return WireJSON(spec.STATUS_OK)

    @app.get(spec.BALANCE, summary="Get account balance.", dependencies=secured,
             responses=_responses(schemas.Balance, 401))
    async def balance(request: Request) -> WireJSON:
        account = await authed(request)
        units = await run_in_threadpool(state.store.balance_units, account)
        return WireJSON({"balance": balance_text(units), "sign": CURRENCY_SIGN, "code": CURRENCY_CODE})

    @app.get(spec.SENDERS, summary="Get account senders.", dependencies=secured,
             responses=_responses(schemas.Senders, 401))
    async def senders(request: Request) -> WireJSON:
        account = await authed(request)
        rows = await run_in_threadpool(state.store.senders, account)
        return WireJSON({"senders": [{"id": i, "sender": name} for i, name in rows]})

    @app.get(spec.RATES, summary="Get account rates with currency.", dependencies=secured,
             description="Filters come from the query string or a JSON body.",
             responses=_responses(schemas.Rates, 401, 422), openapi_extra=_rates_parameters(len(state.card.countries)))
    async def rates(request: Request) -> WireJSON:
        await authed(request)
        card = state.card_now()  # the card in force now (the rates control replaces it whole)
        filters = rate_filters(await _input(request), card.country_ids)
        rows = card.filter(filters.mcc, filters.mnc, filters.country, filters.country_id)
        return WireJSON({"rates": [{"mcc": r.mcc, "mnc": r.mnc, "country": r.country, "rate": r.rate} for r in rows]})

    @app.post(spec.CALCULATE, summary="Calculate SMS messaging.", dependencies=secured,
              description=f"At most {spec.CALCULATE_PER_MINUTE} requests per minute per account (configurable).",
              responses=_responses(schemas.CalculateResponse, 401, 422, 429), openapi_extra=_body_schema(schemas.CalculateRequest))
    async def calculate_sending(request: Request) -> WireJSON:
        account = await authed(request)
        verdict = state.throttle.hit(account)
        if not verdict.allowed:
            raise ApiError(429, spec.MSG_TOO_MANY_ATTEMPTS, headers=verdict.headers())
        try:
            message, recipients = calculate_input(await _input(request))
        except Invalid as exc:
            raise ApiError(422, exc.message, exc.errors, verdict.headers()) from None
        quote = await run_in_threadpool(calculate, state.card_now(), message, recipients)
        return WireJSON(quote.body, headers=verdict.headers())

    @app.get(spec.SENDINGS, summary="Get your account SMS messages.", dependencies=secured,
             responses=_responses(schemas.Sendings, 401))
    async def list_sendings(request: Request) -> WireJSON:
        account = await authed(request)
        rows = await run_in_threadpool(state.store.sendings, account)
        now = int(state.clock.now().timestamp())
        out = []
        for row in rows:
            current = status_at(now, sending_id=row.id, created_at=row.created_at, scheduled_at=row.scheduled_at,
                                recipients=row.recipients, seed=state.seed)
            out.append({"id": row.id, "text": row.text, "created_at": _timestamp(row.created_at),
                        "scheduled_at": _scheduled(row.scheduled_at), "status": current.status,
                        "total_sms": row.total_sms})
        return WireJSON({"sendings": out})

    @app.post(spec.SENDINGS, summary="Start SMS messaging.", dependencies=secured,
              description="Your account must have balance enough; the total is debited at once.",
              responses=_responses(schemas.SendingCreated, 401, 422), openapi_extra=_body_schema(schemas.SendingRequest))
    async def create_sending(request: Request) -> WireJSON:
        account = await authed(request)
        body = await _input(request)
        own = await run_in_threadpool(state.store.senders, account)
        wanted = sending_input(body, [name for _, name in own])
        # Priced on the card in force at this moment: a rate changed since the client's
        # calculate is what this send costs (as on a real price change).
        quote = await run_in_threadpool(calculate, state.card_now(), wanted.message, wanted.recipients)
        created = int(state.clock.now().timestamp())
        scheduled = int(wanted.scheduled_at.timestamp()) if wanted.scheduled_at else created
        try:
            sending_id = await run_in_threadpool(
                lambda: state.store.create_sending(
                    account, text=wanted.message, sender=wanted.sender, type=wanted.type,
                    recipients=len(wanted.recipients), total_sms=quote.sms_count, cost_units=quote.total_units,
                    created_at=created, scheduled_at=scheduled))
        except InsufficientBalance as exc:
            text = spec.MSG_INSUFFICIENT_BALANCE.format(
                total=number(from_units(quote.total_units)), code=CURRENCY_CODE, balance=balance_text(exc.balance_units))
            raise ApiError(422, text, {"balance": [text]}) from None
        return WireJSON({"message": spec.MSG_SENDING_CREATED, "sending_id": sending_id})

    @app.get(spec.SENDING, summary="Get your account SMS messaging status.", dependencies=secured,
             responses=_responses(schemas.SendingOut, 401, 404), openapi_extra=_SENDING_PARAMETERS)
    async def get_sending(request: Request) -> WireJSON:
        account = await authed(request)
        raw_id = request.path_params["id"]
        row = None
        if _SENDING_ID_RE.fullmatch(raw_id):
            row = await run_in_threadpool(state.store.sending, account, int(raw_id))
        if row is None:
            raise ApiError(404, spec.MSG_NOT_FOUND.format(id=raw_id))
        now = int(state.clock.now().timestamp())
        current = status_at(now, sending_id=row.id, created_at=row.created_at, scheduled_at=row.scheduled_at,
                            recipients=row.recipients, seed=state.seed)
        return WireJSON({"sending": {"id": row.id, "status": current.status, "updated_at": _timestamp(current.updated_at),
                                     "scheduled_at": _scheduled(row.scheduled_at)}})

    if admin_token is not None:
        app.include_router(admin_router)
    # Faults play the network in front of the server, so they come first (and can drop a
    # connection before the limits read a byte); the limits guard every route behind them.
    # Outermost, the Date header: whatever answers (a fault, a limit, a route) carries the
    # sandbox clock.  ``state.clock`` is read per answer (it is moved, never replaced, but so
    # nothing stale can stick).
    return ServerDate(FaultMiddleware(RequestLimits(app), state.faults, routes=app.routes),
                      lambda: state.clock.now())
