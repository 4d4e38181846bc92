"""JSON on the wire with exact money: Decimals are written as JSON numbers digit for digit.

The standard ``json`` module can only write floats, and a float cannot promise that
``0.4397`` leaves the server as ``0.4397``.  ``dumps`` writes a ``Decimal`` as its own digits
(trailing zeros dropped, like the PHP API does: ``0.45``, ``0``) and a ``Raw`` fragment as is,
so big payloads can be assembled from pre-rendered pieces.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Mapping

from starlette.responses import Response

encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


class Raw(str):
    """A JSON fragment that is already rendered and goes out verbatim."""


def number(value: Decimal) -> str:
    """Render a Decimal as a JSON number: ``Decimal("0.4500")`` -> ``0.45``, zero -> ``0``."""
    if not value.is_finite():
        raise ValueError(f"money must be finite, got {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def dumps(obj: Any) -> str:
    """Serialise dicts, lists, str, int, bool, None, float, Decimal and Raw to compact JSON.

    >>> dumps({"rate": Decimal("0.4397"), "mnc": None})
    '{"rate":0.4397,"mnc":null}'
    """
    parts: list[str] = []
    _write(obj, parts.append)
    return "".join(parts)


def _write(obj: Any, out: Any) -> None:
    if isinstance(obj, Raw):
        out(obj)
    elif isinstance(obj, str):
        out(encode_str(obj))
    elif obj is None:
        out("null")
    elif obj is True:
        out("true")
    elif obj is False:
        out("false")
    elif isinstance(obj, Decimal):
        out(number(obj))
    elif isinstance(obj, (int, float)):
        out(json.dumps(obj))
    elif isinstance(obj, Mapping):
        out("{")
        for i, (key, value) in enumerate(obj.items()):
            if i:
                out(",")
            out(encode_str(str(key)))
            out(":")
            _write(value, out)
        out("}")
    elif isinstance(obj, (list, tuple)):
        out("[")
        for i, value in enumerate(obj):
            if i:
                out(",")
            _write(value, out)
        out("]")
    else:
        raise TypeError(f"cannot write {type(obj).__name__} as JSON")


class WireJSON(Response):
    """A JSON response rendered by ``dumps`` (exact Decimals, UTF-8, no ASCII escaping)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


def error(status: int, message: str, errors: Mapping[str, list[str]] | None = None,
          headers: Mapping[str, str] | None = None) -> WireJSON:
    """A Laravel-shaped error: ``{"message": ...}`` plus ``"errors"`` for validation failures."""
    body: dict[str, Any] = {"message": message}
    if errors is not None:
        body["errors"] = dict(errors)
    return WireJSON(body, status_code=status, headers=dict(headers or {}))
