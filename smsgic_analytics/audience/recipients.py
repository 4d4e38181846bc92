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
from typing import Any, Iterable, Literal

import numpy as np
import pandas as pd

from ..core.display import MAX_LISTED
from ..core.errors import InvalidRecipientsError
from ..numbers.normalize import normalize_numbers

OnInvalid = Literal["raise", "report"]


@dataclass(frozen=True)
class Recipients:
    """The outcome of :func:`normalize_recipients`.

    ``numbers``: valid, unique, normalised numbers in first-seen order.
    ``invalid``: DataFrame[index, value, reason], one row per rejected input row.
    ``duplicates``: DataFrame[index, value, number, first_index], one row per repeat.
    ``total``: how many rows came in (= valid unique + duplicates + invalid).
    ``positions``: the input position (0-based) of each of ``numbers``: its first row.
    """

    numbers: tuple[str, ...]
    invalid: pd.DataFrame
    duplicates: pd.DataFrame
    total: int
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.numbers)

    def summary(self) -> str:
        """One line: how many rows were kept, merged and rejected."""
        return (f"{self.total} rows: {len(self.numbers)} unique valid numbers, "
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
    labels, items, column = _indexed(values)
    digits, reasons = normalize_numbers(column, default_region)  # an int64 column stays one (vectorised)
    refused = pd.notna(np.asarray(reasons, dtype=object))
    kept = np.flatnonzero(~refused)
    # Duplicates by a hash factorize (codes in first-seen order): a row is a number's first
    # copy exactly when its code is above every code before it.
    codes, uniques = pd.factorize(np.asarray(digits, dtype=object)[kept])
    first = np.ones(len(codes), dtype=bool)
    if len(codes) > 1:
        first[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    positions = kept[first]
    bad, again = np.flatnonzero(refused), kept[~first]
    result = Recipients(
        numbers=tuple(np.asarray(uniques, dtype=object).tolist()),
        invalid=_frame({"index": (labels[bad], object), "value": (items[bad], object),
                        "reason": (np.asarray(reasons, dtype=object)[bad], "string")}),
        duplicates=_frame({"index": (labels[again], object), "value": (items[again], object),
                           "number": (np.asarray(digits, dtype=object)[again], "string"),
                           "first_index": (labels[positions[codes[~first]]], object)}),
        total=len(items),
        positions=positions.astype(np.int64),
    )
    if on_invalid == "raise":
        result.raise_for_invalid()
    return result


def _frame(columns: dict[str, tuple[np.ndarray, Any]]) -> pd.DataFrame:
    """Columns -> DataFrame; object columns keep original values (None, ints) as they came."""
    return pd.DataFrame({name: pd.Series(values, dtype=dtype) for name, (values, dtype) in columns.items()})


def _indexed(values: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """(labels, values, column) -- labels and values as object arrays: a Series keeps its
    labels, anything else is numbered from 0; ``column`` is what the normaliser gets (a
    Series or array keeps its dtype)."""
    if isinstance(values, pd.DataFrame):
        raise TypeError("pass one column of numbers (a Series), not a whole DataFrame")
    if isinstance(values, (pd.Series, pd.Index)):
        series = pd.Series(values)
        return series.index.to_numpy(dtype=object), _objects(series.tolist()), series
    if isinstance(values, (str, bytes, int)) or not isinstance(values, Iterable):
        values = [values]  # one number on its own, not its characters one by one
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return np.arange(len(values)).astype(object), _objects(values.tolist()), values
    items = list(values)
    return np.arange(len(items)).astype(object), _objects(items), items


def _objects(items: list[Any]) -> np.ndarray:
    """A 1-d object array of the items as they are (a tuple or list item stays one cell)."""
    return np.fromiter(items, dtype=object, count=len(items))
