"""Offline numbering: phone number -> valid?, region, country, operator, MCC, MNC.

Data sources
    * ``phonenumbers`` (Apache-2.0): country calling codes and regions, the number-type
      patterns that decide validity, the English carrier prefix data (operator names) and
      the geocoder's English region names.
    * ``mobile_codes`` (MPL-2.0): the MCC(s) of each country and the MCC/MNC operator list
      (see ``mccmnc`` for the cleaning and the operator matching rule).
    No AGPL data is used.

Rules
    * ``number``: the input with ``+``, whitespace, ``-``, ``.``, ``(`` and ``)`` removed and a
      leading ``00`` (international prefix) dropped.  The digits are read as an international
      number: country calling code first.  Integers are accepted as their decimal digits.
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
    pickled in ``Settings.resolve().cache_dir / "numbering-<phonenumbers version>.pkl"`` and
    rebuilt when that version (or the table format) changes.  The few numbers phonenumbers
    would rewrite while parsing (those that start with the country's national prefix, e.g.
    ``+44 0 7700...``) are classified by phonenumbers itself, so results agree with it;
    ``classify(..., exact=True)`` does that for every number.
"""
from __future__ import annotations

import bisect
import functools
import itertools
import math
import random
import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import PhoneNumberType, carrier, phonenumberutil
from phonenumbers.phonemetadata import PhoneMetadata

from .. import spec
from . import mccmnc
from .numbering_tables import (
    MAX_DIGITS,
    MOBILE_TYPES,
    NON_GEO,
    NumberingTables,
    build_tables,
    cache_path,
    country_name,
    load_tables,
)

__all__ = [
    "classify",
    "country_table",
    "operator_table",
    "sample_numbers",
    "normalise_number",
    "country_name",
    "load_tables",
    "build_tables",
    "cache_path",
    "CAMPAIGN_MIX",
]

_PAD = 10  # digit-matrix value after the end of a number
_STRIP_RE = re.compile(r"[+\s\-.()]")


