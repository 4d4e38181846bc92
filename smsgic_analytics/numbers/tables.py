"""The compiled numbering tables behind ``numbering.classify``, and their disk cache.

Everything phonenumbers decides with regexes (region of a shared calling code, validity,
number type) is compiled with ``digitdfa`` into one automaton over the digits of
``calling code + national number``: its final state and the number's length give a label
(region, valid, mobile, "ask phonenumbers").  The English carrier prefixes become a digit
trie (operator by longest prefix), and each (region, operator) pair gets its MCC/MNC by
``mccmnc.match_operator``.  ``label`` reproduces phonenumbers' ``region_code_for_number``,
``_number_type_helper`` and ``is_valid_number`` rule by rule.

The tables are cached in ``Settings.resolve().cache_dir / "numbering-<phonenumbers
version>.npz"`` (a few MB, built in a second or two) as plain arrays plus a JSON block --
never a pickle: the cache folder is user-writable, and loading must not run code from it.
A file is checked before use (its key -- the phonenumbers and mobile-codes versions and
``TABLE_FORMAT`` --, every array's dtype and shape, every index in range) and rebuilt when
any check fails.
"""
from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import phonenumbers
from phonenumbers import PhoneNumberType, geocoder
from phonenumbers.carrierdata import CARRIER_DATA
from phonenumbers.phonemetadata import PhoneMetadata

from ..core.config import Settings
from . import mccmnc
from .digitdfa import Condition, compile_conditions

log = logging.getLogger(__name__)

