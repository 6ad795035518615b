"""``ListingMatcher``: the hand-made variant set, normalisation, rules, aliases, removal and determinism.

Hypothesis runs derandomized and without its example database, so every run checks the same inputs.
"""

from __future__ import annotations

import csv
import doctest
import random
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotcheck.sdk import _matcher
from spotcheck.sdk._matcher import (
    ListingMatch,
    ListingMatcher,
    ListingRecord,
    MatchRule,
    normalise_brand,
    normalise_model,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

VARIANT_SET = Path(__file__).parent / "data" / "listing_variants.csv"
COLUMNS = ["order_trademark", "order_model", "listing_trademark", "listing_model", "listing_title", "expected", "note"]
# The alias table the variant set is written against (bench/bench_matcher.py checks recall with the same one).
VARIANT_ALIASES: dict[str, list[str]] = {
    "美的": ["Midea"],
    "格力": ["GREE"],
    "海尔": ["Haier"],
    "小米": ["Xiaomi", "MI"],
    "华为": ["HUAWEI"],
    "苏泊尔": ["SUPOR"],
    "九阳": ["Joyoung"],
    "格兰仕": ["Galanz"],
    "奥克斯": ["AUX"],
    "海信": ["Hisense"],
    "公牛": ["BULL"],
    "飞利浦": ["Philips"],
    "松下": ["Panasonic"],
    "西门子": ["Siemens"],
}
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def read_variant_set() -> list[dict[str, str]]:
    with VARIANT_SET.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


VARIANTS = read_variant_set()


def test_variant_set_is_large_balanced_and_well_formed() -> None:
    with VARIANT_SET.open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == COLUMNS
    assert len(VARIANTS) >= 200
    assert all(None not in row.values() and row["expected"] in {"0", "1"} and row["note"] for row in VARIANTS)
    expected = [row["expected"] for row in VARIANTS]
    assert expected.count("1") >= 100
    assert expected.count("0") >= 80
    assert any(row["listing_title"] for row in VARIANTS)


@pytest.mark.parametrize(
    "row", VARIANTS, ids=[f"{line:03d}-{row['note'][:40]}" for line, row in enumerate(VARIANTS, start=2)]
)
def test_variant_pair_is_decided_as_expected(row: dict[str, str]) -> None:
    matcher = ListingMatcher(VARIANT_ALIASES)
    matcher.add(
        "listing",
        trademark=row["listing_trademark"],
        spec_model=row["listing_model"],
        title=row["listing_title"] or None,
    )
    found = matcher.match(row["order_trademark"], row["order_model"])
    if row["expected"] == "1":
        assert [match.listing_id for match in found] == ["listing"]
    else:
        assert found == []


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("KFR-35GW/N8XHC1", "kfr35gwn8xhc1"),
        ("ＫＦＲ－３５ＧＷ／Ｎ８ＸＨＣ１", "kfr35gwn8xhc1"),
        ("型号：KFR—35GW", "kfr35gw"),
        ("规格型号: BCD-215WTM", "bcd215wtm"),
        ("Model No. HX6730", "hx6730"),
        ("KFR-35GW型", "kfr35gw"),
        ("X1家用型", "x1家用型"),
        ("1.5P", "1.5p"),
        ("1．5 P", "1.5p"),
        ("15P", "15p"),
        ("FS40-1", "fs40-1"),
        ("FS40 / 1", "fs40-1"),
        ("FS401", "fs401"),
        ("X1+", "x1+"),
        ("60×60", "60x60"),
        ("60 * 60", "60x60"),
        ("Ⅱ", "ii"),
        ("A①", "a1"),
        ("“X1”。", "x1"),
        ("", ""),
        ("  ", ""),
        ("型号", "型号"),
    ],
)
def test_normalise_model(written: str, normalised: str) -> None:
    assert normalise_model(written) == normalised


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("美的®", "美的"),
        ("Midea™", "midea"),
        ("Midea(TM)", "midea"),
        ("ＧＲＥＥ", "gree"),
        ("格力牌", "格力"),
        ("品牌：格力", "格力"),
        ("海尔品牌", "海尔"),
        ("美的集团股份有限公司", "美的"),
        ("Midea Group Co., Ltd.", "midea"),
        ("Apple Inc.", "apple"),
        ("金牌", "金牌"),
        ("Group", "group"),
        ("L'Oréal", "loreal"),
        ("B & O", "b&o"),
        ("Phi lips", "philips"),
        ("美的公 司", "美的"),
        ("品牌：品牌：美的", "美的"),
        ("美的 牌", "美的"),
        ("Brand Midea", "midea"),
        ("", ""),
    ],
)
def test_normalise_brand(written: str, normalised: str) -> None:
    assert normalise_brand(written) == normalised


