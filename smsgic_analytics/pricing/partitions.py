"""The per-partition kernels of the Dask estimate: plain pandas -> pandas functions that Dask maps
over an audience's partitions (prepare, mark duplicates, price, summarise, rows).  They
call the same columnar kernels as the in-memory estimate (``offline``), so both paths agree to
the last digit; ``pricing.dask`` plans the graph and aggregates what they return."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..audience.read import ROW
from ..core.display import MAX_LISTED
from ..core.money import PLACES, money_column
from ..numbers.digits import as_arrow, as_bytes, has_number
from ..numbers.normalize import normalize_digits
from ..text.counts import segment_counts
from ..text.templates import fill_template, placeholders
from .offline import (
    BASIS_DTYPE,
    ROWS_COLUMNS,
    Priced,
    class_groups,
    price_numbers,
)
from .rate_table import RateTable


GROUP_KEYS = ["country", "operator", "mcc", "mnc", "basis"]
_POS_BITS = 40  # rows per partition < 2**40; partitions < 2**23
HOLE, _EMPTY_TEXT = -1, -2  # SMS-part sentinels: a template value is missing / the text is empty
_INT64_MAX = 2**63 - 1


# --- kernels (pure functions of one partition; they run on the workers) ---------------------


def _as_text(values: pd.Series) -> pd.arrays.StringArray:
    """The input values as text, for reporting (integers as digits, a float as Python writes it).

    Text and integer columns (a CSV's phone column often reads as int64) convert in one
    vectorised call; only a column mixing other objects is read cell by cell."""
    dtype = values.dtype
    if pd.api.types.is_string_dtype(dtype) and dtype != object:
        return pd.array(values, dtype="string")
    if pd.api.types.is_integer_dtype(dtype):  # numpy or nullable ints: str(int)'s digits, NA stays missing
        return values.astype("string").array
    if dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return pd.array(values.to_numpy(dtype=object), dtype="string")  # str cells and missing ones
    return pd.array([None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else
                     (v if isinstance(v, str) else str(v)) for v in values.tolist()], dtype="string")


def _template_parts(rows: pd.DataFrame, template: str, names: Sequence[str]) -> np.ndarray:
    """SMS parts of the template filled from each row; HOLE / _EMPTY_TEXT where it cannot be."""
    out = np.full(len(rows), HOLE, dtype=np.int64)
    holes = rows[list(names)].isna().any(axis=1).to_numpy(bool) if names else np.zeros(len(rows), bool)
    ok = np.flatnonzero(~holes)
    if len(ok):
        texts = fill_template(template, rows.iloc[ok]).reset_index(drop=True)
        empty = texts.map(lambda t: t == "").to_numpy(bool)
        parts = segment_counts(texts)["segments"].to_numpy(np.int64)
        out[ok] = np.where(empty, _EMPTY_TEXT, parts)
    return out


def prepare_partition(part: pd.DataFrame, phone: Any, template: str | None, sms: int | None,
                      default_region: str | None, partition_info: dict | None = None) -> pd.DataFrame:
    """One input partition -> DataFrame[pos, label, value, number, reason, sms], one row per input row."""
    number = partition_info["number"] if partition_info else 0
    n = len(part)
    if n >= 1 << _POS_BITS:
        raise ValueError(f"a partition of {n} rows is too big to number; repartition the audience")
    digits, reasons = normalize_digits(part[phone], default_region)  # the engine's byte column
    valid = has_number(digits)
    parts = np.zeros(n, dtype=np.int64)
    if sms is not None:
        parts[valid] = sms
    elif valid.any():
        assert template is not None
        parts[valid] = _template_parts(part.iloc[np.flatnonzero(valid)], template, placeholders(template))
    pos = (np.int64(number) << _POS_BITS) + np.arange(n, dtype=np.int64)
    return pd.DataFrame({
        "pos": pos,
        "label": part.index.to_numpy(),
        "value": _as_text(part[phone]),
        "number": as_arrow(digits),
        "reason": pd.array(reasons, dtype="string"),
        "sms": parts,
        "bucket": bucket(digits, pos),
    })


def bucket(digits: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The shuffle key, int64: a function of the number's bytes (every copy of a number lands in
    one partition; two numbers may share a bucket, which only puts them together), and for a
    refused row its ``pos``, so refused rows spread over the partitions like the rest.  An
    integer column: Dask hashes it ~10x faster than the text."""
    words = np.ascontiguousarray(digits).view([("a", "<u8"), ("b", "<u8"), ("c", "<u4")])
    out = words["a"] * np.uint64(0x9E3779B97F4A7C15)  # odd multipliers: every byte moves the sum
    out += words["b"] * np.uint64(0xC2B2AE3D27D4EB4F)
    out += words["c"].astype(np.uint64) * np.uint64(0x165667B19E3779F9)
    out = out.view(np.int64)
    refused = ~has_number(digits)
    out[refused] = pos[refused]
    return out


def mark_partition(part: pd.DataFrame) -> pd.DataFrame:
    """A shuffled partition (every copy of its numbers is here) in input order, with ``first``:
    the row is the first copy of its number -- the recipient -- and ``again``: a later copy
    (a duplicate).  Refused rows are neither."""
    part = part.sort_values("pos", kind="stable")
    valid = part["reason"].isna().to_numpy(bool)
    first = ~part["number"].duplicated().to_numpy(bool)  # refused rows (no number) are masked off
    return part.assign(first=valid & first, again=valid & ~first)


def kept_partition(part: pd.DataFrame) -> pd.DataFrame:
    """A marked partition -> its recipients, in input order."""
    return part[part["first"].to_numpy(bool)]


def duplicates_partition(part: pd.DataFrame) -> pd.DataFrame:
    """A marked partition -> DataFrame[pos, index, value, number, first_index]: every later copy,
    with the label of its number's first copy."""
    first, again_mask = part["first"].to_numpy(bool), part["again"].to_numpy(bool)
    again = part[again_mask]
    label = part["label"].to_numpy()
    # the first copies and the later ones, factorised together: a later copy's code is its first's
    both = np.flatnonzero(first | again_mask)
    codes, uniques = pd.factorize(part["number"].array.take(both))
    is_first = first[both]
    label_of = np.empty(len(uniques), dtype=label.dtype)
    label_of[codes[is_first]] = label[both[is_first]]
    return pd.DataFrame({"pos": again["pos"].to_numpy(), "index": again["label"].to_numpy(),
                         "value": again["value"].array, "number": again["number"].array,
                         "first_index": label_of[codes[~is_first]]})


_PRICED_STRINGS = ["region", "country", "operator", "mcc", "mnc"]


def _category_text(column: pd.Series) -> pd.arrays.ArrowStringArray:
    """A categorical column as Arrow text (missing stays missing): one take over the categories."""
    import pyarrow as pa

    codes = column.cat.codes.to_numpy()
    categories = pa.array(column.cat.categories.astype(object).tolist(), pa.string())
    return pd.arrays.ArrowStringArray(categories.take(pa.array(codes, mask=codes < 0)))


def priced_meta(marked: pd.DataFrame) -> pd.DataFrame:
    """The (empty) frame ``price_partition`` returns, built without classifying anything: the
    client does not need the numbering tables (they are ~200 MB per process)."""
    out = marked[["pos", "label", "value", "number", "sms"]].iloc[:0].copy()
    for name in _PRICED_STRINGS:
        out[name] = pd.array([], dtype="string")
    out["basis"] = np.zeros(0, dtype=np.int8)
    out["reason"] = pd.array([], dtype="string")
    for name in ("low", "expected", "high"):
        out[f"rate_{name}"] = np.zeros(0, dtype=np.int64)
        out[name] = np.zeros(0, dtype=np.int64)
    return out


def price_partition(part: pd.DataFrame, table: RateTable) -> pd.DataFrame:
    """A shuffled partition -> its recipients placed and priced: pos, label, value, number, sms,
    region, country, operator, mcc, mnc, basis (int8), reason (unplaced), rate_* and cost units."""
    kept, priced, sms = _priced(part, table)
    return _priced_rows(kept, priced, sms, slice(None))


def _priced(part: pd.DataFrame, table: RateTable) -> tuple[pd.DataFrame, Priced, np.ndarray]:
    """A marked partition's recipients, their ``Priced`` and SMS parts."""
    kept = kept_partition(part).reset_index(drop=True)
    priced = price_numbers(as_bytes(kept["number"]), table)
    sms = kept["sms"].to_numpy(np.int64)
    top_rate = int(priced.classes[["rate_low", "rate_expected", "rate_high"]].to_numpy(np.int64).max(initial=0))
    if len(kept) and top_rate * max(int(sms.max(initial=0)), 0) > _INT64_MAX:
        raise OverflowError("a rate x SMS parts does not fit in 64-bit units")
    return kept, priced, sms


def _priced_rows(kept: pd.DataFrame, priced: Priced, sms: np.ndarray, which: Any) -> pd.DataFrame:
    """``price_partition``'s rows for the recipients ``which`` selects (a slice or positions)."""
    out = kept[["pos", "label", "value", "number", "sms"]].iloc[which].reset_index(drop=True)
    chosen = priced.take(which)
    for name in _PRICED_STRINGS:
        out[name] = _category_text(chosen.placed[name].reset_index(drop=True))
    out["basis"] = basis = chosen.basis
    out["reason"] = pd.array(chosen.reasons, dtype="string")
    ok, parts = basis < 3, sms[which]
    for name, rate in zip(("low", "expected", "high"), chosen.rates):
        out[f"rate_{name}"] = rate
        out[name] = np.where(ok, rate * parts, -1)
    return out


def _class_groups(priced: Priced, sms: np.ndarray) -> pd.DataFrame:
    """The partition's placed classes with numbers, sms and integer cost units: the in-memory
    estimate's own sums (``offline.class_groups``), keys as text and money as Python ints, so
    the client adds the partitions' rows per GROUP_KEYS without a bound."""
    groups = class_groups(priced, sms)
    out = pd.DataFrame({name: groups[name].astype("string").array for name in GROUP_KEYS[:-1]})
    out["basis"] = groups["basis"].cat.codes.to_numpy(np.int8)
    out["numbers"] = groups["numbers"].to_numpy(np.int64)
    out["sms"] = groups["sms"].to_numpy(np.int64)
    for name in ("low", "expected", "high"):
        out[name] = pd.Series([int(v) for v in groups[name].tolist()], dtype=object)
    return out


@dataclass(frozen=True)
class PartitionSummary:
    """Everything the estimate keeps from one marked partition: small, whatever its size."""

    groups: pd.DataFrame  # _class_groups
    invalid_reasons: pd.DataFrame  # reasons_partition of the refused rows
    unplaced_reasons: pd.DataFrame  # ... of the valid numbers the table cannot place
    unplaced_first: pd.DataFrame  # the first (or every) unplaced row, unplaced_partition columns
    duplicates_first: pd.DataFrame  # the first later copies
    problems_first: pd.DataFrame  # recipients whose template cannot be filled (first MAX_LISTED)
    rows: int
    numbers: int
    duplicates: int
    problems: int


def summarise_partition(part: pd.DataFrame, table: RateTable, sample: int | None,
                        unplaced_sample: int | None) -> PartitionSummary:
    """One marked partition -> its PartitionSummary: a single task reads each partition once,
    so no partition waits in memory for a second consumer."""
    kept, priced, sms = _priced(part, table)
    invalid = part[part["reason"].notna().to_numpy(bool)]
    # per-row frames only for the few rows reported; the sums come from the classes
    unplaced_valid = _priced_rows(kept, priced, sms, np.flatnonzero(priced.basis == 3))
    problems = _priced_rows(kept, priced, sms, np.flatnonzero(sms < 0))
    dups = duplicates_partition(part)
    unplaced = pd.concat([unplaced_partition(invalid), unplaced_partition(unplaced_valid)], ignore_index=True)
    return PartitionSummary(
        groups=_class_groups(priced, sms), invalid_reasons=reasons_partition(invalid),
        unplaced_reasons=reasons_partition(unplaced_valid), unplaced_first=first_rows(unplaced, unplaced_sample),
        duplicates_first=first_rows(dups, sample), problems_first=first_rows(problems, MAX_LISTED),
        rows=len(part), numbers=len(kept), duplicates=len(dups), problems=len(problems))


def reasons_partition(frame: pd.DataFrame) -> pd.DataFrame:
    """DataFrame[reason, rows] of one partition's refused or unplaced rows."""
    counts = frame.groupby("reason", sort=False, observed=True).size()
    return pd.DataFrame({"reason": pd.array(counts.index.astype(object), dtype="string"),
                         "rows": counts.to_numpy(np.int64)})


def first_rows(frame: pd.DataFrame, k: int | None) -> pd.DataFrame:
    """The ``k`` rows that come first in input order (all with None)."""
    return frame if k is None else frame.nsmallest(k, "pos")


def unplaced_partition(frame: pd.DataFrame) -> pd.DataFrame:
    """Refused (prepare) or unplaced (price) rows as DataFrame[pos] + UNPLACED_COLUMNS."""
    def column(name: str) -> Any:
        return frame[name].array if name in frame.columns else pd.array([None] * len(frame), dtype="string")

    return pd.DataFrame({"pos": frame["pos"].to_numpy(), "index": frame["label"].to_numpy(),
                         "value": column("value"), "number": column("number"), "region": column("region"),
                         "country": column("country"), "reason": column("reason")})


def money_array(units: np.ndarray) -> pd.arrays.ArrowExtensionArray:
    """Integer units -> exact Arrow decimal128(38, 4) values (null where units < 0): one
    Decimal per distinct value (``money.money_column``), then an Arrow take."""
    import pyarrow as pa

    units = np.asarray(units, dtype=np.int64).reshape(-1)
    codes, distinct = pd.factorize(units)
    values = pa.array(money_column(distinct), type=pa.decimal128(38, PLACES))
    return pd.arrays.ArrowExtensionArray(values.take(pa.array(codes.astype(np.int64))))


def rows_partition(priced: pd.DataFrame) -> pd.DataFrame:
    """The public per-number rows (ROWS_COLUMNS, as the in-memory ``.rows``), indexed by the
    ``row`` of the number's first copy; money is exact Arrow decimal."""
    out = pd.DataFrame({"number": priced["number"].array}, index=pd.Index(priced["label"].to_numpy(), name=ROW))
    for name in _PRICED_STRINGS:
        out[name] = priced[name].astype("string").array  # by position: out is indexed by row
    out["sms"] = priced["sms"].to_numpy(np.int64)
    for name in ("low", "expected", "high"):
        out[f"rate_{name}"] = money_array(priced[f"rate_{name}"].to_numpy())
    for name in ("low", "expected", "high"):
        out[name] = money_array(priced[name].to_numpy())
    out["basis"] = pd.Categorical.from_codes(priced["basis"].to_numpy(np.int8), dtype=BASIS_DTYPE)
    return out[ROWS_COLUMNS]
