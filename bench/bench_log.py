"""The transparency log: an inclusion proof on a 1,000,000-leaf log against one primary-key read, and the sequencer.

Run: ``python bench/bench_log.py [--quick | --smoke] [--leaves N] [--sequence M] [--proofs P]``.

1. The tree's stored nodes (``log_nodes``) of an ``N``-leaf log are written straight into a migrated SQLite file
   (not through the API), with a signed checkpoint of size ``N``. Ours is ``LogService.inclusion_by_index`` for a
   random leaf (checkpoint look-up + one query of the proof's ``O(log N)`` nodes by primary key + folding); the
   baseline is reading one node by primary key through the same async session. Wall time per call, median of
   ``P`` calls each; goal ≤ 20×.
2. ``M`` audit records are appended, then the sequencer integrates them in its production batches; leaves/s
   integrated is set against the intake's peak rate, two leaves per reply (the reply's event and its message
   leaf) at ``--intake-peak`` replies/s (default: 2,500/s, the intake goal of ``docs``: 0.6× a bare endpoint's
   ~4,100 requests/s); goal ≥ 1×.

The goals are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from spotcheck.gateway.audit.sequencer import LogSigner, Sequencer
from spotcheck.gateway.audit.service import AuditEntry, LogService, append_audit_many
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models_log import LogNode
from spotcheck.sdk import verify_inclusion

PROOF_GOAL = 20.0
SEQUENCER_GOAL = 1.0
SIZES = {"full": (1_000_000, 50_000, 2_000), "quick": (200_000, 20_000, 500), "smoke": (2_000, 1_000, 50)}


def _settings(folder: Path) -> Settings:
    return Settings().with_changes(
        {
            "store.data_dir": folder,
            "store.database_url": f"sqlite+aiosqlite:///{folder / 'log.db'}",
            "worker.run": False,
            "log.level": "WARNING",
        }
    )


def _write_tree(path: Path, leaves: int, signer: LogSigner) -> bytes:
    """Every complete subtree of an ``leaves``-leaf tree into ``log_nodes``, and a checkpoint; returns the root."""
    level_hashes = [hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest() for i in range(leaves)]
    connection = sqlite3.connect(path)
    try:
        level = 0
        edge: list[bytes] = []
        while level_hashes:
            connection.executemany(
                "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)",
                ((level, index, digest) for index, digest in enumerate(level_hashes)),
            )
            if len(level_hashes) % 2:
                edge.append(level_hashes[-1])  # this level's piece of the right edge
            level_hashes = [
                hashlib.sha256(b"\x01" + level_hashes[i] + level_hashes[i + 1]).digest()
                for i in range(0, len(level_hashes) - 1, 2)
            ]
            level += 1
        root = edge[0]  # the right edge folds from its smallest piece up
        for piece in edge[1:]:
            root = hashlib.sha256(b"\x01" + piece + root).digest()
        connection.execute(
            "INSERT INTO log_checkpoints (tree_size, root_hash, note, signed_at) VALUES (?, ?, ?, '2026-12-07')",
            (leaves, root, signer.sign(leaves, root)),
        )
        connection.commit()
    finally:
        connection.close()
    return root


async def _proofs(folder: Path, leaves: int, calls: int) -> tuple[float, float]:
    """Median seconds per inclusion proof and per primary-key read, alternating, on the same session."""
    runtime = Runtime(_settings(folder))
    await runtime.start()
    signer = LogSigner.for_settings(runtime.settings)
    await runtime.engine.dispose()
    root = await asyncio.to_thread(_write_tree, folder / "log.db", leaves, signer)
    rng = random.Random(9162)
    proof_t: list[float] = []
    read_t: list[float] = []
    try:
        async with runtime.sessions() as session:
            service = LogService(session)
            for _ in range(calls):
                index = rng.randrange(leaves)
                started = time.perf_counter()
                proof = await service.inclusion_by_index(index, leaves)
                proof_t.append(time.perf_counter() - started)
                started = time.perf_counter()
                await session.scalar(select(LogNode.hash).where(LogNode.level == 0, LogNode.index == index))
                read_t.append(time.perf_counter() - started)
                assert verify_inclusion(proof.leaf_hash, index, leaves, proof.inclusion, root)
    finally:
        await runtime.stop()
    return statistics.median(proof_t), statistics.median(read_t)


async def _sequencer(folder: Path, records: int) -> float:
    """Leaves per second the sequencer integrates, over ``records`` appended beforehand."""
    runtime = Runtime(_settings(folder))
    await runtime.start()
    try:
        for start in range(0, records, 1000):
            async with runtime.sessions() as session, session.begin():
                entries = [
                    AuditEntry("bench", "case.changed", f"case_{n}", {"n": n})
                    for n in range(start, min(records, start + 1000))
                ]
                await append_audit_many(session, entries)
        sequencer = Sequencer(LogSigner.for_settings(runtime.settings))
        integrated = 0
        started = time.perf_counter()
        while True:
            async with runtime.sessions() as session, session.begin():
                head = await sequencer.integrate(session)
            if head is None:
                break
            integrated = head.tree_size
        elapsed = time.perf_counter() - started
    finally:
        await runtime.stop()
    assert integrated == records
    return records / elapsed


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print the figures and the ratio lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", dest="size", const="quick")
    size.add_argument("--smoke", action="store_const", dest="size", const="smoke")
    size.add_argument("--full", action="store_const", dest="size", const="full")
    parser.set_defaults(size="full")
    parser.add_argument("--leaves", type=int)
    parser.add_argument("--sequence", type=int)
    parser.add_argument("--proofs", type=int)
    parser.add_argument("--intake-peak", type=float, default=2500.0, help="replies/s the intake peaks at")
    args = parser.parse_args(argv)
    leaves, records, calls = SIZES[args.size]
    leaves, records, calls = args.leaves or leaves, args.sequence or records, args.proofs or calls
    with tempfile.TemporaryDirectory(prefix="spotcheck-bench-log-") as tmp:
        proof_s, read_s = asyncio.run(_proofs(Path(tmp) / "proofs", leaves, calls))
        leaves_per_s = asyncio.run(_sequencer(Path(tmp) / "sequencer", records))
    peak = 2 * args.intake_peak
    print(f"log of {leaves:,} leaves; {calls:,} proofs; sequencer over {records:,} leaves")
    print(f"baseline one primary-key read: {read_s * 1e6:,.1f} us")
    print(f"inclusion proof: {proof_s * 1e6:,.1f} us")
    print(f"intake peak: {peak:,.0f} leaves/s")
    print(f"sequencer: {leaves_per_s:,.0f} leaves/s")
    print(f"sequencer vs intake peak ratio: {leaves_per_s / peak:.2f} (goal >= {SEQUENCER_GOAL:g})")
    print(f"inclusion proof vs primary-key read ratio: {proof_s / read_s:.2f} (goal <= {PROOF_GOAL:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
