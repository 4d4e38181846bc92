"""Offline numbering: classify(), the country/operator tables, sample_numbers(), the cache.

Expected values come from the data sources themselves (phonenumbers, mobile_codes) wherever
possible; the few fixed cases were checked by hand against both libraries' data.
"""
from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from phonebook import damage
from phonenumbers import PhoneNumberType, carrier, geocoder

from smsgic_analytics.numbers import classify as numbering
from smsgic_analytics.numbers import mccmnc
from smsgic_analytics.numbers import normalize as phone
from smsgic_analytics.numbers import tables as numbering_tables
from smsgic_analytics.numbers.classify import classify, country_table, operator_table
from smsgic_analytics.numbers.digitdfa import (
    Condition,
    RegexSyntaxError,
    compile_conditions,
)
from smsgic_analytics.numbers.samples import sample_numbers


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tables are built into a temporary cache dir, not the user's."""
    path = tmp_path_factory.mktemp("numbering-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMSGIC_CACHE_DIR", str(path))
        yield path


def reference(digits: str) -> tuple[bool, str | None, str | None]:
    """What the phonenumbers per-number loop says: (valid, region, operator)."""
    try:
        num = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return False, None, None
    region = phonenumbers.region_code_for_number(num)
    return (
        phonenumbers.is_valid_number(num),
        None if region == "001" else region,
        carrier.name_for_number(num, "en") or None,
    )


def value(x: object) -> object:
    return None if pd.isna(x) else x


def row_of(df: pd.DataFrame, i: int) -> dict[str, object]:
    return {c: value(df[c].iloc[i]) for c in df.columns}


def mobile_example(region: str) -> str | None:
    ex = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    return None if ex is None else phonenumbers.format_number(ex, phonenumbers.PhoneNumberFormat.E164)[1:]


# --- classify: real numbers ----------------------------------------------------------------


def test_every_regions_example_mobile_number_matches_the_data_sources() -> None:
    examples = {r: mobile_example(r) for r in sorted(phonenumbers.SUPPORTED_REGIONS)}
    examples = {r: d for r, d in examples.items() if d}
    assert len(examples) > 230
    df = classify(list(examples.values()))
    countries = mccmnc.countries()
    ops = operator_table()
    matched = {(r, o): (m, n) for r, o, m, n in zip(ops.region, ops.operator, ops.mcc, ops.mnc)}
    for i, (region, digits) in enumerate(examples.items()):
        got = row_of(df, i)
        if len(digits) < 8:  # Tokelau, Niue...: valid, but the API takes 8-20 digits (one normaliser)
            assert (got["number"], got["valid"], got["region"]) == (None, False, None), region
            assert got["reason"].startswith("too short"), region
            continue
        valid, ref_region, operator = reference(digits)
        assert (got["number"], got["valid"], got["region"], got["operator"]) == (digits, valid, ref_region, operator), region
        if ref_region is None:
            continue
        assert got["country"] == (geocoder._region_display_name(ref_region, "en") or numbering_tables._EXTRA_NAMES[ref_region])
        default_mcc = countries[ref_region].mccs[0] if ref_region in countries else None
        mcc, mnc = matched.get((ref_region, operator), (default_mcc, None)) if operator else (default_mcc, None)
        assert (got["mcc"], got["mnc"]) == (value(mcc), value(mnc)), region


@pytest.mark.parametrize(
    ("text", "region", "country", "operator", "mcc", "mnc"),
    [
        # Checked by hand: phonenumbers' carrier data and mobile_codes' MNC list.
        ("+371 2612 3456", "LV", "Latvia", "LMT", "247", "01"),  # acronym of Latvijas Mobilais Telefons
        ("+44 7717 123456", "GB", "United Kingdom", "Vodafone", "234", "15"),
        ("+44 7711 123456", "GB", "United Kingdom", "O2", "234", "02"),  # lowest of 02/10/11
        ("+44 7400 123456", "GB", "United Kingdom", "Three", "234", None),  # Hutchison 3G: no name match
        ("+45 20 12 34 56", "DK", "Denmark", "tdc", "238", "01"),
        ("+65 8123 4567", "SG", "Singapore", "SingTel", "525", "07"),  # exact "SingTel" beats "SingTel ST GSM900"
        ("+7 912 345 67 89", "RU", "Russia", None, "250", None),  # phonenumbers has no English name here
        ("+1 201 555 0123", "US", "United States", None, "310", None),  # first of US's MCCs
    ],
)
def test_well_known_numbers(text: str, region: str, country: str, operator: str | None, mcc: str, mnc: str | None) -> None:
    got = row_of(classify([text]), 0)
    assert got["valid"]
    assert (got["region"], got["country"], got["operator"], got["mcc"], got["mnc"]) == (region, country, operator, mcc, mnc)
    assert reference(got["number"])[1:] == (region, operator)


