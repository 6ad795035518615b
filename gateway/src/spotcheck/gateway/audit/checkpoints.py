"""Signed checkpoints of the audit chain, and how anyone can check them.

The audit trail (:mod:`spotcheck.gateway.audit.chain`) is a hash chain: editing a record breaks every link after it.
A chain rewritten from the edit onwards would still link up, so the gateway periodically signs its head: a
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.chain import GENESIS, ChainBreak, append_audit, record_hash, verify_chain
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_public import Checkpoint
from spotcheck.gateway.store.types import utcnow
from spotcheck.sdk import canonical_checkpoint, verify_checkpoint
from spotcheck.sdk._checkpoints import CHECKPOINT_TYPE  # the wire constant lives with the code that verifies it

__all__ = [
    "CHECKPOINT_TYPE",
    "SIGNING_KEY_FILE",
    "AuditReport",
    "ChainBrokenError",
    "GatewaySigningKey",
    "audit_report",
    "canonical_checkpoint",
    "checkpoint_document",
    "checkpoint_if_due",
    "format_checkpoint_time",
    "signing_key_for",
    "take_checkpoint",
    "verify_audit",
    "verify_checkpoint",
    "write_checkpoint",
]


SIGNING_KEY_FILE: Final = "gateway-signing.key"
"""File name, inside ``data_dir``, of the gateway's Ed25519 signing key when it is not given by environment."""

_SECRET_PREFIX: Final = "whsk_"  # noqa: S105 - a prefix, not a credential
_PUBLIC_PREFIX: Final = "whpk_"
_SEED_BYTES: Final = 32
_BATCH: Final = 1000


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


class ChainBrokenError(Exception):
    """A checkpoint was refused because the chain it would vouch for does not hold."""

    def __init__(self, broken: ChainBreak) -> None:
        super().__init__(f"audit chain broken at seq {broken.seq}: {broken.reason}")
        self.broken = broken


async def _walk(session: AsyncSession, after_seq: int, prev_hash: str) -> tuple[int, str, ChainBreak | None]:
    """Check every record after ``after_seq``; returns (last good seq, its hash, first break or None)."""
    last_seq = after_seq
    while True:
        rows = (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.seq > last_seq).order_by(AuditRecord.seq).limit(_BATCH)
            )
        ).all()
        if not rows:
            return last_seq, prev_hash, None
        for row in rows:
            if row.prev_hash != prev_hash:
                return last_seq, prev_hash, ChainBreak(row.seq, "link to the previous record does not match")
            if record_hash(row.prev_hash, row.at, row.actor, row.action, row.subject, row.detail) != row.hash:
                return last_seq, prev_hash, ChainBreak(row.seq, "content does not match its hash (record altered)")
            last_seq, prev_hash = row.seq, row.hash


async def _anchor(session: AsyncSession, last: Checkpoint | None) -> tuple[int, str]:
    """Where to resume checking: the previous checkpoint's head, once it is shown to be unchanged."""
    if last is None or last.seq == 0:
        return 0, GENESIS
    record = await session.get(AuditRecord, last.seq)
    if record is None:
        raise ChainBrokenError(ChainBreak(last.seq, f"record vouched for by checkpoint {last.id} is gone"))
    recomputed = record_hash(record.prev_hash, record.at, record.actor, record.action, record.subject, record.detail)
    if record.hash != last.head_hash or recomputed != record.hash:
        raise ChainBrokenError(ChainBreak(last.seq, f"record no longer matches checkpoint {last.id}"))
    return last.seq, last.head_hash


