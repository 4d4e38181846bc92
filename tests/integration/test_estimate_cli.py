"""``smsgic-analytics estimate`` end to end, as a subprocess: a rates file, the sandbox, a cluster.

The oracle is the in-memory estimate of the same file read with pandas; the command's CSVs
are read back as text, so an amount written as anything but its exact decimal fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.numbers.samples import sample_numbers
from smsgic_analytics.pricing.offline import OfflineEstimate
from smsgic_analytics.sandbox.ratecard import RateCard

MESSAGE = "Hi {first_name}, 20% off all week. Reply STOP to opt out."


def run_cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGIC_")}  # no token: sandbox rates
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "smsgic_analytics.lab.cli", "estimate", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    numbers = sample_numbers(4_000, seed=8)
    phones = numbers + ["+" + numbers[10], "00 " + numbers[20], "n/a", "", "12 34 56"]
    frame = pd.DataFrame({"customer_id": range(len(phones)), "Mobile": phones,
                          "first_name": ["Ann", "Łukasz", "Zoë 🎉", "Bo"] * (len(phones) // 4) + ["Cy"] * (len(phones) % 4)})
    audience = folder / "customers.csv"
    frame.to_csv(audience, index=False)
    card = RateCard.for_seed(0).frame()
    rates = folder / "rates.csv"
    card[card["country"] != "Latvia"][["mcc", "mnc", "country", "rate"]].assign(currency="GBP").to_csv(rates,
                                                                                                   index=False)
    return {"audience": audience, "rates": rates, "folder": folder}


def expected(files: dict[str, Path], rates: pd.DataFrame) -> OfflineEstimate:
    frame = pd.read_csv(files["audience"], dtype=str, keep_default_na=False, na_values=[""])
    return sa.estimate(frame["Mobile"], MESSAGE, rates=rates, data=frame)


MONEY = ("low", "expected", "high")


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as its CSV would read back as text (missing -> ""), money as exact Decimals."""
    plain = frame.astype(object)
    out = plain.where(plain.notna(), "").astype(str).reset_index(drop=True)
    for column in MONEY:  # the same amount may be written 0.361 or 0.3610: compare amounts, exactly
        out[column] = out[column].map(Decimal)
    return out


def read_written(path: Path) -> pd.DataFrame:
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in MONEY:
        written[column] = written[column].map(Decimal)  # a float's rendering would not parse back equal
    return written


def test_with_a_rates_file_it_writes_exact_csvs_and_prints_the_totals(files, tmp_path):
    out = tmp_path / "out"
    done = run_cli(str(files["audience"]), "--message", MESSAGE, "--rates", str(files["rates"]), "--out", str(out))
    assert done.returncode == 0, done.stderr
    est = expected(files, pd.read_csv(files["rates"], dtype=str, keep_default_na=False, na_values=[""]))
    for name, frame in (("by_country", est.by_country()), ("by_operator", est.by_operator())):
        pd.testing.assert_frame_equal(read_written(out / f"{name}.csv"), as_text(frame), check_dtype=False)
    unplaced = pd.read_csv(out / "unplaced.csv", dtype=str, keep_default_na=False)
    assert sorted(unplaced["index"].astype(int)) == sorted(est.unplaced["index"])  # every row not priced
    assert (unplaced["reason"] != "").all() and unplaced["reason"].str.contains("no rates for Latvia").any()
    assert f"expected {sa.format_money(est.totals.expected, 'GBP')}" in done.stdout
    assert len(est.duplicates) == 2 and f"{len(est.rows):,} recipients, 2 duplicates merged" in done.stdout
    assert "100% Completed" in done.stderr  # the progress bar (local scheduler)


def test_without_rates_it_prices_with_the_sandbox_on_a_cluster(files, tmp_path, dask_cluster):
    out = tmp_path / "out"
    done = run_cli(str(files["audience"]), "--column", "Mobile", "--message", MESSAGE, "--out", str(out),
                   "--scheduler", dask_cluster.scheduler_address)
    assert done.returncode == 0, done.stderr
    assert "sandbox rate card" in done.stderr and "cluster at tcp://127.0.0.1" in done.stderr
    assert "100% Completed" in done.stderr and "Completed" not in done.stdout  # distributed's bar, on stderr
    rates = RateCard.for_seed(0).frame()[["mcc", "mnc", "country", "rate"]].assign(currency="GBP")
    est = expected(files, rates)
    pd.testing.assert_frame_equal(read_written(out / "by_operator.csv"), as_text(est.by_operator()), check_dtype=False)
    assert f"expected {sa.format_money(est.totals.expected, 'GBP')}" in done.stdout


def test_refused_input_exits_2_naming_the_file_and_its_columns(files, tmp_path):
    done = run_cli(str(files["audience"]), "--column", "phone", "--message", "Hi", "--rates", str(files["rates"]),
                   "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert f"{files['audience']}: no column 'phone'; its columns are 'customer_id', 'Mobile', 'first_name'" in done.stderr
    assert not (tmp_path / "out").exists()