TABLE_FORMAT = 7  # bump when the cached tables change shape
MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PAGER)
NON_GEO = "001"
MAX_DIGITS = 20  # 3-digit calling code + phonenumbers' 17-digit national maximum
_MIN_NSN, _MAX_NSN = 2, 17
_EXTRA_NAMES = {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"}
# Type descriptions in the order phonenumbers' _number_type_helper tests them.
_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


def country_name(region: str) -> str | None:
    """Short English name of a region as phonenumbers' geocoder writes it ("Russia")."""
    if region == NON_GEO:
        return None
    return geocoder._region_display_name(region, "en") or _EXTRA_NAMES.get(region) or None


@dataclass
class NumberingTables:
    """Everything ``classify`` needs, as arrays; built once per phonenumbers version."""

    key: dict[str, Any]
    regions: list[str]  # index -> region code ("001" for non-geographic)
    trans: np.ndarray  # (states, 11) int32: next state per digit; column 10 keeps the state
    label: np.ndarray  # (states, MAX_DIGITS + 1) int16: label per final state and digit count
    label_region: np.ndarray  # (labels,) int16 region index or -1
    label_valid: np.ndarray  # (labels,) bool
    label_mobile: np.ndarray  # (labels,) bool: phonenumbers would look up the carrier
    label_exact: np.ndarray  # (labels,) bool: phonenumbers rewrites it; ask phonenumbers
    ctrie: np.ndarray  # (nodes, 11) int32 carrier-prefix trie; node 1 is the root
    ctrie_op: np.ndarray  # (nodes,) int32 operator index of the prefix ending there, or -1
    ctrie_depth: int  # longest carrier prefix
    operators: list[str]
    mccs: list[str]
    mncs: list[str]
    region_mcc: np.ndarray  # (regions,) int16 index into mccs or -1
    pair_mcc: np.ndarray  # (regions, operators) int16 index into mccs or -1
    pair_mnc: np.ndarray  # (regions, operators) int16 index into mncs or -1
    operator_rows: list[tuple[str, str]]  # (region, operator) pairs for mobile numbers
    region_prefixes: dict[str, list[str]]  # region -> carrier prefixes of its mobile numbers
    loaded_from: Path | None = field(default=None, compare=False)

    @functools.cached_property
    def region_index(self) -> dict[str, int]:
        return {r: i for i, r in enumerate(self.regions)}

    @functools.cached_property
    def operator_index(self) -> dict[str, int]:
        return {o: i for i, o in enumerate(self.operators)}

    @functools.cached_property
    def country_names(self) -> list[str]:
        return [country_name(r) or r for r in self.regions]


def _cache_key(version: str) -> dict[str, Any]:
    return {
        "phonenumbers": version,
        "mobile_codes": importlib.metadata.version("mobile-codes"),
        "format": TABLE_FORMAT,
    }


def cache_path(cache_dir: Path | None = None, version: str | None = None) -> Path:
    """Where the tables for a phonenumbers version are cached."""
    cache_dir = Path(cache_dir) if cache_dir is not None else Settings.resolve().cache_dir
    return cache_dir / f"numbering-{version or phonenumbers.__version__}.npz"


_MEMORY: dict[Path, NumberingTables] = {}


def load_tables(cache_dir: Path | str | None = None, *, version: str | None = None, refresh: bool = False) -> NumberingTables:
    """The numbering tables: from memory, else from the cache file, else built (and saved).

    ``version`` names the phonenumbers version the file is keyed on (default: installed one).
    """
    version = version or phonenumbers.__version__
    path = cache_path(Path(cache_dir) if cache_dir is not None else None, version)
    if not refresh and path in _MEMORY:
        return _MEMORY[path]
    tables = None if refresh else _read(path, _cache_key(version))
    if tables is None:
        tables = build_tables()
        tables.key = _cache_key(version)
        _write(path, tables)
    _MEMORY[path] = tables
    return tables


# The arrays of NumberingTables with their dtypes; the rest goes in the JSON block.
_ARRAYS = {"trans": np.int32, "label": np.int16, "label_region": np.int16, "label_valid": np.bool_,
           "label_mobile": np.bool_, "label_exact": np.bool_, "ctrie": np.int32, "ctrie_op": np.int32,
           "region_mcc": np.int16, "pair_mcc": np.int16, "pair_mnc": np.int16}
_JSON = "meta_json"


class _Invalid(ValueError):
    """A cache file that is not tables this version would build."""


def _read(path: Path, key: dict[str, Any]) -> NumberingTables | None:
    """The tables in ``path`` if it holds checked tables for ``key``; None means: rebuild."""
    try:
        with np.load(path, allow_pickle=False) as data:  # refuses object arrays: no pickle ever runs
            arrays = {name: data[name] for name in (*_ARRAYS, _JSON)}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("numbering cache %s unreadable (%s); rebuilding", path, exc)
        return None
    try:
        meta = json.loads(arrays.pop(_JSON).tobytes().decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("key") != key:
            log.info("numbering cache %s is for %s, not %s; rebuilding", path, meta.get("key"), key)
            return None
        tables = NumberingTables(
            key=meta["key"], regions=_strings(meta["regions"]), operators=_strings(meta["operators"]),
            mccs=_strings(meta["mccs"]), mncs=_strings(meta["mncs"]), ctrie_depth=int(meta["ctrie_depth"]),
            operator_rows=[(str(r), str(o)) for r, o in meta["operator_rows"]],
            region_prefixes={str(r): _strings(p) for r, p in meta["region_prefixes"].items()},
            **arrays)
        _check(tables)
    except (_Invalid, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        log.warning("numbering cache %s failed its checks (%s); rebuilding", path, exc)
        return None
    tables.loaded_from = path
    return tables


def _strings(values: Any) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _Invalid("expected a list of strings")
    return values


def _check(t: NumberingTables) -> None:
    """Every dtype, shape and index the lookups rely on, so a doctored file cannot index out of range."""
    for name, dtype in _ARRAYS.items():
        if getattr(t, name).dtype != dtype:
            raise _Invalid(f"{name} is {getattr(t, name).dtype}, not {np.dtype(dtype)}")
    states, labels, nodes = t.trans.shape[0], t.label_region.shape[0], t.ctrie.shape[0]
    regions, operators = len(t.regions), len(t.operators)
    shapes = {"trans": (states, 11), "label": (states, MAX_DIGITS + 1), "label_valid": (labels,),
              "label_mobile": (labels,), "label_exact": (labels,), "ctrie": (nodes, 11), "ctrie_op": (nodes,),
              "region_mcc": (regions,), "pair_mcc": (regions, operators), "pair_mnc": (regions, operators)}
    for name, shape in shapes.items():
        if getattr(t, name).shape != shape:
            raise _Invalid(f"{name} has shape {getattr(t, name).shape}, not {shape}")
    ranges = {"trans": (0, states), "label": (0, labels), "label_region": (-1, regions), "ctrie": (0, nodes),
              "ctrie_op": (-1, operators), "region_mcc": (-1, len(t.mccs)), "pair_mcc": (-1, len(t.mccs)),
              "pair_mnc": (-1, len(t.mncs))}
    for name, (low, high) in ranges.items():
        values = getattr(t, name)
        if values.size and (int(values.min()) < low or int(values.max()) >= high):
            raise _Invalid(f"{name} holds an index outside [{low}, {high})")
    if states < 2 or nodes < 2 or not 0 < t.ctrie_depth <= MAX_DIGITS:
        raise _Invalid("the automaton or the carrier trie is empty")


def _write(path: Path, tables: NumberingTables) -> None:
    meta = {"key": tables.key, "regions": tables.regions, "operators": tables.operators, "mccs": tables.mccs,
            "mncs": tables.mncs, "ctrie_depth": tables.ctrie_depth,
            "operator_rows": [list(row) for row in tables.operator_rows], "region_prefixes": tables.region_prefixes}
    arrays = {name: getattr(tables, name) for name in _ARRAYS}
    arrays[_JSON] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError as exc:  # a read-only cache dir costs a rebuild per process, nothing more
        log.warning("cannot write numbering cache %s: %s", path, exc)


def _metadata(cc: int, region: str) -> PhoneMetadata:
    if region == NON_GEO:
        return PhoneMetadata.metadata_for_nongeo_region(cc)
    return PhoneMetadata.metadata_for_region(region)


class _CcConditions:
    """The regex conditions of one calling code, and how their results become a label."""

    def __init__(self, cc: int, regions: Sequence[str]) -> None:
        self.cc = cc
        self.regions = list(regions)
        self.conditions: list[Condition] = []
        self._ids: dict[tuple[str, str], int] = {}
        self.metas = [_metadata(cc, r) for r in self.regions]
        for region, md in zip(self.regions, self.metas):
            for name in ["general_desc", "fixed_line", "mobile"] + [n for n, _ in _TYPE_ORDER]:
                desc = getattr(md, name)
                if desc is not None and desc.national_number_pattern:
                    self._add((region, name), Condition(desc.national_number_pattern, "full"))
            if len(self.regions) > 1 and md.leading_digits:
                self._add((region, "leading"), Condition(md.leading_digits, "prefix"))
        # parse() strips the *main* region's national prefix, even after a "+".
        npp = self.metas[0].national_prefix_for_parsing
        if npp:
            self._add(("", "npp"), Condition(npp, "prefix", nonempty=True))

    def _add(self, key: tuple[str, str], cond: Condition) -> None:
        self._ids[key] = len(self.conditions)
        self.conditions.append(cond)

    def _matches(self, tags: frozenset[int], region: str, name: str, md: PhoneMetadata, length: int) -> bool:
        cid = self._ids.get((region, name))
        if cid is None or cid not in tags:
            return False
        desc = getattr(md, name)
        lengths = desc.possible_length
        return not (len(lengths) > 0 and length not in lengths)

    def _type(self, tags: frozenset[int], region: str, md: PhoneMetadata, n: int) -> int:
        """phonenumbers' _number_type_helper, with each regex answer read from the tags."""
        if not self._matches(tags, region, "general_desc", md, n):
            return PhoneNumberType.UNKNOWN
        for name, ptype in _TYPE_ORDER:
            if self._matches(tags, region, name, md, n):
                return ptype
        if self._matches(tags, region, "fixed_line", md, n):
            if md.same_mobile_and_fixed_line_pattern or self._matches(tags, region, "mobile", md, n):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not md.same_mobile_and_fixed_line_pattern and self._matches(tags, region, "mobile", md, n):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN

    def label(self, tags: frozenset[int], nsn_length: int) -> tuple[str | None, bool, bool, bool]:
        """(region, valid, mobile, exact) for a national number with these tags and length."""
        if self._ids.get(("", "npp")) in tags:
            return (None, False, False, True)  # parse() may strip a national prefix
        if not _MIN_NSN <= nsn_length <= _MAX_NSN:
            return (None, False, False, False)  # phonenumbers.parse refuses it
        region = None
        if len(self.regions) == 1:
            region, md = self.regions[0], self.metas[0]
        else:
            for r, m in zip(self.regions, self.metas):
                if m.leading_digits is not None:
                    if self._ids.get((r, "leading")) in tags:
                        region, md = r, m
                        break
                elif self._type(tags, r, m, nsn_length) != PhoneNumberType.UNKNOWN:
                    region, md = r, m
                    break
        if region is None:
            return (None, False, False, False)
        ntype = self._type(tags, region, md, nsn_length)
        return (region, ntype != PhoneNumberType.UNKNOWN, ntype in MOBILE_TYPES, False)


def _automaton(cc_map: dict[int, tuple[str, ...]], region_idx: dict[str, int]) -> tuple[np.ndarray, np.ndarray, dict]:
    """One automaton over calling code + national number for every calling code.

    States: 0 dead; 1 the root; then the calling-code trie's inner nodes; then each calling
    code's DFA (its start reached by the code's last digit).  Column 10 of ``trans`` is the
    padding after a number's end and keeps the state.  ``label[state, digit count]`` indexes
    the returned ``labels`` dict of (region index, valid, mobile, exact) tuples.
    """
    inner = sorted({str(cc)[:i] for cc in cc_map for i in range(1, len(str(cc)))})
    node = {"": 1, **{p: 2 + i for i, p in enumerate(inner)}}
    n_head = 2 + len(inner)
    trans_parts = [np.zeros((n_head, 11), dtype=np.int32)]
    trans_parts[0][:, 10] = np.arange(n_head)
    label_parts = [np.zeros((n_head, MAX_DIGITS + 1), dtype=np.int16)]
    labels: dict[tuple[int, bool, bool, bool], int] = {(-1, False, False, False): 0}
    for p, i in node.items():
        if p:
            trans_parts[0][node[p[:-1]], int(p[-1])] = i
    offset = n_head
    for cc in sorted(cc_map):
        cond = _CcConditions(cc, cc_map[cc])
        dfa = compile_conditions(cond.conditions)
        k = dfa.trans.shape[0]
        # Each calling code keeps its own dead state (its local 0): an invalid number still
        # knows its calling code, and phonenumbers names the region of a single-region code.
        t = np.empty((k, 11), dtype=np.int32)
        t[:, :10] = dfa.trans + offset
        t[:, 10] = np.arange(k, dtype=np.int32) + offset
        lab = np.zeros((k, MAX_DIGITS + 1), dtype=np.int16)
        cc_len = len(str(cc))
        memo: dict[tuple[frozenset[int], int], int] = {}
        for s in range(k):
            for total in range(cc_len, MAX_DIGITS + 1):
                key = (dfa.tags[s], total)
                if key not in memo:
                    region, valid, mobile, exact = cond.label(dfa.tags[s], total - cc_len)
                    entry = (region_idx[region] if region else -1, valid, mobile, exact)
                    memo[key] = labels.setdefault(entry, len(labels))
                lab[s, total] = memo[key]
        code = str(cc)
        trans_parts[0][node[code[:-1]], int(code[-1])] = offset + dfa.start
        trans_parts.append(t)
        label_parts.append(lab)
        offset += k
    return np.concatenate(trans_parts), np.concatenate(label_parts), labels


def build_tables() -> NumberingTables:
    """Compile phonenumbers' metadata and carrier data into lookup arrays (a second or two)."""
    cc_map = {cc: tuple(r) for cc, r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()}
    all_regions = sorted({r for rs in cc_map.values() for r in rs})
    region_idx = {r: i for i, r in enumerate(all_regions)}
    trans, label, labels = _automaton(cc_map, region_idx)

    lab_arr = sorted(labels.items(), key=lambda kv: kv[1])
    label_region = np.array([k[0] for k, _ in lab_arr], dtype=np.int16)
    label_valid = np.array([k[1] for k, _ in lab_arr], dtype=bool)
    label_mobile = np.array([k[2] for k, _ in lab_arr], dtype=bool)
    label_exact = np.array([k[3] for k, _ in lab_arr], dtype=bool)

    ctrie, ctrie_op, operators, prefixes = _carrier_trie()
    prefix_regions = _prefix_regions(trans, label, label_region, label_mobile, prefixes, all_regions)
    operators_by_prefix = {p: operators[o] for p, o in prefixes.items()}
    operator_rows = sorted({(r, operators_by_prefix[p]) for p, rs in prefix_regions.items() for r in rs})
    region_prefixes: dict[str, list[str]] = {}
    for p in sorted(prefix_regions):
        for r in prefix_regions[p]:
            region_prefixes.setdefault(r, []).append(p)

    mccs: list[str] = []
    mncs: list[str] = []
    mcc_idx: dict[str, int] = {}
    mnc_idx: dict[str, int] = {}
    countries = mccmnc.countries()
    region_mcc = np.full(len(all_regions), -1, dtype=np.int16)
    for r, i in region_idx.items():
        if r in countries:
            region_mcc[i] = _intern(countries[r].mccs[0], mccs, mcc_idx)
    pair_mcc = np.repeat(region_mcc[:, None], len(operators), axis=1)
    pair_mnc = np.full((len(all_regions), len(operators)), -1, dtype=np.int16)
    op_idx = {o: i for i, o in enumerate(operators)}
    for region, name in operator_rows:
        if region in countries:
            match = mccmnc.match_operator(name, countries[region].mccs)
            if match:
                pair_mcc[region_idx[region], op_idx[name]] = _intern(match[0], mccs, mcc_idx)
                pair_mnc[region_idx[region], op_idx[name]] = _intern(match[1], mncs, mnc_idx)

    return NumberingTables(
        key={},
        regions=all_regions,
        trans=trans,
        label=label,
        label_region=label_region,
        label_valid=label_valid,
        label_mobile=label_mobile,
        label_exact=label_exact,
        ctrie=ctrie,
        ctrie_op=ctrie_op,
        ctrie_depth=max(map(len, prefixes)),
        operators=operators,
        mccs=mccs,
        mncs=mncs,
        region_mcc=region_mcc,
        pair_mcc=pair_mcc,
        pair_mnc=pair_mnc,
        operator_rows=operator_rows,
        region_prefixes=region_prefixes,
    )


def _intern(value: str, values: list[str], index: dict[str, int]) -> int:
    if value not in index:
        index[value] = len(values)
        values.append(value)
    return index[value]


def _carrier_trie() -> tuple[np.ndarray, np.ndarray, list[str], dict[str, int]]:
    """A digit trie of phonenumbers' English carrier prefixes (prefixes without "en" skipped,
    as carrier.name_for_number falls through to a shorter prefix for them)."""
    operators: list[str] = []
    op_index: dict[str, int] = {}
    prefixes: dict[str, int] = {}
    for prefix in CARRIER_DATA:
        name = CARRIER_DATA[prefix].get("en")
        if name:
            prefixes[prefix] = _intern(name, operators, op_index)
    children: list[list[int]] = [[0] * 11, [0] * 11]
    op = [-1, -1]
    for prefix in sorted(prefixes):
        node = 1
        for ch in prefix:
            d = int(ch)
            if children[node][d] == 0:
                children[node][d] = len(children)
                children.append([0] * 11)
                op.append(-1)
            node = children[node][d]
        op[node] = prefixes[prefix]
    return np.array(children, dtype=np.int32), np.array(op, dtype=np.int32), operators, prefixes


def _prefix_regions(
    trans: np.ndarray,
    label: np.ndarray,
    label_region: np.ndarray,
    label_mobile: np.ndarray,
    prefixes: dict[str, int],
    regions: list[str],
) -> dict[str, list[str]]:
    """Carrier prefix -> the regions a *mobile* number under it can belong to, found by
    walking the automaton forward from the prefix (prefixes of no mobile number left out)."""
    cc_map = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    local = {}  # region -> its position among its calling code's regions ("001" is alone)
    for rs in cc_map.values():
        for i, r in enumerate(rs):
            local[r] = i
    bit_of_region = np.array([1 << local[r] for r in regions] + [0], dtype=np.int64)
    # reach[:, L]: bit set of the mobile regions reachable from a state after L digits.
    mobile_region = np.where(label_mobile[label], label_region[label], -1)
    reach = np.zeros(label.shape, dtype=np.int64)
    reach[:, MAX_DIGITS] = bit_of_region[mobile_region[:, MAX_DIGITS]]
    for length in range(MAX_DIGITS - 1, -1, -1):
        acc = bit_of_region[mobile_region[:, length]]
        nxt = reach[:, length + 1]
        for d in range(10):
            acc = acc | nxt[trans[:, d]]
        reach[:, length] = acc
    reach[0, :] = 0
    out: dict[str, list[str]] = {}
    for prefix in prefixes:
        cc, _ = phonenumbers.phonenumberutil._extract_country_code(prefix)
        if not cc:
            continue
        state = 1
        for ch in prefix:
            state = int(trans[state, int(ch)])
        bits = int(reach[state, len(prefix)])
        found = [r for i, r in enumerate(cc_map[cc]) if bits >> i & 1]
        if found:
            out[prefix] = found
    return out
