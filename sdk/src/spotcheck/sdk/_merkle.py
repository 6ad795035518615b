"""The Merkle tree of a gateway's transparency log, exactly as RFC 9162 §2.1 defines it, and the leaf of a message.

The gateway appends one leaf per message it sends (``out``) or receives (``in``) and publishes the tree head in a
signed checkpoint (see ``spotcheck.sdk._note``). A platform that kept a message can then ask for an inclusion proof
and check it here, and a platform that kept an older checkpoint can check that the log only ever grew.

The tree (SHA-256 throughout, ``‖`` is concatenation)::

    leaf hash      = SHA-256(0x00 ‖ leaf data)
    interior node  = SHA-256(0x01 ‖ left ‖ right)
    MTH({})        = SHA-256("")
    MTH(D[0:n])    = node(MTH(D[0:k]), MTH(D[k:n]))  with k the largest power of two smaller than n

The leaf data of a message (UTF-8, every line ending in a newline)::

    spotcheck-message/v1
    <direction: out | in>
    <webhook-id header>
    <webhook-timestamp header>
    <lowercase hex SHA-256 of the exact body bytes>

Proofs are lists of 32-byte hashes, ordered as RFC 9162's PATH and PROOF produce them (the deepest node first).
Each hash is the MTH of a contiguous range of leaves; :func:`inclusion_proof_ranges` and
:func:`consistency_proof_ranges` name those ranges, so a log that keeps its interior nodes can build proofs without
rehashing every leaf. The verifiers return ``False`` for anything malformed and never raise.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "consistency_proof",
    "consistency_proof_ranges",
    "inclusion_proof",
    "inclusion_proof_ranges",
    "leaf_for_message",
    "leaf_hash",
    "node_hash",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
"""Bytes in every hash of the tree (SHA-256)."""

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""The Merkle tree hash of the empty tree: SHA-256 of the empty string."""

LEAF_FORMAT: Final = "spotcheck-message/v1"
"""The first line of every message leaf; a later format gets a new version so old leaves keep their meaning."""
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_DIRECTIONS: Final = frozenset({"out", "in"})
# RFC 9162 counts leaves in a uint64; a larger size can only be a forged input.
_MAX_TREE_SIZE: Final = 2**64 - 1
# A tree of uint64 size has at most 64 levels; a consistency proof may carry one hash more.
_MAX_PROOF_HASHES: Final = 65


def leaf_for_message(direction: Literal["out", "in"], webhook_id: str, timestamp: str | int, body: bytes) -> bytes:
    """The leaf data the gateway's log holds for one message (the format is in the module documentation).

    Args:
        direction: ``"out"`` for a notice the gateway sent, ``"in"`` for a reply it received.
        webhook_id: the ``webhook-id`` header, exactly as sent.
        timestamp: the ``webhook-timestamp`` header, exactly as sent (an int is written in decimal).
        body: the exact body bytes.

    Raises:
        ValueError: ``direction`` is neither ``"out"`` nor ``"in"``, or the id or timestamp is empty or holds a
            newline (which would let two different messages share a leaf).
    """
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'out' or 'in', got {direction!r}")
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    for field, value in (("webhook_id", webhook_id), ("timestamp", timestamp)):
        if not isinstance(value, str) or not value or "\n" in value:
            raise ValueError(f"{field} must be non-empty text without a newline")
    digest = hashlib.sha256(body).hexdigest()
    return f"{LEAF_FORMAT}\n{direction}\n{webhook_id}\n{timestamp}\n{digest}\n".encode()


def leaf_hash(data: bytes) -> bytes:
    """The RFC 9162 hash of a leaf: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash (MTH) of a tree whose leaves have these hashes, in order.

    Hashes every node once (fine for tests and small trees; a large log keeps its interior nodes instead).
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    # Pairing level by level and lifting an odd last node unchanged builds the same left-balanced tree as the
    # RFC's split at the largest power of two.
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose MTHs form the inclusion proof of leaf ``index`` (RFC 9162 PATH).

    Ordered as the proof is: the deepest sibling first. Every range is a node of the tree of size
    ``tree_size``, so a log that keeps interior nodes can look each one up rather than rehash its leaves.

    Raises:
        ValueError: ``index`` is not a leaf of a tree of ``tree_size`` leaves.
    """
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is not in a tree of {tree_size} leaves")
    ranges: list[tuple[int, int]] = []
    start, end = 0, tree_size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start = middle
    # Collected from the root down; the RFC lists the path from the leaf up.
    ranges.reverse()
    return ranges


