"""A random draw of 1,000 from 1,000,000 candidates against sorting the same ids, in the same process.

Run: ``python bench/bench_draws.py [--quick] [--candidates N] [--count K] [--rounds R]``.

Ours is what the gateway does to freeze the list and draw (protocol ``spotcheck.draw.v1``, ``spotcheck.sdk``):
:func:`candidates_digest` (check every id, sort by code point, SHA-256 of the joined list) and :func:`select`
(SHA-256 of seed ‖ id for every frozen candidate, keep the ``K`` smallest). The baseline is ``sorted`` of
the same ids, in the same shuffled order. Ids look like the gateway's merchant ids (``mer_`` + 26 characters).
Each round times one side right after the other (which goes first alternates), in CPU time of this process; the
ratio is the median of the per-round ratios. The goal (``docs``: ≤ 3× sorting) is printed, never asserted.
``--quick`` runs fewer rounds but keeps the goal's 1,000,000 candidates: the sort grows as n log n and the draw as
n, so a shorter list would judge another ratio (100,000 candidates gave 3.4-3.8 where 1,000,000 gave 2.7).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from typing import TYPE_CHECKING

from spotcheck.sdk import draw_seed, freeze_candidates, select

if TYPE_CHECKING:
    from collections.abc import Callable

GOAL = 3.0
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def merchant_ids(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct ids in the gateway's layout, shuffled."""
    ids = {"mer_" + "".join(rng.choices(_CROCKFORD, k=26)) for _ in range(count)}
    while len(ids) < count:
        ids.add("mer_" + "".join(rng.choices(_CROCKFORD, k=26)))
    shuffled = list(ids)
    rng.shuffle(shuffled)
    return shuffled


def timed(work: Callable[[], object]) -> float:
    """CPU seconds ``work`` took, with the collector off (as the gateway's request would mostly see it)."""
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        work()
        return time.process_time() - started
    finally:
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures and the ratio line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 5 (still 1,000,000 candidates)")
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    candidates = args.candidates or 1_000_000
    rounds = args.rounds or (3 if args.quick else 5)
    ids = merchant_ids(candidates, random.Random(2026))
    seed = draw_seed(bytes(range(32)), "bench beacon")

    def draw() -> object:
        # Freezing the list (check, sort, candidates_sha256) and drawing from the frozen list, as the gateway does.
        return select(seed, freeze_candidates(ids), args.count)

    def baseline() -> object:
        return sorted(ids)

    assert len(select(seed, ids, args.count)) == args.count
    ours_t: list[float] = []
    base_t: list[float] = []
    for round_no in range(rounds):
        pair = [(ours_t, draw), (base_t, baseline)]
        for into, work in pair if round_no % 2 == 0 else reversed(pair):
            into.append(timed(work))
    ratio = statistics.median(o / b for o, b in zip(ours_t, base_t, strict=True))
    print(f"{candidates:,} candidates, draw {args.count:,}; {rounds} paired rounds, median round (CPU time)")
    print(f"  baseline sorted(ids):                   {statistics.median(base_t) * 1e3:9.1f} ms")
    print(f"  freeze_candidates + select (the draw):  {statistics.median(ours_t) * 1e3:9.1f} ms")
    print(f"draws ratio: {ratio:.2f} (goal <= {GOAL:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
