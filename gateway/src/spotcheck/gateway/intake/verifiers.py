"""Each platform's inbound verifier: the keys its replies are signed with, read once and kept for a moment.

Building Ed25519 and HMAC key objects and reading a platform's keys would cost two queries per reply; the
verifier is kept for up to :data:`INBOUND_KEYS_TTL_S` (never past the moment one of its keys expires). A key
rotation in this process drops it at once (:meth:`~spotcheck.gateway.runtime.Runtime.forget_inbound_keys`); one
in another replica takes effect within that time.
"""

from __future__ import annotations

import time
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Platform, PlatformKey
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.sdk import Webhook

__all__ = ["INBOUND_KEYS_TTL_S", "cached_inbound_verifier", "inbound_verifier"]

INBOUND_KEYS_TTL_S: Final = 2.0
"""Seconds a platform's inbound verifier is reused before its keys are read again."""


def cached_inbound_verifier(runtime: Runtime, platform_id: str) -> Webhook | None:
    """The platform's verifier when this process read its keys less than :data:`INBOUND_KEYS_TTL_S` ago, else None."""
    cached = runtime.inbound_verifiers.get(platform_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    return None


async def inbound_verifier(session: AsyncSession, runtime: Runtime, platform_id: str) -> Webhook:
    """The verifier of the platform's currently valid inbound keys.

    Raises:
        ProblemError: 404 ``unknown-platform``; 401 ``no-keys`` when the platform has no valid inbound key.
    """
    cached = cached_inbound_verifier(runtime, platform_id)
    if cached is not None:
        return cached
    generation = runtime.inbound_generation.get(platform_id, 0)
    if await session.get(Platform, platform_id) is None:
        raise ProblemError(404, "unknown-platform", f"no platform registered as {platform_id!r}")
    now = utcnow()
    keys = (
        await session.scalars(
            select(PlatformKey)
            .where(PlatformKey.platform_id == platform_id, PlatformKey.direction == "inbound")
            .order_by(PlatformKey.created_at)
        )
    ).all()
    usable = [k for k in keys if k.valid_until is None or k.valid_until > now]
    cache_key = (platform_id, tuple(k.id for k in usable))
    webhook = runtime.verifier_cache.get(cache_key)
    if webhook is None:
        material = [
            k.public_key if k.kind == "whpk" else runtime.master_key.decrypt(k.secret_ciphertext or b"", context=k.id)
            for k in usable
        ]
        if not material:
            raise ProblemError(401, "no-keys", f"platform {platform_id} has no valid inbound key")
        webhook = Webhook([m for m in material if m], tolerance=runtime.settings.intake.signature_tolerance_s)
        runtime.verifier_cache[cache_key] = webhook
    ttl = min([INBOUND_KEYS_TTL_S, *((k.valid_until - now).total_seconds() for k in usable if k.valid_until)])
    if runtime.inbound_generation.get(platform_id, 0) == generation:
        # Not when the keys changed while we read them: the read may predate the change.
        runtime.inbound_verifiers[platform_id] = (time.monotonic() + ttl, webhook)
    return webhook
