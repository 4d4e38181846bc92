"""``read_audience``: an audience file as a lazy Dask DataFrame, numbers as text (or integers as stored), rows numbered.

Formats, chosen by the file name:

* CSV / TSV (``.csv``, ``.tsv``, ``.tab``, ``.txt``; each also ``.gz``): every cell is read as
  text (``dtype=str``, only an empty cell is missing), so ``0044...`` keeps its zeros and no
  number ever passes through a float.  A ``.gz`` file is one partition (gzip cannot be split).
* Parquet (a file, a folder of ``*.parquet`` files, or a glob): read with pyarrow, one
  partition per group of row groups.  A phone column stored as integers stays integers
  (pandas ``Int64``): the normaliser accepts those that are valid international numbers by
  their digits and refuses the others, row by row (an integer has lost any leading 0 or
  ``+``); one stored as floats (or decimals) is refused, with the normaliser's reason: a
  float may already have lost digits.
* Excel (``.xlsx``, ``.xlsm``; one sheet): read whole with openpyxl (cells keep their type, as
  ``pd.read_excel(dtype=object)`` gives them), then split; meant for small files.

Row numbers: the index of the result is ``row``, the 0-based position of the data row in the
file (header not counted: the label ``pd.read_csv`` would give it), continued across the files
of a folder or glob in sorted name order.  Every refusal downstream names this label.  The
divisions are known, so ``ddf.loc[1234]`` finds a row without reading the others.

The phone column: ``column=`` names it; without it the one column whose name looks like a
phone column (``columns.phone_columns``: phone, number, msisdn, mobile, recipient, tel) is
used; none or several is an ``AudienceError`` naming the file and listing its columns.

>>> ddf = read_audience("customers.parquet")                       # doctest: +SKIP
>>> ddf = read_audience("export-*.csv.gz", column="Mobile")         # doctest: +SKIP
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from ..core.errors import ValidationError
from ..numbers.normalize import FLOAT_VALUE
from .columns import phone_columns

if TYPE_CHECKING:  # dask is imported when an audience is read: ``import smsgic_analytics`` stays quick
    import dask.dataframe as dd

ROW = "row"
CSV_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
ROWS_PER_PARTITION = 250_000  # Parquet and Excel: rows per partition (row groups are not split); small
# partitions keep each worker's working memory small (~100 MB), and a shuffle of hundreds of them is cheap
CSV_BLOCKSIZE = "64MB"


class AudienceError(ValidationError, ValueError):
    """An audience file that cannot be read as asked: the message names the file and why.  An
    ``SMSgicError`` (input the client refuses) and, as before, a ``ValueError``."""


def audience_format(path: Any) -> str | None:
    """"csv", "parquet" or "excel" for a path (or glob) by its name, a folder -> "parquet"; else None."""
    if not isinstance(path, (str, os.PathLike)):
        return None
    text = os.fspath(path)
    lower = text.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
        return "csv" if lower.endswith(CSV_SUFFIXES) else None
    if lower.endswith(CSV_SUFFIXES):
        return "csv"
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(EXCEL_SUFFIXES):
        return "excel"
    if os.path.isdir(text):  # a local folder of Parquet files (remote ones: give a glob, .../*.parquet)
        return "parquet"
    return None


def read_audience(path: str | os.PathLike[str], column: str | None = None, *, columns: Sequence[str] | None = None,
                  rows_per_partition: int = ROWS_PER_PARTITION, sheet_name: str | int = 0,
                  **options: Any) -> "dd.DataFrame":
    """The audience at ``path`` as a Dask DataFrame indexed by ``row`` (see the module docstring).

    ``column``: the phone column (detected by name when None; checked either way).
    ``columns``: read only these columns (the phone column is always read) -- the columns a
    ``{column}`` template uses, say.  ``options`` go to ``dask.dataframe.read_csv`` (``sep``,
    ``blocksize``, ``encoding`` ...) or ``pandas.read_excel``; ``storage_options`` also to
    Parquet (remote files through fsspec).

    >>> ddf = sa.read_audience("audience.parquet", column="phone")   # doctest: +SKIP
    >>> sa.estimate(ddf["phone"], "Sale today!", rates=rates).totals  # doctest: +SKIP
    """
    kind = audience_format(path)
    where = os.fspath(path)
    if kind is None:
        raise AudienceError(f"{where}: not an audience file this reads (CSV/TSV, also .gz; Parquet file, folder "
                            f"or glob; .xlsx/.xlsm)")
    if rows_per_partition < 1:
        raise ValueError(f"rows_per_partition must be at least 1, not {rows_per_partition}")
    if kind == "csv":
        return _read_csv(where, column, columns, options)
    if kind == "parquet":
        return _read_parquet(where, column, columns, rows_per_partition, options)
    return _read_excel(where, column, columns, rows_per_partition, sheet_name, options)


def audience_column(columns: Sequence[Any], column: str | None, where: str) -> Any:
    """The phone column among ``columns``: ``column`` if it is there, else the one that looks
    like a phone column; an ``AudienceError`` naming ``where`` and listing the columns otherwise."""
    listed = ", ".join(repr(str(c)) for c in columns) or "(none)"
    if column is not None:
        if column in list(columns):
            return column
        near = [c for c in columns if str(c).strip().casefold() == str(column).strip().casefold()]
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise AudienceError(f"{where}: no column {column!r}{hint}; its columns are {listed}")
    found = phone_columns(columns)
    if len(found) == 1:
        return found[0]
    if not found:
        raise AudienceError(f"{where}: no column looks like phone numbers; pass column= one of {listed}")
    raise AudienceError(f"{where}: {len(found)} columns look like phone numbers "
                        f"({', '.join(repr(str(c)) for c in found)}); pass column= one of them "
                        f"(its columns are {listed})")


def _selected(all_columns: Sequence[Any], phone: Any, columns: Sequence[str] | None, where: str) -> list[Any]:
    """The columns to read, in file order: ``columns`` plus the phone column (checked)."""
    if columns is None:
        return list(all_columns)
    missing = [c for c in columns if c not in list(all_columns)]
    if missing:
        raise AudienceError(f"{where}: no column(s) {missing}; its columns are "
                            f"{', '.join(repr(str(c)) for c in all_columns)}")
    wanted = set(columns) | {phone}
    return [c for c in all_columns if c in wanted]


def _index_rows(frame: pd.DataFrame, offsets: Sequence[int], partition_info: dict | None = None) -> pd.DataFrame:
    """The partition with its global 0-based row numbers as the ``row`` index."""
    start = offsets[partition_info["number"]] if partition_info else 0
    out = frame.copy(deep=False)
    out.index = pd.RangeIndex(start, start + len(frame), name=ROW)
    return out


def _starts(lengths: Sequence[int]) -> list[int]:
    """The first 0-based row of each partition of these lengths."""
    return [0, *accumulate(lengths[:-1])]


def _divisions(lengths: Sequence[int]) -> tuple[int, ...]:
    """Known divisions of a 0-based row index over partitions of these lengths (none empty)."""
    starts = _starts(lengths)
    return (*starts, starts[-1] + lengths[-1] - 1)


# --- CSV / TSV ---------------------------------------------------------------------------

def _read_csv(where: str, column: str | None, columns: Sequence[str] | None, options: dict[str, Any]) -> "dd.DataFrame":
    import dask.dataframe as dd

    lower = where.lower().removesuffix(".gz")
    options = dict(options)
    options.setdefault("sep", "\t" if lower.endswith((".tsv", ".tab")) else ",")
    # gzip is not splittable: one partition per file
    options.setdefault("blocksize", None if where.lower().endswith(".gz") else CSV_BLOCKSIZE)
    for fixed in ("dtype", "keep_default_na", "na_values"):
        if fixed in options:
            raise TypeError(f"read_audience reads every CSV cell as text; {fixed}= cannot be changed")
    try:
        raw = dd.read_csv(where, dtype=str, keep_default_na=False, na_values=[""], **options)
    except (OSError, ValueError) as exc:  # no such file, an empty file, a glob that matches nothing
        said = str(exc).split("Original Message: ")[-1]  # the reader's own words, without dask's wrapper
        raise AudienceError(f"{where}: cannot be read as CSV: {said}") from None
    phone = audience_column(list(raw.columns), column, where)
    raw = raw[_selected(list(raw.columns), phone, columns, where)]
    # One pass that only counts rows per block (parsing just the phone column): row numbers
    # are then global and the divisions known.  Blocks are cut at the same bytes every time.
    lengths = [int(n) for n in raw[[phone]].map_partitions(len, meta=(None, "int64")).compute()]
    keep = [i for i, n in enumerate(lengths) if n > 0]
    if not keep:
        raise AudienceError(f"{where}: the file has a header but no rows")
    numbered = raw.map_partitions(_index_rows, _starts(lengths), meta=_index_rows(raw._meta, [0]))
    if len(keep) < len(lengths):  # a block that holds only blank lines: drop it, divisions must not repeat
        numbered = numbered.partitions[keep]
    # Empty blocks hold no rows, so the kept blocks' lengths alone give their starts.
    return _with_divisions(numbered, [lengths[i] for i in keep])


def _with_divisions(frame: "dd.DataFrame", lengths: Sequence[int]) -> "dd.DataFrame":
    """``frame`` (already indexed by row) with its known divisions declared, at no cost."""
    import dask.dataframe as dd

    return dd.from_delayed(frame.to_delayed(), meta=frame._meta, divisions=_divisions(lengths), verify_meta=False)


# --- Parquet -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Piece:
    """Row groups of one Parquet file read as one partition, starting at global row ``start``."""

    path: str
    row_groups: tuple[int, ...]
    start: int
    rows: int


def _parquet_files(where: str, storage_options: dict[str, Any] | None) -> tuple[Any, list[str]]:
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(where, **(storage_options or {}))
    if fs.isdir(root):
        found = [p for p in fs.find(root) if p.lower().endswith(PARQUET_SUFFIXES)
                 and not any(part.startswith(("_", ".")) for part in p[len(root):].split("/") if part)]
    elif any(c in root for c in "*?["):
        found = [p for p in fs.glob(root) if not fs.isdir(p)]
    else:
        found = [root] if fs.exists(root) else []
    if not found:
        raise AudienceError(f"{where}: no Parquet file found")
    return fs, sorted(found)


def _arrow_kind(field_type: Any) -> str:
    import pyarrow as pa

    t = field_type.value_type if pa.types.is_dictionary(field_type) else field_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _: False)(t):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_null(t):
        return "text"
    return "other"


def _read_parquet(where: str, column: str | None, columns: Sequence[str] | None, rows_per_partition: int,
                  options: dict[str, Any]) -> "dd.DataFrame":
    import dask.dataframe as dd
    import pyarrow.parquet as pq

    storage_options = options.pop("storage_options", None)
    if options:
        raise TypeError(f"read_audience: options {sorted(options)} are for CSV or Excel files, not Parquet")
    fs, files = _parquet_files(where, storage_options)
    pieces: list[_Piece] = []
    schema = None
    start = 0
    for path in files:
        with fs.open(path, "rb") as handle:
            meta = pq.ParquetFile(handle).metadata
            file_schema = meta.schema.to_arrow_schema()
        if schema is None:
            schema = file_schema
            phone = audience_column(list(schema.names), column, where if len(files) == 1 else path)
            selected = _selected(list(schema.names), phone, columns, path)
            kind = _arrow_kind(schema.field(phone).type)
            if kind == "float":
                raise AudienceError(f"{path}: column {phone!r} is stored as {schema.field(phone).type}: "
                                    f"{FLOAT_VALUE}; write the file with the column as text")
            if kind == "other":
                raise AudienceError(f"{path}: column {phone!r} is stored as {schema.field(phone).type}, "
                                    f"not as text or integers")
        else:
            missing = [c for c in selected if c not in file_schema.names]
            differ = [c for c in selected if c not in missing and file_schema.field(c).type != schema.field(c).type]
            if missing or differ:
                raise AudienceError(f"{path}: its columns differ from {files[0]}'s "
                                    f"(missing {missing}, other types {differ}): one audience, one schema")
        group: list[int] = []
        rows = 0
        for i in range(meta.num_row_groups):
            n = meta.row_group(i).num_rows
            if n == 0:
                continue
            if group and rows + n > rows_per_partition:
                pieces.append(_Piece(path, tuple(group), start, rows))
                start, group, rows = start + rows, [], 0
            group.append(i)
            rows += n
        if group:
            pieces.append(_Piece(path, tuple(group), start, rows))
            start += rows
    if not pieces:
        raise AudienceError(f"{where}: the Parquet data has no rows")
    assert schema is not None
    meta_frame = _parquet_frame(schema.empty_table().select(selected), phone, 0)
    reader = _ParquetReader(tuple(selected), phone, storage_options)
    return dd.from_map(reader, pieces, meta=meta_frame, divisions=_divisions([p.rows for p in pieces]),
                       enforce_metadata=False, label="read-audience-parquet")


def _parquet_frame(table: Any, phone: Any, start: int) -> pd.DataFrame:
    """An Arrow table as pandas (as ``pd.read_parquet`` gives it); the phone column as text, or
    as nullable integers when it is stored as integers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    i = table.schema.get_field_index(phone)
    if i < 0:  # projected away: nothing to convert
        frame = table.to_pandas()
        frame.index = pd.RangeIndex(start, start + len(frame), name=ROW)
        return frame
    field_type = table.schema.field(i).type
    if pa.types.is_dictionary(field_type):
        table = table.set_column(i, phone, pc.cast(table.column(i), field_type.value_type))
        field_type = field_type.value_type
    if pa.types.is_integer(field_type):
        # Integers stay integers (nullable: a missing cell must not make the column floats), so
        # the normaliser knows they lost any leading 0 or "+" and refuses the ones that are not
        # valid international numbers by their digits -- never digits read as text.
        mapper = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                  pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
                  pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype()}
        column = table.column(i).to_pandas(types_mapper=mapper.get)
        frame = table.remove_column(i).to_pandas()
        frame.insert(i, phone, column.array)
        frame.index = pd.RangeIndex(start, start + len(frame), name=ROW)
        return frame
    if pa.types.is_null(field_type):
        table = table.set_column(i, phone, pc.cast(table.column(i), pa.string()))
    frame = table.to_pandas()
    frame.index = pd.RangeIndex(start, start + len(frame), name=ROW)
    return frame


