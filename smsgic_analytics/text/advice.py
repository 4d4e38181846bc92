"""The encoding advisor: which characters force UCS-2, where, and what ``smart_encode`` would
save in parts and in money."""
from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..core.display import card
from ..core.money import MoneyError, parse_money
from .alphabet import GRAPHEME, GSM7_NAME, NOT_GSM
from .segments import Segments, segments
from .smart import replacement, smart_encode


class Forcing(NamedTuple):
    """A character that forces UCS-2, where it is (code point offsets into the text), and its
    GSM-7 replacement ('' means remove it; None means there is none)."""

    char: str
    positions: list[int]
    replacement: str | None


def _as_decimal(value: Any, what: str) -> Decimal:
    """A rate >= 0 (``money.parse_money``; a float a person typed is read through its shortest text)."""
    try:
        number = parse_money(value, what, floats=True)
    except MoneyError as exc:
        raise ValueError(f"{what} must be a number: {exc}") from None
    if number < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return number


def _quote_rates(quote: Any) -> list[Decimal]:
    numbers = getattr(quote, "numbers", None)
    if not isinstance(numbers, pd.DataFrame) or "rate" not in numbers.columns:
        raise TypeError("quote must have a .numbers DataFrame with a 'rate' column (as Client.calculate() returns)")
    return [_as_decimal(r, f"quote.numbers row {label!r}: rate") for label, r in numbers["rate"].items()]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if abs(n) == 1 else 's'}"


def _code_points(chars: str) -> str:
    return " ".join(f"U+{ord(c):04X}" for c in chars)


@dataclass(frozen=True)
class Advice:
    """What the characters that force UCS-2 cost, and what ``smart_encode`` would save.

    Nothing is changed: ``suggested_text`` is a proposal.  ``segments_saved`` is per message
    (negative if the suggestion is longer); ``money_saved`` is set when a rate or a quote
    was given, exact, for all recipients.
    """

    text: str
    suggested_text: str
    now: Segments
    after: Segments
    forcing: list[Forcing]
    recipients: int
    rate: Decimal | None = None
    money_saved: Decimal | None = None

    @property
    def segments_now(self) -> int:
        return self.now.segments

    @property
    def segments_after(self) -> int:
        return self.after.segments

    @property
    def segments_saved(self) -> int:
        return self.now.segments - self.after.segments

    @property
    def parts_saved(self) -> int:
        """Parts saved over the whole audience."""
        return self.segments_saved * self.recipients

    def to_frame(self) -> pd.DataFrame:
        """One row per forcing character: char, code_points, positions, count, replacement."""
        # object columns: keep None (no replacement) apart from "" (remove)
        return pd.DataFrame(
            {
                "char": pd.Series([f.char for f in self.forcing], dtype=object),
                "code_points": pd.Series([_code_points(f.char) for f in self.forcing], dtype=object),
                "positions": pd.Series([f.positions for f in self.forcing], dtype=object),
                "count": pd.Series([len(f.positions) for f in self.forcing], dtype=np.int64),
                "replacement": pd.Series([f.replacement for f in self.forcing], dtype=object),
            }
        )

    def _lines(self) -> tuple[str, list[str], str]:
        unit = "septets" if self.now.encoding == GSM7_NAME else "units"
        head = f"Now: {self.now.encoding}, {_plural(self.segments_now, 'part')} ({self.now.units} {unit}) per message."
        if not self.forcing:
            return head, [], "Already GSM-7: nothing to replace."
        unit = "septets" if self.after.encoding == GSM7_NAME else "units"
        parts = _plural(self.segments_after, "part")
        saving = f"Suggested text: {self.after.encoding}, {parts} ({self.after.units} {unit})"
        if self.segments_saved > 0:
            saving += f"; saves {_plural(self.segments_saved, 'part')} per message"
            if self.recipients != 1:
                saving += f", {self.parts_saved} for {self.recipients} recipients"
        elif self.segments_saved < 0:
            saving += f"; costs {_plural(-self.segments_saved, 'part')} more per message"
        else:
            saving += "; saves no part"
        if self.after.ucs2_chars:
            saving += f"; still UCS-2 because of {', '.join(map(repr, self.after.ucs2_chars))}"
        if self.money_saved is not None:
            rate = f" at {self.rate} per part" if self.rate is not None else " at the quoted rates"
            saving += f"; money saved {self.money_saved}{rate}"
        rows = [
            f"{f.char!r} {_code_points(f.char)} at {f.positions} -> "
            + ("no GSM-7 replacement" if f.replacement is None else repr(f.replacement) if f.replacement else "remove")
            for f in self.forcing
        ]
        return head, rows, saving + "."

    def __str__(self) -> str:
        head, rows, saving = self._lines()
        middle = [f"{_plural(len(rows), 'character')} force UCS-2:", *("  " + r for r in rows)] if rows else []
        return "\n".join([head, *middle, saving])

    def _repr_html_(self) -> str:
        head, _, saving = self._lines()
        table = None
        if self.forcing:
            table = pd.DataFrame({
                "character": [repr(f.char) for f in self.forcing],
                "code points": [_code_points(f.char) for f in self.forcing],
                "positions": [", ".join(map(str, f.positions)) for f in self.forcing],
                "replacement": ["—" if f.replacement is None else repr(f.replacement) if f.replacement else "(remove)"
                                for f in self.forcing],
            })
        return card("Encoding advice", [("Now", html.escape(head)), ("Suggested", html.escape(saving))],
                    table=table, table_title="Characters that force UCS-2")


