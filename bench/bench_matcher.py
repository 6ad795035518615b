"""Listing matcher against an exact-match dict over pre-normalised keys, measured in the same process.

Run: ``python bench/bench_matcher.py [--listings N] [--orders M] [--quick] [--rounds R] [--seed S] [--mix NAME]``.

The generated platform has bilingual and Latin-only brands, model families with the variants that trap prefix
matching (``X1``/``X1S``/``X10``, ``KFR-35GW``/``KFR-35GW/BP3``), Zipf-distributed popularity, and listings whose
trademark and model are written the way merchants write them: mostly as the platform's brand library and catalogue
spell them (shares set by ``--mix``, or one by one by ``--brand-library-share`` and ``--catalogued-model-share``),
otherwise full-width, with other dashes, spaces, labels, ``®``, ``牌``, aliases or bilingual trademarks;
``--blank-model-share`` of them leave the model blank and name it in the title. :data:`MIXES` says why each mix.

The baseline is handed every listing's true (brand, model) key already normalised and only builds a dict of lists
and looks the orders up; the matcher gets the raw text. Each round times both sides back to back (CPU time of this
process, so other load on the machine counts less), building plus matching; the figure is the median of the
per-round ratios. What the baseline does not do, and the matcher must, is part of the price: normalising, an id
set so that re-adding an id replaces its listing and removal is O(1), and answering each order with a fresh list
of ``ListingMatch`` sorted by id (the baseline hands back its own list). A reference line times the baseline with
that last part added, to show its share. Another line times later adds of listings whose spellings were seen
before, what a platform streams in after the build. Recall and precision are checked against the generator's
ground truth and against the hand-made variant set in ``tests/sdk/data/listing_variants.csv``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from spotcheck.sdk._matcher import ListingMatch, ListingMatcher, MatchRule, normalise_brand, normalise_model

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


@dataclass(frozen=True)
class Mix:
    """How merchants write: the share of listings spelt as the platform's brand library and catalogue spell them."""

    brand_library: float = 0.9
    catalogued_model: float = 0.8
    blank_model: float = 0.02


# The share of distinct spellings decides much of the matcher's cost: normalisation runs once per new spelling.
MIXES: dict[str, Mix] = {
    # Free text heavy, the data this benchmark has always used and its default: one listing in ten types its
    # brand its own way and one in five its model. A stress case: about one listing in nine (10.9% at 1M, 11.9%
    # at 100k) brings a (trademark, spec/model) spelling not seen before.
    "free-text": Mix(brand_library=0.9, catalogued_model=0.8, blank_model=0.02),
    # The large platforms' listing forms, where the brand field is a pick from the platform's brand library, not
    # free text: a typed brand is assumed left to the odd old listing (1%), and the model picked from the product
    # library for most listings in the certified categories these orders are about (assumed 90%, the rest typed).
    # About one listing in seventeen (5.7% at 1M) brings a new spelling.
    "brand-library": Mix(brand_library=0.99, catalogued_model=0.9, blank_model=0.02),
}


def written_brand(rng: random.Random, mix: Mix, brand: Brand) -> str:
    # Most listings take the brand from the platform's brand library; free-text sellers spell it their way.
    if rng.random() < mix.brand_library:
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


def variant_model(rng: random.Random, model: str) -> str:
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


def written_model(rng: random.Random, mix: Mix, model: str) -> str:
    return model if rng.random() < mix.catalogued_model else variant_model(rng, model)


def make_listings(
    rng: random.Random, mix: Mix, brands: list[Brand], count: int
) -> tuple[list[tuple[str, str, str, str | None]], list[Identity]]:
    catalogue = [(b, m) for b, brand in enumerate(brands) for m in range(len(brand.models))]
    rng.shuffle(catalogue)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(catalogue))]
    identities: list[Identity] = rng.choices(catalogue, weights=weights, k=count)
    rows: list[tuple[str, str, str, str | None]] = []
    for number, (b, m) in enumerate(identities):
        brand, model = brands[b], brands[b].models[m]
        trademark = written_brand(rng, mix, brand)
        title = f"{trademark} {model} {' '.join(rng.sample(TITLE_WORDS, 3))}"
        if rng.random() < mix.blank_model:
            rows.append((f"L{number:09d}", trademark, rng.choice(["", "其他", "见详情", "无"]), title))
        else:
            rows.append((f"L{number:09d}", trademark, written_model(rng, mix, model), title))
    return rows, identities


