"""Spreadsheet exports as people make them: read the file, propose the tidying, change nothing unasked.

``read_sheet`` reads an uploaded CSV whatever its delimiter (``,`` ``;`` tab ``|``, found by
``csv.Sniffer``) and encoding (UTF-8 with or without a byte-order mark, else Windows-1252 as
Excel writes it, else Latin-1, which decodes any byte), or an XLSX sheet; every CSV cell stays
text.  ``propose_tidying`` lists what tidying a phone column would change -- numbers written
as floats (``447400123456.0`` or an Excel number cell) back to their digits, national numbers
read as the default country's -- as rows the person reviews before ``Tidying.apply`` uses
them.  Nothing here changes a value on its own: the normaliser still refuses ``…456.0``.

>>> sheet = read_sheet("export.csv", "name;telefon\\nZoë;447400123456.0\\n".encode("cp1252"))
>>> sheet.delimiter, sheet.encoding, propose_tidying(sheet.frame["telefon"]).summary()
(';', 'cp1252', ['1 number written as 447400123456.0 → 447400123456'])
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core.errors import ValidationError
from ..numbers.normalize import normalize_number

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # tried in order; latin-1 decodes every byte
DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024
FLOAT_RENDERED = "written as a number"  # the reasons of a change, as ``Tidying.changes`` names them
NATIONAL = "national number"
_INTEGRAL_TEXT = re.compile(r"^\s*(\+?\d+)\.0+\s*$", re.ASCII)
MAX_EXACT_FLOAT = 2 ** 53  # every integer below this is exact as a float: a phone number (<= 15 digits) is


class SheetError(ValidationError, ValueError):
    """An upload that cannot be read as a table: the message names the file and why, in words."""


@dataclass(frozen=True)
class Sheet:
    """An uploaded table: ``frame`` indexed by spreadsheet row (header = row 1), every CSV cell
    text; ``encoding`` and ``delimiter`` as detected (None for XLSX)."""

    name: str
    frame: pd.DataFrame
    encoding: str | None
    delimiter: str | None

    def describe(self) -> str:
        """"export.csv: 412 rows, 2 columns; semicolon-separated, Windows-1252"."""
        what = f"{self.name}: {len(self.frame):,} row(s), {len(self.frame.columns)} column(s)"
        if self.delimiter is not None:
            names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
            what += f"; {names.get(self.delimiter, repr(self.delimiter))}-separated"
        if self.encoding is not None:
            what += f", {ENCODING_NAMES.get(self.encoding, self.encoding)}"
        return what


ENCODING_NAMES = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1"}


def decode(content: bytes) -> tuple[str, str]:
    """(text, encoding): the first of ``ENCODINGS`` that decodes every byte."""
    for encoding in ENCODINGS:
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def sniff_delimiter(text: str) -> str:
    """The delimiter of CSV ``text`` among ``DELIMITERS`` (``,`` when the file has one column)."""
    sample = text[:SNIFF_BYTES]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample.strip() else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def read_sheet(name: str, content: bytes) -> Sheet:
    """An upload (CSV/TSV/TXT or XLSX, by its name) as a ``Sheet``; ``SheetError`` in words otherwise.

    >>> read_sheet("a.csv", b"phone\\n+447400123456\\n").frame.loc[2, "phone"]
    '+447400123456'
    """
    lower = name.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        try:
            frame = pd.read_excel(io.BytesIO(content), dtype=object, engine="openpyxl")
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a bad file
            raise SheetError(f"{name}: not a readable Excel workbook ({type(exc).__name__})") from None
        encoding = delimiter = None
    elif lower.endswith((".csv", ".tsv", ".txt")):
        text, encoding = decode(content)
        if not text.strip():
            raise SheetError(f"{name}: the file is empty")
        delimiter = sniff_delimiter(text)
        try:
            frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                                na_values=[""], skipinitialspace=True)
        except (pd.errors.ParserError, ValueError) as exc:
            raise SheetError(f"{name}: the rows do not line up as a {delimiter!r}-separated table ({exc})") from None
    else:
        raise SheetError(f"{name}: upload a .csv or .xlsx file (a .tsv or .txt table works too)")
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.columns.empty:
        raise SheetError(f"{name}: no columns found")
    frame.index = range(2, len(frame) + 2)
    return Sheet(name, frame, encoding, delimiter)


@dataclass(frozen=True)
class Tidying:
    """What tidying would change: ``changes`` DataFrame[row, before, after, reason] (one row per
    changed cell).  ``apply(values)`` returns the values with those changes made."""

    changes: pd.DataFrame

    def __len__(self) -> int:
        return len(self.changes)

    def summary(self) -> list[str]:
        """One line per reason, with a sample: "412 numbers written as 447400123456.0 → 447400123456"."""
        lines = []
        for reason, group in self.changes.groupby("reason", sort=False):
            first = group.iloc[0]
            noun = "number" if len(group) == 1 else "numbers"
            if reason == FLOAT_RENDERED:
                lines.append(f"{len(group):,} {noun} written as {first['before']} → {first['after']}")
            else:
                lines.append(f"{len(group):,} {reason}{'' if len(group) == 1 else 's'} such as "
                             f"{first['before']} → {first['after']}")
        return lines

    def apply(self, values: pd.Series) -> pd.Series:
        """``values`` with every proposed change made (other cells as they were)."""
        out = values.astype(object).copy()
        if len(self.changes):
            out.loc[self.changes["row"].tolist()] = self.changes["after"].tolist()
        return out


def _digits_of_float(value: Any) -> str | None:
    """The digits a float-written number stands for, or None when it is not one (or lost digits)."""
    if isinstance(value, float):
        if value != value or not value.is_integer() or not 0 < value < MAX_EXACT_FLOAT:
            return None
        return str(int(value))
    if isinstance(value, str):
        match = _INTEGRAL_TEXT.match(value)
        return match.group(1) if match else None
    return None


def propose_tidying(values: pd.Series, default_region: str | None = None) -> Tidying:
    """The changes that would make ``values`` (a phone column) read as people meant them.

    * a number written as a float (text ``447400123456.0``, an Excel number cell) -> its digits;
    * with ``default_region`` (ISO, e.g. ``"GB"``): a national number the normaliser refuses on
      its own but reads as that region's (``07700 900123``) -> ``+44…``.

    >>> propose_tidying(pd.Series(["07700 900123", "x"], index=[2, 3]), "GB").changes.loc[0, "after"]
    '+447700900123'
    """
    rows = []
    for row, value in values.items():
        after = _digits_of_float(value)
        if after is not None:
            rows.append((row, value, after, FLOAT_RENDERED))
            continue
        if default_region and isinstance(value, str):
            alone, _ = normalize_number(value)
            if alone is None:
                digits, _ = normalize_number(value, default_region)
                if digits is not None:
                    rows.append((row, value, "+" + digits, f"{NATIONAL} read as {default_region}"))
    frame = pd.DataFrame(rows, columns=["row", "before", "after", "reason"]).astype({"before": object})
    return Tidying(frame)