def consistency_proof_ranges(first_size: int, second_size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose MTHs prove the tree of ``first_size`` a prefix of ``second_size``.

    RFC 9162 PROOF(m, D[n]), deepest node first. An empty tree and an unchanged tree need no proof: the list is
    empty when ``first_size`` is 0 or equals ``second_size``.

    Raises:
        ValueError: the sizes are negative or ``first_size`` exceeds ``second_size``.
    """
    if not 0 <= first_size <= second_size:
        raise ValueError(f"no consistency proof from size {first_size} to size {second_size}")
    if first_size in (0, second_size):
        return []
    ranges: list[tuple[int, int]] = []
    start, end, first_end = 0, second_size, first_size
    # Whether the subtree being descended is still the whole old tree: its root then need not be sent.
    whole_old_tree = True
    while first_end != end:
        middle = start + _split(end - start)
        if first_end <= middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start = middle
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The RFC 9162 inclusion proof (PATH) of leaf ``index`` in the tree of ``leaf_hashes``.

    Raises:
        ValueError: ``index`` is not a leaf of that tree.
    """
    return [root_from_leaves(leaf_hashes[start:end]) for start, end in inclusion_proof_ranges(index, len(leaf_hashes))]


def consistency_proof(leaf_hashes: Sequence[bytes], first_size: int) -> list[bytes]:
    """The RFC 9162 consistency proof (PROOF) that the tree of its first ``first_size`` leaves is a prefix of it.

    Raises:
        ValueError: ``first_size`` is negative or larger than the tree.
    """
    ranges = consistency_proof_ranges(first_size, len(leaf_hashes))
    return [root_from_leaves(leaf_hashes[start:end]) for start, end in ranges]


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows the leaf with hash ``leaf_hash`` at ``index`` in the tree of ``tree_size`` and ``root``.

    RFC 9162 §2.1.3.2, step for step. Returns False, never raises, for anything malformed: a hash that is not 32
    bytes, an index outside the tree, a proof too short or too long.
    """
    if not (_is_size(index) and _is_size(tree_size) and index < tree_size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_proof(proof)):
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # When fn == sn with LSB(fn) clear, this was the last node of its level: climb until it is not.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(
    first_size: int, second_size: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``first_size`` and ``first_root`` a prefix of ``second_size``'s.

    RFC 9162 §2.1.4.2, step for step, for ``0 < first_size < second_size``. The cases the RFC leaves out: equal
    sizes are consistent exactly when the roots are equal and the proof is empty; the empty tree (whose root must
    be :data:`EMPTY_ROOT`) is a prefix of every tree with an empty proof. Returns False, never raises, for anything
    malformed: a hash that is not 32 bytes, sizes out of order, a proof too short or too long.
    """
    if not (_is_size(first_size) and _is_size(second_size) and first_size <= second_size):
        return False
    if not (_is_hash(first_root) and _is_hash(second_root) and _is_proof(proof)):
        return False
    if first_size == second_size:
        return not proof and hmac.compare_digest(first_root, second_root)
    if first_size == 0:
        return not proof and hmac.compare_digest(first_root, EMPTY_ROOT)
    roots = _roots_from_consistency_proof(first_size, second_size, first_root, proof)
    return (
        roots is not None and hmac.compare_digest(roots[0], first_root) and hmac.compare_digest(roots[1], second_root)
    )


def _roots_from_consistency_proof(
    first_size: int, second_size: int, first_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes] | None:
    """RFC 9162 §2.1.4.2 for ``0 < first_size < second_size``: the roots ``(fr, sr)`` to compare, or None.

    None when the proof is empty (step 1), runs past the top of the tree (step 6) or stops short of it (the
    ``sn == 0`` check of step 7); the caller compares the roots.
    """
    if not proof:
        return None
    path = list(proof)
    if first_size & (first_size - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first_size - 1, second_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return (fr, sr) if sn == 0 else None


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (which is at least 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_TREE_SIZE


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_proof(value: object) -> bool:
    return isinstance(value, list | tuple) and len(value) <= _MAX_PROOF_HASHES and all(map(_is_hash, value))