def make_orders(rng: random.Random, brands: list[Brand], count: int) -> list[tuple[str, str, Identity]]:
    orders = []
    for _ in range(count):
        b = rng.randrange(len(brands))
        brand = brands[b]
        m = rng.randrange(len(brand.models))
        trademark = brand.chinese if brand.chinese and rng.random() < 0.7 else brand.latin
        model = brand.models[m] if rng.random() < 0.9 else variant_model(rng, brand.models[m])
        orders.append((trademark, model, (b, m)))
    return orders


def run_baseline(
    keyed: list[tuple[str, str, str]], order_keys: list[tuple[str, str]], updates: list[tuple[str, str, str]]
) -> tuple[float, float]:
    """Seconds to build and match, and to take in ``updates`` afterwards."""
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
    elapsed = time.process_time() - started
    started = time.process_time()
    for listing_id, brand, model in updates:
        key = (brand, model)
        bucket = index.get(key)
        if bucket is None:
            index[key] = [listing_id]
        else:
            bucket.append(listing_id)
    return elapsed, time.process_time() - started


def run_baseline_with_results(keyed: list[tuple[str, str, str]], order_keys: list[tuple[str, str]]) -> float:
    """Seconds for the baseline to build and to answer each order as the matcher does: ListingMatch sorted by id."""
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
    results = [list(map(ListingMatch, sorted(index.get(key, empty)), repeat(MatchRule.EXACT))) for key in order_keys]
    elapsed = time.process_time() - started
    del results
    return elapsed


def run_matcher(
    aliases: dict[str, list[str]],
    rows: list[tuple[str, str, str, str | None]],
    orders: list[tuple[str, str, Identity]],
    updates: list[tuple[str, str, str, str | None]],
) -> tuple[float, float, list[set[str]]]:
    """Seconds to build and match, seconds to take in ``updates`` afterwards, and each order's listing ids."""
    gc.collect()
    started = time.process_time()
    matcher = ListingMatcher(aliases)
    matcher.add_many(rows)
    results = [matcher.match(trademark, model) for trademark, model, _ in orders]
    elapsed = time.process_time() - started
    started = time.process_time()
    matcher.add_many(updates)
    update_elapsed = time.process_time() - started
    return elapsed, update_elapsed, [{found.listing_id for found in result} for result in results]


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


def print_generated_accuracy(
    rows: list[tuple[str, str, str, str | None]],
    identities: list[Identity],
    orders: list[tuple[str, str, Identity]],
    results: list[set[str]],
) -> None:
    """Print recall and precision of the matcher's results against the generator's ground truth."""
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