def test_o2_uk_takes_the_lowest_of_its_mncs() -> None:
    rows = [r for r in mccmnc.mnc_rows() if r.mcc == "234" and mccmnc.normalise_name(r.brand)[:1] == ("o2",)]
    assert sorted(r.mnc for r in rows) == ["02", "10", "11"]
    t = operator_table()
    o2 = t[(t.region == "GB") & (t.operator == "O2")]
    assert o2[["mcc", "mnc"]].values.tolist() == [["234", "02"]]


# --- normalisation and odd input -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["+44 7717 123456", "0044 7717 123456", "+44-7717-123-456", "(+44) 7717.123.456", " +44\t7717 123456\n", "447717123456"],
)
def test_normalisation(text: str) -> None:
    got = row_of(classify([text]), 0)
    assert got["number"] == "447717123456"
    assert (got["valid"], got["region"], got["operator"]) == (True, "GB", "Vodafone")


def test_integers_and_unicode_spaces_are_numbers_too_but_floats_are_refused() -> None:
    df = classify([447717123456, "+44\u00a07717\u2009123456", 447717123456.0])
    assert df["number"].tolist()[:2] == ["447717123456"] * 2 and df["valid"].tolist() == [True, True, False]
    assert pd.isna(df["number"].iloc[2]) and df["reason"].iloc[2] == phone.FLOAT_VALUE


def test_the_trunk_zero_after_the_country_code_is_dropped() -> None:
    got = row_of(classify(["+44 (0) 7717 123456"]), 0)
    assert got["number"] == "447717123456"  # "(0)" is what domestic callers dial, not part of the number
    assert (got["valid"], got["region"], got["operator"]) == reference("447717123456") == (True, "GB", "Vodafone")


def test_unplaceable_and_invalid_inputs_stay_as_rows_in_order() -> None:
    inputs = [
        "", None, float("nan"), "abc", "+", "12", "+44 7717 123456 ext 5", "\u0664\u0664\u0667\u0667",
        "+999 123456789", "9" * 25, "+49 123", "+44 7717 123456", "0" * 30, object(),
    ]
    series = pd.Series(inputs, index=[f"r{i}" for i in range(len(inputs))], dtype=object)
    df = classify(series)
    assert list(df.index) == list(series.index)
    assert list(df.columns) == ["number", "valid", "region", "country", "operator", "mcc", "mnc", "reason"]
    assert df["valid"].tolist() == [False] * 11 + [True] + [False] * 2
    # Refused by the normaliser (with its reason) unless it is 8-20 digits: then phonenumbers decides.
    accepted = ["r8", "r11"]
    assert df.index[df["number"].notna()].tolist() == accepted
    assert df["reason"].isna().tolist() == [i in accepted for i in df.index]
    assert df.loc["r8", "number"] == "999123456789" and pd.isna(df.loc["r8", "region"])  # no such calling code
    assert df.loc["r10", "reason"] == "too short: 5 digits, the API needs 8-20"
    assert df.loc["r3", "reason"] == "contains characters other than digits: 'a', 'b', 'c'"
    assert df.loc["r9", "reason"] == "too long: 25 digits, the API needs 8-20"
    assert df.loc["r12", "reason"] == "a country code never starts with 0"


def test_dtypes() -> None:
    df = classify(["+371 2612 3456", "x"])
    assert isinstance(df["number"].dtype, pd.StringDtype) and df["number"].dtype.na_value is pd.NA
    assert df["valid"].dtype == bool
    for col in ["region", "country", "operator", "mcc", "mnc"]:
        assert isinstance(df[col].dtype, pd.CategoricalDtype), col
    assert isinstance(df["reason"].dtype, pd.StringDtype)
    assert classify([]).shape == (0, 8)


# --- agreement with the phonenumbers loop ---------------------------------------------------


def test_agrees_with_phonenumbers_on_20000_generated_numbers() -> None:
    numbers = sample_numbers(20_000, seed=11)
    df = classify(numbers)
    ref = [reference(d) for d in numbers]
    got = list(zip(df["valid"].tolist(), map(value, df["region"]), map(value, df["operator"])))
    agree = sum(g == r for g, r in zip(got, ref)) / len(ref)
    assert agree >= 0.995, agree
    assert all(v for v, _, _ in ref)  # the generator only makes valid numbers


