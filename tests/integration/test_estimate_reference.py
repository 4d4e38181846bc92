"""The offline estimate equals a slow reference written with Decimal, row by row, on generated
audiences -- in memory (pandas) and on a real ``distributed.LocalCluster`` (Dask).

The reference is independent code: it reads the rates table with ``Decimal`` itself, walks the
input rows one at a time (a dict of numbers seen so far for duplicates), prices each recipient
by the documented bases (operator rate, country default, country range, unplaced) as
``Decimal rate x parts``, counts parts with ``smsutil`` (not this project's segment counter) and
adds the summaries up row by row.  Placement (region, country, operator, mcc, mnc) is the
numbers layer's (``classify``, tested against phonenumbers on its own), asked one number at a time.

Audiences mix numbers over the campaign mix and its long tail in the spellings analysts write
(``+``, ``00``, spaces, dashes), later copies, junk, and numbers of countries the drawn table
leaves out or has no default row for; texts are one for all or one per row (a ``{text}``
template filled from the audience), GSM-7 or UCS-2.  Money must match to the last digit and be
written at the API's 4 decimals everywhere.
"""
from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import smsutil
from distributed import Client
from hypothesis import given, settings
from hypothesis import strategies as st

import smsgic_analytics as sa
from smsgic_analytics.numbers.classify import classify
from smsgic_analytics.numbers.normalize import normalize_numbers
from smsgic_analytics.numbers.samples import sample_numbers
from smsgic_analytics.sandbox.ratecard import RateCard

