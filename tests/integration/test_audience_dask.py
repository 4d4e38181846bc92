"""The Dask estimate equals the in-memory estimate, exactly, on the same audience file.

The oracle is the in-memory path (``sa.estimate`` on a pandas Series, its own independently
tested implementation), run on the same data read with pandas.  The audience has 300,000
rows: 250,000 numbers over the campaign mix and its long tail, 40,000 later copies of them
(in other spellings, anywhere in the file, so copies sit in other partitions than their first
one), 10,000 rows that are not phone numbers for a dozen reasons, and countries the rates
table leaves out (unplaced) or has no default row for (country range).  It runs on a real
``distributed.LocalCluster`` (two worker processes) and on the local threads scheduler.
"""
from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import dask
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client, get_task_stream

import smsgic_analytics as sa
from smsgic_analytics.numbers.samples import sample_numbers
from smsgic_analytics.pricing.dask import DaskEstimate
from smsgic_analytics.pricing.offline import OfflineEstimate
from smsgic_analytics.sandbox.ratecard import RateCard
from smsgic_analytics.text.templates import TemplateError

MESSAGE = ("Winter sale: 30% off everything in store and online until Sunday night. Bring a friend and both "
           "of you get a free gift. Reply STOP to opt out.")  # 162 GSM-7 characters: 2 parts
JUNK = ["n/a", "", "   ", "12 34 56", "07700 900123", "4477009001.0", "4.4770090012e+11", "+44 7700 9001 ext 2",
        "0044 0 7700", "++447700900123", "1234567890123456789012", "unknown"]


