"""Issue 18's send pipeline, the parts that need no server: the canonical account identity,
errors that say whether their call may be repeated, the frozen plan, the machine-wide send lock
and the shared rate-limit budget.  (Over HTTP, with kernels as processes:
tests/reliability/test_send_pipeline.py.)"""
from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

import smsgic_analytics as sa
from smsgic_analytics.api.limiter import EndpointBuckets, budget_path
from smsgic_analytics.api.policy import SAFE_TO_REPEAT
from smsgic_analytics.api.responses import error_for, transport_error
from smsgic_analytics.core import spec
from smsgic_analytics.core.config import (
    ACCOUNT_KEY_RE,
    ENV_STATE_DIR,
    Settings,
    account_identity,
    account_key,
    spelled_account_key,
)
from smsgic_analytics.sending.guard import AccountLock, lock_path
from smsgic_analytics.sending.ledger import LEDGER_FILENAME, Ledger
from smsgic_analytics.sending.plan import Plan, PlanInputs, changes

TOKEN = "identity-token"


# --- one server, one identity ------------------------------------------------------------------------

@pytest.mark.parametrize("spellings", [
    ["http://localhost:8765", "http://127.0.0.1:8765", "http://LOCALHOST:8765/", "http://[::1]:8765",
     "http://127.0.0.1:8765/", "http://LocalHost.:8765", "HTTP://127.0.0.1:8765//", "http://user:pw@localhost:8765"],
    ["http://example.org", "http://example.org:80", "http://EXAMPLE.org/", "http://example.org.:80"],
    ["https://api.smsgic.com", "https://api.smsgic.com:443", "https://API.SMSGIC.COM/", spec.BASE_URL],
    ["http://10.0.0.7:8080/v1", "http://10.0.0.7:8080/v1/", "http://10.0.0.7:8080/v1//"],
], ids=["loopback", "default-http-port", "default-https-port", "path-prefix"])
def test_every_spelling_of_one_server_is_one_account(spellings):
    identities = {account_identity(TOKEN, url) for url in spellings}
    assert len(identities) == 1, identities
    assert len({account_key(TOKEN, url) for url in spellings}) == 1
    assert len({Settings.resolve(token=TOKEN, base_url=url).account for url in spellings}) == 1


def test_different_servers_and_tokens_are_different_accounts():
    base = "http://127.0.0.1:8765"
    others = ["http://127.0.0.1:8766", "https://127.0.0.1:8765", "http://127.0.0.1:8765/v2", "http://10.0.0.1:8765",
              "http://example.org:8765", "http://localhost:80"]
    keys = {account_key(TOKEN, url) for url in [base, *others]} | {account_key("another-token", base)}
    assert len(keys) == len(others) + 2
    assert account_key(None, base) == account_key("", base) == "anonymous"


def test_the_identity_says_its_parts_and_never_the_token():
    identity = account_identity(TOKEN, "http://[::1]:8765/")
    assert (identity.scheme, identity.host, identity.port, identity.prefix) == ("http", "127.0.0.1", 8765, "")
    assert identity.token_hash == hashlib.sha256(TOKEN.encode()).hexdigest()[:16]
    assert ACCOUNT_KEY_RE.match(identity.key) and TOKEN not in repr(identity)
    assert account_identity(TOKEN, "https://api.smsgic.com").port == 443
    for bad in ("127.0.0.1:8765", "ftp://example.org", "http://", "http://host:99999"):
        with pytest.raises(ValueError):
            account_identity(TOKEN, bad)


def test_the_canonical_spelling_keeps_the_key_earlier_releases_gave_it():
    """Written out by hand: release 0.2 named an account sha256(base URL + newline + token)."""
    for url in ("http://127.0.0.1:8765", "https://api.smsgic.com"):
        assert account_key(TOKEN, url) == hashlib.sha256(f"{url}\n{TOKEN}".encode()).hexdigest()[:16]


def test_rows_kept_under_another_spelling_are_adopted(tmp_path: Path):
    """A ledger from release 0.2 holds a send made on http://localhost:9: a client on that
    spelling adopts it, and every spelling of the server sees it (no request is made)."""
    old = hashlib.sha256(f"http://localhost:9\n{TOKEN}".encode()).hexdigest()[:16]
    assert spelled_account_key(TOKEN, "http://localhost:9") == old
    ledger = Ledger(tmp_path / LEDGER_FILENAME)
    ledger.claim_send(old, "key", None, "MEGA", None, "default", 1, duplicate_window=None)
    with sa.connect(token=TOKEN, base_url="http://localhost:9", cache_dir=tmp_path) as first:
        assert len(first.ledger.sends(first.settings.account)) == 1
    with sa.connect(token=TOKEN, base_url="http://127.0.0.1:9/", cache_dir=tmp_path) as second:
        assert len(second.ledger.sends(second.settings.account)) == 1
    assert ledger.sends(old).empty


