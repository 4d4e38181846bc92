"""An HTTP answer (or its absence) -> the decoded JSON or the ``SMSgicError`` it means:
401, 404, 422 with ``field_errors``, 429 with Retry-After, 5xx, and transport failures (a POST
/sendings that may have reached the server has an *unknown* outcome, never a plain failure).

Every error made here carries ``safe_to_repeat`` -- whether the request may be sent again, from
``policy.SAFE_TO_REPEAT`` (the ``repeatable`` argument) -- so ``error.should_retry`` answers
for retries and for callers alike."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Mapping

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from ..core.errors import (
    APIConnectionError,
    AuthenticationError,
    InsufficientBalanceError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SMSgicError,
    UnknownOutcomeError,
    ValidationError,
)


def retry_after_of(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP-date; the docs' server sends seconds


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def transport_error(exc: requests.RequestException, method: str, path: str, repeatable: bool) -> SMSgicError:
    """Map a requests exception.  A request that is not safe to repeat (POST /sendings) and may
    have reached the server has an unknown outcome, not a plain connection error."""
    kw = {"safe_to_repeat": repeatable}
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        if not repeatable:
            return UnknownOutcomeError(
                f"{method} {path}: the answer was cut short (truncated body); the request may have taken effect", **kw)
        return ServerError(f"{method} {path}: the answer was cut short (truncated body): {exc}", **kw)
    if not repeatable and not _never_sent(exc):
        return UnknownOutcomeError(
            f"{method} {path} was sent but no answer came back ({type(exc).__name__}); it may have "
            "taken effect - reconcile before trying again", **kw)
    return APIConnectionError(f"{method} {path}: no response from the server ({type(exc).__name__}: {exc})", **kw)


def decode(response: requests.Response, method: str, path: str, repeatable: bool) -> Any:
    """The JSON body of a 2xx answer (floats as Decimal), or the matching SMSgicError."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            snippet = response.content[:80].decode("utf-8", "replace")
            text = (f"{method} {path} answered HTTP {status} with a body that is not valid JSON "
                    f"(garbage or truncated, {len(response.content)} bytes): {snippet!r}")
            kw = {"http_status": status, "body": response.text, "headers": response.headers,
                  "safe_to_repeat": repeatable}
            if not repeatable:
                raise UnknownOutcomeError(text + "; the request may have taken effect", **kw) from None
            raise ServerError(text, **kw) from None
    raise error_for(response, method, path, repeatable)


_FIELD_IN_MESSAGE = re.compile(r"Please send `(\w+)` post parameter")


def field_errors_of(body: Any) -> dict[str, list[str]]:
    """The 422 ``errors`` object with the docs' quirk undone.

    POST /sendings files "recipients not sent" and "sender not sent" under the key ``message``;
    such texts are re-filed under the field they name, so callers see ``recipients``/``sender``.
    """
    raw = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, list[str]] = {}
    for key, texts in raw.items():
        for text in texts if isinstance(texts, list) else [texts]:
            field = str(key)
            named = _FIELD_IN_MESSAGE.match(str(text))
            if field == "message" and named:
                field = named.group(1)
            out.setdefault(field, []).append(str(text))
    return out


def error_for(response: requests.Response, method: str, path: str, repeatable: bool = True) -> SMSgicError:
    status = response.status_code
    try:
        body: Any = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        body = response.text
    message = body.get("message") if isinstance(body, Mapping) else None
    text = str(message) if message else f"HTTP {status} from {method} {path}: {str(body)[:200]!r}"
    kw = {"http_status": status, "body": body, "headers": response.headers, "safe_to_repeat": repeatable}
    if status == 401:
        return AuthenticationError(text, **kw)
    if status == 404:
        return NotFoundError(text, **kw)
    if status == 429:
        return RateLimitError(text, retry_after=retry_after_of(response), **kw)
    if status in (402, 422):
        fields = field_errors_of(body)
        if status == 402 or "balance" in fields or str(message or "").startswith("Insufficient balance"):
            return InsufficientBalanceError(text, field_errors=fields, **kw)
        return ValidationError(text, field_errors=fields, **kw)
    if status >= 500:
        if not repeatable and status in (502, 504):
            # a gateway lost the answer: the server behind it may have acted
            return UnknownOutcomeError(f"{text} (gateway error: the request may have taken effect)", **kw)
        return ServerError(text, **kw)
    return SMSgicError(text, **kw)
