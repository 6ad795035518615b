"""The log's Merkle tree as stored: complete subtrees by (level, index), and the proofs built from them.

Any range of leaves that is a node of an RFC 9162 tree splits into complete subtrees, at most one per level
(:func:`perfect_pieces`); a proof is the hashes of a few such ranges (the SDK's :func:`inclusion_proof_ranges`
and :func:`consistency_proof_ranges`), so it costs one query of ``O(log n)`` primary keys however large the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.store.models_log import LogNode
from spotcheck.sdk import consistency_proof_ranges, inclusion_proof_ranges, node_hash
from spotcheck.sdk._merkle import EMPTY_ROOT

__all__ = [
    "CompactRange",
    "MissingNodeError",
    "consistency_from_store",
    "inclusion_from_store",
    "perfect_pieces",
    "range_hashes",
    "root_from_store",
]

NodeKey = tuple[int, int]
"""A stored node: (level, index) covers leaves ``[index << level, (index + 1) << level)``."""


class MissingNodeError(LookupError):
    """A node the tree should have stored is not there (the store was altered or the sequencer is behind)."""


def perfect_pieces(start: int, end: int) -> list[NodeKey]:
    """The complete subtrees that make up ``[start, end)``, left to right, as RFC 9162 splits a node's range.

    ``start`` must be a multiple of the largest power of two below ``end - start`` (true of every range in a tree).
    """
    pieces: list[NodeKey] = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1
        if size != 1 << level or start % size:
            level = (size - 1).bit_length() - 1  # the RFC's split: the largest power of two smaller than size
        pieces.append((level, start >> level))
        start += 1 << level
    return pieces


def _fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its complete pieces, left to right: the right edge folds from the right."""
    result = hashes[-1]
    for piece in reversed(hashes[:-1]):
        result = node_hash(piece, result)
    return result


async def _nodes(session: AsyncSession, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    # One equality pair per node: both engines answer each by the primary key (SQLite scans the table for a
    # row-value IN list).
    pairs = [and_(LogNode.level == level, LogNode.index == index) for level, index in wanted]
    rows = await session.execute(select(LogNode.level, LogNode.index, LogNode.hash).where(or_(*pairs)))
    found = {(level, index): digest for level, index, digest in rows}
    missing = [key for key in wanted if key not in found]
    if missing:
        raise MissingNodeError(f"the log's node (level, index) {missing[0]} is not stored")
    return found


async def range_hashes(session: AsyncSession, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """The RFC 9162 hash of each leaf range, read in one query.

    Raises:
        MissingNodeError: a node the ranges need is not stored.
    """
    pieces = [perfect_pieces(start, end) for start, end in ranges]
    nodes = await _nodes(session, (key for keys in pieces for key in keys))
    return [_fold([nodes[key] for key in keys]) for keys in pieces]


async def root_from_store(session: AsyncSession, tree_size: int) -> bytes:
    """The root hash of the first ``tree_size`` leaves, from the stored nodes."""
    if tree_size == 0:
        return EMPTY_ROOT
    return (await range_hashes(session, [(0, tree_size)]))[0]


async def inclusion_from_store(session: AsyncSession, index: int, tree_size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``tree_size``, from the stored nodes."""
    return await range_hashes(session, inclusion_proof_ranges(index, tree_size))


async def consistency_from_store(session: AsyncSession, first: int, second: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of ``first`` leaves to that of ``second``, from the store."""
    return await range_hashes(session, consistency_proof_ranges(first, second))


class CompactRange:
    """The right edge of a tree being grown leaf by leaf: one complete subtree per set bit of its size.

    Appending a leaf yields every complete subtree it finishes, which the sequencer stores; the root is folded from
    the edge. Starts from the edge of the tree already stored (:meth:`load`).
    """

    def __init__(self, size: int, edge: Sequence[bytes]) -> None:
        self.size = size
        self._edge: list[tuple[int, bytes]] = [
            (level, digest) for (level, _), digest in zip(perfect_pieces(0, size), edge, strict=True)
        ]

    @classmethod
    async def load(cls, session: AsyncSession, size: int) -> CompactRange:
        """The edge of the stored tree of ``size`` leaves.

        Raises:
            MissingNodeError: one of its nodes is not stored.
        """
        keys = perfect_pieces(0, size)
        nodes = await _nodes(session, keys)
        return cls(size, [nodes[key] for key in keys])

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; returns the complete subtrees it finished as (level, index, hash), the leaf first."""
        index = self.size
        made = [(0, index, leaf)]
        level, digest = 0, leaf
        while self._edge and self._edge[-1][0] == level:
            _, left = self._edge.pop()
            level, digest = level + 1, node_hash(left, digest)
            made.append((level, index >> level, digest))
        self._edge.append((level, digest))
        self.size += 1
        return made

    def root(self) -> bytes:
        """The root hash of the tree so far."""
        return _fold([digest for _, digest in self._edge]) if self._edge else EMPTY_ROOT
