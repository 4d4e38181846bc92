"""A /rates table, checked once and held as exact integer money, for offline pricing.

Input: a DataFrame like ``client.rates()`` returns: ``mcc``, ``mnc`` (missing, ``""`` or
``"null"`` = the country's default rate), ``country``, ``rate`` and optionally ``currency``.
``client.rates()`` gives each rate as an exact ``Decimal`` (the wire's own digits); a table of
one's own may hold floats or text instead, so every rate goes through ``money.parse_money`` (a
float through its shortest text form, ``0.4397`` not its binary expansion) and is quantized to
4 decimal places (half-even) -- the API's own rate precision (``0.4397``); a rate written finer
is priced rounded and a ``RoundedRateWarning`` names its row.  From then on rates are integer
ten-thousandths (``UNITS``), so every sum is exact.

A row that breaks a rule raises ``ValueError`` naming the row label, the column and the
rule: ``mcc`` is 3 digits, ``mnc`` is text of 0-3 digits (a number would have lost its
leading zeros: ``05`` and ``5`` are different MNCs), ``rate`` is a finite number >= 0, one
rate per (mcc, mnc) and one default per country.
"""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd

from ..core import spec
from ..core.display import MAX_LISTED
from ..core.money import PLACES as RATE_PLACES
from ..core.money import parse_money, units_to_money

RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
UNITS = 10**RATE_PLACES
REQUIRED_COLUMNS = ("mcc", "mnc", "country", "rate")


class RoundedRateWarning(UserWarning):
    """A rates table held a rate finer than the API's 4 decimal places: it is priced rounded."""


def parse_rate(value: Any, where: str) -> Decimal:
    """A rate as the exact Decimal the table wrote (``money.parse_money``; a float from a
    person's table is read through its shortest text, 0.4397 not its binary expansion)."""
    if value is None or value is pd.NA:
        raise ValueError(f"{where}: rate must be a number, got {value!r}")
    number = parse_money(value, f"{where}: rate", floats=True)
    if number < 0:
        raise ValueError(f"{where}: rate must be a finite number >= 0, got {value!r}")
    return number


def _mcc(value: Any, where: str) -> str:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= int(value) <= 999:
        value = f"{int(value):03d}"
    if not isinstance(value, str) or not spec.MCC_RE.match(value):
        raise ValueError(f"{where}: mcc must be 3 digits, got {value!r}")
    return value


def _mnc(value: Any, where: str) -> str | None:
    """``None`` for the country default row."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: mnc must be text such as '05' (a number loses leading zeros), got "
                         f"{type(value).__name__} {value!r}")
    value = value.strip()
    if value in ("", "null"):
        return None
    if not spec.MNC_RE.match(value):
        raise ValueError(f"{where}: mnc must be 0-3 digits or null, got {value!r}")
    return value


@dataclass(frozen=True)
class CountryRates:
    """One country's rates in units: its default row (None if the table has none) and the range."""

    name: str
    default: int | None
    low: int
    high: int
    mccs: frozenset[str]


@dataclass(frozen=True)
class RateTable:
    """Lookups over a checked rates table; see the module docstring for the rules."""

    operators: dict[tuple[str, str], int]  # (mcc, mnc) -> rate units
    countries: dict[str, CountryRates]  # casefolded country name -> its rates
    countries_of_mcc: dict[str, frozenset[str]]  # mcc -> casefolded names of the countries listing it
    currency: str | None

    @classmethod
    def from_frame(cls, rates: pd.DataFrame) -> "RateTable":
        """Check ``rates`` row by row (``checked_rates``) and index it."""
        checked = checked_rates(rates)
        operators: dict[tuple[str, str], int] = {}
        defaults: dict[str, int] = {}
        names: dict[str, str] = {}
        rows_of: dict[str, list[int]] = {}
        mccs_of: dict[str, set[str]] = {}
        countries_of_mcc: dict[str, set[str]] = {}
        for mcc, mnc, country, rate in zip(*(checked[c].tolist() for c in REQUIRED_COLUMNS)):
            units = int(rate * UNITS)
            key = country.casefold()
            names.setdefault(key, country)
            if mnc is None:
                defaults[key] = units
            else:
                operators[(mcc, mnc)] = units
            rows_of.setdefault(key, []).append(units)
            mccs_of.setdefault(key, set()).add(mcc)
            countries_of_mcc.setdefault(mcc, set()).add(key)
        countries = {
            key: CountryRates(names[key], defaults.get(key), min(units), max(units), frozenset(mccs_of[key]))
            for key, units in rows_of.items()
        }
        return cls(
            operators=operators,
            countries=countries,
            countries_of_mcc={k: frozenset(v) for k, v in countries_of_mcc.items()},
            currency=_currency(rates),
        )


