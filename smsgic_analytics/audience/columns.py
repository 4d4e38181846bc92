"""Which column of a table holds the phone numbers, by its name.

One rule for every reader: the apps' upload form (a default the person can change) and
``read_audience`` (which must not guess: two candidates are an error naming them).

>>> phone_columns(["customer_id", "Mobile", "first_name"])
['Mobile']
"""
from __future__ import annotations

import re
from typing import Any, Iterable

PHONE_COLUMN_RE = re.compile(r"phone|number|msisdn|mobile|recipient|tel", re.IGNORECASE)


def phone_columns(columns: Iterable[Any]) -> list[Any]:
    """Every column whose name looks like a phone-number column, in table order."""
    return [c for c in columns if PHONE_COLUMN_RE.search(str(c))]


def guess_phone_column(columns: Iterable[Any]) -> Any:
    """The first column whose name looks like a phone number column, else the first column
    (a default for a form, where the person sees and can change the choice)."""
    columns = list(columns)
    found = phone_columns(columns)
    return found[0] if found else (columns[0] if columns else None)
