"""``sa.classify`` against phonenumbers itself, number by number, on 100,000+ numbers.

classify answers from tables it compiles out of phonenumbers' metadata (an automaton over the
digits), so the independent reference is phonenumbers' own per-number API: ``parse``,
``is_valid_number``, ``region_code_for_number`` and the geocoder's ``country_name_for_number``.
The mix: valid mobile numbers of every region (``sa.sample_numbers``: the campaign mix plus a
long tail), the same numbers damaged (a digit changed, inserted or dropped: mostly invalid,
sometimes another region), random digit strings, and phonenumbers' example number of every type
of every region and non-geographic entity (fixed lines, toll free, premium, shared codes such as
+1, +7, +39, +44, +47, +61, +358, and +800/+882...).

Agreement threshold: 99.99 % on validity and region together, and on the country name wherever
phonenumbers names one (it names none for a number its calling code shares between regions
unless the number is valid in exactly one of them); every disagreement is listed in the failure.
On phonenumbers 9.0.43 there are none.
"""
from __future__ import annotations

import random

import pandas as pd
import phonenumbers
from phonebook import damage
from phonenumbers import geocoder

import smsgic_analytics as sa

THRESHOLD = 0.9999


def mix() -> list[str]:
    rng = random.Random(23)
    samples = sa.sample_numbers(70_000, seed=22)
    damaged = [damage(digits, rng) for digits in samples[:20_000]]
    random_digits = [rng.choice("123456789") + "".join(rng.choice("0123456789") for _ in range(rng.randint(7, 19)))
                     for _ in range(10_000)]
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number_type in range(12):  # every PhoneNumberType
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                examples.append(f"{example.country_code}{phonenumbers.national_significant_number(example)}")
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            examples.append(f"{example.country_code}{phonenumbers.national_significant_number(example)}")
    return samples + damaged + random_digits + examples


def reference(digits: str) -> tuple[bool, str | None, str | None]:
    """(valid, region, country name or None) as phonenumbers says, for E.164 digits."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return False, None, None
    region = phonenumbers.region_code_for_number(number)
    return (phonenumbers.is_valid_number(number), None if region in (None, "001") else region,
            geocoder.country_name_for_number(number, "en") or None)


def text(value: object) -> str | None:
    return None if pd.isna(value) else str(value)


def test_classify_agrees_with_phonenumbers_on_100000_numbers():
    numbers = mix()
    assert len(numbers) >= 100_000
    frame = sa.classify(numbers)
    # The normaliser refuses what the API never takes (a leading 0, fewer than 8 digits): a few
    # damaged numbers.  The rest are compared as the digits the API would get.
    kept = frame[frame["reason"].isna()]
    assert len(kept) >= 0.99 * len(numbers)
    valid_region, country, named = [], [], 0
    for digits, valid, region, name in zip(kept["number"], kept["valid"], kept["region"], kept["country"]):
        ref_valid, ref_region, ref_name = reference(digits)
        if (bool(valid), text(region)) != (ref_valid, ref_region):
            valid_region.append((digits, (bool(valid), text(region)), (ref_valid, ref_region)))
        if ref_name is not None:
            named += 1
            if text(name) != ref_name:
                country.append((digits, text(name), ref_name))
    print(f"{len(kept):,} numbers compared: {len(valid_region)} validity/region and {len(country)} country "
          f"disagreements ({named:,} named by phonenumbers)")
    assert len(valid_region) <= (1 - THRESHOLD) * len(kept), f"(number, classify, phonenumbers): {valid_region}"
    assert len(country) <= (1 - THRESHOLD) * named, f"(number, classify, phonenumbers): {country}"
    # The mix really holds both kinds, many regions, and shared calling codes.
    assert 0.6 < kept["valid"].mean() < 0.95
    assert kept["region"].nunique() > 200
    assert {"GB", "GG", "JE", "IM", "US", "CA", "RU", "KZ", "IT", "VA"} <= set(kept["region"].dropna())
