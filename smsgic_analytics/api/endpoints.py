"""``Api``: one call per SMSgic endpoint, parsed into records and frames, with no side effects.

Nothing here writes a ledger or remembers a quote: it turns an HTTP answer into a typed
value (or raises the matching ``SMSgicError``).  The ``Client`` facade, the exact pricer and
the campaign build on it.

>>> api = Api(SMSgicSession(Settings.resolve(token="demo-token", base_url=url)))   # doctest: +SKIP
>>> api.balance()                                                                   # doctest: +SKIP
Balance(amount=Decimal('450.000'), sign='£', currency='GBP')
"""
from __future__ import annotations

import numbers
import threading
from typing import Any, Callable, Mapping, Sequence, TypeVar

import pandas as pd

from ..core import spec
from ..core.errors import ServerError, SMSgicError, UnknownOutcomeError, ValidationError
from ..core.money import parse_money
from . import frames
from .frames import Balance
from .http import SMSgicSession

T = TypeVar("T")


class Api:
    """The endpoints of one account, over one cached, rate-limited, retrying session."""

    def __init__(self, session: SMSgicSession) -> None:
        self.http = session
        self.settings = session.smsgic
        self._currency: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Api(base_url={self.settings.base_url!r}, account={self.settings.account!r})"

    def status(self) -> bool:
        """True when GET /status answers ``["OK"]``; False when it does not or cannot answer."""
        try:
            return self.http.call("GET", spec.STATUS, auth=False, retry=False) == spec.STATUS_OK
        except SMSgicError:
            return False

    def balance(self) -> Balance:
        """GET /balance (never cached)."""
        data = self.http.call("GET", spec.BALANCE)
        try:
            balance = Balance(amount=parse_money(data["balance"], "GET /balance: balance", error=ServerError),
                              sign=str(data["sign"]), currency=str(data["code"]))
        except (KeyError, TypeError) as exc:
            raise ServerError(f"GET /balance: unexpected answer ({exc!r})", http_status=200, body=data) from None
        with self._lock:
            self._currency = balance.currency
        return balance

    def currency(self, *, fresh: bool = False) -> str:
        """The account's currency code: /balance's ``code``, asked once (again with ``fresh``)."""
        if fresh or self._currency is None:
            return self.balance().currency
        return self._currency

    def senders(self, *, refresh: bool = False, cache: bool = True) -> pd.DataFrame:
        """GET /senders -> DataFrame[id, sender]."""
        data = self.http.call("GET", spec.SENDERS, refresh=refresh, cache=cache)
        return _shape(frames.senders_frame, data, "senders", spec.SENDERS)

    def rates(self, mcc: str | None = None, mnc: str | None = None, country: str | None = None,
              country_id: int | None = None, *, refresh: bool = False, cache: bool = True) -> pd.DataFrame:
        """GET /rates -> DataFrame[mcc, mnc, is_default, country, rate (Decimal), currency]."""
        if mnc is not None and not isinstance(mnc, str):  # 2 would ask for MNC "2", never "02": no rows
            raise ValidationError(f"mnc is text such as '02' (a number loses its leading zeros), not {mnc!r}",
                                  field_errors={"mnc": ["must be text, e.g. '02'"]})
        params = {k: v for k, v in {"mcc": mcc, "mnc": mnc, "country": country, "country_id": country_id}.items()
                  if v is not None}
        data = self.http.call("GET", spec.RATES, params=params or None, refresh=refresh, cache=cache)
        currency = self.currency(fresh=not cache)
        return _shape(lambda records: frames.rates_frame(records, currency), data, "rates", spec.RATES)

    def calculate(self, message: str, numbers: Sequence[str], *, refresh: bool = False, cache: bool = True,
                  only_if_cached: bool = False) -> Any:
        """POST /sendings/calculate for one chunk: the answer's JSON (None when ``only_if_cached``
        and it is not cached).  ``pricing.exact`` checks and merges the answers."""
        return self.http.call("POST", spec.CALCULATE, json_body={"message": message, "recipients": list(numbers)},
                              refresh=refresh, cache=cache, only_if_cached=only_if_cached)

    def sendings(self) -> pd.DataFrame:
        """GET /sendings -> DataFrame[id, text, created_at, scheduled_at, status, total_sms] (never cached)."""
        data = self.http.call("GET", spec.SENDINGS)
        return _shape(frames.sendings_frame, data, "sendings", spec.SENDINGS)

    def sending(self, id: int) -> dict[str, Any]:
        """GET /sendings/{id} -> {id, status, updated_at, scheduled_at}; an unknown id is ``NotFoundError``."""
        if isinstance(id, str) and id.isdigit():
            id = int(id)
        if isinstance(id, bool) or not isinstance(id, numbers.Integral):
            raise ValidationError(f"a sending id is an integer, not {id!r}", field_errors={"id": ["must be an integer"]})
        path = spec.SENDING.format(id=int(id))
        data = self.http.call("GET", path)
        record = data.get("sending") if isinstance(data, Mapping) else None
        try:
            return frames.sending_record(record)  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            raise ServerError(f"GET {path}: unexpected answer ({exc})", http_status=200, body=data) from None

    def create_sending(self, payload: Mapping[str, Any]) -> int:
        """POST /sendings exactly once (never cached, never retried) -> ``sending_id``.

        Spends money: only ``Campaign`` calls it, after every check.
        """
        data = self.http.call("POST", spec.SENDINGS, json_body=dict(payload), cache=False)
        sending_id = data.get("sending_id") if isinstance(data, Mapping) else None
        if isinstance(sending_id, bool) or not isinstance(sending_id, int):
            raise UnknownOutcomeError(
                f"POST /sendings answered without a sending_id ({str(data)[:200]!r}); the sending may exist",
                http_status=200, body=data)
        return sending_id


def _shape(build: Callable[[Any], T], data: Any, key: str, path: str) -> T:
    """Build a frame from ``data[key]``; an answer of the wrong shape is a ServerError naming why."""
    records = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(records, list):
        raise ServerError(f"GET {path}: the answer has no {key!r} list", http_status=200, body=data)
    try:
        return build(records)
    except (ValueError, TypeError) as exc:
        raise ServerError(f"GET {path}: unexpected answer ({exc})", http_status=200, body=data) from None
