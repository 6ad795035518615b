r"""Digests over JSON, defined so that any language can compute them: SHA-256 of RFC 8785 (JCS) canonical JSON.

Every digest the contract takes over JSON is the lower-case hex SHA-256 of the UTF-8 bytes of the RFC 8785
JSON Canonicalization Scheme form of exactly the JSON the sender put in the message: members sorted by their
UTF-16 code units, no white space, strings with only ``"``, ``\\`` and control characters escaped, numbers
in ECMAScript form (``1.0`` → ``1``, ``1e21`` → ``1e+21``). Any JCS library verifies it (Java
``erdtman/java-json-canonicalization``, Go ``cyberphone/json-canonicalization``, JavaScript ``canonicalize``).
Values are hashed as they were written, never as a receiver would re-encode them: an optional member the
sender left out stays out, a timestamp is the string that was sent, an unknown member is included.

``chunk_sha256`` is that digest of the object ``{"logs": [...], "records": [...]}`` holding the chunk's
``logs`` and ``records`` arrays as sent (an array the sender left out counts as ``[]``).

``set_sha256`` is the lower-case hex SHA-256 of the ASCII concatenation of every chunk's ``chunk_sha256``
in ``chunk_index`` order (each is 64 characters, so no separator is needed).

Compatibility: releases before 0.2 documented "canonical JSON restricted to the values this contract uses"
(sorted keys, no white space, the same string escapes). On every value a chunk can carry that the gateway
accepted then (ASCII member names, strings, integers of at most 2^53 - 1, ``null``) that form is byte for
byte the JCS form, so digests from earlier SDK releases and earlier platform code verify unchanged.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, Final

import msgspec
import rfc8785

if TYPE_CHECKING:
    from collections.abc import Sequence

    from spotcheck.schemas._common import LogEntry, TransactionRecord

__all__ = ["canonical_digest", "canonical_json", "chunk_digest", "set_digest"]

_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
# JCS numbers are IEEE 754 doubles: beyond this an integer is what a JavaScript or Go sender parses it to.
_SAFE_INTEGER: Final = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 (JCS) canonical UTF-8 JSON of a JSON-like value (dict, list, str, int, float, bool, None).

    Integers beyond ±(2^53 - 1) are taken as the double a JSON parser reads them as, as JCS prescribes.

    Raises:
        ValueError: the value holds something JCS cannot represent (a non-finite float, a lone surrogate,
            a non-string member name).
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError:
        # Rare (only unknown members can hold such numbers): walk the value once more only when it happens.
        try:
            return rfc8785.dumps(_unsafe_integers_as_doubles(value))
        except OverflowError:
            raise ValueError("a number is beyond the range of a JSON (IEEE 754 double) number") from None


def _unsafe_integers_as_doubles(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value) if abs(value) > _SAFE_INTEGER else value
    if isinstance(value, dict):
        return {key: _unsafe_integers_as_doubles(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_unsafe_integers_as_doubles(item) for item in value]
    return value


def canonical_digest(value: Any) -> str:
    """Return the lower-case hex SHA-256 of :func:`canonical_json` of a JSON-like value.

    This is how the contract hashes JSON everywhere (a chunk's records and logs, a JSON listing snapshot).

    Raises:
        ValueError: the value holds something JCS cannot represent (see :func:`canonical_json`).
    """
    return hashlib.sha256(canonical_json(value)).hexdigest()


def chunk_digest(records: Sequence[TransactionRecord], logs: Sequence[LogEntry]) -> str:
    """Return the ``chunk_sha256`` of a chunk holding ``records`` and ``logs``, as :func:`encode_message` sends them.

    The encoder writes every field (``null`` for an absent optional one) and timestamps in msgspec's RFC 3339
    form, and so does this: a digest over the structs is the digest of the JSON sent.
    """
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
