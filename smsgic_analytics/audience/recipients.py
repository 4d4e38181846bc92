"""De-duplicate and validate recipient lists, keeping a reason for every row.

Each value is normalised by ``phone.normalize_numbers`` (the project's one normaliser: the
rules live there).  A row that cannot be normalised is never dropped quietly: it is raised
(default) or reported with its index, original value and the rule it breaks; repeats of a
number are merged and listed with the row they repeat.

>>> r = normalize_recipients(["+44 7700 900123", "0044-7700-900123", "12ab"], on_invalid="report")
>>> r.numbers, len(r.duplicates), r.invalid.loc[0, "reason"]
(('447700900123',), 1, "contains characters other than digits: 'a', 'b'")
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Literal

import numpy as np
import pandas as pd

from ..core.display import MAX_LISTED
from ..core.errors import InvalidRecipientsError
from ..numbers.digits import as_bytes, as_text, has_number, keys
from ..numbers.normalize import indexed_numbers, normalize_digits

OnInvalid = Literal["raise", "report"]


@dataclass(frozen=True, eq=False)
class Recipients:
    """The outcome of :func:`normalize_recipients`.

    ``numbers``: valid, unique, normalised numbers in first-seen order (``digits``: the same
    as the engine's ``S20`` byte column, ``numbers.digits``).
    ``invalid``: DataFrame[index, value, reason], one row per rejected input row.
    ``duplicates``: DataFrame[index, value, number, first_index], one row per repeat.
    ``total``: how many rows came in (= valid unique + duplicates + invalid).
    ``positions``: the input position (0-based) of each of ``numbers``: its first row.
    """

    digits: np.ndarray = field(repr=False)
    invalid: pd.DataFrame
    duplicates: pd.DataFrame
    total: int
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    @classmethod
    def of(cls, numbers: Iterable[str], **fields: Any) -> Recipients:
        """Recipients from ``numbers`` as text (normalised digits)."""
        return cls(digits=as_bytes(list(numbers)), **fields)

    @cached_property
    def numbers(self) -> tuple[str, ...]:
        """The numbers as ``str`` (made on first use: the pricing engine does not need them)."""
        return tuple(as_text(self.digits).tolist())

    def __len__(self) -> int:
        return len(self.digits)

    def summary(self) -> str:
        """One line: how many rows were kept, merged and rejected."""
        return (f"{self.total} rows: {len(self.digits)} unique valid numbers, "
                f"{len(self.duplicates)} duplicates, {len(self.invalid)} invalid")

    def raise_for_invalid(self) -> None:
        """Raise ``InvalidRecipientsError`` naming every bad row, if there is one."""
        if self.invalid.empty:
            return
        rows = list(self.invalid.itertuples(index=False))
        listed = "; ".join(f"row {r.index!r} {r.value!r}: {r.reason}" for r in rows[:MAX_LISTED])
        more = f"; ... and {len(rows) - MAX_LISTED} more (see .invalid)" if len(rows) > MAX_LISTED else ""
        field_errors = {f"recipients.{r.index}": [f"{r.value!r}: {r.reason}"] for r in rows}
        raise InvalidRecipientsError(
            f"{len(rows)} of {self.total} recipients are invalid: {listed}{more}",
            field_errors=field_errors,
            invalid=self.invalid.copy(),
        )


def normalize_recipients(values: Any, *, on_invalid: OnInvalid = "raise",
                         default_region: str | None = None) -> Recipients:
    """Normalise a list/Series/array of phone numbers, de-duplicate them, check each one.

    ``on_invalid="raise"`` (default) raises ``InvalidRecipientsError`` listing every bad row
    (index, original value, reason); ``"report"`` keeps going and returns them in ``.invalid``.
    Row indexes are the Series' index labels, or positions for other inputs.
    ``default_region`` (e.g. ``"GB"``) reads national numbers (leading 0) as that region's.

    >>> normalize_recipients(pd.Series(["+371 2000 0001", "371-2000-0001"])).numbers
    ('37120000001',)
    """
    if on_invalid not in ("raise", "report"):
        raise ValueError(f"on_invalid must be 'raise' or 'report', not {on_invalid!r}")
    labels, column = indexed_numbers(values)
    digits, reasons = normalize_digits(column, default_region)  # an int64 column stays one (vectorised)
    refused = ~has_number(digits)
    kept = np.flatnonzero(~refused)
    first, copied = _first_copies(digits, kept)
    positions = kept[first]
    bad, again = np.flatnonzero(refused), kept[~first]

    def labels_at(rows: np.ndarray) -> np.ndarray:
        return labels.take(rows).to_numpy(dtype=object)

    result = Recipients(
        digits=digits[positions],
        invalid=_frame({"index": (labels_at(bad), object), "value": (_values_at(column, bad), object),
                        "reason": (reasons[bad], "string")}),
        duplicates=_frame({"index": (labels_at(again), object), "value": (_values_at(column, again), object),
                           "number": (as_text(digits[again]), "string"),
                           "first_index": (labels_at(kept[copied]), object)}),
        total=len(digits),
        positions=positions.astype(np.int64),
    )
    if on_invalid == "raise":
        result.raise_for_invalid()
    return result


def _first_copies(digits: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Over the ``kept`` rows of ``digits``: (is each its number's first copy, for every later
    copy the position in ``kept`` of its first copy).

    By the numbers' decimal values (uint64; their text when a 20-digit number is too big for
    one): a hash ``duplicated`` over all rows, then a lookup among the few numbers that repeat
    -- no table of every number is kept."""
    values = keys(digits)
    values = as_text(digits[kept]) if values is None else values[kept]
    column = pd.Series(values, copy=False)
    first = ~(_repeats(values) if values.dtype == np.uint64 else column.duplicated().to_numpy())
    again = column[~first]
    repeated = np.flatnonzero(first & column.isin(again.unique()).to_numpy())
    copied = repeated[pd.Index(column.iloc[repeated]).get_indexer(again)]
    return first, copied


_BUCKET = 1 << 17  # keys per hash table: small enough to stay in the CPU cache


def _repeats(values: np.ndarray) -> np.ndarray:
    """``pd.Series(values).duplicated()`` for uint64 keys, in cache-sized buckets: one hash table
    over millions of keys misses the cache on every probe (4x slower per key at 4M than at
    1M).  A key's bucket comes from its bits, so every copy of a number lands in one bucket,
    and a stable partition keeps the input order inside it: "first copy" means the same."""
    n = len(values)
    if n <= _BUCKET:
        return pd.Series(values, copy=False).duplicated().to_numpy()
    bits = int(np.ceil(np.log2(n / _BUCKET)))
    bucket = ((values * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)).astype(np.uint16)  # Fibonacci hash
    order = np.argsort(bucket, kind="stable")  # a radix sort for 16-bit keys: linear
    ordered = values[order]
    bounds = np.searchsorted(bucket[order], np.arange((1 << bits) + 1))
    repeated = np.empty(n, dtype=bool)
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        repeated[lo:hi] = pd.Series(ordered[lo:hi], copy=False).duplicated().to_numpy()
    out = np.empty(n, dtype=bool)
    out[order] = repeated
    return out


def _frame(columns: dict[str, tuple[np.ndarray, Any]]) -> pd.DataFrame:
    """Columns -> DataFrame; object columns keep original values (None, ints) as they came."""
    return pd.DataFrame({name: pd.Series(values, dtype=dtype) for name, (values, dtype) in columns.items()})


def _values_at(column: Any, rows: np.ndarray) -> np.ndarray:
    """The input values at ``rows``, as they came (a tuple or list item stays one cell)."""
    if isinstance(column, pd.Series):
        picked = column.iloc[rows].tolist()
    elif isinstance(column, np.ndarray):
        picked = column[rows].tolist()
    else:
        picked = [column[i] for i in rows.tolist()]
    return np.fromiter(picked, dtype=object, count=len(picked))
