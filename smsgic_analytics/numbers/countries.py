"""Which countries a person means: by name (in English or the country's own languages), ISO code or alias.

"UK", "GB", "GBR" and "United Kingdom" all name GB; "DE", "DEU" and "Deutschland" name DE.
Nothing here is a hand-written list: the regions are phonenumbers' (the ones a number can
belong to), the names and codes come from the CLDR data babel ships -- each country's English
name and its name in each of its official languages (``get_official_languages``), its
alpha-3 code and the aliases CLDR keeps for codes people still use (``UK`` -> ``GB``), plus
the ISO short names mobile_codes carries ("Czech Republic", "Swaziland").

Matching rule (``find_regions``): accents and case are ignored; a query equal to a code,
an alias or a name names that region only (so "UK" is not a substring of "Ukraine", "DE"
not of "Sweden"); otherwise a query of three or more letters names every region one of
whose names contains it ("king" -> GB).

>>> find_regions("UK"), find_regions("Deutschland"), find_regions("de")
(('GB',), ('DE',), ('DE',))
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

import phonenumbers

from . import mccmnc

MIN_SUBSTRING = 3  # shorter queries must be a whole code or name: "uk" is not "Ukraine"


def fold(text: str) -> str:
    """``text`` without accents, case or surrounding spaces: "Åland " -> "aland"."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


@lru_cache(maxsize=1)
def region_names() -> dict[str, tuple[str, ...]]:
    """ISO region -> every name and code it answers to (folded), English name first."""
    from babel import Locale, UnknownLocaleError
    from babel.core import get_global
    from babel.languages import get_official_languages

    english = Locale("en").territories
    locales: dict[str, dict[str, str]] = {}

    def territories(language: str) -> dict[str, str]:
        if language not in locales:
            try:
                locales[language] = Locale.parse(language).territories
            except (UnknownLocaleError, ValueError):
                locales[language] = {}
        return locales[language]

    names: dict[str, list[str]] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        found = [english.get(region, region), region]
        for language in get_official_languages(region, de_facto=True):
            local = territories(language).get(region)
            if local:
                found.append(local)
        names[region] = found
    # The names mobile_codes gives (ISO 3166's older short names: "Czech Republic", "Swaziland").
    for codes in mccmnc.countries().values():
        if codes.region in names:
            names[codes.region].append(codes.name)
    # CLDR's aliases: alpha-3 codes (DEU), numeric codes are skipped, retired or informal codes (UK).
    for alias, targets in get_global("territory_aliases").items():
        if len(targets) == 1 and targets[0] in names and not alias.isdigit() and alias not in names:
            names[targets[0]].append(alias)
    return {region: tuple(dict.fromkeys(fold(n) for n in found)) for region, found in names.items()}


@lru_cache(maxsize=1)
def _exact() -> dict[str, tuple[str, ...]]:
    """folded name or code -> the regions it names exactly."""
    out: dict[str, list[str]] = {}
    for region, names in region_names().items():
        for name in names:
            out.setdefault(name, []).append(region)
    return {name: tuple(regions) for name, regions in out.items()}


def find_regions(query: str) -> tuple[str, ...]:
    """The ISO regions ``query`` names (see the module docstring), in code order; () for none.

    >>> find_regions("GBR"), find_regions("king")
    (('GB',), ('GB',))
    """
    key = fold(query)
    if not key:
        return ()
    exact = _exact().get(key)
    if exact:
        return tuple(sorted(exact))
    if len(key) < MIN_SUBSTRING:
        return ()
    return tuple(region for region, names in region_names().items() if any(key in name for name in names))


def region_of(name: str) -> str | None:
    """The ISO region a country name or code names exactly ("United Kingdom" -> "GB"), else None."""
    found = _exact().get(fold(name), ())
    return found[0] if len(found) == 1 else None


def english_name(region: str) -> str:
    """The English name of an ISO region ("DE" -> "Germany"); the code itself when CLDR has none."""
    from babel import Locale

    return Locale("en").territories.get(region, region)


@lru_cache(maxsize=1)
def _mcc_regions() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for codes in mccmnc.countries().values():
        for mcc in codes.mccs:
            out.setdefault(mcc, []).append(codes.region)
    return {mcc: tuple(regions) for mcc, regions in out.items()}


def region_for(name: str, mcc: str | None = None) -> str | None:
    """The ISO region of a rate row: by its country name, else by its MCC when one country owns it.

    >>> region_for("Vatican", "225"), region_for("United Kingdom")
    ('VA', 'GB')
    """
    found = region_of(name)
    if found is None and mcc is not None:
        owners = _mcc_regions().get(str(mcc), ())
        found = owners[0] if len(owners) == 1 else None
    return found
