"""The stored tree's proofs for every size up to 40, checked with the SDK and with an independent RFC 9162 model."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest
from sqlalchemy import select

from spotcheck.gateway.audit.service import LogService
from spotcheck.gateway.audit.tree import perfect_pieces, root_from_store
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.sdk import root_from_leaves, verify_consistency, verify_inclusion

pytestmark = pytest.mark.postgres

SIZE = 40


# ---- an independent model of RFC 9162 §2.1, written from the text (recursive MTH, PATH, PROOF/SUBPROOF) ----------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return _h(b"")
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return _h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True)


# ---------------------------------------------------------------------------------------------------------------


def test_perfect_pieces_cover_a_range_as_the_rfc_splits_it() -> None:
    assert perfect_pieces(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert perfect_pieces(4, 8) == [(2, 1)]
    assert perfect_pieces(0, 0) == []


async def test_every_proof_of_a_40_leaf_log_matches_the_rfc_and_verifies(
    runtime: Runtime, append: Any, sequence: Any
) -> None:
    # Several uneven batches, so nodes are finished across rounds as they are in production.
    rng = random.Random(9162)
    added = 0
    while added < SIZE:
        count = min(SIZE - added, rng.randint(1, 9))
        await append(runtime.sessions, count, start=added)
        await sequence(runtime.sessions, runtime.settings, batch=rng.randint(1, 7))
        added += count
    async with runtime.sessions() as session:
        leaves = list(await session.scalars(select(AuditRecord.leaf_hash).order_by(AuditRecord.leaf_index)))
        assert len(leaves) == SIZE
        service = LogService(session)
        for n in range(1, SIZE + 1):
            root = await root_from_store(session, n)
            assert root == mth(leaves[:n]) == root_from_leaves(leaves[:n])
            for i in range(n):
                got = await service.inclusion_by_index(i, n)
                assert got.inclusion == path(i, leaves[:n]), (i, n)
                assert verify_inclusion(leaves[i], i, n, got.inclusion, root)
                assert not verify_inclusion(leaves[(i + 1) % n], i, n, got.inclusion, root) or n == 1
            for m in range(n + 1):
                got_proof = await service.consistency(m, n)
                expected = [] if m in (0, n) else proof(m, leaves[:n])
                assert got_proof == expected, (m, n)
                assert verify_consistency(m, n, mth(leaves[:m]), root, got_proof)