def advise(
    text: str,
    rate: Decimal | float | None = None,
    recipients: int = 1,
    *,
    quote: Any = None,
) -> Advice:
    """Name the characters that force UCS-2 and what replacing them would save.

    ``rate`` is the price of one SMS part; ``recipients`` how many receive the text.  Or pass
    ``quote`` (anything with a ``.numbers`` DataFrame with a ``rate`` column, such as
    ``Client.calculate()``'s result): money saved is then the sum over its numbers.

    >>> a = advise("Olá! A promoção “VIP” termina hoje – use o código VERAO e poupe 20% já.",
    ...            rate="0.04", recipients=1000)
    >>> a.segments_now, a.segments_after, a.money_saved
    (2, 1, Decimal('40.00'))
    >>> a.suggested_text
    'Ola! A promocao "VIP" termina hoje - use o codigo VERAO e poupe 20% ja.'
    >>> print(a)  # doctest: +ELLIPSIS
    Now: UCS-2, 2 parts (71 units) per message.
    7 characters force UCS-2:
      'á' U+00E1 at [2, 69] -> 'a'
    ...
    """
    if isinstance(recipients, bool) or not isinstance(recipients, (int, np.integer)) or recipients < 0:
        raise ValueError(f"recipients must be a whole number >= 0, got {recipients!r}")
    if rate is not None and quote is not None:
        raise ValueError("give either rate (with recipients) or quote, not both")
    now = segments(text)
    forcing: dict[str, list[int]] = {}
    offset = 0
    for g in GRAPHEME.findall(text):
        if NOT_GSM.search(g):
            forcing.setdefault(g, []).append(offset)
        offset += len(g)
    suggested = smart_encode(text)
    after = segments(suggested)
    saved = now.segments - after.segments
    money: Decimal | None = None
    unit_rate: Decimal | None = None
    if quote is not None:
        rates = _quote_rates(quote)
        if recipients not in (1, len(rates)):
            raise ValueError(f"recipients={recipients} disagrees with the quote's {len(rates)} numbers")
        recipients = len(rates)
        money = sum(rates, Decimal(0)) * saved
    elif rate is not None:
        unit_rate = _as_decimal(rate, "rate")
        money = unit_rate * saved * int(recipients)
    return Advice(
        text=text,
        suggested_text=suggested,
        now=now,
        after=after,
        forcing=[Forcing(g, p, replacement(g)) for g, p in forcing.items()],
        recipients=int(recipients),
        rate=unit_rate,
        money_saved=money,
    )