@PROPERTY
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=24))
def test_ascii_shortcut_agrees_with_the_full_normalisation(text: str) -> None:
    assert normalise_model(text) == _matcher._normalise_model_fully(text)


@PROPERTY
@given(st.text(max_size=24))
def test_every_shortcut_agrees_with_the_full_normalisation(text: str) -> None:
    assert normalise_model(text) == _matcher._normalise_model_fully(text)


# Pieces that models are written with: labels, the 型 suffix, separators of every width, digits, letters, signs.
MODEL_PIECES = [
    *("型号", "规格型号", "产品型号", "规格", "型", "Model", "MODEL", "No.", "number", "Ｍｏｄｅｌ", "品牌", "家用"),
    *(":", "：", "#", " ", "\u3000", "-", "‐", "‑", "–", "—", "－", "/", "／", ".", "．", "·", "・", "_", "、"),
    *("(", ")", "（", "）", "【", "】", "×", "*", "✕", "+", "＋", "\u00a0"),
    *("KFR", "kfr", "ＫＦＲ", "35", "３５", "GW", "ｇｗ", "BP3", "1", "5", "0", "P", "x", "X", "Ⅱ", "①", "é"),
]


@PROPERTY
@given(st.lists(st.sampled_from(MODEL_PIECES), max_size=8).map("".join))
def test_shortcuts_agree_with_the_full_normalisation_on_model_like_text(text: str) -> None:
    assert normalise_model(text) == _matcher._normalise_model_fully(text)


@PROPERTY
@given(st.text(max_size=24))
def test_normalisation_is_idempotent(text: str) -> None:
    model = normalise_model(text)
    assert normalise_model(model) == model
    brand = normalise_brand(text)
    assert normalise_brand(brand) == brand


def test_docstring_examples_hold() -> None:
    assert doctest.testmod(_matcher).failed == 0


def test_each_rule_is_reported() -> None:
    matcher = ListingMatcher({"美的": ["Midea"]})
    matcher.add_many(
        [
            ListingRecord("a-exact", "美的", "KFR-35GW"),
            ListingRecord("b-normalised", "美的®", "ＫＦＲ－３５ＧＷ"),
            ListingRecord("c-alias", "Midea", "KFR 35GW"),
            ListingRecord("d-title", "美的", "其他", "美的 KFR-35GW 空调"),
            ListingRecord("e-other", "美的", "KFR-35GW/BP3"),
        ]
    )
    assert matcher.match("美的", "KFR-35GW") == [
        ListingMatch("a-exact", MatchRule.EXACT),
        ListingMatch("b-normalised", MatchRule.NORMALISED),
        ListingMatch("c-alias", MatchRule.ALIAS),
        ListingMatch("d-title", MatchRule.MODEL_IN_TITLE),
    ]
    assert [found.rule for found in matcher.match("Midea", "KFR-35GW")] == [
        MatchRule.ALIAS,
        MatchRule.ALIAS,
        MatchRule.NORMALISED,
        MatchRule.MODEL_IN_TITLE,
    ]


def test_a_bilingual_listing_is_reached_by_either_name_without_an_alias_table() -> None:
    matcher = ListingMatcher()
    matcher.add("l1", trademark="Midea/美的", spec_model="KFR-35GW")
    assert matcher.match("美的", "KFR-35GW") == [ListingMatch("l1", MatchRule.NORMALISED)]
    assert matcher.match("MIDEA", "KFR-35GW") == [ListingMatch("l1", MatchRule.NORMALISED)]
    assert matcher.match("Midea/美的", "KFR-35GW") == [ListingMatch("l1", MatchRule.EXACT)]
    assert matcher.match("格力", "KFR-35GW") == []


def test_match_rule_and_listing_match_are_plain_values() -> None:
    assert [str(rule) for rule in MatchRule] == ["exact", "normalised", "alias", "model-in-title"]
    assert MatchRule("model-in-title") is MatchRule.MODEL_IN_TITLE
    found = ListingMatch("l1", MatchRule.ALIAS)
    with pytest.raises(AttributeError):
        found.rule = MatchRule.EXACT  # type: ignore[misc]
    assert msgspec.json.decode(msgspec.json.encode(found), type=ListingMatch) == found
    assert msgspec.json.encode(found) == b'{"listing_id":"l1","rule":"alias"}'


