"""Crashes mid-quote: the sandbox killed and restarted on its db, or the pricing Python process
killed and a new one started on the same cache dir.  Either way the resumed quote equals a
clean single run, and the chunks priced before the crash come from the cache.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import pytest
from reliability_support import (
    SandboxProcess,
    child_env,
    kill_part_way,
    phone_numbers,
    reference_quote,
    wait_for,
)

import smsgic_analytics as sa
from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import SandboxControl

CALC = ("POST", spec.CALCULATE)
TOKEN = "durability-token"
MESSAGE = "Crash test: your order has shipped and will arrive tomorrow."


def cached_calculate_entries(client: sa.Client) -> int:
    entries = client.cache_info().entries
    return int((entries["endpoint"] == spec.CALCULATE).sum())


@pytest.mark.slow
def test_sandbox_killed_mid_quote_then_restarted_on_its_db(tmp_path, make_client):
    audience, chunk = 6_000, 300
    chunks = audience // chunk
    numbers = phone_numbers(audience, seed=11)
    server = SandboxProcess(tmp_path / "sandbox.sqlite", tokens=[TOKEN])
    url = server.start()
    try:
        control = SandboxControl(url)
        # Slow every calculate a little so the quote is surely still running when the server dies.
        control.inject("latency", path=spec.CALCULATE, method="POST", count=1_000, seconds=0.15)
        client = make_client(TOKEN, url=url, max_retries=1, timeout=5.0)
        client.rates()  # /rates cached before the crash: the failure below is calculate's
        failure: list[BaseException] = []

        def killer() -> None:
            try:
                wait_for(lambda: control.stats().get(CALC, 0) >= chunks // 3, 60, "a third of the chunks")
            finally:
                server.kill()

        thread = threading.Thread(target=killer)
        thread.start()
        try:
            client.calculate(MESSAGE, numbers, progress=False, chunk_size=chunk, workers=2)
        except sa.SMSgicError as exc:
            failure.append(exc)
        thread.join()
        assert failure, "the quote finished before the sandbox was killed"
        error = failure[0]
        assert isinstance(error, sa.errors.APIConnectionError) and "calculate chunk" in str(error)
        cached = cached_calculate_entries(client)
        assert 0 < cached < chunks
        assert len(error.unpriced) == audience - cached * chunk  # every number not cached is named unpriced

        server.start()  # same port, same db
        assert server.url == url
        control = SandboxControl(url)
        control.reset_stats()
        quote = client.calculate(MESSAGE, numbers, progress=False, chunk_size=chunk, workers=2)
        assert control.stats()[CALC] == chunks - cached  # finished chunks came from the cache
        assert len(quote.numbers) == audience and set(quote.numbers["number"]) == set(numbers)
        reference = reference_quote(url, TOKEN, MESSAGE, numbers)
        assert (quote.total, quote.sms_count) == (reference["total"], reference["sms_count"])
        assert dict(zip(quote.numbers["number"], quote.numbers["total"])) == reference["per_number"]
        print(f"sandbox SIGKILLed after {cached}/{chunks} chunks; resume asked {chunks - cached}; "
              f"{audience} numbers, 0 lost, 0 double-counted, total {quote.total}")
    finally:
        server.stop()


# The pricing process: quotes NUMBERS numbers and prints its totals as JSON.
CHILD = textwrap.dedent("""
    import json, sys
    import smsgic_analytics as sa
    from reliability_support import phone_numbers
    url, token, cache_dir, message, count, chunk = sys.argv[1:7]
    client = sa.connect(token=token, base_url=url, cache_dir=cache_dir, backoff_factor=0.01)
    quote = client.calculate(message, phone_numbers(int(count), seed=13), progress=False,
                             chunk_size=int(chunk), workers=2)
    print(json.dumps({"total": str(quote.total), "sms_count": quote.sms_count, "numbers": len(quote.numbers),
                      "unique": int(quote.numbers["number"].nunique())}))
    client.close()
""")


@pytest.mark.slow
def test_python_process_killed_mid_quote_then_resumed_in_a_new_one(tmp_path, sandbox_url, fresh_token, control):
    audience, chunk = 6_000, 300
    chunks = audience // chunk
    cache_dir = tmp_path / "shared-cache"
    args = [sys.executable, "-c", CHILD, sandbox_url, fresh_token, str(cache_dir), MESSAGE, str(audience), str(chunk)]
    kill_part_way(args, control, chunks, timeout=120)
    control.clear_faults()

    with sa.connect(token=fresh_token, base_url=sandbox_url, cache_dir=cache_dir) as peek:
        cached = cached_calculate_entries(peek)
    assert 0 < cached < chunks  # the cache survived the SIGKILL, readable by a new process

    control.reset_stats()
    resumed = subprocess.run(args, env=child_env(), capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    totals = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert control.stats()[CALC] == chunks - cached  # only the missing chunks were asked for

    reference = reference_quote(sandbox_url, fresh_token, MESSAGE, phone_numbers(audience, seed=13))
    assert totals == {"total": str(reference["total"]), "sms_count": reference["sms_count"],
                      "numbers": audience, "unique": audience}
    print(f"pricing process SIGKILLed after {cached}/{chunks} chunks cached; new process asked "
          f"{chunks - cached}; total {totals['total']} = clean single run")