def spelled(number: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.4:
        return number
    if style < 0.6:
        return "+" + number
    if style < 0.75:
        return "00" + number
    if style < 0.9:
        return f"+{number[:2]} {number[2:6]} {number[6:]}"
    return f"{number[:2]}-{number[2:6]}-{number[6:]}"


def messy_audience(unique: int, copies: int, junk: int, seed: int) -> pd.DataFrame:
    """DataFrame[customer_id, phone, first_name] in file order, index = 0-based row."""
    rng = random.Random(seed)
    numbers = sample_numbers(unique, seed=seed) + ["80012345678", "88234567890"]  # + two non-geographic
    cells = [spelled(n, rng) for n in numbers]
    cells += [spelled(rng.choice(numbers), rng) for _ in range(copies)]
    cells += [rng.choice(JUNK) for _ in range(junk)]
    rng.shuffle(cells)  # a copy may come before the number's "original": first in the file wins
    names = [rng.choice(["Ann", "Bo", "Zoë", "Łukasz", "Ngozi", "O'Brien"]) for _ in cells]
    return pd.DataFrame({"customer_id": [f"C{i:07d}" for i in range(len(cells))], "phone": cells,
                         "first_name": names})


def rates_table() -> pd.DataFrame:
    """The sandbox card without Latvia (its numbers: unplaced) and without Germany's default
    row (German numbers of operators it does not list: country range)."""
    card = RateCard.for_seed(0).frame()
    card = card[card["country"] != "Latvia"]
    card = card[~((card["country"] == "Germany") & card["mnc"].isna())]
    return card[["mcc", "mnc", "country", "rate"]].assign(currency="GBP").reset_index(drop=True)


def records(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as plain tuples (missing -> None, categories -> their text, Decimals kept)."""
    plain = frame.astype(object)
    return [tuple(r) for r in plain.where(plain.notna(), None).itertuples(index=False)]


@pytest.fixture(scope="module")
def audience(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("audience")
    frame = messy_audience(250_000, 40_000, 10_000, seed=21)
    parquet = folder / "parquet"
    parquet.mkdir()
    bounds = [0, 90_000, 200_000, len(frame)]
    for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        pq.write_table(pa.Table.from_pandas(frame.iloc[lo:hi], preserve_index=False),
                       parquet / f"part-{i:02d}.parquet", row_group_size=25_000)
    csv = folder / "audience.csv"
    frame.to_csv(csv, index=False)
    rates = rates_table()
    memory = sa.estimate(frame["phone"], MESSAGE, rates=rates)
    # the oracle of the CSV is the in-memory path on the CSV read with pandas (a blank cell is missing there)
    csv_frame = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
    memory_csv = sa.estimate(csv_frame["phone"], MESSAGE, rates=rates)
    return {"frame": frame, "parquet": parquet, "csv": csv, "rates": rates, "memory": memory,
            "memory_csv": memory_csv}


def assert_same_estimate(dask_est: DaskEstimate, memory: OfflineEstimate) -> None:
    # totals: exact Decimals, to the last digit (and the same text)
    assert dask_est.totals == memory.totals
    assert [str(t) for t in dask_est.totals] == [str(t) for t in memory.totals]
    assert dask_est.sms_count == memory.sms_count and dask_est.currency == memory.currency == "GBP"
    # the same groups, the same numbers in them, in the same order
    assert records(dask_est.by_country()) == records(memory.by_country())
    assert records(dask_est.by_operator()) == records(memory.by_operator())
    assert list(dask_est.by_country().columns) == list(memory.by_country().columns)
    # counts
    assert dask_est.counts["numbers"] == len(memory.rows)
    assert dask_est.counts["duplicates"] == len(memory.duplicates)
    assert dask_est.unplaced_count == len(memory.unplaced)
    assert dask_est.counts["rows"] == len(memory.rows) + len(memory.duplicates) + memory.unplaced["number"].isna().sum()
    # unplaced: counts by reason, the bounded sample (the first rows of the file), every row
    expected_reasons = memory.unplaced["reason"].value_counts()
    assert dict(zip(dask_est.unplaced_reasons["reason"], dask_est.unplaced_reasons["rows"])) == \
        {str(k): int(v) for k, v in expected_reasons.items()}
    first = memory.unplaced.sort_values("index", kind="stable").head(len(dask_est.unplaced))
    assert records(dask_est.unplaced) == records(first)
    every = dask_est.all_unplaced.compute().sort_values("index")
    assert records(every) == records(memory.unplaced.sort_values("index"))
    # duplicates: each later copy, with the row of the first one, as in memory
    duplicates = dask_est.all_duplicates.compute().sort_values("index")
    assert records(duplicates) == records(memory.duplicates)
    assert records(dask_est.duplicates) == records(memory.duplicates.head(len(dask_est.duplicates)))
    # per-number rows: lazy, the same numbers, bases, SMS parts and exact money
    rows = dask_est.rows.compute().sort_index()
    assert list(rows.columns) == list(memory.rows.columns)
    assert records(rows) == records(memory.rows)


def test_parquet_audience_on_a_local_cluster_equals_the_in_memory_estimate(audience, dask_cluster):
    memory = audience["memory"]
    assert len(memory.duplicates) > 30_000 and len(memory.unplaced) > 12_000  # the data exercises every path
    assert set(memory.rows["basis"]) == set(sa.pricing.offline.BASES)
    assert memory.by_country()["country"].nunique() > 100
    with Client(dask_cluster) as client, get_task_stream(client) as stream:
        ddf = sa.read_audience(audience["parquet"], rows_per_partition=50_000)
        assert ddf.npartitions >= 6
        est = sa.estimate(ddf, MESSAGE, rates=audience["rates"], column="phone", progress=False)
        assert isinstance(est, DaskEstimate) and isinstance(est, OfflineEstimate)
        assert_same_estimate(est, memory)
    workers = {task["worker"] for task in stream.data}
    assert len(workers) == 2  # both worker processes did the work


def test_csv_audience_on_the_threads_scheduler_equals_the_in_memory_estimate(audience):
    with dask.config.set(scheduler="threads"):
        ddf = sa.read_audience(audience["csv"], blocksize=1_000_000)
        assert ddf.npartitions >= 4
        est = sa.estimate(ddf, MESSAGE, rates=audience["rates"], progress=False, sample=200)
        assert len(est.unplaced) == len(est.duplicates) == 200
        assert_same_estimate(est, audience["memory_csv"])
        # a Dask Series works the same (its index is the file row)
        series = sa.estimate(ddf["phone"], MESSAGE, rates=audience["rates"], progress=False)
        assert series.totals == audience["memory"].totals


def test_rows_go_to_parquet_with_exact_decimal_money(audience, tmp_path: Path):
    with dask.config.set(scheduler="threads"):
        est = sa.estimate(audience["parquet"], MESSAGE, rates=audience["rates"], progress=False)
        est.rows.to_parquet(tmp_path / "rows")
    table = pq.read_table(tmp_path / "rows")
    assert table.num_rows == est.counts["numbers"]
    for name in ("rate_low", "rate_expected", "rate_high", "low", "expected", "high"):
        assert table.schema.field(name).type == pa.decimal128(38, 4), name
    assert "row" in table.column_names  # the row of each number's first copy in the file
    back = table.to_pandas()
    assert sum((v for v in back["expected"] if v is not None), Decimal(0)) == est.totals.expected
    assert back.index.name == "row" and back.index.is_unique and back["number"].is_unique
    memory = audience["memory"]
    assert set(back["number"]) == set(memory.rows["number"])


def test_a_template_is_filled_from_columns_of_the_same_file(tmp_path: Path):
    frame = messy_audience(15_000, 3_000, 500, seed=5)
    frame["code"] = [f"SALE{i % 97:02d}" for i in range(len(frame))]
    frame.loc[frame.index % 7 == 0, "first_name"] = "Ngozi 🎉"  # some texts are UCS-2
    template = "Hi {first_name}, your code {code} takes 30% off today. Reply STOP to opt out."
    rates = rates_table()
    path = tmp_path / "people.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=4_000)
    memory = sa.estimate(frame["phone"], template, rates=rates, data=frame)
    with dask.config.set(scheduler="threads"):
        est = sa.estimate(sa.read_audience(path, rows_per_partition=4_000), template, rates=rates, column="phone",
                          progress=False)
    assert est.totals == memory.totals and est.sms_count == memory.sms_count
    assert records(est.by_operator()) == records(memory.by_operator())
    assert records(est.rows.compute().sort_index()) == records(memory.rows)
    assert memory.rows["sms"].nunique() > 1  # personalised: texts of different lengths and encodings

    # A missing name on a row that is not priced (a later copy, or not a number) harms nobody,
    # in memory and at scale; on a recipient's row it is an error naming that row.
    dup_row = int(memory.duplicates["index"].iloc[0])
    junk_row = int(memory.unplaced.loc[memory.unplaced["number"].isna(), "index"].iloc[0])
    holes = frame.copy()
    holes.loc[[dup_row, junk_row], "first_name"] = None
    holes.to_parquet(tmp_path / "holes.parquet", index=False)
    with dask.config.set(scheduler="threads"):
        fine = sa.estimate(tmp_path / "holes.parquet", template, rates=rates, progress=False)
    assert fine.totals == memory.totals == sa.estimate(holes["phone"], template, rates=rates, data=holes).totals
    invalid = memory.unplaced.loc[memory.unplaced["number"].isna(), "index"]
    first_row = int(frame.index[~frame.index.isin(invalid) & ~frame.index.isin(memory.duplicates["index"])][0])
    holes.loc[first_row, "first_name"] = None
    holes.to_parquet(tmp_path / "hole.parquet", index=False)
    with pytest.raises(TemplateError, match=rf"first_name.*rows \[{first_row}\]"):
        sa.estimate(holes["phone"], template, rates=rates, data=holes)
    with dask.config.set(scheduler="threads"), pytest.raises(TemplateError, match=rf"first_name.*rows \[{first_row}\]"):
        sa.estimate(tmp_path / "hole.parquet", template, rates=rates, progress=False)
    with pytest.raises(TemplateError, match=r"\{surname\} have no column .*columns: customer_id, phone"):
        sa.estimate(path, "Dear {surname}", rates=rates, progress=False)


def test_an_integer_phone_column_is_priced_and_reported_in_its_digits(tmp_path: Path):
    # a CSV or sheet column of bare digits reads as int64 (nullable Int64 with blanks)
    numbers = [int(n) for n in sample_numbers(3_000, seed=9)] + [12345, 999, 80012345678]
    frame = pd.DataFrame({"phone": pd.array(numbers + [None], dtype="Int64")})
    frame.to_parquet(tmp_path / "digits.parquet", index=False)
    rates = rates_table()
    memory = sa.estimate(frame["phone"], MESSAGE, rates=rates)
    with dask.config.set(scheduler="threads"):
        est = sa.estimate(tmp_path / "digits.parquet", MESSAGE, rates=rates, progress=False)
    assert est.totals == memory.totals and len(memory.rows) > 2_900
    every = est.all_unplaced.compute().sort_values("index")
    expected = memory.unplaced.sort_values("index")
    assert every["index"].tolist() == expected["index"].tolist()
    # the Dask path reports each value as text: the int's digits, a blank as missing
    assert [None if pd.isna(v) else v for v in every["value"]] == [None if pd.isna(v) else str(v)
                                                                   for v in expected["value"]]
    assert {"12345", "999", "80012345678"} <= set(every["value"].dropna()) and every["value"].isna().sum() == 1
