"""Offline numbering: phone number -> valid?, region, country, operator, MCC, MNC.

Data sources
    * ``phonenumbers`` (Apache-2.0): country calling codes and regions, the number-type
      patterns that decide validity, the English carrier prefix data (operator names) and
      the geocoder's English region names.
    * ``mobile_codes`` (MPL-2.0): the MCC(s) of each country and the MCC/MNC operator list
      (see ``mccmnc`` for the cleaning and the operator matching rule).
    No AGPL data is used.

Rules
    * ``number``: the input normalised by ``phone.normalize_numbers`` (the project's one
      normaliser, shared with the client: formatting removed, ``+``/``00`` prefixes read, floats
      and national numbers without ``default_region`` refused).  A refused input is a row with
      ``number`` missing, ``valid=False`` and the refusal in ``reason``.
    * ``valid``: what ``phonenumbers.is_valid_number(phonenumbers.parse("+" + number))`` says.
    * ``region``: ``phonenumbers.region_code_for_number`` (ISO 3166 alpha-2); missing when the
      number cannot be parsed, when a shared calling code (+1, +7, +44...) matches no region,
      and for non-geographic codes (+800, +882...: phonenumbers' "001").
    * ``country``: phonenumbers' geocoder English name for the region ("Russia",
      "United Kingdom", "Latvia"); the three regions it does not name get "Ascension Island",
      "Tristan da Cunha" and "Kosovo".
    * ``operator``: ``phonenumbers.carrier.name_for_number(number, "en")`` - the carrier the
      number range was allocated to (before any porting); missing when phonenumbers has no
      name or the number is not a mobile/pager number.
    * ``mcc``: the operator's matched MCC, else the region's MCC (the first one mobile_codes
      lists when it lists several, e.g. GB 234 not 235, US 310); missing when the region has none.
    * ``mnc``: the operator's matched MNC (``mccmnc.match_operator``), else missing.

How it is fast
    Everything phonenumbers decides with regexes is compiled once (``numbering_tables``,
    ``digitdfa``) into one automaton over the digits of ``calling code + national number``:
    a state and the number length give region, validity and whether it is a mobile number;
    a digit trie of the carrier prefixes gives the operator by longest prefix.  Both run as
    numpy table lookups, one per digit column, over all numbers at once.  The tables are
    cached (arrays and JSON, never a pickle) in ``Settings.resolve().cache_dir /
    "numbering-<phonenumbers version>.npz"``, checked when loaded, and rebuilt when that
    version (or the table format) changes or a check fails.  The few numbers phonenumbers
    would rewrite while parsing (those that start with the country's national prefix, e.g.
    ``+44 0 7700...``) are classified by phonenumbers itself, so results agree with it;
    ``classify(..., exact=True)`` does that for every number.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
from phonenumbers import carrier

from . import mccmnc
from .digits import as_arrow, as_bytes, digit_matrix
from .normalize import indexed_numbers, normalize_digits
from .tables import NON_GEO, NumberingTables, build_tables, cache_path, country_name, load_tables

__all__ = [
    "classify",
    "country_table",
    "operator_table",
    "country_name",
    "load_tables",
    "build_tables",
    "cache_path",
]

# --- public tables -------------------------------------------------------------------------


def country_table() -> pd.DataFrame:
    """One row per region phonenumbers supports that has an MCC in mobile_codes.

    Columns region, country, iso3, calling_code, mcc (the first MCC mobile_codes lists for
    the country, e.g. GB 234 not 235).  Sorted by region.
    """
    codes = mccmnc.countries()
    rows = [
        (r, country_name(r), codes[r].iso3, str(phonenumbers.country_code_for_region(r)), codes[r].mccs[0])
        for r in sorted(phonenumbers.SUPPORTED_REGIONS)
        if r in codes
    ]
    return _as_strings(pd.DataFrame(rows, columns=["region", "country", "iso3", "calling_code", "mcc"]))


def operator_table() -> pd.DataFrame:
    """Every (region, operator) phonenumbers' English carrier data knows for mobile numbers
    (non-geographic +8xx codes left out, as classify() leaves their region missing).

    Columns region, country, calling_code, operator, mcc, mnc (mnc missing when the operator
    matches no mobile_codes row; mcc then is the country's).  Sorted by region, operator.

    >>> t = operator_table()
    >>> t[(t.region == "LV") & (t.operator == "LMT")][["mcc", "mnc"]].values.tolist()
    [['247', '01']]
    """
    t = load_tables()
    rows = []
    for region, name in t.operator_rows:
        if region == NON_GEO:  # satellite and global services: no country, no MCC
            continue
        r, o = t.region_index[region], t.operator_index[name]
        mcc, mnc = int(t.pair_mcc[r, o]), int(t.pair_mnc[r, o])
        rows.append(
            (
                region,
                country_name(region),
                str(phonenumbers.country_code_for_region(region)),
                name,
                t.mccs[mcc] if mcc >= 0 else None,
                t.mncs[mnc] if mnc >= 0 else None,
            )
        )
    return _as_strings(pd.DataFrame(rows, columns=["region", "country", "calling_code", "operator", "mcc", "mnc"]))


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype({c: "string" for c in df.columns})


# --- classify ------------------------------------------------------------------------------

_CHUNK = 1 << 16  # rows per vectorised pass: bounds the temporary arrays' memory


def classify(numbers: pd.Series | Sequence[Any], exact: bool = False,
             default_region: str | None = None, *, normalized: bool = False) -> pd.DataFrame:
    """Place every number offline: DataFrame[number, valid, region, country, operator, mcc, mnc, reason].

    One row per input, same order (and the Series' index); numbers that cannot be placed are
    rows with ``valid=False`` and missing fields, never dropped; ``reason`` says why a value
    is not a phone number at all (missing where it is one).  ``exact=True`` asks phonenumbers
    about every number instead of the compiled tables (same answers, slower).
    ``default_region`` reads national numbers (leading 0) as that region's.
    ``normalized=True``: the numbers are already ``normalize_numbers`` digits (the pricing
    kernels pass recipients), so they are not normalised a second time.

    >>> classify(["+371 2001 2345", "garbage"])[["number", "valid", "region", "country"]]
            number  valid region country
    0  37120012345   True     LV  Latvia
    1         <NA>  False   <NA>    <NA>
    """
    index = numbers.index if isinstance(numbers, pd.Series) else None
    if not isinstance(numbers, (pd.Series, np.ndarray)):
        numbers = indexed_numbers(numbers)[1]  # one str is one number; a mapping or a DataFrame is refused
    if normalized:
        digits = as_bytes(numbers)
        reasons = None  # normalised numbers: none refused
    else:
        digits, reasons = normalize_digits(numbers if isinstance(numbers, pd.Series) else list(numbers),
                                           default_region)
    t = load_tables()
    n = len(digits)
    valid = np.zeros(n, dtype=bool)
    # int16 codes (246 regions, 1,242 operators) and block-sized passes below: at 10M rows no
    # column or temporary passes glibc's 32 MiB mmap threshold, so freed heap is reused instead of
    # the kernel zeroing fresh pages for every array (benchmarks/RESULTS.md, bench_estimate)
    region = np.full(n, -1, dtype=_code_dtype(len(t.regions)))
    op = np.full(n, -1, dtype=_code_dtype(len(t.operators)))
    ridx, oidx = t.region_index, t.operator_index
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        chunk = digits[lo:hi]
        matrix, length = digit_matrix(chunk)
        lab, ops = _run_tables(t, matrix, length)
        region[lo:hi] = t.label_region[lab]
        valid[lo:hi] = t.label_valid[lab]
        op[lo:hi] = np.where(t.label_mobile[lab], ops, -1)
        ask = (length > 0) & (t.label_exact[lab] | exact)
        for i in np.flatnonzero(ask).tolist():
            v, r, o = _exact_one(chunk[i].decode("ascii"))
            valid[lo + i], region[lo + i] = v, ridx[r] if r else -1
            if o is not None and o not in oidx:  # phonenumbers' own data: cannot happen
                raise RuntimeError(f"row {lo + i}: operator {o!r} is missing from the carrier tables")
            op[lo + i] = oidx[o] if o else -1
    return _frame(digits, reasons, valid, region, op, t, index)


def _run_tables(t: NumberingTables, digits: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label index and carrier-prefix operator index of every row, one digit column at a time."""
    n = digits.shape[1]
    state = np.ones(n, dtype=np.int32)  # 1: the calling-code root
    node = np.ones(n, dtype=np.int32)
    ops = np.full(n, -1, dtype=np.int32)
    trans, ctrie = t.trans.ravel(), t.ctrie.ravel()
    longest = int(length.max(initial=0))
    for i in range(longest):
        col = digits[i].astype(np.int32)
        state = trans[state * 11 + col]
        if i < t.ctrie_depth:
            node = ctrie[node * 11 + col]
            hit = t.ctrie_op[node]
            np.copyto(ops, hit, where=hit >= 0)  # longest prefix wins
    lab = t.label[state, length].astype(np.int32)
    lab[length == 0] = 0
    return lab, ops


def _exact_one(digits: str) -> tuple[bool, str | None, str | None]:
    """phonenumbers' own answer for one normalised number: (valid, region, operator)."""
    if not digits.isdigit() or not digits.isascii():
        return False, None, None
    try:
        num = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return False, None, None
    region = phonenumbers.region_code_for_number(num)
    operator = carrier.name_for_number(num, "en") or None
    return phonenumbers.is_valid_number(num), region, operator


def _frame(
    numbers: np.ndarray,
    reasons: np.ndarray | None,
    valid: np.ndarray,
    region: np.ndarray,
    op: np.ndarray,
    t: NumberingTables,
    index: pd.Index | None,
) -> pd.DataFrame:
    number = as_arrow(numbers)  # first: the largest column, made while the fewest temporaries live
    # "001" (non-geographic: +800, +882...) is no country: its rows show region missing.
    geo = np.array([r != NON_GEO for r in t.regions] + [False])
    n = len(region)
    mcc = np.empty(n, dtype=_code_dtype(len(t.mccs)))
    mnc = np.empty(n, dtype=_code_dtype(len(t.mncs)))
    for lo in range(0, n, _CHUNK):
        r, o = region[lo:lo + _CHUNK], op[lo:lo + _CHUNK]
        np.copyto(r, -1, where=~geo[r])  # in place: classify made ``region`` for this frame
        m = np.where(r >= 0, t.region_mcc[r], -1)
        k = np.full(len(r), -1, dtype=mnc.dtype)
        has = (o >= 0) & (r >= 0)
        m[has] = t.pair_mcc[r[has], o[has]]
        k[has] = t.pair_mnc[r[has], o[has]]
        mcc[lo:lo + len(r)], mnc[lo:lo + len(r)] = m, k
    columns = {
        "number": number,
        "valid": valid,
        "region": _cat(region, t.regions),
        "country": _cat(region, t.country_names),
        "operator": _cat(op, t.operators),
        "mcc": _cat(mcc, t.mccs),
        "mnc": _cat(mnc, t.mncs),
        "reason": _text(reasons, len(numbers)),
    }
    return pd.DataFrame(columns, index=index)


def _text(values: np.ndarray | None, n: int) -> pd.arrays.ArrowStringArray:
    """An object array of str / None (None: n missing values) as a pandas ``string`` (Arrow)
    array, made by Arrow."""
    if values is None:
        return pd.arrays.ArrowStringArray(pa.nulls(n, pa.large_string()))
    return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string(), from_pandas=True))


def _cat(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """A categorical holding only the categories in use (missing where the code is -1); made
    block by block, so no temporary the size of the column is made."""
    used = np.zeros(len(categories) + 1, dtype=bool)  # the last slot catches -1
    for lo in range(0, len(codes), _CHUNK):
        used[codes[lo:lo + _CHUNK]] = True
    used = used[:-1]
    remap = np.full(len(categories) + 1, -1, dtype=_code_dtype(len(categories)))
    remap[:-1][used] = np.arange(int(used.sum()), dtype=remap.dtype)
    out = np.empty(len(codes), dtype=remap.dtype)
    for lo in range(0, len(codes), _CHUNK):
        np.take(remap, codes[lo:lo + _CHUNK], out=out[lo:lo + _CHUNK])
    kept = pd.Index([c for c, u in zip(categories, used) if u], dtype="string")
    return pd.Categorical.from_codes(out, categories=kept, validate=False)


def _code_dtype(size: int) -> np.dtype:
    """The smallest signed integer type that holds codes 0..size-1 and -1."""
    return np.dtype(np.int16 if size < np.iinfo(np.int16).max else np.int32)