def test_results_are_sorted_by_listing_id_whatever_the_insertion_order() -> None:
    rows = [
        ListingRecord(f"L{number:04d}", random.Random(number).choice(["美的", "Midea", "美的牌"]), "X1")
        for number in range(300)
    ]
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    first, second = ListingMatcher({"美的": ["Midea"]}), ListingMatcher({"美的": ["Midea"]})
    first.add_many(rows)
    second.add_many(iter(shuffled))
    assert first.match("美的", "X1") == second.match("美的", "X1")
    assert [found.listing_id for found in first.match("美的", "X1")] == [row.listing_id for row in rows]


def test_remove_forgets_a_listing_and_says_whether_it_was_held() -> None:
    matcher = ListingMatcher()
    matcher.add("l1", trademark="美的", spec_model="X1")
    matcher.add("l2", trademark="美的", spec_model="x1")
    assert len(matcher) == 2
    assert "l1" in matcher
    assert matcher.remove("l1") is True
    assert matcher.remove("l1") is False
    assert matcher.remove("never") is False
    assert "l1" not in matcher
    assert len(matcher) == 1
    assert matcher.match("美的", "X1") == [ListingMatch("l2", MatchRule.NORMALISED)]
    matcher.add("l1", trademark="美的", spec_model="X1")
    assert [found.listing_id for found in matcher.match("美的", "X1")] == ["l1", "l2"]


def test_adding_a_held_id_again_replaces_the_listing() -> None:
    matcher = ListingMatcher()
    matcher.add("l1", trademark="美的", spec_model="X1")
    matcher.add("l1", trademark="美的", spec_model="X1")
    assert matcher.match("美的", "X1") == [ListingMatch("l1", MatchRule.EXACT)]
    matcher.add("l1", trademark="美的", spec_model="X2")
    assert matcher.match("美的", "X1") == []
    assert matcher.match("美的", "X2") == [ListingMatch("l1", MatchRule.EXACT)]
    matcher.add_many([("l2", "格力", "X2", None), ("l2", "美的", "X2", None)])
    assert [found.listing_id for found in matcher.match("美的", "X2")] == ["l1", "l2"]
    assert matcher.match("格力", "X2") == []
    assert len(matcher) == 2


def test_a_placeholder_listing_moves_when_re_added_with_a_real_model() -> None:
    matcher = ListingMatcher()
    matcher.add("l1", trademark="美的", spec_model="", title="美的 X1 风扇")
    assert matcher.match("美的", "X1") == [ListingMatch("l1", MatchRule.MODEL_IN_TITLE)]
    matcher.add("l1", trademark="美的", spec_model="X2", title="美的 X1 风扇")
    assert matcher.match("美的", "X1") == []
    assert matcher.match("美的", "X2") == [ListingMatch("l1", MatchRule.EXACT)]


def test_stale_entries_are_swept_and_empty_structures_dropped() -> None:
    matcher = ListingMatcher()
    matcher.add_many((f"L{number}", "美的", f"X{number % 7}", None) for number in range(6000))
    matcher.add_many((f"T{number}", "美的", "", f"美的 Y{number % 5}") for number in range(100))
    for number in range(6000):
        assert matcher.remove(f"L{number}")
    # Stale entries came to outnumber the live listings part way: the sweep ran by itself, then once more.
    assert 0 < matcher._stale < 6000
    matcher.compact()
    assert matcher._stale == 0
    assert matcher._table == {}
    assert matcher._by_model == {}
    assert matcher.match("美的", "X1") == []
    assert len(matcher.match("美的", "Y1")) == 20
    for number in range(100):
        matcher.remove(f"T{number}")
    matcher.compact()
    assert matcher._title_index == {}
    assert matcher._trademarks == {}
    assert matcher._by_brand == {}
    assert matcher._models == {}
    assert matcher._moved == {}
    assert len(matcher) == 0


def test_matches_skip_stale_entries_before_the_sweep() -> None:
    matcher = ListingMatcher()
    matcher.add_many((f"L{number}", "美的", "X1", None) for number in range(10))
    matcher.add_many((f"L{number}", "美的", "X1", None) for number in range(0, 10, 2))
    matcher.remove("L1")
    assert matcher._stale > 0
    assert [found.listing_id for found in matcher.match("美的", "X1")] == [f"L{n}" for n in (0, 2, 3, 4, 5, 6, 7, 8, 9)]
    matcher.compact()
    assert matcher._stale == 0
    assert [found.listing_id for found in matcher.match("美的", "X1")] == [f"L{n}" for n in (0, 2, 3, 4, 5, 6, 7, 8, 9)]


