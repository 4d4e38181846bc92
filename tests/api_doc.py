"""The API's own documentation as test data: its example requests and responses, parsed.

``tests/fixtures/smsgic-api.txt`` is a copy of the documentation the toolkit follows.  The
expected bodies of the sandbox's documented behaviour come from here -- never from the
constants the implementation uses -- so a typo shared by the client and the server cannot make
a test pass.  The examples are JSON with trailing commas (as printed in the docs); they are
read leniently, and ``Decimal`` for numbers.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

DOC = Path(__file__).parent / "fixtures" / "smsgic-api.txt"
_ENDPOINT = re.compile(r"^(GET|POST)https://api\.smsgic\.com(/\S*)$")
_RESPONSE = re.compile(r"^(.+): Response with (\d{3}) code$")
_REQUEST_BODY = re.compile(r"^\s*-d '(.*)'$")


@dataclass(frozen=True)
class Example:
    method: str
    path: str  # as documented, e.g. "/sendings/{id}"
    label: str  # "success", "Auth token invalid", "message not sent", ...
    status: int
    body: Any


def lenient_json(text: str) -> Any:
    """JSON as the docs print it: trailing commas before a closing bracket are allowed."""
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text), parse_float=Decimal)


def _sections() -> list[tuple[str, str, list[str]]]:
    sections: list[tuple[str, str, list[str]]] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        found = _ENDPOINT.match(line.strip())
        if found:
            sections.append((found.group(1), found.group(2), []))
        elif sections:
            sections[-1][2].append(line)
    return sections


def examples() -> list[Example]:
    """Every documented response, in document order."""
    out: list[Example] = []
    for method, path, lines in _sections():
        current: tuple[str, int] | None = None
        body: list[str] = []

        def flush() -> None:
            if current is not None:
                text = "\n".join(line for line in body if line.strip() != "Copy").strip()
                out.append(Example(method, path, current[0], current[1], lenient_json(text)))

        for line in lines:
            found = _RESPONSE.match(line.strip())
            if found:
                flush()
                current, body = (found.group(1), int(found.group(2))), []
            elif current is not None:
                body.append(line)
        flush()
    return out


def example(method: str, path: str, label: str) -> Example:
    """The one documented response with that label."""
    matches = [e for e in examples() if (e.method, e.path, e.label) == (method, path, label)]
    assert len(matches) == 1, (method, path, label, matches)
    return matches[0]


def request_body(method: str, path: str) -> Any:
    """The documented request example's ``-d`` body (JSON), or None."""
    for m, p, lines in _sections():
        if (m, p) == (method, path):
            for line in lines:
                found = _REQUEST_BODY.match(line)
                if found:
                    return lenient_json(found.group(1))
    return None


def message(method: str, path: str, label: str) -> str:
    """The ``message`` text of one documented response."""
    return example(method, path, label).body["message"]


def send_types() -> tuple[str, ...]:
    """POST /sendings' ``type`` options, as the document lists them ("Possible options: a, b.")."""
    for m, p, lines in _sections():
        if (m, p) == ("POST", "/sendings"):
            for line in lines:
                if line.strip().startswith("Possible options:"):
                    return tuple(t.strip(" .") for t in line.split(":", 1)[1].split(","))
    raise AssertionError("POST /sendings lists no type options")


# The documented texts, by what they say.  Tests check the sandbox's (and the client's) messages
# against these, never against ``smsgic_analytics.core.spec``'s copies.
UNAUTHENTICATED = message("GET", "/balance", "Auth token invalid")
MISSING_MESSAGE = message("POST", "/sendings/calculate", "message not sent")
MISSING_RECIPIENTS = message("POST", "/sendings/calculate", "recipients not sent")
MISSING_SENDER = message("POST", "/sendings", "Sender not sent")
INVALID_DATA = message("POST", "/sendings/calculate", "data not sent")  # more than one field refused
SENDING_CREATED = message("POST", "/sendings", "success")
STATUS_OK = example("GET", "/status", "success").body


def not_found(sending_id: object) -> str:
    """The documented 404 text for GET /sendings/301, for another id."""
    documented = message("GET", "/sendings/{id}", "SMS Sending not found")
    assert documented.endswith(" 301"), documented
    return documented[: -len("301")] + str(sending_id)
