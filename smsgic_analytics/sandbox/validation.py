"""Input rules of each endpoint, answering as Laravel's validator does.

Every rule names its field; all failures of a request are collected, and the response is
``{"message": <the error, or "The given data was invalid." when there are several>,
"errors": {field: [texts]}}`` -- the documented calculate examples.  "Missing" follows
Laravel's ``required`` after ConvertEmptyStringsToNull: absent, null, "" or [].
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from ..core import spec
from .limits import MAX_MESSAGE_CHARS, JSONTooDeep, load_json, too_deep_message

_INTEGER_RE = re.compile(r"-?\d+", re.ASCII)


class Invalid(Exception):
    """A 422: ``errors`` maps each field to its messages, in rule order."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        texts = [text for messages in errors.values() for text in messages]
        self.message = texts[0] if len(texts) == 1 else spec.MSG_INVALID_DATA
        super().__init__(self.message)


def _missing(value: Any) -> bool:
    return spec.is_blank(value)


def _text(value: Any) -> str | None:
    """A scalar as the string PHP would compare against a regex (numbers too, not bools)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        return str(value)
    return None


def _message_errors(message: Any) -> list[str]:
    """The type and length rules of a present ``message`` (Laravel's ``string|max:N``)."""
    if not isinstance(message, str):
        return [spec.MSG_MESSAGE_STRING]
    if len(message) > MAX_MESSAGE_CHARS:
        return [spec.MSG_MESSAGE_TOO_LONG.format(max=MAX_MESSAGE_CHARS)]
    return []


def recipient_errors(recipients: list[Any]) -> dict[str, list[str]]:
    """``recipients.N`` -> the format error for every element failing ``^\\d{8,20}$``."""
    errors: dict[str, list[str]] = {}
    full = spec.RECIPIENT_RE.fullmatch
    for index, value in enumerate(recipients):
        text = value if type(value) is str else _text(value)
        if text is None or not full(text):
            errors[f"recipients.{index}"] = [spec.MSG_INVALID_RECIPIENT.format(index=index)]
    return errors


def _as_strings(recipients: list[Any]) -> list[str]:
    return [value if type(value) is str else str(value) for value in recipients]


@dataclass(frozen=True)
class RateFilters:
    mcc: str | None = None
    mnc: str | None = None  # "null" selects the country default rows
    country: str | None = None
    country_id: int | None = None


def rate_filters(params: Mapping[str, Any], known_country_ids: Iterable[int]) -> RateFilters:
    """Validate GET /rates filters (query string or JSON body)."""
    errors: dict[str, list[str]] = {}
    mcc = None if _missing(params.get("mcc")) else _text(params.get("mcc"))
    mnc = None if _missing(params.get("mnc")) else _text(params.get("mnc"))
    if not _missing(params.get("mcc")) and (mcc is None or not spec.MCC_RE.fullmatch(mcc)):
        errors["mcc"] = [spec.MSG_MCC_FORMAT]
    elif _missing(params.get("mcc")) and not _missing(params.get("mnc")):
        errors["mcc"] = [spec.MSG_MCC_REQUIRED]
    if not _missing(params.get("mnc")) and (mnc is None or not spec.MNC_RE.fullmatch(mnc)):
        errors["mnc"] = [spec.MSG_MNC_FORMAT]
    country = params.get("country")
    if not _missing(country) and not isinstance(country, str):
        errors["country"] = [spec.MSG_COUNTRY_STRING]
    raw_id = params.get("country_id")
    country_id: int | None = None
    if not _missing(raw_id):
        text = _text(raw_id)
        if text is None or not _INTEGER_RE.fullmatch(text):
            errors["country_id"] = [spec.MSG_COUNTRY_ID_INTEGER]
        elif len(text) > 18 or int(text) not in set(known_country_ids):
            # (the length first: int() of more than 4,300 digits raises, which answered 500)
            errors["country_id"] = [spec.MSG_COUNTRY_ID_INVALID]
        else:
            country_id = int(text)
    if errors:
        raise Invalid(errors)
    return RateFilters(mcc=mcc, mnc=mnc, country=None if _missing(country) else country, country_id=country_id)


def calculate_input(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    """Validate POST /sendings/calculate: (message, recipients as digit strings)."""
    errors: dict[str, list[str]] = {}
    message, recipients = body.get("message"), body.get("recipients")
    wrong_message = [spec.MSG_MISSING_MESSAGE] if _missing(message) else _message_errors(message)
    if wrong_message:
        errors["message"] = wrong_message
    if _missing(recipients):
        errors["recipients"] = [spec.MSG_MISSING_RECIPIENTS]
    elif not isinstance(recipients, list):
        errors["recipients"] = [spec.MSG_RECIPIENTS_ARRAY]
    else:
        errors.update(recipient_errors(recipients))
    if errors:
        raise Invalid(errors)
    return message, _as_strings(recipients)


@dataclass(frozen=True)
class SendingInput:
    message: str
    recipients: list[str]
    sender: str
    scheduled_at: datetime | None
    type: str


_TOO_DEEP = object()  # recipients given as a JSON string nested past the depth limit


def _decode_recipients(value: Any) -> Any:
    """The documented example sends recipients as a JSON-encoded string of an array."""
    if isinstance(value, str):
        try:
            return load_json(value)
        except JSONTooDeep:
            return _TOO_DEEP
        except ValueError:
            return value
    return value


def parse_scheduled_at(value: Any) -> datetime | None:
    """``Y-m-d H:i:s`` exactly (naive, taken as UTC), or None when it does not conform."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.strptime(value, spec.SCHEDULED_AT_FORMAT)
    except ValueError:
        return None
    # PHP's date_format rule also demands the value round-trips (no "2024-1-5 9:0:0").
    if parsed.strftime(spec.SCHEDULED_AT_FORMAT) != value:
        return None
    return parsed.replace(tzinfo=timezone.utc)


def sending_input(body: Mapping[str, Any], senders: Iterable[str]) -> SendingInput:
    """Validate POST /sendings.

    The documentation keys the three "required" errors under ``message`` whatever the
    field; that quirk is kept.  Other failures are keyed by their field.
    """
    required: list[str] = []
    errors: dict[str, list[str]] = {}
    message = body.get("message")
    recipients = _decode_recipients(body.get("recipients"))
    sender = body.get("sender")
    if _missing(message):
        required.append(spec.MSG_MISSING_MESSAGE)
    if _missing(recipients):
        required.append(spec.MSG_MISSING_RECIPIENTS)
    if _missing(sender):
        required.append(spec.MSG_MISSING_SENDER)
    if required:
        errors["message"] = required
    wrong_message = [] if _missing(message) else _message_errors(message)
    if wrong_message:
        errors.setdefault("message", []).extend(wrong_message)
    if recipients is _TOO_DEEP:
        errors["recipients"] = [too_deep_message("recipients")]
    elif not _missing(recipients):
        if isinstance(recipients, list):
            errors.update(recipient_errors(recipients))
        else:
            errors["recipients"] = [spec.MSG_RECIPIENTS_ARRAY]
    allowed = set(senders) | set(spec.DEFAULT_SENDERS)
    if not _missing(sender) and (not isinstance(sender, str) or sender not in allowed):
        errors["sender"] = [spec.MSG_INVALID_SENDER]
    scheduled_raw = body.get("scheduled_at")
    scheduled_at = None if _missing(scheduled_raw) else parse_scheduled_at(scheduled_raw)
    if not _missing(scheduled_raw) and scheduled_at is None:
        errors["scheduled_at"] = [spec.MSG_INVALID_SCHEDULED_AT]
    send_type = body.get("type")
    if _missing(send_type):
        send_type = spec.SEND_TYPES[0]
    elif send_type not in spec.SEND_TYPES:
        errors["type"] = [spec.MSG_INVALID_TYPE]
    if errors:
        raise Invalid(errors)
    return SendingInput(message, _as_strings(recipients), sender, scheduled_at, send_type)
