"""Demo audiences: realistic mobile numbers drawn from phonenumbers' examples, weighted like a
campaign (a few big markets and a long tail), reproducible from a seed."""
from __future__ import annotations

import bisect
import functools
import itertools
import random
import re

import phonenumbers
from phonenumbers import PhoneNumberType, phonenumberutil
from phonenumbers.phonemetadata import PhoneMetadata

from ..core import spec
from .tables import MOBILE_TYPES, NumberingTables, load_tables

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