class _ParquetReader:
    """Reads one ``_Piece`` (picklable: it runs on the workers)."""

    def __init__(self, columns: tuple[Any, ...], phone: Any, storage_options: dict[str, Any] | None) -> None:
        self.columns, self.phone, self.storage_options = columns, phone, storage_options

    def __call__(self, piece: _Piece, columns: Sequence[Any] | None = None) -> pd.DataFrame:
        """``columns``: Dask's column projection (``ddf[["phone", "first_name"]]`` reads only those)."""
        import pyarrow.parquet as pq
        from fsspec.core import url_to_fs

        wanted = list(self.columns) if columns is None else [c for c in self.columns if c in set(columns)]
        fs, _ = url_to_fs(piece.path, **(self.storage_options or {}))
        with fs.open(piece.path, "rb") as handle:
            table = pq.ParquetFile(handle).read_row_groups(list(piece.row_groups), columns=wanted)
        if table.num_rows != piece.rows:
            raise AudienceError(f"{piece.path}: row groups {piece.row_groups} hold {table.num_rows} rows, "
                                f"{piece.rows} when the audience was opened: the file changed")
        return _parquet_frame(table, self.phone, piece.start)


# --- Excel -------------------------------------------------------------------------------

def _read_excel(where: str, column: str | None, columns: Sequence[str] | None, rows_per_partition: int,
                sheet_name: str | int, options: dict[str, Any]) -> "dd.DataFrame":
    import dask
    import dask.dataframe as dd

    for fixed in ("dtype", "converters"):
        if fixed in options:
            raise TypeError(f"read_audience reads Excel cells as they are typed; {fixed}= cannot be changed")
    try:
        frame = pd.read_excel(where, sheet_name=sheet_name, dtype=object, engine="openpyxl", **options)
    except (OSError, ValueError, KeyError) as exc:
        raise AudienceError(f"{where}: cannot be read as an Excel sheet ({sheet_name!r}): {exc}") from None
    phone = audience_column(list(frame.columns), column, where)
    frame = frame[_selected(list(frame.columns), phone, columns, where)]
    if frame.empty:
        raise AudienceError(f"{where}: sheet {sheet_name!r} has a header but no rows")
    frame.index = pd.RangeIndex(0, len(frame), name=ROW)
    # Cells keep the type Excel gave them (an integer's digits are exact, a float is refused
    # later with its reason): dask must not turn the object columns into text.
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_pandas(frame, npartitions=max(1, math.ceil(len(frame) / rows_per_partition)), sort=True)
