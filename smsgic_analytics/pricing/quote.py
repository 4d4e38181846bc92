"""``Quote``: the exact price of one message to an audience, merged from calculate responses.

Money stays ``Decimal`` end to end: the API's JSON numbers are parsed as Decimal, per-number
``rate``/``total`` columns hold Decimal objects, and the totals are Decimal sums of the API's
own ``info`` blocks.  Nothing is rounded and nothing is converted to float on the way.

Every chunk answer is checked before it is merged: each requested number priced exactly once,
no number the client did not ask for, and the sums reconcile (Σ per-number totals = subtotal,
subtotal + tax = total, Σ sms = sms_count, per destination too).  A mismatch raises
``ServerError`` naming the chunk and the rule; it is never papered over.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from ..audience.recipients import Recipients
from ..core.display import card, readable, warn
from ..core.errors import ServerError
from ..core.money import format_money, parse_money
from .whatif import reprice

NUMBERS_COLUMNS = ["number", "destination", "country", "operator", "sms", "rate", "total"]
DESTINATIONS_COLUMNS = ["destination", "country", "operator", "numbers", "sms_count", "price", "total"]


def money(value: Any, where: str) -> Decimal:
    """A JSON number of an answer (already Decimal or int) as Decimal; anything else is a server error."""
    return parse_money(value, where, error=ServerError)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServerError(f"{where}: expected an integer, got {value!r}")
    return value


def split_destination(destination: str, countries: Sequence[str]) -> tuple[str, str | None]:
    """Split the API's ``"Country Operator"`` destination into (country, operator or None).

    Rule: the longest country name from ``countries`` (the /rates country names) that the
    destination starts with, followed by a space or the end, is the country; the rest,
    stripped, is the operator.  The API writes ``"Singapore "`` (trailing space) when the
    operator is unknown, so an empty rest means no operator.  A destination whose country is
    not in the list: with a trailing space the whole text is the country, otherwise the first
    word is the country and the rest the operator.

    >>> split_destination("United Kingdom Vodafone", ["United Kingdom", "United States"])
    ('United Kingdom', 'Vodafone')
    >>> split_destination("Singapore ", ["Singapore"])
    ('Singapore', None)
    """
    for country in countries:  # longest first
        if destination.startswith(country) and destination[len(country):len(country) + 1] in ("", " "):
            return country, destination[len(country):].strip() or None
    text = destination.strip()
    if destination.endswith(" ") or " " not in text:
        return text, None
    country, operator = text.split(" ", 1)
    return country, operator.strip() or None


def _longest_first(countries: Iterable[str]) -> list[str]:
    return sorted({str(c) for c in countries if c}, key=len, reverse=True)


@dataclass(frozen=True, eq=False)
class Quote:
    """The price of ``message`` to every valid recipient, exact to the API's last digit.

    ``numbers``: one row per priced recipient [number, destination, country, operator, sms,
    rate, total] (``rate``/``total`` are Decimal, one object per distinct rate; ``destination`` and
    ``country`` are categorical).  ``destinations``: one row per destination
    [destination, country, operator, numbers, sms_count, price, total].  ``sms_count``,
    ``subtotal``, ``tax``, ``total`` sum the API's ``info`` over all chunks.  ``invalid`` and
    ``duplicates`` list the input rows that were not priced, with reasons.
    """

    message: str
    numbers: pd.DataFrame
    destinations: pd.DataFrame
    sms_count: int
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    currency: str | None
    invalid: pd.DataFrame = field(repr=False)
    duplicates: pd.DataFrame = field(repr=False)
    chunks: int = 1
    source: str = "api"  # "what-if" for a local re-pricing (see reprice)

    def __repr__(self) -> str:
        return (f"Quote(numbers={len(self.numbers)}, sms_count={self.sms_count}, subtotal={self.subtotal}, "
                f"tax={self.tax}, total={self.total}, currency={self.currency!r}, "
                f"invalid={len(self.invalid)}, duplicates={len(self.duplicates)})")

    def _summary(self, keys: list[str]) -> pd.DataFrame:
        grouped = self.numbers.groupby(keys, observed=True, dropna=False, sort=False).agg(
            numbers=("number", "size"), sms=("sms", "sum"), total=("total", "sum")).reset_index()
        grouped["sms"] = grouped["sms"].astype("int64")
        # share is a display ratio (float); the exact money is the Decimal ``total`` column
        grouped["share"] = [float(t / self.subtotal) if self.subtotal else 0.0 for t in grouped["total"]]
        return grouped.sort_values(["total"] + keys, ascending=[False] + [True] * len(keys),
                                   key=lambda s: s.map(float) if s.name == "total" else s).reset_index(drop=True)

    def by_country(self) -> pd.DataFrame:
        """DataFrame[country, numbers, sms, total (Decimal), share of subtotal], biggest first."""
        return self._summary(["country"])

    def by_operator(self) -> pd.DataFrame:
        """DataFrame[country, operator, numbers, sms, total (Decimal), share of subtotal], biggest first."""
        return self._summary(["country", "operator"])

    def reprice(self, message: str | None = None, template: str | None = None,
                data: pd.DataFrame | None = None, *, rates: pd.DataFrame | None = None) -> "Quote":
        """What-if: this quote re-priced locally for another text, or a per-recipient template
        filled from ``data``, or at another rate card (``rates``); no API call.  See
        ``smsgic_analytics.pricing.whatif``."""
        return reprice(self, message=message, template=template, data=data, rates=rates)

    def _repr_html_(self) -> str:
        cur = html.escape(self.currency or "")
        rows = [
            ("Recipients priced", f"{len(self.numbers):,}"),
            ("SMS parts", f"{self.sms_count:,}"),
            ("Subtotal", format_money(self.subtotal, cur)),
            ("Tax", format_money(self.tax, cur)),
            ("<b>Total</b>", f"<b>{format_money(self.total, cur)}</b>"),
        ]
        if len(self.duplicates):
            rows.append(("Duplicates merged", f"{len(self.duplicates):,}"))
        if len(self.invalid):
            rows.append((warn("Invalid, not priced"), warn(f"{len(self.invalid):,} (see <code>.invalid</code>)")))
        return card("Quote", rows, note=f" for a {len(self.message)}-character message",
                    table=readable(self.by_country().head(10), self.currency), table_title="Top countries")

    @classmethod
    def build(
        cls,
        message: str,
        chunks: Sequence[Sequence[str]],
        responses: Sequence[Mapping[str, Any]],
        *,
        countries: Iterable[str],
        currency: str | None,
        recipients: Recipients,
    ) -> "Quote":
        """Check every chunk's answer against what was asked, then merge them into one Quote."""
        known = _longest_first(countries)
        rows: dict[str, tuple[str, int, Decimal, Decimal]] = {}
        rates: dict[str, Decimal] = {}  # one Decimal object per distinct rate (re-pricing groups by object)
        groups: dict[tuple[str, Decimal], list[Any]] = {}  # (destination, price) -> [numbers, sms, total]
        sms_count, subtotal, tax, total = 0, Decimal(0), Decimal(0), Decimal(0)
        for i, (chunk, response) in enumerate(zip(chunks, responses, strict=True)):
            where = f"calculate chunk {i + 1} of {len(chunks)}"
            info, destinations = _unpack(response, where)
            chunk_rows = _chunk_rows(chunk, destinations, groups, where, rates)
            c_sms = _count(info.get("sms_count"), f"{where}: info.sms_count")
            c_sub = money(info.get("subtotal"), f"{where}: info.subtotal")
            c_tax = money(info.get("tax"), f"{where}: info.tax")
            c_total = money(info.get("total"), f"{where}: info.total")
            _reconcile(where, "Σ numbers.total", sum((r[3] for r in chunk_rows.values()), Decimal(0)),
                       "info.subtotal", c_sub)
            _reconcile(where, "info.subtotal + info.tax", c_sub + c_tax, "info.total", c_total)
            _reconcile(where, "Σ numbers.sms", sum(r[1] for r in chunk_rows.values()), "info.sms_count", c_sms)
            rows.update(chunk_rows)
            sms_count, subtotal, tax, total = sms_count + c_sms, subtotal + c_sub, tax + c_tax, total + c_total

        order = [n for n in recipients.numbers if n in rows]
        if len(order) != len(rows) or len(order) != len(recipients.numbers):
            missing = [n for n in recipients.numbers if n not in rows]
            raise ServerError(f"calculate: {len(missing)} recipients were not priced: {missing[:10]}")
        split = {d: split_destination(d, known) for d, _ in groups}
        numbers = pd.DataFrame({
            "number": pd.Series(order, dtype="string"),
            # categorical (as ``country``): the few distinct destinations once, and codes re-pricing groups by
            "destination": pd.Series([rows[n][0] for n in order], dtype="category"),
            "country": pd.Series([split[rows[n][0]][0] for n in order], dtype="category"),
            "operator": pd.Series([split[rows[n][0]][1] for n in order], dtype="string"),
            "sms": pd.Series([rows[n][1] for n in order], dtype="int64"),
            "rate": pd.Series([rows[n][2] for n in order], dtype=object),
            "total": pd.Series([rows[n][3] for n in order], dtype=object),
        }, columns=NUMBERS_COLUMNS)
        _reconcile("calculate", "Σ numbers.total", sum(numbers["total"], Decimal(0)), "Σ info.subtotal", subtotal)
        return cls(
            message=message, numbers=numbers, destinations=_destinations(groups, split),
            sms_count=sms_count, subtotal=subtotal, tax=tax, total=total, currency=currency,
            invalid=recipients.invalid, duplicates=recipients.duplicates, chunks=len(chunks),
        )


