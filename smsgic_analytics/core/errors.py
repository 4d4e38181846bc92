"""The error hierarchy: what the package raises for its caller is an ``SMSgicError``.

Modelled on stripe-python: catch ``SMSgicError`` for everything, or a subclass for one
cause.  An API error carries the HTTP status and the parsed body; texts never contain the
token (they are built from the response body only).

    SMSgicError
    ├── AuthenticationError (401) ── MissingTokenError
    ├── ValidationError (422, or input refused before sending)
    │   ├── InvalidRecipientsError, InsufficientBalanceError
    │   └── MoneyError (core.money), TemplateError (text.templates), AudienceError
    │       (audience.read), RemoteControlsRefused (sandbox.server): ValueErrors too
    ├── NotFoundError (404), RateLimitError (429), ServerError (5xx)
    ├── APIConnectionError ── UnknownOutcomeError
    ├── DuplicateSendError, ConfirmationRequiredError
    └── SandboxControlError (sandbox.control): a RuntimeError too

Not yet under it: ``LedgerError`` / ``SendNotFoundError`` (sending.ledger) and
``InvalidTransitionError`` (sending.state), in the send path being reworked now.  Exceptions
that never leave the package (the sandbox's internal ones, turned into HTTP answers; the
numbering tables' build errors) are not part of the hierarchy.
``tests/unit/test_architecture.py::test_every_error_the_package_raises_is_an_smsgic_error``
checks all of this.
"""
from __future__ import annotations

from typing import Any, Mapping


class SMSgicError(Exception):
    """Base class: ``message`` (the API's own text), ``http_status`` and ``body``."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.body = body
        self.headers = dict(headers or {})

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

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(SMSgicError):
    """5xx, or a response body that is not the documented JSON."""


class APIConnectionError(SMSgicError):
    """The request did not get a response: connection refused, dropped or timed out."""


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
    """A send was attempted without ``confirm=True``."""
