"""MCC/MNC tables from ``mobile_codes`` and the rule that matches an operator name to them.

Data: ``mobile_codes`` (MPL-2.0), ``_countries()`` -> (name, alpha2, alpha3, numeric, mcc)
and ``_mnc_operators()`` -> (mcc, mnc, brand, operator).  Its dirty rows (an MNC such as
``'&#160;?'``, ``'2X'``, ``'481-489'`` or empty) are dropped: only 2-3 digit MNCs are kept.

Matching rule (deterministic), for a carrier name from phonenumbers and a region:

1. Normalise every name: Unicode NFKD without accents, casefold, delete ``.``, ``'`` and
   ``/`` (so "S.A." -> "sa", "A/S" -> "as"), ``&`` -> "and", every other non-alphanumeric
   character -> space; split into tokens; drop legal-form tokens (``LEGAL_FORMS``: ltd, llc,
   plc, sa, gmbh, bv, as, ab, sia, ...) unless that would leave nothing.
2. Candidates: the mobile_codes rows (brand and operator) of the region's MCC(s).
3. The first stage with any match wins, comparing the carrier's tokens with a candidate's
   brand tokens or operator tokens:
   a. ``exact``: equal token lists;
   b. ``prefix``: one token list is a prefix of the other ("o2" ~ "o2 uk");
   c. ``contains``: the carrier's tokens occur contiguously inside the candidate's
      ("tim" ~ "telecom italia mobile tim");
   d. ``acronym``: the carrier is one token of 2+ characters equal to the initials of a
      candidate with 2+ tokens ("lmt" ~ "latvijas mobilais telefons");
   e. ``first-token``: both start with the same token of 3+ characters
      ("bite latvia" ~ "bite mobile").
4. Several MNCs in the winning stage: the lowest MCC in the country's listed order, then
   the lowest MNC numerically ("O2" in the UK matches 234/02, 234/10 and 234/11 -> 234/02).
5. No match: no MNC (the caller keeps the country's MCC with the MNC missing).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import mobile_codes

LEGAL_FORMS = frozenset(
    """ltd limited llc plc sa sau sas sarl sl srl spa gmbh ag bv nv as asa ab aps oy oyj
    sia inc corp corporation co company pte pty jsc pjsc ojsc cjsc zao ooo kft sro doo
    ead ad""".split()
)
_MNC_RE = re.compile(r"^\d{2,3}$")
_MCC_RE = re.compile(r"^\d{3}$")
STAGES = ("exact", "prefix", "contains", "acronym", "first-token")


class MncRow(NamedTuple):
    mcc: str
    mnc: str
    brand: str
    operator: str


class CountryCodes(NamedTuple):
    region: str
    name: str
    iso3: str
    mccs: tuple[str, ...]  # in mobile_codes' order; the first is the country's MCC


def normalise_name(name: str) -> tuple[str, ...]:
    """Tokens of an operator name with accents, punctuation and legal forms removed.

    >>> normalise_name("Vodafone España, S.A.U.")
    ('vodafone', 'espana')
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[.'/]", "", text).replace("&", " and ")
    tokens = tuple(re.sub(r"[^0-9a-z]+", " ", text).split())
    kept = tuple(t for t in tokens if t not in LEGAL_FORMS)
    return kept or tokens


@lru_cache(maxsize=1)
def countries() -> dict[str, CountryCodes]:
    """alpha-2 -> the country's MCCs (only countries with at least one 3-digit MCC)."""
    out: dict[str, CountryCodes] = {}
    for c in mobile_codes._countries():
        raw = c.mcc if isinstance(c.mcc, (list, tuple)) else [c.mcc]
        mccs = tuple(m for m in raw if isinstance(m, str) and _MCC_RE.match(m))
        if mccs:
            out[c.alpha2] = CountryCodes(c.alpha2, c.name, c.alpha3, mccs)
    return out


@lru_cache(maxsize=1)
def mnc_rows() -> tuple[MncRow, ...]:
    """The clean MCC/MNC rows: 3-digit MCC, 2-3 digit MNC; names with whitespace collapsed."""
    rows = []
    for r in mobile_codes._mnc_operators():
        if _MCC_RE.match(r.mcc or "") and _MNC_RE.match(r.mnc or ""):
            rows.append(MncRow(r.mcc, r.mnc, " ".join((r.brand or "").split()), " ".join((r.operator or "").split())))
    return tuple(rows)


@lru_cache(maxsize=1)
def _rows_by_mcc() -> dict[str, list[tuple[MncRow, tuple[str, ...], tuple[str, ...]]]]:
    by: dict[str, list[tuple[MncRow, tuple[str, ...], tuple[str, ...]]]] = {}
    for r in mnc_rows():
        by.setdefault(r.mcc, []).append((r, normalise_name(r.brand), normalise_name(r.operator)))
    return by


def _stage(carrier: tuple[str, ...], cand: tuple[str, ...]) -> int | None:
    """Index in STAGES of the first rule under which ``carrier`` matches ``cand``."""
    if not carrier or not cand:
        return None
    if carrier == cand:
        return 0
    n, m = len(carrier), len(cand)
    if cand[:n] == carrier or carrier[:m] == cand:
        return 1
    if any(cand[i : i + n] == carrier for i in range(m - n + 1)):
        return 2
    if n == 1 and len(carrier[0]) >= 2 and m >= 2 and carrier[0] == "".join(t[0] for t in cand):
        return 3
    if carrier[0] == cand[0] and len(carrier[0]) >= 3:
        return 4
    return None


def match_operator(name: str, mccs: tuple[str, ...]) -> tuple[str, str, str] | None:
    """(mcc, mnc, stage) for a carrier name among the MNC rows of ``mccs``, or None.

    >>> match_operator("LMT", ("247",))
    ('247', '01', 'acronym')
    """
    tokens = normalise_name(name)
    best: tuple[int, int, int, str, str] | None = None
    for mcc_rank, mcc in enumerate(mccs):
        for row, brand, oper in _rows_by_mcc().get(mcc, []):
            stages = [s for s in (_stage(tokens, brand), _stage(tokens, oper)) if s is not None]
            if not stages:
                continue
            key = (min(stages), mcc_rank, int(row.mnc), row.mnc, row.mcc)
            if best is None or key < best:
                best = key
    if best is None:
        return None
    return best[4], best[3], STAGES[best[0]]