def checked_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """``rates`` checked row by row against the module's rules (a ``ValueError`` names the row,
    the column and the rule) and written as priced: DataFrame[mcc (3 digits), mnc (text, None
    for the country default), country (stripped), rate (Decimal rounded half-even to the API's
    4 places)], on the table's own index.  Every reader of a rates table goes through here.  A
    rate written finer is not rounded silently: one ``RoundedRateWarning`` names those rows."""
    if not isinstance(rates, pd.DataFrame):
        raise TypeError(f"rates must be a DataFrame like client.rates() returns, got {type(rates).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in rates.columns]
    if missing:
        raise ValueError(f"rates table lacks column(s) {missing}: expected a DataFrame like client.rates() "
                         f"returns (mcc, mnc, country, rate, currency)")
    seen: dict[Any, tuple[int, Any]] = {}
    rounded: list[str] = []
    columns: dict[str, list[Any]] = {c: [] for c in REQUIRED_COLUMNS}
    raw = [rates[c].tolist() for c in REQUIRED_COLUMNS]
    for label, mcc, mnc, country, value in zip(rates.index.tolist(), *raw):
        where = f"rates row {label!r}"
        mcc = _mcc(mcc, where)
        mnc = _mnc(mnc, where)
        if not isinstance(country, str) or not country.strip():
            raise ValueError(f"{where}: country must be a non-empty name, got {country!r}")
        country = country.strip()
        exact = parse_rate(value, where)
        rate = exact.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
        if rate != exact:
            rounded.append(f"row {label!r}: {exact:f} -> {rate}")
        units = int(rate * UNITS)
        if mnc is None:
            _put(seen, ("default", country.casefold()), units, label,
                 f"{where}: a second default rate (mnc null) for {country!r}")
        else:
            _put(seen, (mcc, mnc), units, label, f"{where}: a second rate for mcc {mcc} mnc {mnc}")
        for name, column in zip(REQUIRED_COLUMNS, (mcc, mnc, country, rate)):
            columns[name].append(column)
    _currency(rates)  # one table, one currency
    if rounded:
        more = f" (and {len(rounded) - MAX_LISTED} more)" if len(rounded) > MAX_LISTED else ""
        warnings.warn(f"{len(rounded)} rate(s) have more than {RATE_PLACES} decimal places, the API's precision: "
                      f"priced rounded half-even: {'; '.join(rounded[:MAX_LISTED])}{more}", RoundedRateWarning,
                      stacklevel=4)
    return pd.DataFrame({name: pd.Series(values, index=rates.index, dtype=object) for name, values in columns.items()})


def _put(table: dict[Any, tuple[int, Any]], key: Any, units: int, label: Any, message: str) -> None:
    """Store a rate; the same key twice is fine with the same rate and an error otherwise."""
    if key in table and table[key][0] != units:
        first_units, first_label = table[key]
        # the rates as the table wrote them (0.5, not 0.5000): the message quotes the table
        raise ValueError(f"{message}: {units_to_money(units).normalize():f} here, "
                         f"{units_to_money(first_units).normalize():f} in row {first_label!r}")
    table.setdefault(key, (units, label))


def _currency(rates: pd.DataFrame) -> str | None:
    if "currency" not in rates.columns:
        return None
    codes = sorted({str(c) for c in rates["currency"].dropna().unique()})
    if len(codes) > 1:
        raise ValueError(f"rates table mixes currencies {codes}: one table, one currency")
    return codes[0] if codes else None
