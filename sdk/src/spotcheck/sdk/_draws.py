r"""Verifiable random draws (双随机一公开): which merchants, and which inspectors, a bureau checks.

A market regulation bureau draws the merchants to inspect by commit and reveal, so that anyone can recompute the
draw and see that nobody chose the result. Every draw is published at ``GET /public/draws.json``.

Protocol ``spotcheck.draw.v1``, exactly (for implementations in any language; ``‖`` is byte concatenation, hashes
are SHA-256, hex is lowercase):

1. **Freeze the candidates.** Ids are non-empty, unique strings without C0 control characters (U+0000-U+001F).
   ``candidates`` are the ids sorted ascending by Unicode code point (Python's ``sorted``; the same order as their
   UTF-8 bytes, but not JavaScript's default UTF-16 sort when a character lies above U+FFFF).
   ``candidates_sha256`` = hex SHA-256 of those ids in UTF-8, joined by ``\n``, no trailing newline.
2. **Commit.** Draw a 32-byte ``secret`` from a CSPRNG and keep it. Before anything else happens, publish
   ``commitment`` = hex SHA-256(secret) with ``plan_number``, ``count``, ``candidates``, ``candidates_sha256``
   and ``committed_at``.
3. **Reveal.** Take a ``beacon`` string the bureau could not choose in advance (typed in by a second officer, or a
   public value published after the commitment) and publish it with ``secret`` (hex) and the results.
   ``seed`` = SHA-256(secret ‖ UTF-8(beacon)); the beacon is hashed exactly as published (no trimming, no
   Unicode normalisation).
4. **Select.** ``selected`` = the ``count`` candidates with the smallest SHA-256(seed ‖ UTF-8(id)), digests compared
   as unsigned bytes, in ascending order of digest (equal digests, which SHA-256 makes practically impossible,
   would put the smaller id first).
5. **Inspectors** (optional, in ``inspectors``): their own ``candidates``, ``candidates_sha256`` and ``count``,
   committed with the draw, and ``selected`` ranked by SHA-256(seed ‖ ``inspector`` ‖ 0x00 ‖ UTF-8(id)) under the
   same rules. No id contains U+0000, so no merchant's hash input can equal an inspector's.

A published record. Times are RFC 3339 with an offset. Before the reveal ``beacon``, ``secret``, ``seed``,
``revealed_at``, ``selected`` and ``inspectors.selected`` are ``null``; ``inspectors`` is ``null`` when no inspectors
are drawn; a record without ``protocol`` is read as ``spotcheck.draw.v1``; other keys are ignored::

    {"protocol": "spotcheck.draw.v1", "id": "ZJ-2026-017", "plan_number": "浙市监抽〔2026〕17号",
     "scope": "儿童服装 (free text, or a JSON object)", "count": 3, "candidates_sha256": "<64 hex>",
     "commitment": "<64 hex>", "committed_at": "2026-12-07T09:00:00+08:00", "beacon": "…", "secret": "<64 hex>",
     "seed": "<64 hex>", "revealed_at": "2026-12-07T15:05:00+08:00", "selected": ["m-001", "m-002", "m-004"],
     "inspectors": {"count": 2, "candidates_sha256": "<64 hex>", "selected": […], "candidates": […]},
     "candidates": ["m-001", …]}

The document is ``{"draws": [record, …]}`` (a bare list of records is read too). Fixed vectors to test another
implementation against are in ``tests/sdk/test_draws.py``.

What the protocol proves: the selection follows from the published candidates and a secret fixed before the beacon
was known. The commitment covers the secret only, so that ``candidates`` and ``count`` were published before the
reveal is proved by a copy fetched before it: keep one. ``id``, ``plan_number`` and ``scope`` are not bound at all.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "HEX64",
    "INSPECTOR_DOMAIN",
    "PROTOCOL",
    "DrawRecord",
    "FrozenCandidates",
    "InspectorDraw",
    "candidates_digest",
    "checked_count",
    "checked_ids",
    "commit_draw",
    "commitment_for",
    "digest_of_sorted",
    "draw_seed",
    "freeze_candidates",
    "is_text",
    "pick_smallest",
    "reveal_draw",
    "select",
    "select_inspectors",
]

PROTOCOL: Final = "spotcheck.draw.v1"
"""The ``protocol`` of every record this module builds and checks."""

INSPECTOR_DOMAIN: Final = b"inspector\x00"
"""What comes between the seed and an inspector's id in the inspectors' ranking."""

HEX64: Final = re.compile("[0-9a-f]{64}")
"""A SHA-256 digest or a secret as published: 64 lowercase hex digits."""

_SECRET_BYTES: Final = 32
_C0_BYTES: Final = bytes(range(0x20))
_C0: Final = re.compile("[\x00-\x1f]")


# ---- The protocol's functions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrozenCandidates:
    """A candidate list checked once, sorted by code point, with its ``candidates_sha256``.

    Build it with :func:`freeze_candidates`; :func:`select` takes it without checking the ids again, so freezing
    the list and drawing from it costs one check, one sort and one hash per id.
    """

    ids: tuple[str, ...]
    sha256: str


def freeze_candidates(ids: Iterable[str]) -> FrozenCandidates:
    """Check ``ids`` once (as :func:`candidates_digest` does), sort them and compute their ``candidates_sha256``.

    Raises:
        ValueError: as :func:`candidates_digest`.
        TypeError: as :func:`candidates_digest`.
    """
    ordered = sorted(checked_ids(ids, "candidates"))
    return FrozenCandidates(tuple(ordered), digest_of_sorted(ordered))


def candidates_digest(ids: Iterable[str]) -> str:
    r"""``candidates_sha256`` of ``ids`` in any order: hex SHA-256 of them sorted by code point and joined by ``\n``.

    Raises:
        ValueError: an id is empty, repeated or holds a control character (the message names ``candidates``).
        TypeError: ``ids`` is a single string, or holds something else than strings.
    """
    return digest_of_sorted(sorted(checked_ids(ids, "candidates")))


def commitment_for(secret: bytes) -> str:
    """``commitment``: hex SHA-256 of the 32-byte ``secret``.

    Raises:
        ValueError: ``secret`` is not 32 bytes.
    """
    return hashlib.sha256(_valid_secret(secret)).hexdigest()


def draw_seed(secret: bytes, beacon: str) -> bytes:
    """``seed``: SHA-256(secret ‖ UTF-8(beacon)), 32 bytes; the beacon is taken exactly as given.

    Raises:
        ValueError: ``secret`` is not 32 bytes, or ``beacon`` is empty or not encodable as UTF-8.
    """
    return hashlib.sha256(_valid_secret(secret) + _valid_beacon(beacon)).digest()


def select(seed: bytes, candidates: Iterable[str] | FrozenCandidates, count: int) -> list[str]:
    """The ``count`` candidates with the smallest SHA-256(seed ‖ UTF-8(id)), smallest first.

    The order of ``candidates`` does not matter; a :class:`FrozenCandidates` is taken as already checked. Only
    the ``count`` best are kept while hashing: freezing 1,000,000 ids and drawing 1,000 of them costs under three
    times as long as sorting them.

    Raises:
        ValueError: ``seed`` is not 32 bytes, ``count`` is below 1 or above the number of candidates, or an id is
            empty, repeated or holds a control character (each message names the field).
        TypeError: ``count`` is not an integer, or ``candidates`` is not a collection of strings.
    """
    ids = list(candidates.ids) if isinstance(candidates, FrozenCandidates) else checked_ids(candidates, "candidates")
    return pick_smallest(_valid_seed(seed), b"", ids, checked_count(count, len(ids), "count"))


def select_inspectors(seed: bytes, inspectors: Iterable[str], count: int) -> list[str]:
    r""":func:`select` for inspectors: ranked by SHA-256(seed ‖ ``b"inspector\x00"`` ‖ UTF-8(id)) instead.

    Raises:
        ValueError: as :func:`select` (an id's problem names ``inspectors``).
        TypeError: as :func:`select`.
    """
    ids = checked_ids(inspectors, "inspectors")
    return pick_smallest(_valid_seed(seed), INSPECTOR_DOMAIN, ids, checked_count(count, len(ids), "count"))


def pick_smallest(seed: bytes, domain: bytes, ids: list[str], count: int) -> list[str]:
    """The ``count`` of ``ids`` with the smallest SHA-256(seed ‖ domain ‖ UTF-8(id)); the arguments are not checked."""
    prefix = hashlib.sha256(seed + domain)

    def rank(candidate: str) -> tuple[bytes, str]:
        # Copying the hash state of seed ‖ domain is cheaper than hashing the concatenation anew for each id.
        digest = prefix.copy()
        digest.update(candidate.encode("utf-8"))
        return digest.digest(), candidate

    return heapq.nsmallest(count, ids, key=rank)


def digest_of_sorted(ids: list[str]) -> str:
    """``candidates_sha256`` of ids already sorted and checked."""
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()


# ---- Validation shared by the builders and the verifier ---------------------------------------------------------


def checked_ids(values: Iterable[str], field: str) -> list[str]:
    """``values`` as a list, refused (naming ``field``) unless they are valid, unique candidate ids."""
    if isinstance(values, str | bytes):
        raise TypeError(f"{field}: expected a list of ids, got a single string")
    try:
        ids = list(values)
    except TypeError:
        raise TypeError(f"{field}: expected a list of ids, got {type(values).__name__}") from None
    try:
        # One C-level pass over the joined text finds non-strings, lone surrogates and control characters.
        data = "".join(ids).encode("utf-8")
    except TypeError:
        raise TypeError(f"{field}: every id must be a string") from None
    except UnicodeEncodeError:
        bad = next(item for item in ids if not is_text(item))
        raise ValueError(f"{field}: {bad!r} is not valid Unicode text") from None
    if len(data.translate(None, _C0_BYTES)) != len(data):
        bad = next(item for item in ids if _C0.search(item))
        raise ValueError(f"{field}: {bad!r} holds a control character")
    unique = set(ids)
    # Looked up in the set, not the list: ``in`` on a list compares every id (5 ms per 100,000 ids measured).
    if "" in unique:
        raise ValueError(f"{field}: an id is empty")
    if len(unique) != len(ids):
        repeated = next(item for item, seen in Counter(ids).items() if seen > 1)
        raise ValueError(f"{field}: {repeated!r} appears more than once")
    return ids


def checked_count(count: int, available: int, field: str) -> int:
    """``count``, refused (naming ``field``) unless it is an integer from 1 to ``available``."""
    if not isinstance(count, int) or isinstance(count, bool):
        raise TypeError(f"{field}: expected an integer, got {type(count).__name__}")
    if count < 1:
        raise ValueError(f"{field}: must be at least 1, got {count}")
    if count > available:
        raise ValueError(f"{field}: {count} is more than the {available} candidates")
    return count


def _valid_secret(secret: bytes) -> bytes:
    if not isinstance(secret, bytes) or len(secret) != _SECRET_BYTES:
        raise ValueError(f"secret: expected {_SECRET_BYTES} bytes")
    return secret


def _valid_seed(seed: bytes) -> bytes:
    if not isinstance(seed, bytes) or len(seed) != _SECRET_BYTES:
        raise ValueError(f"seed: expected {_SECRET_BYTES} bytes")
    return seed


def _valid_beacon(beacon: str) -> bytes:
    if not isinstance(beacon, str) or not beacon:
        raise ValueError("beacon: expected a non-empty string")
    if not is_text(beacon):
        raise ValueError("beacon: not valid Unicode text")
    return beacon.encode("utf-8")


def _valid_time(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{field}: expected a datetime with a UTC offset")
    return value


def is_text(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (a string decoded from JSON may hold a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---- The published record ------------------------------------------------------------------------------------


class InspectorDraw(msgspec.Struct, frozen=True, kw_only=True):
    """The inspectors drawn with a draw: their own list and count, ``selected`` once the draw is revealed."""

    count: int
    candidates_sha256: str
    selected: tuple[str, ...] | None = None
    candidates: tuple[str, ...]


class DrawRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One draw as published at ``/public/draws.json`` (protocol and JSON form: ``spotcheck.sdk._draws``).

    Build one with :func:`commit_draw` and :func:`reveal_draw`; encode it with ``msgspec.json.encode``. Before the
    reveal, ``beacon``, ``secret``, ``seed``, ``revealed_at``, ``selected`` and ``inspectors.selected`` are None.
    """

    protocol: str = PROTOCOL
    draw_id: str = msgspec.field(name="id")
    plan_number: str
    scope: str | dict[str, Any]
    count: int
    candidates_sha256: str
    commitment: str
    committed_at: datetime
    beacon: str | None = None
    secret: str | None = None
    seed: str | None = None
    revealed_at: datetime | None = None
    selected: tuple[str, ...] | None = None
    inspectors: InspectorDraw | None = None
    candidates: tuple[str, ...]


def commit_draw(
    *,
    draw_id: str,
    plan_number: str,
    scope: str | Mapping[str, Any],
    candidates: Iterable[str],
    count: int,
    secret: bytes,
    committed_at: datetime,
    inspectors: Iterable[str] | None = None,
    inspector_count: int | None = None,
) -> DrawRecord:
    """The record to publish at commitment time; keep ``secret`` (``secrets.token_bytes(32)``) unpublished.

    Candidates (and inspectors) may come in any order; the record holds them sorted.

    Raises:
        ValueError: a field breaks the protocol's rules (the message names it); ``inspectors`` and
            ``inspector_count`` come together or not at all.
        TypeError: a list or count has the wrong type.
    """
    for field, text in (("id", draw_id), ("plan_number", plan_number)):
        if not isinstance(text, str) or not text:
            raise ValueError(f"{field}: expected a non-empty string")
    ids = sorted(checked_ids(candidates, "candidates"))
    if (inspectors is None) != (inspector_count is None):
        raise ValueError("inspector_count: give it together with inspectors, or neither")
    inspector_draw = None
    if inspectors is not None and inspector_count is not None:
        staff = sorted(checked_ids(inspectors, "inspectors"))
        inspector_draw = InspectorDraw(
            count=checked_count(inspector_count, len(staff), "inspector_count"),
            candidates_sha256=digest_of_sorted(staff),
            candidates=tuple(staff),
        )
    return DrawRecord(
        draw_id=draw_id,
        plan_number=plan_number,
        scope=scope if isinstance(scope, str) else dict(scope),
        count=checked_count(count, len(ids), "count"),
        candidates_sha256=digest_of_sorted(ids),
        commitment=commitment_for(secret),
        committed_at=_valid_time(committed_at, "committed_at"),
        inspectors=inspector_draw,
        candidates=tuple(ids),
    )


def reveal_draw(record: DrawRecord, *, secret: bytes, beacon: str, revealed_at: datetime) -> DrawRecord:
    """``record`` revealed: the beacon, the secret and the selections it fixes, ready to publish.

    Raises:
        ValueError: ``secret`` does not open ``record.commitment``, the record is already revealed, the beacon is
            empty, or ``revealed_at`` lacks an offset or is before ``committed_at`` (the message names the field).
    """
    if record.secret is not None:
        raise ValueError(f"secret: draw {record.draw_id!r} is already revealed")
    if commitment_for(secret) != record.commitment:
        raise ValueError("secret: does not match the commitment")
    if _valid_time(revealed_at, "revealed_at") < record.committed_at:
        raise ValueError("revealed_at: before committed_at")
    seed = draw_seed(secret, beacon)
    inspectors = record.inspectors
    if inspectors is not None:
        picked = select_inspectors(seed, inspectors.candidates, inspectors.count)
        inspectors = msgspec.structs.replace(inspectors, selected=tuple(picked))
    return msgspec.structs.replace(
        record,
        beacon=beacon,
        secret=secret.hex(),
        seed=seed.hex(),
        revealed_at=revealed_at,
        selected=tuple(select(seed, record.candidates, record.count)),
        inspectors=inspectors,
    )
