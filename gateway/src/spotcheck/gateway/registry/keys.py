"""A platform's keys at rest: public keys in clear, shared secrets sealed under the master key, and rotation.

Inbound keys verify the replies a platform signs; outbound keys sign the notices the gateway sends it. A key is
never deleted: a rotation gives the older keys of that direction an end (``valid_until``), so whatever was
signed during the overlap still verifies.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import MasterKey
from spotcheck.gateway.store.models import PlatformKey
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.problems import field_error
from spotcheck.sdk import Webhook

__all__ = ["end_older_keys", "fingerprint", "platform_key"]

_FINGERPRINT_HEX = 16


def fingerprint(material: str) -> str:
    """A short, non-secret name of key material (what audit records and logs show instead of the key)."""
    return hashlib.sha256(material.encode()).hexdigest()[:_FINGERPRINT_HEX]


def platform_key(platform_id: str, direction: str, material: str, master_key: MasterKey, *, field: str) -> PlatformKey:
    """The row storing one key: a ``whpk_`` public key in clear, a ``whsec_`` secret encrypted under the master key.

    Raises:
        ProblemError: 400 naming ``field`` when ``material`` is not a usable key, or is a ``whsk_`` secret key
            (which must never leave the platform).
    """
    try:
        Webhook(material)
    except ValueError as exc:
        raise field_error(400, field, str(exc)) from None
    key_id = new_id("key")
    if material.startswith("whpk_"):
        return PlatformKey(
            id=key_id,
            platform_id=platform_id,
            direction=direction,
            kind="whpk",
            public_key=material,
            fingerprint=fingerprint(material),
        )
    if material.startswith("whsec_"):
        return PlatformKey(
            id=key_id,
            platform_id=platform_id,
            direction=direction,
            kind="whsec",
            secret_ciphertext=master_key.encrypt(material, context=key_id),
            fingerprint=fingerprint(material),
        )
    raise field_error(400, field, "expected a whpk_ public key or a whsec_ secret (never send a whsk_ secret key)")


async def end_older_keys(session: AsyncSession, platform_id: str, direction: str, until: datetime) -> None:
    """Let every stored key of the platform's ``direction`` stay valid until ``until`` at the latest."""
    keys = await session.scalars(
        select(PlatformKey).where(PlatformKey.platform_id == platform_id, PlatformKey.direction == direction)
    )
    for key in keys:
        if key.valid_until is None or key.valid_until > until:
            key.valid_until = until
