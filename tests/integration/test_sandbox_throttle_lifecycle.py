"""Calculate throttling (429 + Laravel headers) and the sending lifecycle on a frozen clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import by_hand
import pytest
import requests

from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControlError
from smsgic_analytics.sandbox.control import registered_admin_token
from smsgic_analytics.sandbox.lifecycle import fails, processing_seconds

CALC = {"message": "hi", "recipients": ["4591234567"]}


def call(url, method, path, token="demo-token", **kw) -> requests.Response:
    return requests.request(method, url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60, **kw)


def test_calculate_is_throttled_per_account_with_laravel_headers(sandbox_factory):
    url, _ = sandbox_factory(calculate_per_minute=5)
    answers = [call(url, "POST", spec.CALCULATE, json=CALC) for _ in range(5)]
    assert [r.status_code for r in answers] == [200] * 5
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["4", "3", "2", "1", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in answers} == {"5"}
    refused = call(url, "POST", spec.CALCULATE, json=CALC)
    assert refused.status_code == 429
    assert refused.json() == {"message": by_hand.TOO_MANY_ATTEMPTS}
    retry_after = refused.headers["Retry-After"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "0" and refused.headers["X-RateLimit-Limit"] == "5"
    assert int(refused.headers["X-RateLimit-Reset"]) > 0
    # validation failures count as attempts too (throttle runs first), refusals do not
    assert call(url, "POST", spec.CALCULATE, json={}).status_code == 429
    # another account has its own budget, and other endpoints are not throttled
    assert call(url, "POST", spec.CALCULATE, token="other-token", json=CALC).status_code == 200
    assert call(url, "GET", spec.BALANCE).status_code == 200


def test_rate_limit_ignores_the_frozen_lifecycle_clock(sandbox_factory):
    url, control = sandbox_factory(calculate_per_minute=2, clock="2024-01-01T00:00:00Z")
    for _ in range(2):
        assert call(url, "POST", spec.CALCULATE, json=CALC).status_code == 200
    control.advance(3600)  # moving the sandbox clock must not refill the wall-clock window
    assert call(url, "POST", spec.CALCULATE, json=CALC).status_code == 429


START = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def status(url: str, sending_id: int) -> dict:
    return call(url, "GET", f"/sendings/{sending_id}").json()["sending"]


def test_lifecycle_on_a_frozen_clock(sandbox_factory):
    url, control = sandbox_factory(clock=START.isoformat(), seed=7)
    assert control.now() == START
    control.set_balance("demo-token", "100000")
    scheduled = START + timedelta(minutes=10)
    sending_id = call(url, "POST", spec.SENDINGS, json={
        "message": "later", "recipients": ["4591234567"] * 2500, "sender": "MEGA",
        "scheduled_at": scheduled.strftime("%Y-%m-%d %H:%M:%S")}).json()["sending_id"]
    assert control.now() == START, "a frozen clock does not move by itself"
    first = status(url, sending_id)
    assert first == {"id": sending_id, "status": spec.PENDING, "updated_at": "2024-01-01T12:00:00.000000Z",
                     "scheduled_at": "2024-01-01 12:10:00"}
    assert call(url, "GET", spec.SENDINGS).json()["sendings"][0]["created_at"] == "2024-01-01T12:00:00.000000Z"

    control.advance(599)
    assert status(url, sending_id)["status"] == spec.PENDING
    control.advance(1)
    now = status(url, sending_id)
    assert now["status"] == spec.PROCESSING and now["updated_at"] == "2024-01-01T12:10:00.000000Z"
    duration = processing_seconds(2500)
    assert duration == 62
    control.advance(duration - 1)
    assert status(url, sending_id)["status"] == spec.PROCESSING
    control.advance(1)
    final = status(url, sending_id)
    assert final["status"] == (spec.FAILED if fails(7, sending_id) else spec.SENT)
    assert final["updated_at"] == "2024-01-01T12:11:02.000000Z"
    assert call(url, "GET", spec.SENDINGS).json()["sendings"][0]["status"] == final["status"]


def test_some_sendings_fail_deterministically(sandbox_factory):
    url, control = sandbox_factory(clock=START.isoformat(), seed=2)
    ids = [call(url, "POST", spec.SENDINGS, json={"message": "m", "recipients": ["4591234567"], "sender": "MEGA"}
                ).json()["sending_id"] for _ in range(40)]
    assert status(url, ids[0])["status"] == spec.PROCESSING  # no schedule: processing from creation
    control.advance(61)
    statuses = {row["id"]: row["status"] for row in call(url, "GET", spec.SENDINGS).json()["sendings"]}
    assert set(statuses.values()) <= set(spec.FINAL_STATUSES)
    failed = {i for i, s in statuses.items() if s == spec.FAILED}
    assert failed == {i for i in ids if fails(2, i)} and failed, "seed 2 fails some of ids 301-340"
    # the share is "small": over many ids the rule fails about 3 %
    share = sum(fails(2, i) for i in range(301, 20301)) / 20000
    assert 0.02 < share < 0.04


def test_set_now_jumps_and_a_real_clock_keeps_ticking(sandbox_factory):
    url, control = sandbox_factory(clock="real")
    target = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    moved = control.set_now(target)
    assert abs((moved - target).total_seconds()) < 60
    assert abs((control.now() - target).total_seconds()) < 60
    assert control._call("GET", "/clock")["frozen"] is False


@pytest.mark.parametrize("path,payload", [
    ("/clock", {"now": "yesterday"}),
    ("/clock", {"now": "2024-13-01T00:00:00"}),
    ("/clock", {}),
    ("/clock/advance", {"seconds": "soon"}),
])
def test_clock_control_refuses_nonsense(sandbox, sandbox_url, path, payload):
    before = sandbox.now()
    admin = {"Authorization": f"Bearer {registered_admin_token(sandbox_url)}"}
    answer = requests.post(sandbox_url + "/__sandbox__" + path, json=payload, headers=admin, timeout=10)
    assert answer.status_code == 422 and list(answer.json()["errors"]) == [next(iter(payload), "now")]
    assert abs((sandbox.now() - before).total_seconds()) < 60  # still wall time, not moved by the refusal
    with pytest.raises(SandboxControlError):
        sandbox._call("POST", path, payload)