POOL = sample_numbers(300, seed=41) + ["80012345678", "88234567890"]  # + two non-geographic
JUNK = ["n/a", "", "  ", "12ab", "+44 7700 9001 ext 2", "++447700900123", "1234567890123456789012", None, "0044 0"]
CARD = RateCard.for_seed(0).frame()[["mcc", "mnc", "country", "rate"]].assign(currency="GBP")
FOUR = Decimal("0.0001")
# Texts a reader and smsutil cut alike: GSM-7 basic and extension characters and plain UCS-2 (no
# grapheme clusters; see test_segments_smsutil for where the two counters part ways on purpose).
ALPHABET = "abcXYZ019 .,!?é€[]^ж中"
MEMORY_EXAMPLES = max(1, settings().max_examples // 4)
DASK_EXAMPLES = max(1, settings().max_examples // 25)


# --- what hypothesis draws -----------------------------------------------------------------------


def spelled(number: str, style: int) -> str:
    return [number, "+" + number, "00" + number, f"+{number[:2]} {number[2:6]} {number[6:]}",
            f"{number[:3]}-{number[3:]}"][style]


@st.composite
def audiences(draw: Any) -> pd.DataFrame:
    """DataFrame[phone, text], index = 0-based row: numbers in several spellings, copies, junk."""
    picks = draw(st.lists(st.one_of(st.tuples(st.integers(0, len(POOL) - 1), st.integers(0, 4)),
                                    st.sampled_from(JUNK)), min_size=30, max_size=120))
    cells: list[Any] = [spelled(POOL[p[0]], p[1]) if isinstance(p, tuple) else p for p in picks]
    texts = draw(st.lists(st.text(ALPHABET, min_size=1, max_size=400), min_size=len(cells), max_size=len(cells)))
    return pd.DataFrame({"phone": pd.Series(cells, dtype=object), "text": texts})


@st.composite
def rate_tables(draw: Any) -> pd.DataFrame:
    """The sandbox card with some countries left out, some default rows dropped and rates redrawn
    with 0-4 decimals (so sums carry every place)."""
    rng = draw(st.randoms(use_true_random=False))
    countries = sorted(set(CARD["country"]))
    gone = {c for c in countries if rng.random() < 0.15}
    no_default = {c for c in countries if rng.random() < 0.25}
    card = CARD[~CARD["country"].isin(gone)]
    card = card[~(card["country"].isin(no_default) & card["mnc"].isna())].reset_index(drop=True)
    rates = [Decimal(rng.randrange(0, 20_000)).scaleb(-rng.randrange(0, 5)) if rng.random() < 0.6 else r
             for r in card["rate"].tolist()]
    return card.assign(rate=pd.Series(rates, dtype=object))


# --- the reference ---------------------------------------------------------------------------------


def parts(text: str) -> int:
    return len(smsutil.split(text).parts)


def reference(frame: pd.DataFrame, rates: pd.DataFrame, per_row: bool, message: str) -> dict[str, Any]:
    """Everything the estimate reports, computed one row at a time with Decimal."""
    operators: dict[tuple[str, str], Decimal] = {}
    country_rates: dict[str, list[Decimal]] = {}
    defaults: dict[str, Decimal] = {}
    mcc_countries: dict[str, set[str]] = {}
    for mcc, mnc, country, rate in rates[["mcc", "mnc", "country", "rate"]].itertuples(index=False):
        rate = Decimal(str(rate)).quantize(FOUR)
        key = country.casefold()
        country_rates.setdefault(key, []).append(rate)
        mcc_countries.setdefault(mcc, set()).add(key)
        if isinstance(mnc, str) and mnc not in ("", "null"):
            operators[(mcc, mnc)] = rate
        else:
            defaults[key] = rate

    rows, unplaced, duplicates = [], [], []
    first_row: dict[str, int] = {}
    for i, value in enumerate(frame["phone"].tolist()):
        digits, reasons = normalize_numbers([value])
        if digits[0] is None:
            unplaced.append((i, value, None, None, None, reasons[0]))
            continue
        number = digits[0]
        if number in first_row:
            duplicates.append((i, value, number, first_row[number]))
            continue
        first_row[number] = i
        place = classify([number], normalized=True).iloc[0]
        region, country, operator, mcc, mnc = (None if pd.isna(place[k]) else str(place[k])
                                               for k in ("region", "country", "operator", "mcc", "mnc"))
        sms = parts(frame["text"].iloc[i] if per_row else message)
        key = country.casefold() if country else None
        if key not in country_rates and mcc is not None and len(mcc_countries.get(mcc, ())) == 1:
            key = next(iter(mcc_countries[mcc]))
        if mcc is not None and mnc is not None and (mcc, mnc) in operators:
            low = expected = high = operators[(mcc, mnc)]
            basis = "operator rate"
        elif key in country_rates:
            low, high = min(country_rates[key]), max(country_rates[key])
            if mcc is not None and key in defaults:
                expected, basis = defaults[key], "country default"
            else:
                expected, basis = defaults.get(key, high), "country range"
        else:
            if region is None:
                reason = "cannot place the number in a country (unknown or non-geographic calling code)"
            else:
                reason = f"the rates table has no rates for {country} ({region}, " + \
                    (f"MCC {mcc})" if mcc else "no MCC known)")
            unplaced.append((i, value, number, region, country, reason))
            rows.append((number, region, country, operator, mcc, mnc, sms, None, None, None, None, None, None,
                         "unplaced"))
            continue
        rows.append((number, region, country, operator, mcc, mnc, sms, low, expected, high,
                     low * sms, expected * sms, high * sms, basis))

    placed = [r for r in rows if r[-1] != "unplaced"]
    totals = tuple(sum((r[k] for r in placed), Decimal(0)) for k in (10, 11, 12))
    by_country: dict[Any, list[Any]] = {}
    by_operator: dict[Any, list[Any]] = {}
    for r in placed:
        c = by_country.setdefault(r[2], [0, 0, Decimal(0), Decimal(0), Decimal(0), 0, 0, 0])
        o = by_operator.setdefault((r[2], r[3], r[4], r[5], r[13]), [0, 0, Decimal(0), Decimal(0), Decimal(0)])
        for acc in (c, o):
            acc[0] += 1
            acc[1] += r[6]
            acc[2] += r[10]
            acc[3] += r[11]
            acc[4] += r[12]
        c[5 + ["operator rate", "country default", "country range"].index(r[13])] += 1
    return {"rows": rows, "unplaced": unplaced, "duplicates": duplicates, "totals": totals,
            "by_country": by_country, "by_operator": by_operator}


# --- comparing ---------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, (Decimal, int, str)) else (int(value) if hasattr(value, "__index__")
                                                                 else str(value))


def records(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    plain_frame = frame.astype(object)
    return [tuple(plain(v) for v in row) for row in plain_frame.itertuples(index=False, name=None)]


def same_money(got: Any, want: Any) -> bool:
    """Equal to the last digit and written at the API's 4 decimals (37.7600, not 37.76)."""
    if want is None:
        return got is None
    return isinstance(got, Decimal) and got == want and got.as_tuple().exponent == -4


def assert_rows(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[:7] == w[:7] and g[13] == w[13], (g, w)
        assert all(same_money(a, b) for a, b in zip(g[7:13], w[7:13])), (g, w)


def assert_summary(frame: pd.DataFrame, keys: list[str], want: dict[Any, list[Any]]) -> None:
    got = records(frame)
    width = len(keys)
    assert {r[:width] if width > 1 else r[0]: None for r in got}.keys() == want.keys()
    for r in got:
        acc = want[r[:width] if width > 1 else r[0]]
        assert r[width:width + 2] == tuple(acc[:2]), r
        assert all(same_money(a, b) for a, b in zip(r[width + 2:width + 5], acc[2:5])), (r, acc)
        assert r[width + 5:] == tuple(acc[5:]), r
    expected = [r[width + 3] for r in got]
    assert expected == sorted(expected, reverse=True)  # biggest first


def assert_matches(est: Any, want: dict[str, Any], rows: list[tuple[Any, ...]], unplaced: list[tuple[Any, ...]],
                   duplicates: list[tuple[Any, ...]]) -> None:
    assert all(same_money(g, w) for g, w in zip(est.totals, want["totals"])), (est.totals, want["totals"])
    assert est.sms_count == sum(r[6] for r in want["rows"] if r[-1] != "unplaced")
    assert_rows(rows, want["rows"])
    assert sorted(unplaced, key=lambda r: r[0]) == want["unplaced"]
    assert duplicates == want["duplicates"]
    assert_summary(est.by_country(), ["country"], want["by_country"])
    assert_summary(est.by_operator(), ["country", "operator", "mcc", "mnc", "basis"], want["by_operator"])


# --- the properties -------------------------------------------------------------------------------


@settings(max_examples=MEMORY_EXAMPLES)
@given(frame=audiences(), rates=rate_tables(), per_row=st.booleans(), message=st.text(ALPHABET, min_size=1,
                                                                                       max_size=400))
def test_in_memory_estimate_equals_the_decimal_reference(frame, rates, per_row, message):
    want = reference(frame, rates, per_row, message)
    if per_row:  # one text per row, twice: a list of texts, and a {text} template filled from the frame
        est = sa.estimate(frame["phone"], frame["text"], rates=rates)
        templated = sa.estimate(frame["phone"], "{text}", rates=rates, data=frame)
        assert records(templated.rows) == records(est.rows) and templated.totals == est.totals
    else:
        est = sa.estimate(frame["phone"], message, rates=rates)
    assert_matches(est, want, records(est.rows), records(est.unplaced), records(est.duplicates))


@settings(max_examples=DASK_EXAMPLES)
@given(frame=audiences(), rates=rate_tables(), per_row=st.booleans(), message=st.text(ALPHABET, min_size=1,
                                                                                       max_size=400))
def test_dask_estimate_on_a_local_cluster_equals_the_decimal_reference(dask_cluster, frame, rates, per_row, message):
    want = reference(frame, rates, per_row, message)
    with tempfile.TemporaryDirectory() as folder, Client(dask_cluster):
        path = Path(folder) / "audience.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=16)
        ddf = sa.read_audience(path, column="phone", rows_per_partition=16)
        est = sa.estimate(ddf, "{text}" if per_row else message, rates=rates, column="phone", progress=False,
                          sample=None)
        rows = est.rows.compute().sort_index()
        unplaced = est.all_unplaced.compute()
        duplicates = est.all_duplicates.compute().sort_values("index")
    assert_matches(est, want, records(rows), records(unplaced), records(duplicates))