def report_rates(
    listings: int, rounds: int, timings: list[tuple[float, float, float, float, float]], updates: int
) -> None:
    """Print each side's rate from the median of ``timings`` (baseline, matcher, their updates, reference)."""
    baseline_s, matcher_s, baseline_update_s, matcher_update_s, reference_s = (
        statistics.median(timing[column] for timing in timings) for column in range(5)
    )
    print(f"build + match (CPU time, median of {rounds} rounds):")
    print(
        f"  baseline (exact dict, pre-normalised keys):   {listings / baseline_s:12,.0f} listings/s "
        f"({baseline_s:.3f} s)"
    )
    print(
        f"  ListingMatcher (raw text):                    {listings / matcher_s:12,.0f} listings/s ({matcher_s:.3f} s)"
    )
    print(
        f"  reference: baseline answering as the matcher {listings / reference_s:12,.0f} listings/s "
        f"({reference_s:.3f} s; matcher ratio against it {statistics.median(t[4] / t[1] for t in timings):.2f})"
    )
    print(
        f"later adds of {updates:,} listings spelt as before: baseline {updates / baseline_update_s:,.0f}/s, "
        f"ListingMatcher {updates / matcher_update_s:,.0f}/s "
        f"(ratio {statistics.median(t[2] / t[3] for t in timings):.2f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="100,000 listings and 1,000 orders")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the median counts")
    parser.add_argument("--seed", type=int, default=20151112)
    parser.add_argument("--mix", choices=sorted(MIXES), default="free-text", help="how merchants write (see MIXES)")
    parser.add_argument("--brand-library-share", type=float, help="overrides the mix's")
    parser.add_argument("--catalogued-model-share", type=float, help="overrides the mix's")
    parser.add_argument("--blank-model-share", type=float, help="overrides the mix's")
    args = parser.parse_args(argv)
    if args.quick:
        args.listings, args.orders = 100_000, 1_000

    rng = random.Random(args.seed)
    brands = make_brands(rng, max(20, args.listings // 2_000))
    for brand in brands:
        make_models(rng, brand, 40)
    aliases = {brand.chinese: [brand.latin] for brand in brands if brand.chinese}
    preset = MIXES[args.mix]
    mix = Mix(
        preset.brand_library if args.brand_library_share is None else args.brand_library_share,
        preset.catalogued_model if args.catalogued_model_share is None else args.catalogued_model_share,
        preset.blank_model if args.blank_model_share is None else args.blank_model_share,
    )
    rows, identities = make_listings(rng, mix, brands, args.listings)
    orders = make_orders(rng, brands, args.orders)
    model_keys = [[normalise_model(model) for model in brand.models] for brand in brands]
    keyed = [(row[0], brands[b].key, model_keys[b][m]) for row, (b, m) in zip(rows, identities, strict=True)]
    order_keys = [(brands[b].key, model_keys[b][m]) for _, _, (b, m) in orders]
    distinct = len({(row[1], row[2]) for row in rows})
    print(
        f"{len(rows):,} listings ({distinct:,} distinct written brand+model pairs), {len(brands):,} brands, "
        f"{sum(len(b.models) for b in brands):,} catalogue models, {len(orders):,} orders; mix {args.mix}: {mix}"
    )

    # New listings of products already on the platform: what a platform streams in every day after the build.
    updates = [(f"U{row[0]}", row[1], row[2], row[3]) for row in rows[: len(rows) // 10]]
    keyed_updates = [(f"U{listing_id}", brand, model) for listing_id, brand, model in keyed[: len(rows) // 10]]
    # The generated data is not what is measured: keep the collector from walking it during either side's run.
    gc.collect()
    gc.freeze()

    # Each round times the baseline and then the matcher, back to back: the median of the per-round ratios is
    # robust to the load of a shared machine changing during the run, which best-of-rounds per side is not.
    timings: list[tuple[float, float, float, float, float]] = []
    results: list[set[str]] = []
    for _ in range(args.rounds):
        baseline_elapsed, baseline_update = run_baseline(keyed, order_keys, keyed_updates)
        matcher_elapsed, matcher_update, results = run_matcher(aliases, rows, orders, updates)
        with_results = run_baseline_with_results(keyed, order_keys)
        timings.append((baseline_elapsed, matcher_elapsed, baseline_update, matcher_update, with_results))
    ratio = statistics.median(timing[0] / timing[1] for timing in timings)
    report_rates(len(rows), args.rounds, timings, len(updates))
    print("per-round ratios: " + " ".join(f"{timing[0] / timing[1]:.2f}" for timing in timings))

    print_generated_accuracy(rows, identities, orders, results)
    hits, positives, false_matches, negatives = variant_set_scores()
    print(f"variant set: recall {hits / positives:.2%} ({hits}/{positives}), false matches {false_matches}/{negatives}")
    print(f"matcher ratio: {ratio:.2f} (goal >= 0.5)")
    return 0 if hits == positives and false_matches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
