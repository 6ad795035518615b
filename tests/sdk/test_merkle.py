"""The transparency log's Merkle tree: RFC 9162 known answers, every proof of every small tree checked against an
independent recursive reading of the RFC, tampered proofs refused, malformed input answered False."""

from __future__ import annotations

import hashlib
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotcheck.sdk import (
    consistency_proof,
    consistency_proof_ranges,
    inclusion_proof,
    inclusion_proof_ranges,
    leaf_for_message,
    leaf_hash,
    node_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# ---- Known answers -------------------------------------------------------------------------------------------
# transparency-dev/merkle testonly/constants.go (LeafInputs, NodeHashes, RootHashes, EmptyRootHash) and
# proof/verify_test.go (inclusionProofs, consistencyProofs), the vectors Certificate Transparency implementations
# share since google/certificate-transparency. Go's inclusion vectors count leaves from 1; here indices start at 0.

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
LEAF_HASHES = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]
EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ROOTS = [  # by tree size 1..8
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION_VECTORS = [  # (index, tree size, proof)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY_VECTORS = [  # (first size, second size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
KNOWN = [leaf_hash(data) for data in LEAF_INPUTS]


def hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def test_the_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert root_from_leaves([]).hex() == EMPTY_ROOT == hashlib.sha256(b"").hexdigest()


def test_leaf_hashes_match_the_known_answers() -> None:
    assert hexes(KNOWN) == LEAF_HASHES


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_known_answers(size: int) -> None:
    assert root_from_leaves(KNOWN[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_known_answers(index: int, size: int, proof: list[str]) -> None:
    assert hexes(inclusion_proof(KNOWN[:size], index)) == proof
    root = bytes.fromhex(ROOTS[size - 1])
    assert verify_inclusion(KNOWN[index], index, size, [bytes.fromhex(h) for h in proof], root)


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_known_answers(first: int, second: int, proof: list[str]) -> None:
    assert hexes(consistency_proof(KNOWN[:second], first)) == proof
    roots = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    assert verify_consistency(first, second, *roots, [bytes.fromhex(h) for h in proof])


def test_proof_ranges_name_the_subtrees_in_rfc_order() -> None:
    assert inclusion_proof_ranges(5, 8) == [(4, 5), (6, 8), (0, 4)]
    assert inclusion_proof_ranges(0, 1) == []
    assert consistency_proof_ranges(6, 8) == [(4, 6), (6, 8), (0, 4)]
    assert consistency_proof_ranges(4, 8) == [(4, 8)]
    assert consistency_proof_ranges(0, 8) == consistency_proof_ranges(8, 8) == []


def test_node_hash_is_the_rfc_interior_hash() -> None:
    assert node_hash(KNOWN[0], KNOWN[1]).hex() == ROOTS[1]


# ---- An independent reading of RFC 9162 §2.1, recursive, over the leaf data itself ----------------------------


def rfc_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + rfc_mth(leaves[:k]) + rfc_mth(leaves[k:])).digest()


def rfc_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*rfc_path(m, leaves[:k]), rfc_mth(leaves[k:])]
    return [*rfc_path(m - k, leaves[k:]), rfc_mth(leaves[:k])]


def rfc_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [rfc_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*rfc_subproof(m, leaves[:k], b), rfc_mth(leaves[k:])]
    return [*rfc_subproof(m - k, leaves[k:], False), rfc_mth(leaves[:k])]


MAX_SIZE = 40
DATA = [f"leaf {i}".encode() for i in range(MAX_SIZE)]
HASHES = [leaf_hash(data) for data in DATA]
ROOT_OF = [rfc_mth(DATA[:n]) for n in range(MAX_SIZE + 1)]


def test_root_from_leaves_agrees_with_the_recursive_definition() -> None:
    for n in range(MAX_SIZE + 1):
        assert root_from_leaves(HASHES[:n]) == ROOT_OF[n], n


def test_every_inclusion_proof_up_to_40_leaves_matches_the_rfc_and_verifies() -> None:
    for n in range(1, MAX_SIZE + 1):
        for m in range(n):
            proof = inclusion_proof(HASHES[:n], m)
            assert proof == rfc_path(m, DATA[:n]), (m, n)
            assert verify_inclusion(HASHES[m], m, n, proof, ROOT_OF[n]), (m, n)


def test_every_consistency_proof_up_to_40_leaves_matches_the_rfc_and_verifies() -> None:
    for n in range(MAX_SIZE + 1):
        for m in range(n + 1):
            proof = consistency_proof(HASHES[:n], m)
            expected = rfc_subproof(m, DATA[:n], True) if m > 0 else []
            assert proof == expected, (m, n)
            assert verify_consistency(m, n, ROOT_OF[m], ROOT_OF[n], proof), (m, n)


# ---- Tampering -------------------------------------------------------------------------------------------------

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def flipped(proof: list[bytes], position: int) -> list[bytes]:
    changed = list(proof)
    changed[position] = bytes([changed[position][0] ^ 8]) + changed[position][1:]
    return changed


def test_tampered_inclusion_proofs_are_refused() -> None:
    for n in range(1, MAX_SIZE + 1):
        root = ROOT_OF[n]
        for m in range(n):
            proof, leaf = inclusion_proof(HASHES[:n], m), HASHES[m]
            for other in range(n):
                if other != m:
                    assert not verify_inclusion(leaf, other, n, proof, root), ("index", m, other, n)
                    assert not verify_inclusion(HASHES[other], m, n, proof, root), ("leaf", m, other, n)
            for size in {n * 2, n // 2}:
                assert not verify_inclusion(leaf, m, size, proof, root), ("size", m, n, size)
            assert not verify_inclusion(leaf, m, n, proof, ROOT_OF[n - 1]), ("root", m, n)
            assert not verify_inclusion(leaf, m, n, proof, SOME_HASH)
            assert not verify_inclusion(leaf, m, n, [*proof, root], root), ("trailing", m, n)
            assert not verify_inclusion(leaf, m, n, [root, *proof], root), ("preceding", m, n)
            for position in range(len(proof)):
                assert not verify_inclusion(leaf, m, n, flipped(proof, position), root), ("bit", m, n, position)
            if proof:
                assert not verify_inclusion(leaf, m, n, proof[:-1], root), ("truncated", m, n)
                assert not verify_inclusion(leaf, m, n, [proof[0], SOME_HASH, *proof[1:]], root), ("inserted", m, n)


def test_tampered_consistency_proofs_are_refused() -> None:
    for n in range(2, MAX_SIZE + 1):
        for m in range(1, n):
            proof = consistency_proof(HASHES[:n], m)
            first, second = ROOT_OF[m], ROOT_OF[n]
            for size in {m - 1, m + 1, m ^ 2} - {m}:
                if size <= n:
                    assert not verify_consistency(size, n, first, second, proof), ("first size", m, n, size)
            for size in {n * 2, n // 2} - {n}:
                assert not verify_consistency(m, size, first, second, proof), ("second size", m, n, size)
            assert not verify_consistency(m, n, SOME_HASH, second, proof)
            assert not verify_consistency(m, n, first, SOME_HASH, proof)
            assert not verify_consistency(m, n, second, first, proof), ("swapped", m, n)
            assert not verify_consistency(m, n, first, second, []), ("empty", m, n)
            assert not verify_consistency(m, n, first, second, [*proof, first]), ("trailing", m, n)
            assert not verify_consistency(m, n, first, second, [*proof, second]), ("trailing", m, n)
            assert not verify_consistency(m, n, first, second, [first, *proof]), ("preceding", m, n)
            assert not verify_consistency(m, n, first, second, [proof[0], *proof]), ("preceding", m, n)
            assert not verify_consistency(m, n, first, second, proof[:-1]), ("truncated", m, n)
            for position in range(len(proof)):
                assert not verify_consistency(m, n, first, second, flipped(proof, position)), ("bit", m, n)


def test_a_fork_is_not_consistent_with_the_tree_it_replaced() -> None:
    forked = [*HASHES[:3], leaf_hash(b"rewritten"), *HASHES[4:20]]
    proof = consistency_proof(forked, 10)
    assert not verify_consistency(10, 20, ROOT_OF[10], root_from_leaves(forked), proof)


def test_the_edges_the_rfc_leaves_out() -> None:
    empty = root_from_leaves([])
    assert verify_consistency(0, 0, empty, empty, [])
    assert verify_consistency(0, 5, empty, ROOT_OF[5], [])
    assert not verify_consistency(0, 5, SOME_HASH, ROOT_OF[5], []), "the empty tree has one root"
    assert not verify_consistency(0, 5, empty, ROOT_OF[5], [empty])
    assert verify_consistency(5, 5, ROOT_OF[5], ROOT_OF[5], [])
    assert not verify_consistency(5, 5, ROOT_OF[5], ROOT_OF[4], [])
    assert not verify_consistency(5, 5, ROOT_OF[5], ROOT_OF[5], [empty])
    assert not verify_consistency(5, 4, ROOT_OF[5], ROOT_OF[4], []), "time travel"
    assert verify_inclusion(HASHES[0], 0, 1, [], HASHES[0])
    assert not verify_inclusion(HASHES[0], 0, 0, [], empty)
    assert not verify_inclusion(HASHES[0], 1, 1, [], HASHES[0])


# ---- Malformed input answers False and never raises ------------------------------------------------------------

GOOD_INCLUSION = (HASHES[3], 3, 7, inclusion_proof(HASHES[:7], 3), ROOT_OF[7])
GOOD_CONSISTENCY = (3, 7, ROOT_OF[3], ROOT_OF[7], consistency_proof(HASHES[:7], 3))


@pytest.mark.parametrize(
    ("position", "value"),
    [
        (0, b"short"),
        (0, HASHES[3] + b"\x00"),
        (0, HASHES[3].hex()),
        (0, None),
        (1, -1),
        (1, 7),
        (1, True),
        (1, 3.0),
        (1, "3"),
        (2, 0),
        (2, -7),
        (2, 2**64),
        (2, None),
        (3, None),
        (3, "proof"),
        (3, [b"x" * 31]),
        (3, [h.hex() for h in GOOD_INCLUSION[3]]),
        (3, [HASHES[0]] * 70),
        (4, b""),
        (4, None),
    ],
)
def test_malformed_inclusion_input_is_false(position: int, value: object) -> None:
    arguments: list[Any] = list(GOOD_INCLUSION)
    assert verify_inclusion(*arguments)
    arguments[position] = value
    assert verify_inclusion(*arguments) is False


@pytest.mark.parametrize(
    ("position", "value"),
    [
        (0, -1),
        (0, 8),
        (0, True),
        (0, None),
        (1, 2),
        (1, 2**64),
        (1, "7"),
        (2, b"short"),
        (2, None),
        (3, ROOT_OF[7] * 2),
        (4, None),
        (4, b"".join(GOOD_CONSISTENCY[4])),
        (4, [b""]),
        (4, [HASHES[0]] * 70),
    ],
)
def test_malformed_consistency_input_is_false(position: int, value: object) -> None:
    arguments: list[Any] = list(GOOD_CONSISTENCY)
    assert verify_consistency(*arguments)
    arguments[position] = value
    assert verify_consistency(*arguments) is False


@given(
    leaf=st.binary(max_size=40),
    index=st.integers(),
    size=st.integers(),
    proof=st.lists(st.binary(min_size=30, max_size=33), max_size=8),
    root=st.binary(max_size=40),
)
def test_random_inclusion_input_never_raises(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    assert verify_inclusion(leaf, index, size, proof, root) in (True, False)


@given(
    first=st.integers(min_value=-2, max_value=2**65),
    second=st.integers(min_value=-2, max_value=2**65),
    proof=st.lists(st.binary(min_size=31, max_size=33), max_size=8),
    roots=st.tuples(st.binary(min_size=31, max_size=33), st.binary(min_size=31, max_size=33)),
)
def test_random_consistency_input_never_raises(
    first: int, second: int, proof: list[bytes], roots: tuple[bytes, bytes]
) -> None:
    assert verify_consistency(first, second, *roots, proof) in (True, False)


def test_generators_refuse_impossible_requests() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(HASHES[:4], 4)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof([], 0)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(HASHES[:4], 5)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof_ranges(-1, 4)


# ---- The leaf of a message -------------------------------------------------------------------------------------

BODY = b'{"type":"notice.delisting_order","data":{}}'


def test_the_leaf_of_a_message_is_the_documented_text() -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    expected = f"spotcheck-message/v1\nout\nmsg_2Kx\n1763604000\n{digest}\n".encode()
    assert leaf_for_message("out", "msg_2Kx", "1763604000", BODY) == expected
    assert leaf_for_message("out", "msg_2Kx", 1763604000, BODY) == expected
    assert leaf_hash(expected) == hashlib.sha256(b"\x00" + expected).digest()


def test_direction_id_and_timestamp_each_change_the_leaf() -> None:
    leaves = {
        leaf_for_message("out", "msg_1", "1", BODY),
        leaf_for_message("in", "msg_1", "1", BODY),
        leaf_for_message("out", "msg_2", "1", BODY),
        leaf_for_message("out", "msg_1", "2", BODY),
        leaf_for_message("out", "msg_1", "1", BODY + b" "),
    }
    assert len(leaves) == 5


@pytest.mark.parametrize(
    ("direction", "webhook_id", "timestamp", "match"),
    [
        ("sideways", "msg_1", "1", "direction"),
        ("OUT", "msg_1", "1", "direction"),
        ("out", "msg_1\nin", "1", "webhook_id"),
        ("out", "", "1", "webhook_id"),
        ("out", "msg_1", "1\n", "timestamp"),
        ("out", "msg_1", "", "timestamp"),
        ("out", "msg_1", True, "timestamp"),
    ],
)
def test_an_ambiguous_message_has_no_leaf(direction: str, webhook_id: str, timestamp: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        leaf_for_message(cast("Any", direction), webhook_id, cast("Any", timestamp), BODY)