def test_agrees_with_phonenumbers_on_damaged_and_random_digits() -> None:
    rng = random.Random(7)
    numbers = [damage(digits, rng) for digits in sample_numbers(5_000, seed=12)]  # 1-3 typos each
    numbers += ["".join(rng.choice("0123456789") for _ in range(rng.randint(1, 22))) for _ in range(5_000)]
    df = classify(numbers)
    # The normaliser refuses what the API would never take: a leading 0 (national, or "00"
    # before a country code that starts with 0) and lengths outside 8-20; phonenumbers decides the rest.
    def api_takes(n: str) -> bool:
        digits = n[2:] if n.startswith("00") else n
        return not digits.startswith("0") and 8 <= len(digits) <= 20

    expected_refused = [not api_takes(n) for n in numbers]
    assert df["reason"].notna().tolist() == expected_refused
    kept = [i for i, refused in enumerate(expected_refused) if not refused and not numbers[i].startswith("00")]
    got = list(zip(df["valid"].iloc[kept].tolist(), map(value, df["region"].iloc[kept]),
                   map(value, df["operator"].iloc[kept])))
    ref = [reference(numbers[i]) for i in kept]
    mismatches = [(numbers[i], g, r) for i, g, r in zip(kept, got, ref) if g != r]
    assert len(mismatches) <= 0.005 * len(kept), mismatches[:5]
    assert 0.05 < df["valid"].iloc[kept].mean() < 0.95  # both kinds really were tested


def test_exact_mode_gives_the_same_frame() -> None:
    numbers = sample_numbers(500, seed=3) + ["+44 (0) 7717 123456", "123", "x", "+44 7700 900123"]
    pd.testing.assert_frame_equal(
        classify(numbers).astype(str), classify(numbers, exact=True).astype(str)
    )


# --- tables --------------------------------------------------------------------------------


def test_country_table_is_one_row_per_region_with_an_mcc() -> None:
    t = country_table()
    assert list(t.columns) == ["region", "country", "iso3", "calling_code", "mcc"]
    assert t["region"].is_unique and t["region"].tolist() == sorted(t["region"])
    countries = mccmnc.countries()
    expected = sorted(r for r in phonenumbers.SUPPORTED_REGIONS if r in countries)
    assert t["region"].tolist() == expected
    for row in t.itertuples(index=False):
        assert row.mcc == countries[row.region].mccs[0] and re.fullmatch(r"\d{3}", row.mcc)
        assert row.iso3 == countries[row.region].iso3
        assert row.calling_code == str(phonenumbers.country_code_for_region(row.region))
        assert row.country == geocoder._region_display_name(row.region, "en")
    by_region = t.set_index("region")
    assert by_region.loc[["LV", "DK", "SG", "RU", "GB"], "country"].tolist() == [
        "Latvia", "Denmark", "Singapore", "Russia", "United Kingdom"
    ]
    assert by_region.loc["GB", "mcc"] == "234" and by_region.loc["US", "mcc"] == "310"


def test_operator_table_rows_follow_the_matching_rule() -> None:
    t = operator_table()
    assert list(t.columns) == ["region", "country", "calling_code", "operator", "mcc", "mnc"]
    assert not t.duplicated(["region", "operator"]).any()
    assert t["region"].str.fullmatch("[A-Z]{2}").all()  # no non-geographic "001" rows
    assert list(zip(t.region, t.operator)) == sorted(zip(t.region, t.operator))
    english = {v["en"] for v in phonenumbers.carrierdata.CARRIER_DATA.values() if v.get("en")}
    assert set(t["operator"]) <= english
    countries = mccmnc.countries()
    clean = {(r.mcc, r.mnc) for r in mccmnc.mnc_rows()}
    for row in t.itertuples(index=False):
        codes = countries.get(row.region)
        match = mccmnc.match_operator(row.operator, codes.mccs) if codes else None
        if match:
            assert (row.mcc, row.mnc) == match[:2] and match[:2] in clean
        else:
            assert pd.isna(row.mnc)
            assert value(row.mcc) == (codes.mccs[0] if codes else None)
    assert t["mnc"].notna().sum() > 300
    lmt = t[(t.region == "LV") & (t.operator == "LMT")]
    assert lmt[["mcc", "mnc"]].values.tolist() == [["247", "01"]]


