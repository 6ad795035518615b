"""The gateway's signing key, and the signed checkpoints of the hash chain the audit trail was before its log.

Since migration ``0004`` the trail is a Merkle log whose checkpoints are C2SP signed notes
(:mod:`spotcheck.gateway.audit.sequencer`), signed with the key held here. Before, it was a hash chain (editing a
record broke every link after it) whose head the gateway periodically signed; those checkpoints stay served and
verifiable. A
checkpoint says *record ``seq`` has hash ``head_hash``; the chain then held ``count`` records; at ``at``*, signed
with the gateway's Ed25519 key. Checkpoints are served at ``GET /public/audit/checkpoints`` and the key at
``GET /public/audit/key``; a platform or auditor who keeps them can later prove the history it was told about.

The signed form and its check live in the platform SDK (:func:`spotcheck.sdk.canonical_checkpoint`,
:func:`spotcheck.sdk.verify_checkpoint`), where the platforms that keep checkpoints need them; this module
signs, stores and serves them.

The gateway's key is ``SPOTCHECK_GATEWAY_SIGNING_KEY`` (``whsk_…``) or ``<data_dir>/gateway-signing.key``, made
with mode 0600 on first use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_public import Checkpoint
from spotcheck.sdk import canonical_checkpoint, sign_note, verify_checkpoint
from spotcheck.sdk._checkpoints import CHECKPOINT_TYPE  # the wire constant lives with the code that verifies it

__all__ = [
    "CHECKPOINT_TYPE",
    "SIGNING_KEY_FILE",
    "GatewaySigningKey",
    "canonical_checkpoint",
    "chain_checkpoint_failures",
    "checkpoint_document",
    "format_checkpoint_time",
    "signing_key_for",
    "verify_checkpoint",
]


SIGNING_KEY_FILE: Final = "gateway-signing.key"
"""File name, inside ``data_dir``, of the gateway's Ed25519 signing key when it is not given by environment."""

_SECRET_PREFIX: Final = "whsk_"  # noqa: S105 - a prefix, not a credential
_PUBLIC_PREFIX: Final = "whpk_"
_SEED_BYTES: Final = 32


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


class GatewaySigningKey:
    """The gateway's Ed25519 key for audit checkpoints; never shown, only its public half (``whpk_…``)."""

    def __init__(self, secret_key: str) -> None:
        text = secret_key.strip()
        if not text.startswith(_SECRET_PREFIX):
            raise ValueError(f"gateway signing key: expected a {_SECRET_PREFIX} key")
        try:
            raw = _b64decode(text[len(_SECRET_PREFIX) :])
        except (binascii.Error, ValueError):
            raise ValueError("gateway signing key: not valid base64") from None
        if len(raw) not in (_SEED_BYTES, 2 * _SEED_BYTES):
            raise ValueError("gateway signing key: expected a 32-byte Ed25519 seed")
        self._private = Ed25519PrivateKey.from_private_bytes(raw[:_SEED_BYTES])
        public = self._private.public_key().public_bytes_raw()
        if len(raw) == 2 * _SEED_BYTES and raw[_SEED_BYTES:] != public:
            raise ValueError("gateway signing key: its public half does not match its seed")
        self.public_key = _PUBLIC_PREFIX + base64.b64encode(public).decode()
        self.fingerprint = hashlib.sha256(public).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"GatewaySigningKey(public_key={self.public_key!r})"

    @classmethod
    def generate(cls) -> GatewaySigningKey:
        """A new random key (tests, and the first start of a gateway)."""
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        return cls(_SECRET_PREFIX + base64.b64encode(seed).decode())

    @classmethod
    def load(cls, data_dir: Path) -> GatewaySigningKey:
        """From ``SPOTCHECK_GATEWAY_SIGNING_KEY`` or ``<data_dir>/gateway-signing.key`` (created 0600 if absent)."""
        from_env = os.environ.get("SPOTCHECK_GATEWAY_SIGNING_KEY")
        if from_env:
            try:
                return cls(from_env)
            except ValueError as exc:
                raise ValueError(f"SPOTCHECK_GATEWAY_SIGNING_KEY: {exc}") from None
        path = data_dir / SIGNING_KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            seed = Ed25519PrivateKey.generate().private_bytes_raw()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
            except FileExistsError:
                pass  # another process made it first: use theirs
            else:
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(_SECRET_PREFIX + base64.b64encode(seed).decode() + "\n")
        return cls(path.read_text(encoding="ascii"))

    def sign(self, payload: bytes) -> str:
        """Base64 of the Ed25519 signature over ``payload``."""
        return base64.b64encode(self._private.sign(payload)).decode()

    @property
    def public_bytes(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._private.public_key().public_bytes_raw()

    def sign_note(self, body: str, name: str) -> str:
        """The C2SP signed note of ``body`` by this key under the key name ``name`` (see the SDK's ``sign_note``)."""
        return sign_note(body, name, self._private)


_keys: dict[tuple[Path, str], GatewaySigningKey] = {}


def signing_key_for(settings: Settings) -> GatewaySigningKey:
    """The gateway signing key for these settings, loaded once per data folder and environment value."""
    cache_key = (settings.store.data_dir.resolve(), os.environ.get("SPOTCHECK_GATEWAY_SIGNING_KEY", ""))
    key = _keys.get(cache_key)
    if key is None:
        key = _keys[cache_key] = GatewaySigningKey.load(settings.store.data_dir)
    return key


def format_checkpoint_time(at: datetime) -> str:
    """The signed form of a checkpoint's time: UTC, microseconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def checkpoint_document(row: Checkpoint) -> dict[str, Any]:
    """A checkpoint as published: the signed fields, the signature and the key that made it."""
    return {
        "id": row.id,
        "type": CHECKPOINT_TYPE,
        "seq": row.seq,
        "head_hash": row.head_hash,
        "count": row.record_count,
        "at": format_checkpoint_time(row.at),
        "public_key": row.public_key,
        "signature": row.signature,
    }


async def chain_checkpoint_failures(session: AsyncSession, key: GatewaySigningKey) -> tuple[int, list[str]]:
    """Check each old chain checkpoint's signature and that the chain still has its head.

    Returns (checkpoints checked, one line per checkpoint that does not hold).
    """
    rows = (await session.scalars(select(Checkpoint).order_by(Checkpoint.id))).all()
    failures: list[str] = []
    for row in rows:
        name = f"chain checkpoint {row.id} (seq {row.seq})"
        if row.public_key != key.public_key:
            failures.append(f"{name}: signed by {row.public_key}, not by this gateway's key {key.public_key}")
            continue
        if not verify_checkpoint(checkpoint_document(row), key.public_key):
            failures.append(f"{name}: signature does not verify (checkpoint altered)")
            continue
        if row.seq == 0:
            continue
        record = await session.get(AuditRecord, row.seq)
        if record is None or record.hash != row.head_hash:
            failures.append(f"{name}: the chain no longer has the head it vouched for (history rewritten)")
            continue
        count = int(await session.scalar(select(func.count()).where(AuditRecord.seq <= row.seq)) or 0)
        if count != row.record_count:
            failures.append(f"{name}: {row.record_count} records were vouched for, {count} remain")
    return len(rows), failures