def _unpack(response: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], list[Any]]:
    calc = response.get("calculate") if isinstance(response, Mapping) else None
    if not isinstance(calc, Mapping) or not isinstance(calc.get("info"), Mapping) \
            or not isinstance(calc.get("destinations"), list):
        raise ServerError(f"{where}: the answer lacks calculate.info / calculate.destinations")
    return calc["info"], calc["destinations"]


def _chunk_rows(chunk: Sequence[str], destinations: list[Any], groups: dict[tuple[str, Decimal], list[Any]],
                where: str, rates: dict[str, Decimal]) -> dict[str, tuple[str, int, Decimal, Decimal]]:
    """number -> (destination, sms, rate, total) for one chunk, checked against the request.

    The API returns ``phone_number`` as a JSON integer, so leading zeros are gone; the
    planner never puts two numbers with the same integer value in one chunk, which makes
    the way back to the caller's string unambiguous.
    """
    asked = {str(int(n)): n for n in chunk}
    rows: dict[str, tuple[str, int, Decimal, Decimal]] = {}
    for d_i, dest in enumerate(destinations):
        d_where = f"{where}: destinations[{d_i}]"
        if not isinstance(dest, Mapping) or not isinstance(dest.get("destination"), str) \
                or not isinstance(dest.get("numbers"), list):
            raise ServerError(f"{d_where}: expected destination and numbers")
        name = dest["destination"]
        d_sms, d_total = 0, Decimal(0)
        for n_i, item in enumerate(dest["numbers"]):
            # the checks are written out inline: this loop runs once per recipient
            try:
                raw, sms, rate, total = item["phone_number"], item["sms"], item["rate"], item["total"]
            except (KeyError, TypeError):
                raise ServerError(f"{d_where}.numbers[{n_i}]: expected phone_number, sms, rate and total") from None
            number = asked.get(str(raw)) if type(raw) is int else _asked_number(asked, raw)
            if number is None or number in rows:
                what = "priced twice" if number in rows else "priced a number that was not asked for"
                raise ServerError(f"{d_where}.numbers[{n_i}]: {what}: {raw!r}")
            if type(sms) is not int:
                sms = _count(sms, f"{d_where}.numbers[{n_i}].sms")
            if type(rate) is not Decimal:
                rate = money(rate, f"{d_where}.numbers[{n_i}].rate")
            rate = rates.setdefault(str(rate), rate)  # interned by its exact text: 0.1 and 0.10 stay apart
            if type(total) is not Decimal:
                total = money(total, f"{d_where}.numbers[{n_i}].total")
            rows[number] = (name, sms, rate, total)
            d_sms += sms
            d_total += total
        _reconcile(d_where, "Σ numbers.total", d_total, "total", money(dest.get("total"), f"{d_where}.total"))
        _reconcile(d_where, "Σ numbers.sms", d_sms, "sms_count", _count(dest.get("sms_count"), f"{d_where}.sms_count"))
        group = groups.setdefault((name, money(dest.get("price"), f"{d_where}.price")), [0, 0, Decimal(0)])
        group[0] += len(dest["numbers"])
        group[1] += d_sms
        group[2] += d_total
    if len(rows) != len(chunk):
        missing = [n for n in chunk if n not in rows]
        raise ServerError(f"{where}: {len(missing)} of {len(chunk)} numbers were not priced: {missing[:10]}")
    return rows