def test_shared_calling_codes_put_operators_in_the_right_region() -> None:
    t = operator_table()
    jersey = set(t[t.region == "JE"].operator)
    assert "JT" in jersey and "Vodafone" not in jersey
    # Every operator row is a real (region, operator) pair: a mobile number for it exists.
    for region in ["GG", "JE", "IM", "KZ", "PR", "JM"]:
        ops = set(t[t.region == region].operator)
        assert ops, region
        found = set(classify(sample_numbers(400, seed=1, regions=[region]))["operator"].dropna())
        assert found <= ops, (region, found - ops)


# --- sample_numbers ------------------------------------------------------------------------


def test_sample_numbers_are_deterministic_valid_mobiles() -> None:
    a = sample_numbers(3000, seed=5)
    assert a == sample_numbers(3000, seed=5)
    assert a != sample_numbers(3000, seed=6)
    for digits in a:
        num = phonenumbers.parse("+" + digits)
        assert phonenumbers.is_valid_number(num), digits
        assert phonenumbers.number_type(num) in numbering_tables.MOBILE_TYPES, digits
    regions = pd.Series([phonenumbers.region_code_for_number(phonenumbers.parse("+" + d)) for d in a])
    share = regions.value_counts(normalize=True)
    assert share.index[0] in {"GB", "DE"} and share["GB"] > 0.08 and share["LV"] > 0.01
    assert regions.nunique() > 60  # the long tail is there too


def test_sample_numbers_for_chosen_regions() -> None:
    got = sample_numbers(200, seed=0, regions=["LV", "DK"])
    assert {phonenumbers.region_code_for_number(phonenumbers.parse("+" + d)) for d in got} == {"LV", "DK"}
    assert sample_numbers(0) == []
    with pytest.raises(ValueError, match="ZZ"):
        sample_numbers(5, regions=["LV", "ZZ"])


# --- the disk cache ------------------------------------------------------------------------


@pytest.mark.slow  # builds the tables twice
def test_tables_are_cached_on_disk_and_rebuilt_for_another_version(tmp_path: Path) -> None:
    first = numbering_tables.load_tables(tmp_path, version="1.0")
    path = tmp_path / "numbering-1.0.npz"
    assert path.exists() and first.loaded_from is None  # built
    numbering_tables._MEMORY.clear()
    second = numbering_tables.load_tables(tmp_path, version="1.0")
    assert second.loaded_from == path  # read back, not rebuilt
    assert np.array_equal(second.trans, first.trans) and second.operators == first.operators
    assert classify(["+371 2612 3456"]).loc[0, "operator"] == "LMT"

    other = numbering_tables.load_tables(tmp_path, version="2.0")
    assert other.loaded_from is None and (tmp_path / "numbering-2.0.npz").exists()
    assert numbering_tables._read(tmp_path / "numbering-2.0.npz", numbering_tables._cache_key("2.0")).key[
        "phonenumbers"] == "2.0"

    # A file whose key does not match (copied from another version) or that is damaged is
    # refused, so load_tables rebuilds it as above.
    (tmp_path / "numbering-3.0.npz").write_bytes(path.read_bytes())
    assert numbering_tables._read(tmp_path / "numbering-3.0.npz", numbering_tables._cache_key("3.0")) is None
    assert numbering_tables._read(path, numbering_tables._cache_key("1.0")) is not None
    path.write_bytes(path.read_bytes()[:1000])
    assert numbering_tables._read(path, numbering_tables._cache_key("1.0")) is None


def test_a_doctored_cache_file_is_refused_before_use(tmp_path: Path) -> None:
    """Right key, wrong contents: an index out of range would read outside the arrays."""
    tables = numbering_tables.load_tables(tmp_path, version="4.0")
    path = tmp_path / "numbering-4.0.npz"
    key = numbering_tables._cache_key("4.0")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    for name, spoil in [("trans", lambda a: a.max() + 5), ("ctrie_op", lambda a: len(tables.operators)),
                        ("label", lambda a: np.int16(-3))]:
        doctored = dict(arrays)
        doctored[name] = arrays[name].copy()
        doctored[name].flat[0] = spoil(arrays[name])
        np.savez(path, **doctored)
        assert numbering_tables._read(path, key) is None, name
    np.savez(path, **{**arrays, "trans": arrays["trans"].astype(np.int64)})
    assert numbering_tables._read(path, key) is None


def test_default_cache_location_follows_settings(private_cache: Path) -> None:
    assert numbering.cache_path() == private_cache / f"numbering-{phonenumbers.__version__}.npz"
    classify(["+371 2612 3456"])
    assert numbering.cache_path().exists()


