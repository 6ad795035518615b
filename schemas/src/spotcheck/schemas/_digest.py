r"""Digests of a chunked record set (``records.provided``), defined so that any language can compute them.

``chunk_sha256`` is the lower-case hex SHA-256 of the UTF-8 bytes of the canonical JSON of the object
``{"logs": [...], "records": [...]}`` holding the chunk's ``logs`` and ``records`` arrays exactly as they are
sent. Canonical JSON is the RFC 8785 (JCS) form restricted to the values this contract uses: object keys
sorted by code point, no white space, strings as UTF-8 with only ``"``, ``\\`` and control characters escaped
(``\\b \\t \\n \\f \\r``, others as ``\\u00xx``), integers in plain decimal, ``true``/``false``/``null``.
Timestamps are hashed as the strings that were sent, so a sender hashes what it writes.

``set_sha256`` is the lower-case hex SHA-256 of the ASCII concatenation of every chunk's ``chunk_sha256``
in ``chunk_index`` order (each is 64 characters, so no separator is needed).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from collections.abc import Sequence

    from spotcheck.schemas._common import LogEntry, TransactionRecord

__all__ = ["canonical_digest", "chunk_digest", "set_digest"]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def canonical_digest(value: Any) -> str:
    """Return the SHA-256 hex digest of the canonical JSON of a JSON-like value (dict, list, str, int, bool, None).

    Raises:
        ValueError: the value holds something canonical JSON cannot represent (a non-finite float, a lone
            surrogate).
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_digest(records: Sequence[TransactionRecord], logs: Sequence[LogEntry]) -> str:
    """Return the ``chunk_sha256`` of a chunk holding ``records`` and ``logs``, as they will be encoded."""
    return canonical_digest(msgspec.to_builtins({"records": list(records), "logs": list(logs)}))


def set_digest(chunk_digests: Sequence[str]) -> str:
    """Return the ``set_sha256`` of a record set from its chunk digests in ``chunk_index`` order.

    Raises:
        ValueError: no digest is given, or one is not 64 lower-case hex characters.
    """
    if not chunk_digests:
        raise ValueError("a record set has at least one chunk digest")
    for index, digest in enumerate(chunk_digests):
        if not _SHA256_HEX.fullmatch(digest):
            raise ValueError(f"chunk digest {index} is not 64 lower-case hex characters: {digest!r}")
    return hashlib.sha256("".join(chunk_digests).encode("ascii")).hexdigest()
