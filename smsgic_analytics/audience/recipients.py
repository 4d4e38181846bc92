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

from dataclasses import dataclass
from typing import Any, Hashable, Iterable, Literal

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
    """

    numbers: tuple[str, ...]
    invalid: pd.DataFrame
    duplicates: pd.DataFrame
    total: int

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
    refused = np.fromiter((r is not None for r in reasons), dtype=bool, count=len(items))
    kept = np.flatnonzero(~refused)
    numbers = pd.Series(digits[kept], dtype=object)
    repeat = numbers.duplicated().to_numpy()
    first_of = dict(zip(numbers[~repeat].tolist(), kept[~repeat].tolist()))
    bad, again = np.flatnonzero(refused).tolist(), kept[repeat].tolist()
    result = Recipients(
        numbers=tuple(numbers[~repeat].tolist()),
        invalid=_frame([(labels[i], items[i], reasons[i]) for i in bad],
                       {"index": object, "value": object, "reason": "string"}),
        duplicates=_frame([(labels[i], items[i], digits[i], labels[first_of[digits[i]]]) for i in again],
                          {"index": object, "value": object, "number": "string", "first_index": object}),
        total=len(items),
    )
    if on_invalid == "raise":
        result.raise_for_invalid()
    return result


def _frame(rows: list[tuple[Any, ...]], dtypes: dict[str, Any]) -> pd.DataFrame:
    """Rows -> DataFrame, column by column so original values (None, ints) are kept as they came."""
    columns = list(zip(*rows)) if rows else [()] * len(dtypes)
    return pd.DataFrame({name: pd.Series(list(col), dtype=dtype) for (name, dtype), col in zip(dtypes.items(), columns)})


def _indexed(values: Any) -> tuple[list[Hashable], list[Any], Any]:
    """(labels, values, column): a Series keeps its labels, anything else is numbered from 0;
    ``column`` is what the normaliser gets (a Series or array keeps its dtype)."""
    if isinstance(values, pd.DataFrame):
        raise TypeError("pass one column of numbers (a Series), not a whole DataFrame")
    if isinstance(values, (pd.Series, pd.Index)):
        series = pd.Series(values)
        return series.index.tolist(), series.tolist(), series
    if isinstance(values, (str, bytes, int)) or not isinstance(values, Iterable):
        values = [values]  # one number on its own, not its characters one by one
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return list(range(len(values))), values.tolist(), values
    items = list(values)
    return list(range(len(items))), items, items
