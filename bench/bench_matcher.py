"""Listing matcher against an exact-match dict over pre-normalised keys, measured in the same process.

Run: ``python bench/bench_matcher.py [--listings N] [--orders M] [--quick] [--rounds R] [--seed S]``.

The generated platform has bilingual and Latin-only brands, model families with the variants that trap prefix
matching (``X1``/``X1S``/``X10``, ``KFR-35GW``/``KFR-35GW/BP3``), Zipf-distributed popularity, and listings whose
trademark and model are written the way merchants write them (mostly as the catalogue spells them; otherwise
full-width, other dashes, spaces, labels, ``®``, ``牌``, aliases, bilingual trademarks, or a blank model with the
model in the title). The baseline is handed every listing's true (brand, model) key already normalised and only
builds a dict of lists and looks the orders up; the matcher gets the raw text. Each side is timed building plus
matching, best of ``--rounds``; the figure is listings/s. Recall and precision are checked against the generator's
ground truth and against the hand-made variant set in ``tests/sdk/data/listing_variants.csv``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

from spotcheck.sdk._matcher import ListingMatcher, normalise_brand, normalise_model

VARIANT_SET = Path(__file__).resolve().parent.parent / "tests" / "sdk" / "data" / "listing_variants.csv"
# The alias table the variant set is written against (the same one tests/sdk/test_matcher.py uses).
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

CN_CHARS = "美格海小华苏九奥志飞公长虹创维康佳科龙新飞澳柯玛容声荣事达万和家乐喜德力西正泰欧普雷士松日钻石先锋艾美特"
LATIN_SYLLABLES = ["mi", "dea", "gre", "hai", "er", "su", "por", "jo", "yo", "ga", "lan", "zo", "ko", "ri", "ta", "vo"]
FAMILIES = ["KFR-", "KFRd-", "BCD-", "MJ-", "XQB", "EG", "FS", "HD", "GZ-", "DJ", "SY-", "P", "X", "S", "TB", "RT"]
VARIANT_SUFFIXES = ["/BP3", "/N8", "S", "0", "-1", "+", " Pro", "A"]
DASHES = "‐‑‒–—―－"
TITLE_WORDS = ["正品", "包邮", "新款", "官方", "家用", "节能", "静音", "2024", "一级能效", "大容量"]
FULL_WIDTH = str.maketrans({chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)})

BRAND_LIBRARY_SHARE = 0.9  # listings whose trademark is the brand library's spelling
MODEL_AS_CATALOGUED_SHARE = 0.8  # listings whose model is spelt as in the catalogue
Identity = tuple[int, int]  # (brand index, model index within the catalogue)


class Brand:
    def __init__(self, chinese: str | None, latin: str, library: str) -> None:
        self.chinese = chinese
        self.latin = latin
        self.library = library  # how the platform's brand library spells it (Tmall writes "Midea/美的")
        self.models: list[str] = []

    @property
    def key(self) -> str:
        return normalise_brand(self.chinese or self.latin)


def make_brands(rng: random.Random, count: int) -> list[Brand]:
    brands: list[Brand] = []
    seen: set[str] = set()
    while len(brands) < count:
        latin = "".join(rng.choice(LATIN_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        chinese = "".join(rng.sample(CN_CHARS, rng.randint(2, 3))) if rng.random() < 0.7 else None
        names = {normalise_brand(latin)} | ({normalise_brand(chinese)} if chinese else set())
        if names & seen:
            continue
        seen |= names
        library = rng.choice([f"{latin}/{chinese}", chinese, f"{chinese}（{latin}）", latin]) if chinese else latin
        brands.append(Brand(chinese, latin, library))
    return brands


def make_models(rng: random.Random, brand: Brand, count: int) -> None:
    seen: set[str] = set()
    while len(brand.models) < count:
        base = f"{rng.choice(FAMILIES)}{rng.randint(1, 999)}{rng.choice(['', 'GW', 'W', 'B', 'D', 'WTM'])}"
        family = [base]
        # Half the lines have variants that only differ by a suffix: the prefix traps.
        if rng.random() < 0.5:
            family.extend(base + suffix for suffix in rng.sample(VARIANT_SUFFIXES, rng.randint(1, 3)))
        for model in family:
            if len(brand.models) < count and (key := normalise_model(model)) not in seen:
                seen.add(key)
                brand.models.append(model)


def written_brand(rng: random.Random, brand: Brand) -> str:
    # Most listings take the brand from the platform's brand library; free-text sellers spell it their way.
    if rng.random() < BRAND_LIBRARY_SHARE:
        return brand.library
    if brand.chinese is None:
        return rng.choice([brand.latin.upper(), f"{brand.latin}®", f"{brand.latin} Co., Ltd.", brand.latin.lower()])
    return rng.choice(
        [
            brand.chinese,
            brand.latin,
            f"{brand.latin}/{brand.chinese}",
            f"{brand.chinese}牌",
            f"{brand.chinese}®",
            brand.latin.upper(),
            f"{brand.chinese}（{brand.latin}）",
            f"{brand.latin} Co., Ltd.",
            brand.latin.translate(FULL_WIDTH),
        ]
    )


def written_model(rng: random.Random, model: str) -> str:
    if rng.random() < MODEL_AS_CATALOGUED_SHARE:
        return model
    forms = [
        model.lower(),
        model.translate(FULL_WIDTH),
        model.replace("-", rng.choice(DASHES)),
        model.replace("-", " "),
        # A hyphen dropped between two numbers would make another model under the documented rule (FS40-1/FS401).
        re.sub(r"(?<!\d)-|-(?!\d)", "", model),
        f"型号：{model}",
        f"{model}型",
        f"Model {model}",
        model.replace("/", " / "),
    ]
    return rng.choice(forms)


def make_listings(
    rng: random.Random, brands: list[Brand], count: int
) -> tuple[list[tuple[str, str, str, str | None]], list[Identity]]:
    catalogue = [(b, m) for b, brand in enumerate(brands) for m in range(len(brand.models))]
    rng.shuffle(catalogue)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(catalogue))]
    identities: list[Identity] = rng.choices(catalogue, weights=weights, k=count)
    rows: list[tuple[str, str, str, str | None]] = []
    for number, (b, m) in enumerate(identities):
        brand, model = brands[b], brands[b].models[m]
        trademark = written_brand(rng, brand)
        title = f"{trademark} {model} {' '.join(rng.sample(TITLE_WORDS, 3))}"
        if rng.random() < 0.02:
            rows.append((f"L{number:09d}", trademark, rng.choice(["", "其他", "见详情", "无"]), title))
        else:
            rows.append((f"L{number:09d}", trademark, written_model(rng, model), title))
    return rows, identities


def make_orders(rng: random.Random, brands: list[Brand], count: int) -> list[tuple[str, str, Identity]]:
    orders = []
    for _ in range(count):
        b = rng.randrange(len(brands))
        brand = brands[b]
        m = rng.randrange(len(brand.models))
        trademark = brand.chinese if brand.chinese and rng.random() < 0.7 else brand.latin
        model = brand.models[m] if rng.random() < 0.9 else written_model(rng, brand.models[m])
        orders.append((trademark, model, (b, m)))
    return orders


def run_baseline(keyed: list[tuple[str, str, str]], order_keys: list[tuple[str, str]]) -> float:
    gc.collect()
    started = time.process_time()
    index: dict[tuple[str, str], list[str]] = {}
    for listing_id, brand, model in keyed:
        key = (brand, model)
        bucket = index.get(key)
        if bucket is None:
            index[key] = [listing_id]
        else:
            bucket.append(listing_id)
    empty: list[str] = []
    for key in order_keys:
        index.get(key, empty)
    return time.process_time() - started


def run_matcher(
    aliases: dict[str, list[str]],
    rows: list[tuple[str, str, str, str | None]],
    orders: list[tuple[str, str, Identity]],
) -> tuple[float, list[set[str]]]:
    gc.collect()
    started = time.process_time()
    matcher = ListingMatcher(aliases)
    matcher.add_many(rows)
    results = [matcher.match(trademark, model) for trademark, model, _ in orders]
    elapsed = time.process_time() - started
    return elapsed, [{found.listing_id for found in result} for result in results]


def variant_set_scores() -> tuple[int, int, int, int]:
    """Return (positives found, positives, negatives matched, negatives) on the hand-made variant set."""
    found = positives = false_matches = negatives = 0
    with VARIANT_SET.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            matcher = ListingMatcher(VARIANT_ALIASES)
            matcher.add(
                "listing",
                trademark=row["listing_trademark"],
                spec_model=row["listing_model"],
                title=row["listing_title"] or None,
            )
            matched = bool(matcher.match(row["order_trademark"], row["order_model"]))
            if row["expected"] == "1":
                positives += 1
                found += matched
            else:
                negatives += 1
                false_matches += matched
    return found, positives, false_matches, negatives


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="100,000 listings and 1,000 orders")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per side; the best counts")
    parser.add_argument("--seed", type=int, default=20151112)
    args = parser.parse_args(argv)
    if args.quick:
        args.listings, args.orders = 100_000, 1_000

    rng = random.Random(args.seed)
    brands = make_brands(rng, max(20, args.listings // 2_000))
    for brand in brands:
        make_models(rng, brand, 40)
    aliases = {brand.chinese: [brand.latin] for brand in brands if brand.chinese}
    rows, identities = make_listings(rng, brands, args.listings)
    orders = make_orders(rng, brands, args.orders)
    model_keys = [[normalise_model(model) for model in brand.models] for brand in brands]
    keyed = [(row[0], brands[b].key, model_keys[b][m]) for row, (b, m) in zip(rows, identities, strict=True)]
    order_keys = [(brands[b].key, model_keys[b][m]) for _, _, (b, m) in orders]
    distinct = len({(row[1], row[2]) for row in rows})
    print(
        f"{len(rows):,} listings ({distinct:,} distinct written brand+model pairs), {len(brands):,} brands, "
        f"{sum(len(b.models) for b in brands):,} catalogue models, {len(orders):,} orders"
    )

    baseline_best = matcher_best = float("inf")
    results: list[set[str]] = []
    for _ in range(args.rounds):
        baseline_best = min(baseline_best, run_baseline(keyed, order_keys))
        elapsed, results = run_matcher(aliases, rows, orders)
        matcher_best = min(matcher_best, elapsed)
    baseline_rate = len(rows) / baseline_best
    matcher_rate = len(rows) / matcher_best
    print(f"baseline (exact dict, pre-normalised keys): {baseline_rate:12,.0f} listings/s ({baseline_best:.3f} s)")
    print(f"ListingMatcher (raw text):                  {matcher_rate:12,.0f} listings/s ({matcher_best:.3f} s)")

    truth: dict[Identity, set[str]] = defaultdict(set)
    for row, identity in zip(rows, identities, strict=True):
        truth[identity].add(row[0])
    expected_total = found_total = correct_total = 0
    for (_, _, identity), found in zip(orders, results, strict=True):
        expected = truth.get(identity, set())
        expected_total += len(expected)
        found_total += len(found)
        correct_total += len(expected & found)
    recall = correct_total / expected_total if expected_total else 1.0
    precision = correct_total / found_total if found_total else 1.0
    print(f"generated set: recall {recall:.4%} ({correct_total:,}/{expected_total:,}), precision {precision:.4%}")

    hits, positives, false_matches, negatives = variant_set_scores()
    print(f"variant set: recall {hits / positives:.2%} ({hits}/{positives}), false matches {false_matches}/{negatives}")
    ratio = matcher_rate / baseline_rate
    print(f"matcher ratio: {ratio:.2f} (goal >= 0.5)")
    return 0 if hits == positives and false_matches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
