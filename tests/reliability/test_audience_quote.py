"""Exact quotes of a Dask audience: de-duplicated across partitions, chunked like the same
numbers in memory, resumable after the pricing process is killed.

The yardstick is the sandbox's own price of all unique numbers in ONE calculate request, read
with plain ``requests`` (``reliability_support.reference_quote``), and the in-memory client.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import dask
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from reliability_support import child_env, kill_part_way, phone_numbers, reference_quote

import smsgic_analytics as sa
from smsgic_analytics.core import spec

CALC = ("POST", spec.CALCULATE)
MESSAGE = "Your parcel is on its way and arrives tomorrow between 9 and 12. Reply STOP to opt out."


def write_audience(path: Path, unique: int, seed: int) -> tuple[list[str], pd.DataFrame]:
    """A Parquet audience of ``unique`` numbers, 5% later copies and a few junk rows, in several
    row groups (partitions); returns the unique numbers in first-seen order and the frame."""
    rng = random.Random(seed)
    numbers = phone_numbers(unique, seed=seed)
    cells: list[str] = list(numbers)
    for _ in range(unique // 20):
        cells.insert(rng.randrange(len(cells) + 1), "+" + rng.choice(numbers))
    for junk in ("n/a", "", "12 34", "07700 900123"):
        cells.insert(rng.randrange(len(cells) + 1), junk)
    frame = pd.DataFrame({"phone": cells})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=max(1, len(cells) // 6))
    seen = list(dict.fromkeys(c.lstrip("+") for c in cells if c.lstrip("+").isdigit() and len(c.lstrip("+")) >= 8))
    return seen, frame


def test_a_dask_quote_equals_the_in_memory_quote_and_reuses_its_cached_chunks(make_client, sandbox, tmp_path):
    path = tmp_path / "audience.parquet"
    unique, frame = write_audience(path, 2_000, seed=3)
    client = make_client()
    memory = client.calculate(MESSAGE, frame["phone"], progress=False, chunk_size=250, on_invalid="report")
    sandbox.reset_stats()
    with dask.config.set(scheduler="threads"):
        ddf = sa.read_audience(path, rows_per_partition=500)
        assert ddf.npartitions >= 4
        quote = client.calculate(MESSAGE, ddf["phone"], progress=False, chunk_size=250, on_invalid="report")
    assert sandbox.stats().get(CALC, 0) == 0  # the same chunk bodies: every one came from the cache
    pd.testing.assert_frame_equal(quote.numbers, memory.numbers)
    pd.testing.assert_frame_equal(quote.destinations, memory.destinations)
    assert (quote.total, quote.sms_count, quote.chunks) == (memory.total, memory.sms_count, memory.chunks)
    assert quote.numbers["number"].tolist() == unique
    assert quote.duplicates.values.tolist() == memory.duplicates.values.tolist()
    assert quote.invalid.values.tolist() == memory.invalid.values.tolist() and len(quote.invalid) == 4
    with dask.config.set(scheduler="threads"), pytest.raises(sa.errors.InvalidRecipientsError, match=r"4 of 2104 recipients"):
        client.calculate(MESSAGE, ddf["phone"], progress=False)  # on_invalid="raise" names the rows


# The pricing process: quotes the Parquet audience through Dask and writes what it priced.
CHILD = textwrap.dedent("""
    import json, sys
    import dask
    import smsgic_analytics as sa
    url, token, cache_dir, message, path, chunk, out = sys.argv[1:8]
    dask.config.set(scheduler="threads")
    client = sa.connect(token=token, base_url=url, cache_dir=cache_dir, backoff_factor=0.01)
    ddf = sa.read_audience(path, rows_per_partition=1000)
    quote = client.calculate(message, ddf["phone"], progress=False, chunk_size=int(chunk), workers=2,
                             on_invalid="report")
    quote.numbers[["number", "total"]].astype(str).to_csv(out, index=False)
    print(json.dumps({"total": str(quote.total), "sms_count": quote.sms_count, "numbers": len(quote.numbers),
                      "unique": int(quote.numbers["number"].nunique()), "duplicates": len(quote.duplicates),
                      "invalid": len(quote.invalid), "chunks": quote.chunks}))
    client.close()
""")


@pytest.mark.slow
def test_a_killed_dask_quote_resumes_from_the_chunks_already_priced(tmp_path, sandbox_url, fresh_token, control):
    path = tmp_path / "audience.parquet"
    unique, _ = write_audience(path, 6_000, seed=13)
    chunk = 300
    chunks = -(-len(unique) // chunk)
    cache_dir = tmp_path / "cache"
    out = tmp_path / "priced.csv"
    args = [sys.executable, "-c", CHILD, sandbox_url, fresh_token, str(cache_dir), MESSAGE, str(path), str(chunk),
            str(out)]
    kill_part_way(args, control, chunks, timeout=180)
    asked_before = control.stats()[CALC]
    control.clear_faults()
    with sa.connect(token=fresh_token, base_url=sandbox_url, cache_dir=cache_dir) as peek:
        entries = peek.cache_info().entries
        cached = int((entries["endpoint"] == spec.CALCULATE).sum())
    assert 0 < cached < chunks and cached <= asked_before  # the SIGKILL left part of the quote cached

    control.reset_stats()
    resumed = subprocess.run(args, env=child_env(), capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    totals = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert control.stats()[CALC] == chunks - cached  # nothing priced twice: only the missing chunks were asked

    reference = reference_quote(sandbox_url, fresh_token, MESSAGE, unique)
    assert totals == {"total": str(reference["total"]), "sms_count": reference["sms_count"], "numbers": len(unique),
                      "unique": len(unique), "duplicates": 300, "invalid": 4, "chunks": chunks}
    priced = pd.read_csv(out, dtype=str)
    assert priced["number"].tolist() == unique  # none missing, none twice, in first-seen order
    assert dict(zip(priced["number"], priced["total"])) == {n: str(t) for n, t in reference["per_number"].items()}
    print(f"dask quote SIGKILLed after {cached}/{chunks} chunks cached; the new process asked {chunks - cached}; "
          f"total {totals['total']} = one clean request")
