"""Plain records the API layer returns (the ``Quote`` record lives in ``quote.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Balance:
    """The account balance: exact ``amount``, the currency ``sign`` (``£``) and ISO ``currency`` code."""

    amount: Decimal
    sign: str
    currency: str

    def __str__(self) -> str:
        return f"{self.sign}{self.amount} ({self.currency})"