def test_the_state_folder_is_machine_wide_and_not_the_cache_folder(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(ENV_STATE_DIR, str(tmp_path / "state"))
    one = Settings.resolve(token=TOKEN, base_url="http://127.0.0.1:1", cache_dir=tmp_path / "a")
    two = Settings.resolve(token=TOKEN, base_url="http://localhost:1", cache_dir=tmp_path / "b")
    assert one.state_dir == two.state_dir == tmp_path / "state" and one.cache_dir != two.cache_dir
    assert Settings.resolve(token=TOKEN, state_dir=tmp_path / "x").state_dir == tmp_path / "x"
    assert lock_path(one.state_dir, one.account) == lock_path(two.state_dir, two.account)
    assert TOKEN not in str(lock_path(one.state_dir, one.account)) and one.account in str(budget_path(one.state_dir, one.account))
    monkeypatch.delenv(ENV_STATE_DIR)
    assert "smsgic-analytics" in str(Settings.resolve().state_dir)


# --- errors carry whether their call may be repeated ---------------------------------------------------

def _response(status: int, body: bytes = b'{"message": "x"}', headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    response.headers.update(headers or {})
    return response


@pytest.mark.parametrize("method, path", sorted(SAFE_TO_REPEAT))
def test_errors_carry_the_safe_to_repeat_table(method, path):
    repeatable = SAFE_TO_REPEAT[(method, path)]
    for status, retry in ((503, True), (429, True), (500, True), (401, False), (404, False), (422, False)):
        error = error_for(_response(status, headers={"Retry-After": "1"}), method, path, repeatable)
        assert error.safe_to_repeat is repeatable
        assert error.should_retry is (repeatable and retry), (status, type(error).__name__)
    lost = transport_error(requests.ConnectionError("reset"), method, path, repeatable)
    assert lost.safe_to_repeat is repeatable and lost.should_retry is repeatable
    assert isinstance(lost, sa.UnknownOutcomeError) is (not repeatable)
    assert sa.SMSgicError("no request").should_retry is False


# --- the frozen plan -----------------------------------------------------------------------------------

def _plan(inputs: PlanInputs, total: str = "0.30", sms: int = 3) -> Plan:
    quote = SimpleNamespace(total=Decimal(total), sms_count=sms, currency="GBP")
    return Plan(inputs=inputs, quote=quote, quote_id=1, priced_at=datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]


def test_a_plans_digest_covers_what_is_sent_and_what_it_costs():
    inputs = PlanInputs("Hi", ("4915123456789", "37121234567", "447400123456"), "MEGA", "default", None)
    plan = _plan(inputs)
    assert len(plan.digest) == 64 and plan.digest == _plan(inputs).digest
    assert plan.digest == _plan(inputs._replace(recipients=tuple(reversed(inputs.recipients)))).digest  # order
    others = [inputs._replace(message="Hi!"), inputs._replace(recipients=inputs.recipients[:2]),
              inputs._replace(sender="MegaShop"), inputs._replace(type="twilio"),
              inputs._replace(scheduled_at="2031-01-01 10:00:00")]
    digests = {_plan(o).digest for o in others} | {_plan(inputs, total="0.31").digest, _plan(inputs, sms=4).digest}
    assert plan.digest not in digests and len(digests) == 7
    with pytest.raises(AttributeError):
        plan.inputs = inputs._replace(message="changed")  # type: ignore[misc]
    assert plan.payload("2031-01-01 10:00:21") == {"message": "Hi", "recipients": list(inputs.recipients),
                                                   "sender": "MEGA", "type": "default",
                                                   "scheduled_at": "2031-01-01 10:00:21"}
    assert plan.preview(Decimal("1.000")).plan_hash == plan.digest


def test_changes_are_said_in_words():
    inputs = PlanInputs("Hi", ("4915123456789", "37121234567"), "MEGA", "default", None)
    assert changes(inputs, inputs._replace(recipients=tuple(reversed(inputs.recipients)))) == {}
    assert changes(inputs, inputs._replace(recipients=("4915123456789", "447400123456", "33612345678"),
                                           sender="MegaShop", scheduled_at="2031-01-01 10:00:00")) == {
        "sender": "'MEGA' -> 'MegaShop'", "scheduled_at": "None -> '2031-01-01 10:00:00'",
        "recipients": "2 added, 1 removed (now 3)"}


# --- the send lock -------------------------------------------------------------------------------------

def test_the_send_lock_lets_one_holder_in_and_bounds_the_wait(tmp_path: Path):
    lock = AccountLock(tmp_path, "0123456789abcdef", timeout=0.3)
    inside: list[int] = []
    overlap = threading.Event()

    def hold(i: int) -> None:
        with AccountLock(tmp_path, "0123456789abcdef", timeout=30).held(f"holder {i}"):
            inside.append(i)
            if len(inside) > 1:
                overlap.set()
            time.sleep(0.05)
            inside.remove(i)

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlap.is_set()

    with lock.held("a long send"):
        started = time.monotonic()
        with pytest.raises(sa.errors.SendLockTimeoutError) as caught:
            with AccountLock(tmp_path, "0123456789abcdef", timeout=0.3).held("the second"):
                pass  # pragma: no cover
        assert time.monotonic() - started < 5
    error = caught.value
    assert error.holder["what"] == "a long send" and f"process {error.holder['pid']}" in str(error)
    assert "Nothing was sent" in str(error) and isinstance(error, sa.SMSgicError)
    with AccountLock(tmp_path, "0123456789abcdef", timeout=0.3).held("free again"):
        pass
    assert lock.holder() is None  # the holder's note leaves with it


# --- the shared rate-limit budget ----------------------------------------------------------------------

def test_two_limiters_on_one_budget_file_share_its_log(tmp_path: Path):
    path = budget_path(tmp_path, "0123456789abcdef")
    one, two = EndpointBuckets(120, path=path), EndpointBuckets(120, path=path)
    try:
        for factory in (one, two):
            factory.get(factory.wrap_item("calculate")).put(factory.wrap_item("calculate"))
        assert one.buckets["calculate"].count() == two.buckets["calculate"].count() == 2
        third = factory.wrap_item("calculate")
        assert one.buckets["calculate"].put(third) is False  # 2 per second between them, not each
        assert len(two.buckets["calculate"].items) == 2 and two.buckets["other"].count() == 0
    finally:
        one.close()
        two.close()