async def take_checkpoint(session: AsyncSession, key: GatewaySigningKey, *, actor: str) -> Checkpoint:
    """Check the chain since the last checkpoint, sign its head, store and audit the checkpoint.

    Runs in the caller's transaction (commit it). Records appended meanwhile are simply after this checkpoint.

    Raises:
        ChainBrokenError: the chain does not hold; nothing is signed.
    """
    last = await session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))
    start_seq, start_hash = await _anchor(session, last)
    head_seq, head_hash, broken = await _walk(session, start_seq, start_hash)
    if broken is not None:
        raise ChainBrokenError(broken)
    count = int(await session.scalar(select(func.count()).where(AuditRecord.seq <= head_seq)) or 0)
    at = utcnow()
    payload = canonical_checkpoint(seq=head_seq, head_hash=head_hash, count=count, at=format_checkpoint_time(at))
    row = Checkpoint(
        seq=head_seq,
        head_hash=head_hash,
        record_count=count,
        at=at,
        public_key=key.public_key,
        signature=key.sign(payload),
    )
    session.add(row)
    await session.flush()
    await append_audit(
        session,
        actor=actor,
        action="audit.checkpoint",
        subject=f"checkpoint:{row.id}",
        detail={"seq": head_seq, "head_hash": head_hash, "count": count, "key": key.fingerprint},
    )
    return row


async def checkpoint_if_due(
    session: AsyncSession, key: GatewaySigningKey, *, interval_s: int, actor: str = "gateway"
) -> Checkpoint | None:
    """Take a checkpoint when the last is older than ``interval_s`` and the chain grew since; else None.

    Meant for a periodic task (the delivery worker): ``interval_s`` 0 means never.

    Raises:
        ChainBrokenError: a checkpoint was due but the chain does not hold.
    """
    if interval_s <= 0:
        return None
    last = await session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))
    head = int(await session.scalar(select(func.max(AuditRecord.seq))) or 0)
    if last is not None:
        # The newest record past the checkpoint's head is the checkpoint's own audit record.
        if head <= last.seq + 1 or utcnow() - last.at < timedelta(seconds=interval_s):
            return None
    elif head == 0:
        return None
    return await take_checkpoint(session, key, actor=actor)


@dataclass
class AuditReport:
    """What a full audit check found: records verified, the first break, and checkpoints that do not hold."""

    records: int
    broken: ChainBreak | None
    checkpoints: int
    checkpoint_failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the chain holds and every checkpoint verifies against it."""
        return self.broken is None and not self.checkpoint_failures

    def describe(self) -> str:
        """One line per finding, for the ``spotcheck audit verify`` command."""
        lines: list[str] = []
        if self.broken is not None:
            lines.append(
                f"audit chain BROKEN at seq {self.broken.seq}: {self.broken.reason} "
                f"({self.records} records verified before it)"
            )
        lines.extend(self.checkpoint_failures)
        if not lines:
            lines.append(
                f"audit chain intact: {self.records} records verified; {self.checkpoints} signed checkpoints verified"
            )
        return "\n".join(lines)


async def audit_report(session: AsyncSession, key: GatewaySigningKey) -> AuditReport:
    """Walk the whole chain, then check each checkpoint's signature and that the chain still has its head."""
    records, broken = await verify_chain(session)
    rows = (await session.scalars(select(Checkpoint).order_by(Checkpoint.id))).all()
    failures: list[str] = []
    for row in rows:
        name = f"checkpoint {row.id} (seq {row.seq})"
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
    return AuditReport(records=records, broken=broken, checkpoints=len(rows), checkpoint_failures=failures)


async def verify_audit(settings: Settings) -> AuditReport:
    """``spotcheck audit verify``: the full report for the configured database."""
    runtime = Runtime(settings)
    try:
        await runtime.start()
        async with runtime.sessions() as session:
            return await audit_report(session, signing_key_for(settings))
    finally:
        await runtime.stop()


async def write_checkpoint(settings: Settings, *, actor: str = "cli") -> dict[str, Any]:
    """``spotcheck audit checkpoint``: take, store and return one checkpoint.

    Raises:
        ChainBrokenError: the chain does not hold; nothing is signed.
    """
    runtime = Runtime(settings)
    try:
        await runtime.start()
        async with runtime.sessions() as session, session.begin():
            row = await take_checkpoint(session, signing_key_for(settings), actor=actor)
            return checkpoint_document(row)
    finally:
        await runtime.stop()