def normalise_number(value: object) -> str | None:
    """The digits of one number (None for a missing value); see the module rules.

    >>> normalise_number("+44 (0)7700-900.123")
    '4407700900123'
    >>> normalise_number("0037120012345")
    '37120012345'
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    if not isinstance(value, str):
        return None
    digits = _STRIP_RE.sub("", value)
    return digits[2:] if digits.startswith("00") else digits


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

# ASCII characters the normalisation removes: + - . ( ) and whitespace (as Python's \s).
_STRIP_BYTES = np.zeros(256, dtype=bool)
_STRIP_BYTES[[ord(c) for c in "+-.() \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"]] = True
_WIDE = 40  # longer inputs (and non-ASCII ones) take the one-by-one path
_CHUNK = 1 << 18  # rows per vectorised pass: bounds the temporary arrays' memory


@dataclass
class _Chunk:
    numbers: np.ndarray  # (n,) object: normalised text per row (None: missing input)
    digits: np.ndarray  # (MAX_DIGITS, n) uint8, _PAD after the end
    length: np.ndarray  # (n,) digits after normalisation
    fast: np.ndarray  # (n,) the tables can answer: digits only, at most MAX_DIGITS
    slow: np.ndarray  # (n,) phonenumbers must answer: odd text, or digits only but too many


def _as_text(values: list[Any]) -> tuple[list[str], np.ndarray]:
    """Every value as text ("" for missing ones) and the mask of missing ones."""
    missing = np.zeros(len(values), dtype=bool)
    if set(map(type, values)) <= {str}:
        return values, missing
    text: list[str] = []
    for i, v in enumerate(values):
        if isinstance(v, str):
            text.append(v)
            continue
        s = normalise_number(v)  # integers -> their digits; None, NaN, objects -> missing
        if s is None:
            missing[i] = True
            s = ""
        text.append(s)
    return text, missing


def _normalise_chunk(text: list[str], missing: np.ndarray) -> _Chunk:
    """Normalise a block of strings at once, as a (rows, characters) code-point matrix."""
    n = len(text)
    lens = np.fromiter(map(len, text), dtype=np.int64, count=n)
    odd = lens > _WIDE
    short = [("" if o else s) for s, o in zip(text, odd)] if odd.any() else text
    width = max(int(lens[~odd].max()) if (~odd).any() else 0, 2)
    codes = np.array(short, dtype=f"<U{width}").view(np.uint32).reshape(n, width)
    # Non-ASCII text (Unicode spaces, other scripts' digits) and embedded NULs: one by one.
    odd |= (codes > 127).any(axis=1) | ((codes != 0).sum(axis=1) != np.where(odd, 0, lens))
    m = codes.astype(np.uint8)
    del codes
    m[odd] = 0
    strip = _STRIP_BYTES[m]
    changed = strip.any(axis=1)
    if changed.any():
        # Pack each changed row's kept characters to the left (flat 1-D ops: fast).
        rows = np.flatnonzero(changed)
        sub = m[rows]
        keep = ~strip[rows] & (sub != 0)
        counts = keep.sum(axis=1)
        kept = sub[keep]
        starts = np.cumsum(counts) - counts
        offset = np.arange(len(kept)) - np.repeat(starts, counts)
        packed = np.zeros(sub.size, dtype=np.uint8)
        packed[np.repeat(np.arange(len(rows)) * width, counts) + offset] = kept
        m[rows] = packed.reshape(len(rows), width)
    del strip
    zz = (m[:, 0] == 48) & (m[:, 1] == 48)  # a leading "00" is the international prefix
    if zz.any():
        m[zz, :-2] = m[zz, 2:]
        m[zz, -2:] = 0
        changed |= zz
    present = m != 0
    length = present.sum(axis=1)
    digit_only = ~(present & ((m < 48) | (m > 57))).any(axis=1) & ~odd & ~missing
    fast = digit_only & (length <= MAX_DIGITS)
    cols = min(width, MAX_DIGITS)
    digits = np.full((MAX_DIGITS, n), _PAD, dtype=np.uint8)
    digits[:cols] = np.where(present[:, :cols] & fast[:, None], m[:, :cols] - 48, _PAD).T

    numbers = np.array(text, dtype=object)
    rows = np.flatnonzero(changed & ~odd)
    if len(rows):
        numbers[rows] = m[rows].view(f"S{width}").ravel().astype(f"<U{width}").astype(object)
    for i in np.flatnonzero(odd).tolist():
        numbers[i] = normalise_number(text[i])
    numbers[missing] = None
    # Digits only but more than MAX_DIGITS: only a stripped national prefix could save it.
    slow = odd & ~missing | (digit_only & (length > MAX_DIGITS))
    return _Chunk(numbers, digits, length, fast, slow)


def classify(numbers: pd.Series | Sequence[Any], exact: bool = False) -> pd.DataFrame:
    """Place every number offline: DataFrame[number, valid, region, country, operator, mcc, mnc].

    One row per input, same order (and the Series' index); numbers that cannot be placed are
    rows with ``valid=False`` and missing fields, never dropped.  ``exact=True`` asks
    phonenumbers about every number instead of the compiled tables (same answers, slower).

    >>> classify(["+371 2001 2345", "garbage"])[["number", "valid", "region", "country"]]
            number  valid region country
    0  37120012345   True     LV  Latvia
    1      garbage  False   <NA>    <NA>
    """
    index = numbers.index if isinstance(numbers, pd.Series) else None
    values = numbers.tolist() if isinstance(numbers, pd.Series) else list(numbers)
    t = load_tables()
    text, missing = _as_text(values)
    n = len(text)
    out_numbers: list[np.ndarray] = []
    valid = np.zeros(n, dtype=bool)
    region = np.full(n, -1, dtype=np.int32)
    op = np.full(n, -1, dtype=np.int32)
    ridx, oidx = t.region_index, t.operator_index
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        chunk = _normalise_chunk(text[lo:hi], missing[lo:hi])
        out_numbers.append(chunk.numbers)
        lab, ops = _run_tables(t, chunk)
        region[lo:hi] = t.label_region[lab]
        valid[lo:hi] = t.label_valid[lab]
        op[lo:hi] = np.where(t.label_mobile[lab], ops, -1)
        ask = chunk.slow | t.label_exact[lab] | (chunk.fast & exact)
        for i in np.flatnonzero(ask).tolist():
            v, r, o = _exact_one(chunk.numbers[i] or "")
            valid[lo + i], region[lo + i] = v, ridx[r] if r else -1
            if o is not None and o not in oidx:  # phonenumbers' own data: cannot happen
                raise RuntimeError(f"row {lo + i}: operator {o!r} is missing from the carrier tables")
            op[lo + i] = oidx[o] if o else -1
    all_numbers = np.concatenate(out_numbers) if out_numbers else np.array([], dtype=object)
    return _frame(all_numbers, valid, region, op, t, index)


def _run_tables(t: NumberingTables, chunk: _Chunk) -> tuple[np.ndarray, np.ndarray]:
    """Label index and carrier-prefix operator index of every row, one digit column at a time."""
    n = chunk.digits.shape[1]
    state = np.ones(n, dtype=np.int32)  # 1: the calling-code root
    node = np.ones(n, dtype=np.int32)
    ops = np.full(n, -1, dtype=np.int32)
    trans, ctrie = t.trans.ravel(), t.ctrie.ravel()
    longest = int(chunk.length[chunk.fast].max()) if chunk.fast.any() else 0
    for i in range(longest):
        col = chunk.digits[i].astype(np.int32)
        state = trans[state * 11 + col]
        if i < t.ctrie_depth:
            node = ctrie[node * 11 + col]
            hit = t.ctrie_op[node]
            np.copyto(ops, hit, where=hit >= 0)  # longest prefix wins
    lab = t.label[state, np.minimum(chunk.length, MAX_DIGITS)].astype(np.int32)
    lab[~chunk.fast] = 0
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
    valid: np.ndarray,
    region: np.ndarray,
    op: np.ndarray,
    t: NumberingTables,
    index: pd.Index | None,
) -> pd.DataFrame:
    # "001" (non-geographic: +800, +882...) is no country: its rows show region missing.
    geo = np.array([r != NON_GEO for r in t.regions] + [False])
    region = np.where(geo[region], region, -1)
    mcc = np.where(region >= 0, t.region_mcc[region], -1).astype(np.int32)
    mnc = np.full(len(region), -1, dtype=np.int32)
    has_op = (op >= 0) & (region >= 0)
    mcc[has_op] = t.pair_mcc[region[has_op], op[has_op]]
    mnc[has_op] = t.pair_mnc[region[has_op], op[has_op]]
    return pd.DataFrame(
        {
            "number": pd.array(numbers, dtype="string"),
            "valid": valid,
            "region": _cat(region, t.regions),
            "country": _cat(region, t.country_names),
            "operator": _cat(op, t.operators),
            "mcc": _cat(mcc, t.mccs),
            "mnc": _cat(mnc, t.mncs),
        },
        index=index,
    )


def _cat(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """A categorical holding only the categories in use (missing where the code is -1)."""
    used = np.bincount(codes + 1, minlength=len(categories) + 1)[1:] > 0
    remap = np.full(len(categories) + 1, -1, dtype=np.int32)
    remap[:-1][used] = np.arange(int(used.sum()), dtype=np.int32)
    kept = pd.Index([c for c, u in zip(categories, used) if u], dtype="string")
    return pd.Categorical.from_codes(remap[codes], categories=kept, validate=False)


# --- sample numbers ------------------------------------------------------------------------

# Share of a typical European-led campaign per region; the rest of the world shares
# LONG_TAIL_SHARE evenly.  Used by notebooks, the sandbox and the benchmarks.
CAMPAIGN_MIX = {
    "GB": 14, "DE": 12, "FR": 10, "US": 10, "ES": 7, "IT": 7, "NL": 5, "LV": 4, "DK": 4,
    "SG": 4, "PL": 3, "SE": 3, "BE": 2, "AT": 2, "CH": 2, "IE": 2, "PT": 2, "LT": 2,
    "EE": 2, "FI": 2, "NO": 2, "CA": 2, "AU": 2, "IN": 2, "BR": 2,
}  # fmt: skip
LONG_TAIL_SHARE = 0.05


def _mobile_example(region: str) -> str:
    """phonenumbers' example mobile number of a region (national digits), or ""."""
    ex = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    return phonenumbers.national_significant_number(ex) if ex is not None else ""


@functools.lru_cache(maxsize=None)
def _sampleable(region: str) -> bool:
    """Whether phonenumbers has mobile numbers it places in this region.  Not all do: the
    numbers of AX, EH, VA... are claimed by the main region of their calling code."""
    if region not in phonenumbers.SUPPORTED_REGIONS or not _mobile_example(region):
        return False
    try:
        _RegionSampler(region, load_tables()).draw(random.Random(0))
    except ValueError:
        return False
    return True


def _region_weights(regions: list[str] | None) -> tuple[list[str], list[float]]:
    if regions is not None:
        bad = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS or _mobile_example(r) is None]
        if bad:
            raise ValueError(f"regions {bad}: phonenumbers knows no mobile numbers of their own there")
        chosen = sorted(set(regions))
        return chosen, [float(CAMPAIGN_MIX.get(r, 1)) for r in chosen]
    tail = [r for r in sorted(phonenumbers.SUPPORTED_REGIONS) if r not in CAMPAIGN_MIX and _sampleable(r)]
    head_total = sum(CAMPAIGN_MIX.values())
    tail_w = head_total * LONG_TAIL_SHARE / (1 - LONG_TAIL_SHARE) / len(tail)
    names = sorted(CAMPAIGN_MIX) + tail
    return names, [float(CAMPAIGN_MIX[r]) for r in sorted(CAMPAIGN_MIX)] + [tail_w] * len(tail)


