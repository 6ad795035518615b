"""Signed checkpoints of a gateway's audit chain: the signed form, and how a platform checks one.

A gateway signs the head of its hash-chained audit trail from time to time: *record ``seq`` has hash
``head_hash``; the chain then held ``count`` records; at ``at``*. Checkpoints are served at
``GET /public/audit/checkpoints`` and the gateway's key at ``GET /public/audit/key``. A platform that pins the key
once and keeps the checkpoints it fetches can later prove what the regulator had recorded when it was told.

What is signed (for implementations in any language): the UTF-8 bytes of the JSON object below, keys sorted, no
whitespace, ASCII only::

    {"at":"2026-03-02T08:15:00.123456Z","count":1234,"head_hash":"<64 hex>","seq":1240,
     "type":"spotcheck.audit.checkpoint.v1"}

``at`` is UTC with microseconds and a ``Z``; ``count`` and ``seq`` are integers (they differ when a database
sequence skipped values). The signature is standard base64 of the 64-byte Ed25519 signature; the public key is
``whpk_`` + base64 of its 32 raw bytes, the Standard Webhooks form.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["CHECKPOINT_TYPE", "canonical_checkpoint", "verify_checkpoint"]

CHECKPOINT_TYPE: Final = "spotcheck.audit.checkpoint.v1"
"""The ``type`` inside every signed checkpoint, so the signature cannot be replayed as anything else."""

_PUBLIC_PREFIX: Final = "whpk_"
_HASH_CHARS: Final = 64
_HEX: Final = frozenset("0123456789abcdef")


def canonical_checkpoint(*, seq: int, head_hash: str, count: int, at: str) -> bytes:
    """The exact bytes a checkpoint's signature covers (see the module documentation)."""
    body = {"at": at, "count": count, "head_hash": head_hash, "seq": seq, "type": CHECKPOINT_TYPE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def verify_checkpoint(checkpoint: Mapping[str, Any], public_key: str) -> bool:
    """Whether ``checkpoint`` (as served at ``/public/audit/checkpoints``) was signed by ``public_key``.

    Pin ``public_key`` (``whpk_…``, from ``/public/audit/key``) once, and keep the checkpoints you fetch: a later
    checkpoint of the same gateway must then extend, never contradict, what you kept. Any malformed field makes
    the answer False; this never raises for bad input.

    Args:
        checkpoint: a mapping with ``seq``, ``head_hash``, ``count``, ``at`` and ``signature``.
        public_key: the gateway's ``whpk_`` public key.
    """
    try:
        seq, count = checkpoint["seq"], checkpoint["count"]
        head_hash, at, signature = checkpoint["head_hash"], checkpoint["at"], checkpoint["signature"]
        if not (_is_int(seq) and _is_int(count) and isinstance(at, str) and isinstance(signature, str)):
            return False
        if not (isinstance(head_hash, str) and len(head_hash) == _HASH_CHARS and set(head_hash) <= _HEX):
            return False
        if not (isinstance(public_key, str) and public_key.startswith(_PUBLIC_PREFIX)):
            return False
        key = Ed25519PublicKey.from_public_bytes(_b64decode(public_key[len(_PUBLIC_PREFIX) :]))
        key.verify(_b64decode(signature), canonical_checkpoint(seq=seq, head_hash=head_hash, count=count, at=at))
    except (KeyError, TypeError, ValueError, binascii.Error, InvalidSignature):
        return False
    return True


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