def _asked_number(asked: Mapping[str, str], raw: Any) -> str | None:
    """A phone_number sent as a digit string instead of the documented integer."""
    return asked.get(str(int(raw))) if isinstance(raw, str) and raw.isdigit() and raw.isascii() else None


def _destinations(groups: Mapping[tuple[str, Decimal], list[Any]],
                  split: Mapping[str, tuple[str, str | None]]) -> pd.DataFrame:
    """One row per (destination, price) over all chunks: the API's per-chunk rows, summed.

    ``price`` is the API's per-destination price as sent (the same in every chunk, since a
    destination's rate does not depend on which chunk a number travelled in).
    """
    keys = sorted(groups, key=lambda k: (-groups[k][2], k[0], k[1]))
    return pd.DataFrame({
        "destination": pd.Series([d for d, _ in keys], dtype="string"),
        "country": pd.Series([split[d][0] for d, _ in keys], dtype="category"),
        "operator": pd.Series([split[d][1] for d, _ in keys], dtype="string"),
        "numbers": pd.Series([groups[k][0] for k in keys], dtype="int64"),
        "sms_count": pd.Series([groups[k][1] for k in keys], dtype="int64"),
        "price": pd.Series([p for _, p in keys], dtype=object),
        "total": pd.Series([groups[k][2] for k in keys], dtype=object),
    }, columns=DESTINATIONS_COLUMNS)


def _reconcile(where: str, left_name: str, left: Any, right_name: str, right: Any) -> None:
    if left != right:
        raise ServerError(f"{where}: the quote does not reconcile: {left_name} = {left} but {right_name} = {right}")
