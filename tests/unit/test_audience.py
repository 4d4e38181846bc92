"""read_audience on real files: every format, numbers as text, global file rows, clear errors.

Each file is written with pandas/pyarrow/openpyxl in a temporary folder and read back with the
synchronous Dask scheduler; the oracle is the frame the file was written from.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import dask
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import smsgic_analytics as sa
from smsgic_analytics.audience.read import ROW, AudienceError, audience_format
from smsgic_analytics.numbers.normalize import FLOAT_VALUE

PHONES = ["0044 7700 900123", "+371 2000 0001", "4915123456789", "", "00 33 6 12 34 56 78", "n/a",
          "07700 900124", "4917612345678", "0037120000002", "+44 (0)20 7946 0958"]


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def frame(n: int = 10) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(n)],
                         "phone": [PHONES[i % len(PHONES)] for i in range(n)],
                         "first_name": [f"Name{i}" for i in range(n)]})


def as_written(df: pd.DataFrame) -> pd.DataFrame:
    """What read_audience must give back: text cells, blanks missing, index = 0-based row."""
    out = df.astype(object).where(df.astype(str) != "", None)
    out.index = pd.RangeIndex(len(df), name=ROW)
    return out


def read_back(ddf) -> pd.DataFrame:
    got = ddf.compute()
    return got.astype(object).where(got.notna(), None)


def test_csv_cells_are_text_and_rows_are_global_across_blocks(tmp_path: Path):
    df = frame(400)
    path = tmp_path / "audience.csv"
    df.to_csv(path, index=False)
    ddf = sa.read_audience(path, blocksize=2_000)  # several blocks
    assert ddf.npartitions > 3 and ddf.known_divisions
    assert ddf.divisions[0] == 0 and ddf.divisions[-1] == len(df) - 1
    assert ddf.index.name == ROW
    got = read_back(ddf)
    pd.testing.assert_frame_equal(got, as_written(df))
    assert got.loc[0, "phone"] == "0044 7700 900123"  # leading zeros and spaces kept as written
    assert ddf.loc[123].compute()["customer_id"].tolist() == ["C0123"]  # a row found by its label


def test_tsv_gz_and_a_glob_of_csv_files_continue_the_row_numbers(tmp_path: Path):
    df = frame(30)
    tsv = tmp_path / "audience.tsv.gz"
    with gzip.open(tsv, "wt") as f:
        df.to_csv(f, sep="\t", index=False)
    pd.testing.assert_frame_equal(read_back(sa.read_audience(tsv)), as_written(df))
    for i, part in enumerate((df.iloc[:10], df.iloc[10:25], df.iloc[25:])):
        part.to_csv(tmp_path / f"export-{i}.csv", index=False)
    ddf = sa.read_audience(tmp_path / "export-*.csv")
    assert ddf.npartitions == 3 and ddf.divisions == (0, 10, 25, 29)
    pd.testing.assert_frame_equal(read_back(ddf), as_written(df))


def test_parquet_folder_in_file_order_with_row_groups_as_partitions(tmp_path: Path):
    df = frame(50)
    folder = tmp_path / "audience"
    folder.mkdir()
    for i, (lo, hi) in enumerate(((0, 20), (20, 35), (35, 50))):
        pq.write_table(pa.Table.from_pandas(df.iloc[lo:hi], preserve_index=False), folder / f"part-{i}.parquet",
                       row_group_size=6)
    (folder / "_SUCCESS").write_text("")  # writers' markers are not data
    ddf = sa.read_audience(folder, rows_per_partition=12)
    assert ddf.npartitions > 3 and ddf.known_divisions and ddf.divisions[-1] == 49
    expected = df.astype(object).set_axis(pd.RangeIndex(50, name=ROW))  # Parquet keeps "" as "" (not null)
    pd.testing.assert_frame_equal(read_back(ddf), expected)
    glob = sa.read_audience(str(folder / "part-*.parquet"), columns=["phone"])
    assert list(glob.columns) == ["phone"] and len(glob) == 50


def test_parquet_floats_are_refused(tmp_path: Path):
    floats = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"phone": [447700900123.0]}), floats)
    with pytest.raises(AudienceError) as err:
        sa.read_audience(floats)
    assert str(floats) in str(err.value) and "'phone'" in str(err.value) and FLOAT_VALUE in str(err.value)


def test_excel_cells_keep_their_types(tmp_path: Path):
    path = tmp_path / "audience.xlsx"
    pd.DataFrame({"name": ["Ann", "Bo", "Cy"], "Mobile": [447700900123, "+371 2000 0001", 447700900123.5]}).to_excel(
        path, index=False)
    ddf = sa.read_audience(path, rows_per_partition=2)
    assert ddf.npartitions == 2 and ddf.divisions == (0, 2, 2)
    values = ddf.compute()["Mobile"].tolist()
    assert values[:2] == [447700900123, "+371 2000 0001"] and isinstance(values[2], float)
    est = sa.estimate(ddf, "Hi", rates=pd.DataFrame({"mcc": ["247"], "mnc": [None], "country": ["Latvia"],
                                                      "rate": ["0.04"]}), progress=False)
    assert est.unplaced.set_index("index").loc[2, "reason"] == FLOAT_VALUE  # never digits


def test_the_phone_column_is_found_by_name_or_the_error_lists_the_columns(tmp_path: Path):
    path = tmp_path / "people.csv"
    frame(5).to_csv(path, index=False)
    assert list(sa.read_audience(path).columns) == ["customer_id", "phone", "first_name"]
    with pytest.raises(AudienceError) as err:
        sa.read_audience(path, column="Phone number")
    assert str(path) in str(err.value) and "'customer_id', 'phone', 'first_name'" in str(err.value)
    with pytest.raises(AudienceError, match="did you mean 'phone'"):
        sa.read_audience(path, column="PHONE")
    two = tmp_path / "two.csv"
    pd.DataFrame({"phone": ["1"], "mobile": ["2"], "x": ["3"]}).to_csv(two, index=False)
    with pytest.raises(AudienceError) as err:
        sa.read_audience(two)
    assert str(two) in str(err.value) and "2 columns look like phone numbers ('phone', 'mobile')" in str(err.value)
    assert sa.read_audience(two, column="mobile").compute()["mobile"].tolist() == ["2"]
    none = tmp_path / "none.csv"
    pd.DataFrame({"a": ["1"], "b": ["2"]}).to_csv(none, index=False)
    with pytest.raises(AudienceError, match=r"none\.csv: no column looks like phone numbers; pass column= one of 'a', 'b'"):
        sa.read_audience(none)


def test_unreadable_inputs_name_the_file(tmp_path: Path):
    with pytest.raises(AudienceError, match="not an audience file"):
        sa.read_audience(tmp_path / "audience.json")
    with pytest.raises(AudienceError) as missing:
        sa.read_audience(tmp_path / "missing.csv")
    assert str(missing.value) == (f"{tmp_path / 'missing.csv'}: cannot be read as CSV: [Errno 2] No such file or "
                                  f"directory: '{tmp_path / 'missing.csv'}'")
    with pytest.raises(AudienceError, match=r"nothing-\*\.csv: cannot be read as CSV: .*resolved to no files$"):
        sa.read_audience(tmp_path / "nothing-*.csv")
    with pytest.raises(AudienceError, match="no Parquet file found"):
        sa.read_audience(tmp_path / "nothing-*.parquet")
    empty = tmp_path / "header-only.csv"
    empty.write_text("phone,name\n")
    with pytest.raises(AudienceError, match="header but no rows"):
        sa.read_audience(empty)
    with pytest.raises(TypeError, match="every CSV cell as text"):
        sa.read_audience(tmp_path / "x.csv", dtype={"phone": float})
    a, b = tmp_path / "mixed" / "a.parquet", tmp_path / "mixed" / "b.parquet"
    a.parent.mkdir()
    pq.write_table(pa.table({"phone": ["1"]}), a)
    pq.write_table(pa.table({"phone": [1]}), b)
    with pytest.raises(AudienceError, match="b.parquet: its columns differ"):
        sa.read_audience(a.parent)


def test_paths_are_told_from_phone_numbers_by_their_name():
    assert audience_format("+44 7700 900123") is None and audience_format(447700900123) is None
    assert audience_format("a.CSV.gz") == "csv" and audience_format("s3://b/x/*.parquet") == "parquet"
    assert audience_format("book.xlsx") == "excel" and audience_format("notes.gz") is None


RATES = pd.DataFrame({"mcc": ["234", "247"], "mnc": [None, None], "country": ["United Kingdom", "Latvia"],
                      "rate": ["0.05", "0.04"]})


def test_an_integer_column_on_dask_is_refused_like_in_memory():
    import dask.dataframe as dd

    # 7400123456: the UK 07400 123456 after losing its 0 (as digits: +7, Russia)
    phones = pd.Series([447400123456, 7400123456, 37120012345], dtype="int64")
    ddf = dd.from_pandas(pd.DataFrame({"phone": phones}), npartitions=2)
    on_dask = sa.estimate(ddf["phone"], "Hi", rates=RATES, default_region="GB", progress=False)
    in_memory = sa.estimate(phones, "Hi", rates=RATES, default_region="GB")
    for est in (on_dask, in_memory):
        assert est.unplaced["index"].tolist() == [1]
        assert str(est.unplaced["value"].iloc[0]) == "7400123456"
        reason = est.unplaced["reason"].iloc[0]
        assert "integer" in reason and "dtype=str" in reason and "read_audience" in reason
        assert est.by_country()["country"].tolist() == ["United Kingdom", "Latvia"]  # never Russia
        assert est.by_country()["numbers"].tolist() == [1, 1]
    assert on_dask.totals == in_memory.totals
    assert on_dask.counts["invalid"] == 1 and on_dask.counts["numbers"] == 2


def test_parquet_integers_stay_integers_and_only_valid_international_ones_are_numbers(tmp_path: Path):
    path = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"msisdn": pa.array([447400123456, 7400123456, None], pa.int64())}), path)
    got = sa.read_audience(path).compute()["msisdn"]
    assert got.tolist()[:2] == [447400123456, 7400123456] and pd.isna(got.iloc[2])
    est = sa.estimate(sa.read_audience(path), "Hi", rates=RATES, default_region="GB", progress=False)
    reasons = est.unplaced.set_index("index")["reason"]
    assert "integer" in reasons.loc[1] and "dtype=str" in reasons.loc[1] and reasons.loc[2] == "missing value"
    assert est.counts["numbers"] == 1 and est.by_country()["country"].tolist() == ["United Kingdom"]
