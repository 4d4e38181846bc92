"""Schemathesis against the sandbox's /openapi.json: generated requests (valid and invalid)
never get a 5xx, and every 4xx has the documented Laravel shape.

Why not ``@schema.parametrize()``: schemathesis 4.32's pytest plugin reads
``request.node._nodeid``, which pytest 9 no longer has.  The same generation runs here
through schemathesis' Python API (``operation.as_strategy`` + Hypothesis ``@given``),
one test per documented operation and generation mode, bounded to 20 examples each.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from smsgic_analytics import spec

TOKEN = "fuzz-token"
MAX_EXAMPLES = 20
OPERATIONS = [("GET", spec.STATUS), ("GET", spec.BALANCE), ("GET", spec.SENDERS), ("GET", spec.RATES),
              ("POST", spec.CALCULATE), ("GET", spec.SENDINGS), ("POST", spec.SENDINGS), ("GET", spec.SENDING)]


def documented_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schemathesis check: a 4xx is JSON ``{"message": str, ...}``; a 422 also carries
    ``errors``, a dict of lists of strings; a 401 says exactly "Unauthenticated."."""
    status = response.status_code
    if not 400 <= status < 500:
        return None
    where = f"{case.method} {case.formatted_path} -> {status}"
    # schemathesis' Response keeps every header as a list of values
    content_type = " ".join(response.headers.get("content-type", []))
    assert content_type.startswith("application/json"), f"{where}: content-type {content_type!r}"
    body = json.loads(response.content)
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], \
        f"{where}: body {body!r} lacks a message string"
    if status == 401:
        assert body["message"] == spec.MSG_UNAUTHENTICATED, f"{where}: {body!r}"
    if status == 422:
        errors = body.get("errors")
        assert isinstance(errors, dict) and errors, f"{where}: 422 without an errors object: {body!r}"
        for field, texts in errors.items():
            assert isinstance(texts, list) and texts and all(isinstance(t, str) and t for t in texts), \
                f"{where}: errors[{field!r}] = {texts!r} is not a list of messages"
    return True


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A private sandbox (a frozen clock, its own db): fuzzed sends must not touch other tests' accounts."""
    from smsgic_analytics.sandbox import running

    db = tmp_path_factory.mktemp("fuzz") / "sandbox.sqlite"
    with running(tokens=(TOKEN,), db=db, seed=0, clock="2024-01-01T12:00:00Z") as url:
        yield schemathesis.openapi.from_url(url + "/openapi.json"), url


def test_the_schema_lists_exactly_the_documented_operations(api):
    schema, _ = api
    listed = {(op.method.upper(), op.path) for op in (r.ok() for r in schema.get_all_operations())}
    assert listed == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_get_no_5xx_and_documented_4xx(api, method, path, mode):
    schema, url = api
    operation = schema[path][method]
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if (method, path, mode) == ("POST", spec.SENDINGS, GenerationMode.POSITIVE) and isinstance(case.body, dict):
            # Generated senders are random text, never an approved one: use the documented
            # default sender so valid bodies reach the create-and-debit path too.
            case.body["sender"] = spec.DEFAULT_SENDERS[0]
        # A valid Bearer token on every request (negative cases may still spoil it: 401 is checked too).
        response = case.call(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error, documented_error_shape])

    try:
        run()
    except Unsatisfiable:
        # GET /status has no parameters, body or auth: there is nothing to make invalid.
        assert (mode, path) == (GenerationMode.NEGATIVE, spec.STATUS), f"{method} {path}: no {mode.value} example"
        return
    assert statuses, f"{method} {path}: no request was made"
    assert not any(s >= 500 for s in statuses)
    print(f"{method} {path} {mode.value}: {dict(sorted(statuses.items()))}")
