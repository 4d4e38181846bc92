"""Per endpoint: how long an answer may be reused, and whether a request may be sent again
when an attempt's outcome is unknown (the one table retries and error mapping read)."""
from __future__ import annotations

import re
from urllib.parse import urlparse

import requests
from requests_cache import DO_NOT_CACHE

from ..core import spec
from ..core.config import Settings


def endpoint_of(method: str, url: str) -> tuple[str, str]:
    """(METHOD, documented path) for a URL, e.g. ("GET", "/sendings/{id}")."""
    path = urlparse(url).path.rstrip("/")
    if path.endswith(spec.CALCULATE):
        return method, spec.CALCULATE
    for known in (spec.STATUS, spec.BALANCE, spec.SENDERS, spec.RATES, spec.SENDINGS):
        if path.endswith(known):
            return method, known
    if re.search(r"/sendings/[^/]+$", path):
        return method, spec.SENDING
    return method, path


# Whether a request may be sent again when an attempt's outcome is unknown -- the one table
# retries and error mapping read.  Reads and pricing change nothing on the server; creating a
# sending spends money and is not idempotent.  An endpoint missing here is treated as unsafe.
SAFE_TO_REPEAT: dict[tuple[str, str], bool] = {
    ("GET", spec.STATUS): True,
    ("GET", spec.BALANCE): True,
    ("GET", spec.SENDERS): True,
    ("GET", spec.RATES): True,
    ("GET", spec.SENDINGS): True,
    ("GET", spec.SENDING): True,
    ("POST", spec.CALCULATE): True,
    ("POST", spec.SENDINGS): False,
}


def safe_to_repeat(method: str, path: str) -> bool:
    """``SAFE_TO_REPEAT`` for a method and URL or path."""
    return SAFE_TO_REPEAT.get(endpoint_of(method.upper(), path), False)


def expire_after_for(method: str, path: str, settings: Settings) -> int:
    """Seconds an answer may be reused, or ``DO_NOT_CACHE``.

    Only GET /rates, GET /senders and POST /sendings/calculate are cached; balances, statuses
    and sendings change under our feet, and POST /sendings must reach the server every time.
    """
    policy = {
        ("GET", spec.RATES): settings.rates_expire,
        ("GET", spec.SENDERS): settings.senders_expire,
        ("POST", spec.CALCULATE): settings.calculate_expire,
    }
    return policy.get(endpoint_of(method.upper(), path), DO_NOT_CACHE)


def cacheable(response: requests.Response) -> bool:
    """filter_fn: a second lock on the door - whatever the per-request expiry says, only the
    three cacheable endpoints are ever written (POST is an allowable method only for calculate)."""
    request = response.request
    return endpoint_of((request.method or "").upper(), request.url or "") in {
        ("GET", spec.RATES), ("GET", spec.SENDERS), ("POST", spec.CALCULATE)}
