"""Personalised texts: a ``str.format``-style template filled per recipient from a DataFrame.

``"Hi {first_name}, your code is {code}"`` takes ``first_name`` and ``code`` from each row.
Placeholders must name columns (``{0}``, ``{}``, ``{a.b}``, ``{a[0]}`` are refused); a format
spec or conversion works as in ``str.format`` (``{amount:.2f}``, ``{name!r}``).  A missing
column or a missing value is an error naming the placeholder (and the rows): a text with a
hole in it would be priced, and sent, wrongly.

Rows are matched to recipients by a ``number`` column when ``data`` has one (normalised as
the client normalises recipients), otherwise by position.
"""
from __future__ import annotations

import string
from typing import Sequence

import numpy as np
import pandas as pd

from ..core.display import MAX_LISTED
from ..core.errors import ValidationError
from ..numbers.normalize import normalize_numbers


class TemplateError(ValidationError, ValueError):
    """A template that cannot be filled from the data: names the placeholder and the rows.  An
    ``SMSgicError`` (input the client refuses) and, as before, a ``ValueError``."""


def placeholders(template: str) -> list[str]:
    """The column names a template uses, in order of first use.

    >>> placeholders("Hi {name}, {code} / {name}")
    ['name', 'code']
    """
    return list(dict.fromkeys(name for name, _, _ in _fields(template)))


def _fields(template: str) -> list[tuple[str, str, str | None]]:
    """(column, format spec, conversion) of each placeholder, checked."""
    if not isinstance(template, str):
        raise TypeError(f"template must be a str, got {type(template).__name__}")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"template {template!r} is not a valid str.format template: {exc}") from None
    out = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name == "" or name.isdigit() or any(c in name for c in ".["):
            raise TemplateError(f"template placeholder {{{name}}} must be a plain column name, like {{first_name}}")
        if spec and ("{" in spec):
            raise TemplateError(f"template placeholder {{{name}:{spec}}}: nested placeholders are not supported")
        out.append((name, spec or "", conversion))
    return out


def fill_template(template: str, data: pd.DataFrame) -> pd.Series:
    """One text per row of ``data`` (same index): ``template`` with each placeholder filled.

    >>> fill_template("Hi {name}!", pd.DataFrame({"name": ["Ann", "Bo"]})).tolist()
    ['Hi Ann!', 'Hi Bo!']
    """
    names = placeholders(template)  # validates the template first
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a DataFrame with one column per placeholder, got {type(data).__name__}")
    missing = [name for name in names if name not in data.columns]
    if missing:
        listed = ", ".join(f"{{{m}}}" for m in missing)
        raise TemplateError(f"template placeholder(s) {listed} have no column in data "
                            f"(columns: {', '.join(map(str, data.columns))})")
    for name in names:
        if isinstance(data[name], pd.DataFrame):
            raise TemplateError(f"template placeholder {{{name}}}: data has several columns named {name!r}")
        holes = data[name].isna().to_numpy()
        if holes.any():
            labels = data.index[holes].tolist()
            more = f" and {len(labels) - MAX_LISTED} more" if len(labels) > MAX_LISTED else ""
            raise TemplateError(f"template placeholder {{{name}}}: column {name!r} is missing a value in "
                                f"data rows {labels[:MAX_LISTED]}{more}")
    text = np.full(len(data), "", dtype=object)
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            text = text + literal
        if name is not None:
            text = text + _as_text(data[name], spec or "", conversion)
    return pd.Series(text, index=data.index, dtype=object, name="text")


def _as_text(column: pd.Series, spec: str, conversion: str | None) -> np.ndarray:
    """A column's values as ``str.format`` would write them."""
    values = column.astype(object).to_numpy()
    if not spec and conversion is None:
        return np.array([v if type(v) is str else format(v) for v in values], dtype=object)
    convert = {None: lambda v: v, "s": str, "r": repr, "a": ascii}[conversion]
    try:
        return np.array([format(convert(v), spec) for v in values], dtype=object)
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"template placeholder {{{column.name}:{spec}}}: {exc}") from None


def align(data: pd.DataFrame, numbers: Sequence[str], positions: Sequence[int] | None = None,
          size: int | None = None, default_region: str | None = None) -> pd.DataFrame:
    """The rows of ``data`` for each of ``numbers`` (normalised recipients), in that order.

    With a ``number`` column: matched by normalised number (the first row of a number that
    appears twice wins, as the client keeps the first of duplicate recipients; rows for other
    numbers are not used).  Without one: by position -- ``positions`` (rows of the original
    input, of length ``size``) or, by default, row i for number i.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a DataFrame, got {type(data).__name__}")
    if "number" in data.columns:
        first: dict[str, int] = {}
        keys, _ = normalize_numbers(data["number"], default_region)
        for i, key in enumerate(keys.tolist()):
            if key is not None:
                first.setdefault(key, i)
        absent = [n for n in numbers if n not in first]
        if absent:
            raise TemplateError(f"data has no row for {len(absent)} recipient(s) (matched by its 'number' "
                                f"column): {absent[:MAX_LISTED]}")
        return data.iloc[[first[n] for n in numbers]]
    expected = size if size is not None else len(numbers)
    if len(data) != expected:
        raise TemplateError(f"data has {len(data)} rows for {expected} recipients: without a 'number' column "
                            f"rows are matched by position, so the counts must agree")
    return data.iloc[list(positions) if positions is not None else slice(None)]
