"""The error hierarchy: what the package raises for its caller is an ``SMSgicError``.

Modelled on stripe-python: catch ``SMSgicError`` for everything, or a subclass for one
cause.  An API error carries the HTTP status and the parsed body; ``error.should_retry`` says
whether sending the same request again is both safe and worth it (``safe_to_repeat`` comes from
the one table of what may be repeated, ``api/policy.py``'s ``SAFE_TO_REPEAT``, set where an
answer becomes an error).  Texts never contain the token: they are built from the response
body only.

    SMSgicError
    ├── AuthenticationError (401) ── MissingTokenError
    ├── ValidationError (422, or input refused before sending)
    │   ├── InvalidRecipientsError, InsufficientBalanceError
    │   └── MoneyError (core.money), TemplateError (text.templates), AudienceError
    │       (audience.read), RemoteControlsRefused (sandbox.server): ValueErrors too
    ├── NotFoundError (404), RateLimitError (429), ServerError (5xx)
    ├── APIConnectionError ── UnknownOutcomeError
    ├── DuplicateSendError, SendLockTimeoutError, BudgetExceededError
    ├── RateHistoryError (pricing.history: a snapshot file that cannot be read)
    ├── ConfirmationRequiredError ── PriceChangedError, PlanChangedError
    ├── LedgerError (sending.ledger) ── SendNotFoundError; InvalidTransitionError (sending.state)
    └── SandboxControlError (sandbox.control): a RuntimeError too

Exceptions that never leave the package (the sandbox's internal ones, turned into HTTP
answers; the numbering tables' build errors) are not part of the hierarchy.
``tests/unit/test_architecture.py::test_every_error_the_package_raises_is_an_smsgic_error``
checks all of this.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping


class SMSgicError(Exception):
    """Base class: ``message`` (the API's own text), ``http_status`` and ``body``.

    ``safe_to_repeat``: whether the request that failed may be sent again without a risk of
    acting twice (True for reads and pricing, False for POST /sendings, None when no request
    was involved).  ``should_retry`` (stripe-python's name): safe to repeat AND a failure that
    a later attempt may not meet (a lost connection, a 5xx, a 429).
    """

    transient = False  # a later attempt of the same request may succeed

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        safe_to_repeat: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.body = body
        self.headers = dict(headers or {})
        self.safe_to_repeat = safe_to_repeat

    @property
    def should_retry(self) -> bool:
        """True when the same request may be sent again (``safe_to_repeat``) and might then succeed."""
        return bool(self.safe_to_repeat) and self.transient

    def __str__(self) -> str:
        prefix = f"[{self.http_status}] " if self.http_status else ""
        return prefix + self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, http_status={self.http_status!r})"


class AuthenticationError(SMSgicError):
    """401: missing or unknown token."""


class MissingTokenError(AuthenticationError):
    """No token was given or found in SMSGIC_TOKEN, and the endpoint needs one."""


class ValidationError(SMSgicError):
    """422, or input the client refuses before sending.

    ``field_errors`` maps a field (``"recipients"``, ``"recipients.3"``, ``"message"``...)
    to its list of messages, exactly as the API's ``errors`` object.
    """

    def __init__(self, message: str, *, field_errors: Mapping[str, list[str]] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.field_errors: dict[str, list[str]] = {k: list(v) for k, v in (field_errors or {}).items()}

    def __str__(self) -> str:
        text = super().__str__()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in self.field_errors.items() if v != [self.message])
        return f"{text} ({details})" if details else text


class InvalidRecipientsError(ValidationError):
    """Some recipients fail ``^\\d{8,20}$`` after normalisation; ``.invalid`` lists them with reasons."""

    def __init__(self, message: str, *, invalid: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.invalid = invalid


class InsufficientBalanceError(ValidationError):
    """The balance does not cover the sending's total."""


class NotFoundError(SMSgicError):
    """404: unknown sending id (or another account's)."""


class RateLimitError(SMSgicError):
    """429: ``retry_after`` is the server's Retry-After in seconds (None if absent)."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(SMSgicError):
    """5xx, or a response body that is not the documented JSON."""

    transient = True


class APIConnectionError(SMSgicError):
    """The request did not get a response: connection refused, dropped or timed out."""

    transient = True


class UnknownOutcomeError(APIConnectionError):
    """A POST /sendings left but its answer was lost: the sending may exist.

    It is recorded in the ledger as ``unknown`` and must be reconciled, never re-sent blindly.
    """


class DuplicateSendError(SMSgicError):
    """The same campaign was sent within the duplicate window (pass ``allow_duplicate=True``).

    ``previous`` is the earlier send: its ledger row (``id``, ``created_at``, ``state``,
    ``sending_id``...), or for a sending only the server lists, ``id`` None with its
    ``sending_id`` and ``created_at``.
    """


class ConfirmationRequiredError(SMSgicError):
    """A send was attempted without ``confirm=True`` -- or what was confirmed no longer holds
    (``PlanChangedError``, ``PriceChangedError``).  Nothing was sent."""


class PlanChangedError(ConfirmationRequiredError):
    """The campaign's message, recipients, sender, type or schedule changed after ``preview()``:
    the confirmation covered the frozen plan, not this one.  ``changed`` maps each changed field
    to what changed, in words.  Preview again, then confirm."""

    def __init__(self, message: str, *, changed: Mapping[str, str] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.changed: dict[str, str] = dict(changed or {})


class PriceChangedError(ConfirmationRequiredError):
    """The fresh price asked just before sending differs from the total that was confirmed:
    ``confirmed`` and ``current`` (Decimal, in ``currency``).  Nothing was sent; preview and
    confirm the new total."""

    def __init__(self, message: str, *, confirmed: Decimal, current: Decimal, currency: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.confirmed = confirmed
        self.current = current
        self.currency = currency


class SendLockTimeoutError(SMSgicError):
    """Another process on this machine held the account's send lock for longer than
    ``Settings.send_lock_timeout``; ``holder`` says what held it, when known (pid, since,
    what).  Nothing was sent."""

    def __init__(self, message: str, *, holder: Mapping[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.holder: dict[str, Any] | None = None if holder is None else dict(holder)


class BudgetExceededError(SMSgicError):
    """A send whose total would take its month over the account's budget (or a campaign over its
    cap); refused before any request left.  ``budget``, ``spent`` (sendings already out this
    month), ``scheduled`` (committed: scheduled, pending or unknown), ``this_send`` (Decimal),
    ``currency``, ``month`` ("YYYY-MM") and ``limit`` ("month" or "campaign")."""

    def __init__(self, message: str, *, budget: Decimal, spent: Decimal, scheduled: Decimal, this_send: Decimal,
                 currency: str | None, month: str, limit: str = "month", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.budget, self.spent, self.scheduled, self.this_send = budget, spent, scheduled, this_send
        self.currency, self.month, self.limit = currency, month, limit


class RateHistoryError(SMSgicError):
    """A rate-card snapshot file that cannot be read (``path``); the rest of the history is not
    affected (``pricing.history`` reads every other file)."""

    def __init__(self, message: str, *, path: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.path = path
