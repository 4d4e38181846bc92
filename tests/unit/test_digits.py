"""The engine's byte column (numbers/digits.py) and the paths that only big columns take:
blocks of the vectorised normaliser, cache-sized de-duplication buckets, 20-digit numbers too
big for a uint64 key.  Oracles: Python's int() and str, the scalar normaliser, a dict."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgic_analytics.audience.recipients import normalize_recipients
from smsgic_analytics.numbers import digits as D
from smsgic_analytics.numbers.normalize import normalize_digits, normalize_number, normalize_numbers

numbers = st.lists(st.one_of(st.just(""), st.from_regex(r"[1-9][0-9]{7,19}", fullmatch=True)), max_size=60)


@given(numbers)
def test_keys_text_and_arrow_round_trip_the_digits(values):
    column = D.as_bytes(values)
    keys = D.keys(column)
    if keys is not None:  # equal keys <=> equal numbers: the key is the number's value
        assert keys.tolist() == [int(v) if v else 0 for v in values]
    else:
        assert any(len(v) == 20 and int(v) >= 2**64 for v in values)
    assert D.as_text(column).tolist() == [v or None for v in values]
    arrow = D.as_arrow(column)
    assert str(arrow.dtype) == "string"
    assert arrow.to_numpy(dtype=object, na_value=None).tolist() == [v or None for v in values]
    matrix, length = D.digit_matrix(column)
    assert length.tolist() == [len(v) for v in values]
    assert D.lengths(column).tolist() == [len(v) for v in values]
    assert D.has_number(column).tolist() == [v != "" for v in values]
    for i, v in enumerate(values):
        assert matrix[:len(v), i].tolist() == [int(c) for c in v]
        assert (matrix[len(v):, i] == D.PAD).all()


@given(numbers, st.integers(0, 5), st.integers(1, 4))
def test_an_arrow_column_reads_back_as_the_same_bytes(values, start, pieces):
    """From Arrow strings (what the Dask path's shuffled partitions hold): sliced, in several
    chunks, nulls for refused rows -- the bytes equal what each ``str`` encodes to."""
    import pyarrow as pa

    cells = [v or None for v in values]
    step = max(1, len(cells) // pieces)
    chunked = pa.chunked_array([pa.array(cells[i:i + step], pa.string()) for i in range(0, len(cells), step)],
                               pa.string())
    column = pd.Series(pd.arrays.ArrowStringArray(chunked)).iloc[start:]
    got = D.as_bytes(column)
    assert got.dtype == np.dtype("S20")
    assert [b.decode() for b in got.tolist()] == [v for v in values[start:]]
    got[:1] = b"1"  # a column of its own, not a view of Arrow's read-only buffer


@pytest.mark.parametrize("cell, rule", [("1" * 21, "more than 20 digits"), ("4479\u00e9", "not ASCII digits")])
def test_an_arrow_column_that_is_not_normalised_numbers_is_refused_by_row(cell, rule):
    with pytest.raises(ValueError, match=rf"row 1: .* is not a normalised number \({rule}\)"):
        D.as_bytes(pd.array(["447900000001", cell], dtype="string[pyarrow]"))


def test_a_20_digit_number_above_2_64_has_no_key_and_duplicates_are_still_found():
    big, other = "9" * 20, "18446744073709551616"  # 2**64: one past the largest uint64
    people = normalize_recipients([big, "+" + other, big, other, "4477009001"], on_invalid="report")
    assert D.keys(D.as_bytes([big])) is None
    assert people.numbers == (big, other, "4477009001")
    assert people.duplicates["index"].tolist() == [2, 3]
    assert people.duplicates["first_index"].tolist() == [0, 1]


# Cells analysts write, odd ones included; drawn 200,000 times they cross the normaliser's
# blocks (it converts and scans a block at a time) and the de-duplication buckets.
POOL = ["+44 7700 900123", "0044-7700-900123", "447700900123", "(+371) 2000-0001", "371.2000.0001", "n/a", "",
        "  ", "07700 900129", "+44 (0)20 7946 0958", "\uff14\uff15\uff18\uff17\uff19\uff19\uff12\uff11", "12ab5678",
        "++447700900123", "37129123457.0", "1" * 21, "1234567", "+1\u00a0(202)\u2013555\u20110143", None,
        4522334455, float("nan"), "1" + "9" * 18, "+49 151 2345 6789", "4915123456789"]


@pytest.mark.parametrize("kind", ["object", "str", "list"])
def test_a_long_column_crossing_blocks_agrees_with_the_scalar_normaliser(kind):
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(POOL), 200_000)
    cells = [POOL[i] for i in picks.tolist()]
    # distinct numbers too, so buckets hold more than a handful of keys
    fresh = rng.integers(10**10, 10**11, 200_000)
    cells = [c if i % 3 else f"+{fresh[i]}" for i, c in enumerate(cells)]
    if kind == "str":  # an Arrow-backed text column, as pandas 3 reads CSV text
        cells = [c if isinstance(c, str) else None for c in cells]
        values = pd.Series(cells, dtype="str")
    else:
        values = pd.Series(cells, dtype=object) if kind == "object" else cells
    expected = [normalize_number(c) for c in cells]
    digits, reasons = normalize_numbers(values)
    assert list(zip(digits.tolist(), reasons.tolist())) == expected
    column, again = normalize_digits(values)
    assert D.as_text(column).tolist() == digits.tolist() and again.tolist() == reasons.tolist()

    people = normalize_recipients(values, on_invalid="report")
    assert D.keys(D.as_bytes([d for d in digits.tolist() if d])) is not None  # de-duplicated by uint64 keys
    first: dict[str, int] = {}
    dupes = []
    for i, (number, _) in enumerate(expected):
        if number is None:
            continue
        if number in first:
            dupes.append((i, first[number]))
        else:
            first[number] = i
    assert people.numbers == tuple(first)
    assert people.positions.tolist() == list(first.values())
    assert list(zip(people.duplicates["index"], people.duplicates["first_index"])) == dupes
    assert people.invalid["index"].tolist() == [i for i, (n, _) in enumerate(expected) if n is None]