def test_a_batch_refused_part_way_keeps_what_it_added_consistent() -> None:
    matcher = ListingMatcher()
    matcher.add("l1", trademark="美的", spec_model="X1")
    with pytest.raises(TypeError):
        matcher.add_many([("l1", "美的", "X2", None), ("l2", "美的", None, None)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unpack"):
        matcher.add_many([("l3", "美的", "X2", None), ("l1", "美的", "X1")])  # type: ignore[list-item]
    assert matcher.match("美的", "X1") == []
    assert [found.listing_id for found in matcher.match("美的", "X2")] == ["l1", "l3"]
    assert len(matcher) == 2


def test_a_listing_without_a_brand_is_held_but_never_matched() -> None:
    matcher = ListingMatcher()
    matcher.add("l1", trademark="®", spec_model="X1", title="美的 X1")
    matcher.add("l2", trademark="", spec_model="", title="美的 X1")
    assert len(matcher) == 2
    assert matcher.match("美的", "X1") == []
    assert matcher.remove("l1")


def test_orders_that_name_no_product_are_refused() -> None:
    matcher = ListingMatcher()
    with pytest.raises(ValueError, match="names no brand"):
        matcher.match("™", "X1")
    with pytest.raises(ValueError, match="names no model"):
        matcher.match("美的", " - ")
    with pytest.raises(ValueError, match="names no model"):
        matcher.match("美的", "见详情")
    with pytest.raises(TypeError, match="spec_model: str"):
        matcher.match("美的", 35)  # type: ignore[arg-type]


def test_listing_fields_must_be_strings() -> None:
    matcher = ListingMatcher()
    with pytest.raises(TypeError, match="listing_id: str"):
        matcher.add_many([("l1", "美的", 35, None)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="title: str"):
        matcher.add("l1", trademark="美的", spec_model="X1", title=b"x")  # type: ignore[arg-type]
    assert len(matcher) == 0


def test_alias_table_forms() -> None:
    matcher = ListingMatcher({"格力": "GREE", "Midea": ["美的"], "美的": ["Midea", "美的集团"]})
    matcher.add("l1", trademark="GREE", spec_model="X1")
    matcher.add("l2", trademark="美的集团", spec_model="X1")
    assert matcher.match("格力", "X1") == [ListingMatch("l1", MatchRule.ALIAS)]
    assert matcher.match("Midea", "X1") == [ListingMatch("l2", MatchRule.ALIAS)]


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ({"美的": ["Midea"], "小天鹅": ["Midea"]}, "listed under '小天鹅' and under another brand"),
        ({"美的": ["®"]}, "normalises to nothing"),
        ({"™": ["Midea"]}, "normalises to nothing"),
    ],
)
def test_ambiguous_or_empty_aliases_are_refused(aliases: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ListingMatcher(aliases)


def test_a_bilingual_listing_whose_halves_are_two_known_brands_matches_neither() -> None:
    matcher = ListingMatcher({"海尔": ["Haier"], "美的": ["Midea"]})
    matcher.add("l1", trademark="Haier/美的", spec_model="X1")
    assert matcher.match("海尔", "X1") == []
    assert matcher.match("美的", "X1") == []
    assert matcher.match("Haier/美的", "X1") == [ListingMatch("l1", MatchRule.EXACT)]


def test_caches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_matcher, "_CACHE_LIMIT", 4)
    matcher = ListingMatcher()
    matcher.add_many((f"L{number}", f"品牌{number}", f"X{number}", None) for number in range(10))
    assert len(matcher._model_cache) <= 4
    assert len(matcher._brand_cache) <= 4
    assert matcher.match("品牌3", "X3") == [ListingMatch("L3", MatchRule.EXACT)]
    # What orders bring is cached, boundedly: orders need not name anything held.
    assert all(matcher.match(f"商标{number}", f"Y{number}") == [] for number in range(10))
    assert len(matcher._model_cache) <= 4
    assert len(matcher._brand_cache) <= 4


# A small world for the randomised tests: aliases, a bilingual trademark, model variants and blank models.
WORLD_ALIASES: dict[str, list[str]] = {"美的": ["Midea"], "格力": ["GREE"]}
WORLD_TRADEMARKS = ["美的", "Midea", "美的®", "Midea/美的", "格力", "GREE", "格力牌", "海尔"]
WORLD_MODELS = ["X1", "x1", "X-1", "ＸＩ", "型号：X1", "X1S", "X10", "KFR-35GW", "kfr 35gw", "KFR-35GW/BP3", "", "其他"]
WORLD_TITLES = [None, "美的 X1 风扇", "KFR-35GW 空调", "X1S Pro 新款", "格力 X10"]
WORLD_ORDERS = [
    (trademark, model) for trademark in ("美的", "Midea", "格力", "海尔") for model in ("X1", "KFR-35GW", "X10")
]


def world_row(rng: random.Random) -> ListingRecord:
    return ListingRecord(
        f"L{rng.randrange(400):03d}",
        rng.choice(WORLD_TRADEMARKS),
        rng.choice(WORLD_MODELS),
        rng.choice(WORLD_TITLES),
    )


def assert_same_as_a_fresh_build(matcher: ListingMatcher, latest: dict[str, ListingRecord]) -> None:
    fresh = ListingMatcher(WORLD_ALIASES)
    fresh.add_many(list(latest.values()))
    assert len(matcher) == len(fresh) == len(latest)
    assert all(listing_id in matcher for listing_id in latest)
    for trademark, model in WORLD_ORDERS:
        assert matcher.match(trademark, model) == fresh.match(trademark, model)


@pytest.mark.parametrize("compact_at_least", [4096, 8])
@pytest.mark.parametrize("seed", range(6))
def test_any_sequence_of_changes_matches_like_a_fresh_build(
    seed: int, compact_at_least: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ids repeat, so adds replace listings, within a batch and across batches, and removed ids come back later.
    monkeypatch.setattr(_matcher, "_COMPACT_AT_LEAST", compact_at_least)
    rng = random.Random(seed)
    matcher = ListingMatcher(WORLD_ALIASES)
    latest: dict[str, ListingRecord] = {}
    for _ in range(40):
        action = rng.random()
        if action < 0.2:
            rows = [world_row(rng) for _ in range(rng.choice([0, 3, 70, 1500]))]
            matcher.add_many(rows)
            for row in rows:
                latest.pop(row.listing_id, None)
                latest[row.listing_id] = row
        elif action < 0.6:
            row = world_row(rng)
            matcher.add(row.listing_id, trademark=row.trademark, spec_model=row.spec_model, title=row.title)
            latest.pop(row.listing_id, None)
            latest[row.listing_id] = row
        elif action < 0.95:
            listing_id = f"L{rng.randrange(400):03d}"
            assert matcher.remove(listing_id) is (latest.pop(listing_id, None) is not None)
        else:
            matcher.compact()
        assert_same_as_a_fresh_build(matcher, latest)


def test_a_large_batch_refused_part_way_keeps_the_rows_before_it() -> None:
    matcher = ListingMatcher()
    rows: list[tuple[str, str, str, str | None]] = [(f"L{number}", "美的", "X1", None) for number in range(3000)]
    rows[2000] = ("L2000", "美的", None, None)  # type: ignore[assignment]
    with pytest.raises(TypeError, match="spec_model: str"):
        matcher.add_many(rows)
    assert len(matcher) == 2000
    assert [found.listing_id for found in matcher.match("美的", "X1")] == sorted(f"L{number}" for number in range(2000))


def test_an_iterable_that_fails_keeps_what_it_yielded() -> None:
    def rows() -> Iterator[tuple[str, str, str, str | None]]:
        yield ("l1", "美的", "X1", None)
        yield ("l2", "美的", "X1", None)
        raise RuntimeError("the database went away")

    matcher = ListingMatcher()
    with pytest.raises(RuntimeError, match="went away"):
        matcher.add_many(rows())
    assert [found.listing_id for found in matcher.match("美的", "X1")] == ["l1", "l2"]


def test_ids_and_the_titles_that_are_read_must_be_text() -> None:
    matcher = ListingMatcher()
    matcher.add("l1", trademark="美的", spec_model="X1")
    matcher.add("l2", trademark="美的", spec_model="", title="美的 X1")
    with pytest.raises(TypeError, match="listing_id: str"):
        matcher.add_many([(35, "美的", "X1", None)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="title: str"):
        matcher.add_many([("l3", "美的", "", b"X1")])  # type: ignore[list-item]
    assert len(matcher) == 2
    assert [found.listing_id for found in matcher.match("美的", "X1")] == ["l1", "l2"]


def test_what_no_listing_writes_any_more_is_forgotten() -> None:
    matcher = ListingMatcher()
    matcher.add("l1", trademark="美的", spec_model="X1")
    matcher.add("l2", trademark="格力牌", spec_model="ＫＦＲ－３５ＧＷ")
    matcher.remove("l2")
    matcher.compact()
    assert matcher._trademarks.keys() == {"美的"}
    assert matcher._models == {"X1": "x1"}
    assert matcher._by_brand == {"美的": ["美的"]}
    assert matcher._by_model == {"x1": ["X1"]}
    matcher.add("l2", trademark="格力牌", spec_model="ＫＦＲ－３５ＧＷ")
    assert matcher.match("格力", "KFR-35GW") == [ListingMatch("l2", MatchRule.NORMALISED)]