# --- operator name matching ----------------------------------------------------------------


def test_name_normalisation() -> None:
    assert mccmnc.normalise_name("Vodafone España, S.A.U.") == ("vodafone", "espana")
    assert mccmnc.normalise_name("MIGway A/S") == ("migway",)
    assert mccmnc.normalise_name("Latvijas Mobilais Telefons SIA") == ("latvijas", "mobilais", "telefons")
    assert mccmnc.normalise_name("AB") == ("ab",)  # a name that is only a legal form stays


def test_dirty_mnc_rows_are_dropped() -> None:
    import mobile_codes

    raw = mobile_codes._mnc_operators()
    assert any(r.mnc == "&#160;?" for r in raw)
    rows = mccmnc.mnc_rows()
    assert rows and all(re.fullmatch(r"\d{2,3}", r.mnc) and re.fullmatch(r"\d{3}", r.mcc) for r in rows)
    assert len(rows) == sum(1 for r in raw if re.fullmatch(r"\d{2,3}", r.mnc or "") and re.fullmatch(r"\d{3}", r.mcc or ""))


@pytest.mark.parametrize(
    ("name", "mccs", "expected"),
    [
        ("Vodafone", ("234", "235"), ("234", "15", "exact")),
        ("O2", ("234", "235"), ("234", "02", "prefix")),
        ("TIM", ("222",), ("222", "01", "contains")),
        ("LMT", ("247",), ("247", "01", "acronym")),
        ("Bite Latvia", ("247",), ("247", "05", "first-token")),
        ("Three", ("234", "235"), None),
    ],
)
def test_match_operator_stages(name: str, mccs: tuple[str, ...], expected: tuple[str, str, str] | None) -> None:
    assert mccmnc.match_operator(name, mccs) == expected


# --- the regex compiler --------------------------------------------------------------------


def test_compiled_patterns_agree_with_re() -> None:
    """Every pattern phonenumbers uses, on strings near its examples, against Python's re."""
    from phonenumbers.phonemetadata import PhoneMetadata

    rng = random.Random(3)
    names = ["general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "voip", "pager"]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS)[::3]:
        md = PhoneMetadata.metadata_for_region(region)
        conds = [Condition(getattr(md, n).national_number_pattern) for n in names if getattr(md, n) and getattr(md, n).national_number_pattern]
        if md.leading_digits:
            conds.append(Condition(md.leading_digits, "prefix"))
        if md.national_prefix_for_parsing:
            conds.append(Condition(md.national_prefix_for_parsing, "prefix", nonempty=True))
        dfa = compile_conditions(conds)
        seeds = [getattr(md, n).example_number for n in names if getattr(md, n) and getattr(md, n).example_number]
        for _ in range(150):
            s = list(rng.choice(seeds)) if seeds else []
            for _ in range(rng.randint(0, 2)):
                if s and rng.random() < 0.7:
                    s[rng.randrange(len(s))] = rng.choice("0123456789")
                else:
                    s.insert(rng.randrange(len(s) + 1), rng.choice("0123456789"))
            text = "".join(s)
            state = dfa.start
            for ch in text:
                state = dfa.trans[state, int(ch)]
            for cid, cond in enumerate(conds):
                if cond.kind == "full":
                    expected = re.fullmatch(cond.pattern, text) is not None
                else:
                    m = re.match(cond.pattern, text)
                    expected = m is not None and (m.end() > 0 or not cond.nonempty)
                    if cond.nonempty and m is not None and m.end() == 0:
                        continue  # re stops at the empty match; a longer one may exist
                assert (cid in dfa.tags[state]) == expected, (region, cond.pattern, text)


def test_regex_compiler_handles_anchors_and_rejects_what_it_cannot_do() -> None:
    dfa = compile_conditions([Condition("([2-9]\\d{2})$|1", "prefix"), Condition("\\d{2,3}")])

    def tags(text: str) -> frozenset[int]:
        state = dfa.start
        for ch in text:
            state = dfa.trans[state, int(ch)]
        return dfa.tags[state]

    assert tags("234") == {0, 1} and tags("2345") == frozenset() and tags("1999") == {0}
    with pytest.raises(RegexSyntaxError):
        compile_conditions([Condition("(1)\\1")])


def test_sample_numbers_all_match_the_api_recipient_rule():
    from smsgic_analytics.core import spec

    numbers = sample_numbers(20_000, seed=1)
    assert [n for n in numbers if not spec.RECIPIENT_RE.match(n)] == []