class _RegionSampler:
    """Valid mobile numbers of one region: a carrier prefix (weighted by the size of its
    block) or the example number's leading digits, then random digits; each is checked
    with phonenumbers (valid, this region, mobile type) before it is returned."""

    def __init__(self, region: str, tables: NumberingTables) -> None:
        self.region = region
        self.cc_int = phonenumbers.country_code_for_region(region)
        self.cc = str(self.cc_int)
        self.example = _mobile_example(region)
        self.md = md = PhoneMetadata.metadata_for_region(region)
        self.npp = re.compile(md.national_prefix_for_parsing) if md.national_prefix_for_parsing else None
        lengths = [n for n in (md.mobile.possible_length if md.mobile else ()) if n > 0]
        self.lengths = sorted(set(lengths) or {len(self.example)})
        self.prefixes = [p[len(self.cc) :] for p in tables.region_prefixes.get(region, [])]
        weights = [10.0 ** -len(p) for p in self.prefixes]  # ~ the size of each block
        total = sum(weights)
        self.cum = list(itertools.accumulate(w / total for w in weights))

    def draw(self, rng: "random.Random") -> str:
        for attempt in range(60):
            if self.prefixes and attempt < 40:
                head = self.prefixes[min(bisect.bisect(self.cum, rng.random()), len(self.prefixes) - 1)]
                length = len(self.example) if len(self.example) in self.lengths else rng.choice(self.lengths)
                if len(head) >= length:
                    length = max(self.lengths)
            else:  # vary the trailing digits of phonenumbers' own example
                keep = max(1, len(self.example) - 4 - (attempt % 20) // 4)
                head, length = self.example[:keep], len(self.example)
            if len(head) >= length:
                continue
            candidate = self.cc + head + "".join(rng.choice("0123456789") for _ in range(length - len(head)))
            if self._ok(candidate):
                return candidate
        if self._ok(self.cc + self.example):
            return self.cc + self.example
        raise ValueError(f"region {self.region}: no valid mobile number found to sample")

    def _ok(self, digits: str) -> bool:
        # The API takes only ^\d{8,20}$: a valid 7-digit number (Tokelau, Niue...) is no sample.
        return spec.RECIPIENT_RE.match(digits) is not None and self.check(self.region, digits, self.md, self.npp)

    @staticmethod
    def check(region: str, digits: str, md: PhoneMetadata | None = None, npp: re.Pattern | None = None) -> bool:
        """A valid mobile number of ``region``, as phonenumbers' is_valid_number and
        number_type decide (one shared region lookup; parse() only when it could rewrite
        the digits: a leading zero or national prefix)."""
        md = md or PhoneMetadata.metadata_for_region(region)
        if npp is None and md.national_prefix_for_parsing:
            npp = re.compile(md.national_prefix_for_parsing)
        cc = str(md.country_code)
        nat = digits[len(cc) :]
        if not digits.startswith(cc) or not nat:
            return False
        if nat.startswith("0") or (npp is not None and npp.match(nat)):
            try:
                num = phonenumbers.parse("+" + digits)
            except phonenumbers.NumberParseException:
                return False
        else:
            num = phonenumbers.PhoneNumber(country_code=md.country_code, national_number=int(nat))
        if phonenumbers.region_code_for_number(num) != region:
            return False
        nsn = phonenumbers.national_significant_number(num)
        return phonenumberutil._number_type_helper(nsn, md) in MOBILE_TYPES


def sample_numbers(n: int, seed: int = 0, regions: list[str] | None = None) -> list[str]:
    """``n`` realistic, valid mobile numbers (digits with calling code, no ``+``); deterministic.

    Every number also matches the API's recipient rule ``^\\d{8,20}$``: regions whose mobile
    numbers are all shorter (Tokelau, Niue...) are left out.

    Regions follow ``CAMPAIGN_MIX`` (GB, DE, FR, US, ES, IT, NL, LV, DK, SG, ...) plus a 5 %
    long tail over every other region, or only ``regions`` if given.  Every number passes
    ``phonenumbers.is_valid_number`` with a mobile type in its region.

    >>> sample_numbers(2, seed=1, regions=["LV"])
    ['37129904960', '37128936907']
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    names, weights = _region_weights(regions)
    picks = random.Random(seed).choices(names, weights=weights, k=n)
    tables = load_tables()
    out: list[str] = [""] * n
    positions: dict[str, list[int]] = {}
    for i, region in enumerate(picks):
        positions.setdefault(region, []).append(i)
    # One region at a time: phonenumbers' regexes stay in re's cache (3-4x faster).
    for region in sorted(positions):
        sampler = _RegionSampler(region, tables)
        rng = random.Random(f"{seed}:{region}")
        for i in positions[region]:
            out[i] = sampler.draw(rng)
    return out
