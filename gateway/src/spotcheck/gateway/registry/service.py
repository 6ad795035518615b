"""The registry's commands and queries: who takes part in sampling, and how the gateway reaches them.

:class:`RegistryService` registers authorities and the entrustments between them (jurisdiction, the opinion's
二), sampled merchants and labelled manufacturers; :class:`PlatformService` registers platform operators with
their delivery adapter and keys, and rotates the keys. Each command checks the principal's scope and area,
validates against what is already registered, writes its rows with their audit record and commits; each
refusal is a :class:`~spotcheck.gateway.web.problems.ProblemError` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.adapters import (
    AdapterConfigError,
    AdapterNotFoundError,
    UnsafeEndpointError,
    check_endpoint_url,
    load_adapter,
)
from spotcheck.gateway.access import Principal, covers, create_token, level_of_code
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.delivery.service import seal_adapter_config
from spotcheck.gateway.registry.keys import end_older_keys, platform_key
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.sanctions.service import penalties_of_merchant
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import Authority, Entrustment, Manufacturer, Merchant, Platform
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.sdk import generate_secret

__all__ = [
    "KeyDirection",
    "PlatformService",
    "RegisteredPlatform",
    "RegistryService",
    "RotatedKey",
    "create_token_for_authority",
]

KeyDirection = Literal["inbound", "outbound"]
"""Which way a platform key works: ``inbound`` verifies the platform's replies, ``outbound`` signs notices to it."""

_DIVISION_CODE_LENGTH = 6


@dataclass(frozen=True)
class RegisteredPlatform:
    """A platform just registered, with the secret its notices are signed with (shown this once, never again)."""

    platform: Platform
    outbound_signing_secret: str
    inbound_key_ids: list[str]


@dataclass(frozen=True)
class RotatedKey:
    """A key added by rotation; older keys of its direction stop at ``old_keys_valid_until``.

    ``outbound_signing_secret`` is the gateway's new signing secret (an outbound rotation only, shown once).
    """

    key_id: str
    old_keys_valid_until: datetime
    outbound_signing_secret: str | None


class _Registrar:
    """What both registry services hold: one regulator's session, and how they audit in it."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.runtime = runtime

    async def _audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        await append_audit(self.session, actor=self.principal.actor, action=action, subject=subject, detail=detail)


class RegistryService(_Registrar):
    """Registers and lists authorities, entrustments, merchants and manufacturers for one regulator."""

    async def create_authority(
        self,
        *,
        name: str,
        division_code: str,
        level: str | None = None,
        parent_id: str | None = None,
        contact_email: str | None = None,
    ) -> Authority:
        """Register an authority inside the principal's own area (admin); its parent defaults to the principal's.

        Raises:
            ProblemError: 422 when ``level`` is not the one the division code denotes, 403 outside the area, 409 when
                the division already has an authority, 404 unknown parent.
        """
        self.principal.require_scope("admin")
        if not self.principal.can_act_in(division_code):
            raise field_error(403, "division_code", "outside this authority's area", code="outside-jurisdiction")
        expected = level_of_code(division_code)
        if level is not None and level != expected:
            # The level decides the area an authority covers: a "national" one at a district's code would see and
            # act on every province's cases, so the code alone says which it is.
            reason = f"行政区划代码 {division_code} 对应 {expected} 级 (the code denotes a {expected} authority)"
            raise field_error(422, "level", reason)
        if await self.session.scalar(select(Authority.id).where(Authority.division_code == division_code)):
            raise field_error(
                409, "division_code", "an authority with this code is already registered", code="conflict"
            )
        if parent_id is not None and await self.session.get(Authority, parent_id) is None:
            raise field_error(404, "parent_id", "no such authority", code="not-found")
        row = Authority(
            id=new_id("auth"),
            name=name,
            level=expected,
            division_code=division_code,
            parent_id=parent_id or self.principal.authority_id,
            contact_email=contact_email,
        )
        self.session.add(row)
        await self._audit("authority.created", row.id, {"division_code": row.division_code})
        await self.session.commit()
        return row

    async def list_authorities(self) -> Sequence[Authority]:
        """Every registered authority by division code (names and codes are public information)."""
        return (await self.session.scalars(select(Authority).order_by(Authority.division_code))).all()

    async def create_entrustment(self, *, agent_authority_id: str, division_code: str, note: str | None) -> Entrustment:
        """Entrust a lower authority with sampling in ``division_code`` (admin), inside the principal's own area.

        Raises:
            ProblemError: 404 unknown agent, 403 when the principal does not itself cover the division.
        """
        self.principal.require_scope("admin")
        agent = await self.session.get(Authority, agent_authority_id)
        if agent is None:
            raise field_error(404, "agent_authority_id", "no such authority", code="not-found")
        if not covers(self.principal.division_code, self.principal.level, division_code):
            raise field_error(
                403, "division_code", "only an area this authority covers can be entrusted", code="outside-jurisdiction"
            )
        row = Entrustment(
            id=new_id("ent"),
            principal_id=self.principal.authority_id,
            agent_id=agent.id,
            division_code=division_code,
            note=note,
        )
        self.session.add(row)
        await self._audit("entrustment.created", row.id, {"agent": agent.id, "division_code": division_code})
        await self.session.commit()
        return row

    # ---- merchants and manufacturers --------------------------------------------------------------------------

    async def register_merchant(
        self,
        *,
        shop_id: str,
        shop_name: str,
        kind: str,
        platform_id: str | None = None,
        legal_name: str | None = None,
        uscc: str | None = None,
        registration_division: str | None = None,
        address: str | None = None,
        contact_email: str | None = None,
        contact_phone: str | None = None,
        website: str | None = None,
        icp_filing: str | None = None,
    ) -> Merchant:
        """Register a sampled merchant (write): a shop on a registered platform, or an independent website.

        Raises:
            ProblemError: 404 unknown platform, 409 when the shop is already registered on that platform.
        """
        self.principal.require_scope("write")
        if platform_id is not None and await self.session.get(Platform, platform_id) is None:
            raise field_error(404, "platform_id", "no such platform", code="not-found")
        if platform_id is not None and await self.session.scalar(
            select(Merchant.id).where(Merchant.platform_id == platform_id, Merchant.shop_id == shop_id)
        ):
            raise field_error(409, "shop_id", "this shop is already registered on the platform", code="conflict")
        row = Merchant(
            id=new_id("mer"),
            platform_id=platform_id,
            shop_id=shop_id,
            shop_name=shop_name,
            kind=kind,
            legal_name=legal_name,
            uscc=uscc,
            registration_division=registration_division,
            address=address,
            contact_email=contact_email,
            contact_phone=contact_phone,
            website=website,
            icp_filing=icp_filing,
        )
        self.session.add(row)
        await self._audit("merchant.registered", row.id)
        await self.session.commit()
        return row

    async def mark_unreachable(self, merchant_id: str) -> Merchant:
        """Record that a merchant cannot be contacted (write), which allows a takedown order (四(二)).

        The principal must cover the merchant's registration division or its platform's province. Marking an
        unreachable merchant again keeps the first moment.

        Raises:
            ProblemError: 404 unknown merchant, 403 outside the principal's jurisdiction.
        """
        self.principal.require_scope("write")
        row = await self.session.get(Merchant, merchant_id)
        if row is None:
            raise ProblemError(404, "not-found", f"no such merchant: {merchant_id}")
        platform = await self.session.get(Platform, row.platform_id) if row.platform_id else None
        areas = [code for code in (row.registration_division, platform.province_code if platform else None) if code]
        if not any(self.principal.can_act_in(code) for code in areas):
            raise ProblemError(403, "outside-jurisdiction", f"merchant {merchant_id} is outside this jurisdiction")
        row.unreachable_since = row.unreachable_since or utcnow()
        await self._audit("merchant.unreachable", row.id)
        await self.session.commit()
        return row

    async def merchant_record(self, merchant_id: str) -> tuple[Merchant, list[dict[str, Any]]]:
        """A merchant (read) and the penalty decisions filed under it, newest first, with their public addresses.

        Raises:
            ProblemError: 404 unknown merchant, 403 outside the principal's jurisdiction.
        """
        self.principal.require_scope("read")
        row = await self.session.get(Merchant, merchant_id)
        if row is None:
            raise ProblemError(404, "not-found", f"no such merchant: {merchant_id}")
        platform = await self.session.get(Platform, row.platform_id) if row.platform_id else None
        areas = [code for code in (row.registration_division, platform.province_code if platform else None) if code]
        if not any(self.principal.can_act_in(code) for code in areas):
            raise ProblemError(403, "outside-jurisdiction", f"merchant {merchant_id} is outside this jurisdiction")
        return row, await penalties_of_merchant(self.session, row.id)

    async def register_manufacturer(
        self,
        *,
        name: str,
        uscc: str | None = None,
        address: str | None = None,
        division_code: str | None = None,
        contact_email: str | None = None,
    ) -> Manufacturer:
        """Register a manufacturer as labelled on samples (write)."""
        self.principal.require_scope("write")
        row = Manufacturer(
            id=new_id("mfr"),
            name=name,
            uscc=uscc,
            address=address,
            division_code=division_code,
            contact_email=contact_email,
        )
        self.session.add(row)
        await self._audit("manufacturer.registered", row.id)
        await self.session.commit()
        return row


class PlatformService(_Registrar):
    """Registers platform operators with their delivery adapter, and rotates their keys, for one regulator."""

    async def register_platform(
        self,
        *,
        platform_id: str,
        name: str,
        province_code: str,
        contact: dict[str, Any],
        inbound_keys: Sequence[str],
        uscc: str | None = None,
        adapter: str = "webhook",
        endpoint_url: str | None = None,
        adapter_config: dict[str, Any] | None = None,
    ) -> RegisteredPlatform:
        """Register a platform (admin): its adapter configuration checked, secrets sealed, keys stored.

        The gateway makes the secret it signs the platform's notices with; it is returned here once.

        Raises:
            ProblemError: 409 when the id is taken; 400 naming ``adapter``, ``adapter_config.<field>``,
                ``endpoint_url`` (a private or unresolvable address) or ``inbound_keys[i]``.
        """
        self.principal.require_scope("admin")
        if await self.session.get(Platform, platform_id) is not None:
            raise field_error(409, "id", "a platform with this id is already registered", code="conflict")
        config = dict(adapter_config or {})
        if endpoint_url is not None:
            config["url"] = endpoint_url
        outbound_secret = generate_secret()
        self._check_adapter_config(adapter, config, outbound_secret)
        master_key = self.runtime.master_key
        keys = [
            platform_key(platform_id, "inbound", key, master_key, field=f"inbound_keys[{index}]")
            for index, key in enumerate(inbound_keys)
        ]
        keys.append(platform_key(platform_id, "outbound", outbound_secret, master_key, field="outbound"))
        platform = Platform(
            id=platform_id,
            name=name,
            uscc=uscc,
            province_code=province_code,
            contact=contact,
            adapter=adapter,
            adapter_config=seal_adapter_config(config, master_key, platform_id),
        )
        self.session.add(platform)
        await self.session.flush()  # the keys refer to the platform row
        self.session.add_all(keys)
        await self._audit(
            "platform.registered", platform.id, {"adapter": adapter, "keys": [k.fingerprint for k in keys]}
        )
        await self.session.commit()
        inbound_ids = [k.id for k in keys if k.direction == "inbound"]
        return RegisteredPlatform(
            platform=platform, outbound_signing_secret=outbound_secret, inbound_key_ids=inbound_ids
        )

    def _check_adapter_config(self, adapter: str, config: dict[str, Any], outbound_secret: str) -> None:
        """Refuse an unknown adapter, a configuration it rejects, or an endpoint that reaches a private network."""
        # The webhook adapter signs with the platform's outbound secret, made only now: check it as it will run.
        checked = {**config, "secret": outbound_secret} if adapter == "webhook" else config
        try:
            load_adapter(adapter).validate_config(checked)
        except AdapterNotFoundError as exc:
            raise field_error(400, "adapter", str(exc)) from None
        except AdapterConfigError as exc:
            raise field_error(400, f"adapter_config.{exc.field}", exc.reason) from None
        if "url" not in config:
            return
        allow_private = self.runtime.settings.delivery.allow_private_endpoints
        try:
            check_endpoint_url(str(config["url"]), allow_private=allow_private, resolve=not allow_private)
        except UnsafeEndpointError as exc:
            raise field_error(400, "endpoint_url", str(exc)) from None

    async def list_platforms(self) -> Sequence[Platform]:
        """Every registered platform by id (callers show no key material and no adapter configuration)."""
        return (await self.session.scalars(select(Platform).order_by(Platform.id))).all()

    async def rotate_key(
        self, platform_id: str, *, direction: KeyDirection, key: str | None, overlap_hours: int
    ) -> RotatedKey:
        """Add a platform key (admin); older keys of that direction stay valid for ``overlap_hours``, then stop.

        ``inbound`` takes the platform's new key; ``outbound`` makes the gateway a new signing secret. This
        process drops its cached verifier at once; other replicas read the new keys within seconds.

        Raises:
            ProblemError: 404 unknown platform; 400 ``key`` missing for an inbound rotation or not a usable key.
        """
        self.principal.require_scope("admin")
        if await self.session.get(Platform, platform_id) is None:
            raise ProblemError(404, "not-found", f"no such platform: {platform_id}")
        if direction == "inbound" and not key:
            raise field_error(400, "key", "the platform's new public key or secret is required for inbound")
        material = key if direction == "inbound" and key else generate_secret()
        row = platform_key(platform_id, direction, material, self.runtime.master_key, field="key")
        until = utcnow() + timedelta(hours=overlap_hours)
        await end_older_keys(self.session, platform_id, direction, until)
        self.session.add(row)  # only now: the new key must not be among those given an end
        await self._audit(
            "platform.key_rotated",
            platform_id,
            {"direction": direction, "fingerprint": row.fingerprint, "old_valid_until": until.isoformat()},
        )
        await self.session.commit()
        if direction == "inbound":
            self.runtime.forget_inbound_keys(platform_id)
        return RotatedKey(
            key_id=row.id,
            old_keys_valid_until=until,
            outbound_signing_secret=material if direction == "outbound" else None,
        )


async def create_token_for_authority(
    settings: Settings,
    *,
    authority_code: str,
    authority_name: str | None,
    level: str | None,
    scopes: list[str],
    label: str,
) -> tuple[str, str]:
    """``spotcheck tokens create``: a token for the authority of ``authority_code``, made first when it is new.

    Returns the token (to show once; only its hash is stored) and the authority's id.

    Raises:
        ValueError: a malformed code, a new authority without a name, or an unknown scope (the message names
            the command-line option).
    """
    if not (authority_code.isdigit() and len(authority_code) == _DIVISION_CODE_LENGTH):
        raise ValueError("authority-code: expected a 6-digit administrative division code")
    runtime = Runtime(settings)
    try:
        await runtime.start()
        async with runtime.sessions() as session, session.begin():
            authority = await session.scalar(select(Authority).where(Authority.division_code == authority_code))
            if authority is None:
                if not authority_name:
                    raise ValueError(f"authority-name: no authority with code {authority_code} yet; give its name")
                expected = level_of_code(authority_code)
                if level is not None and level != expected:
                    raise ValueError(f"level: the code {authority_code} denotes a {expected} authority, not {level}")
                authority = Authority(
                    id=new_id("auth"),
                    name=authority_name,
                    level=expected,
                    division_code=authority_code,
                )
                session.add(authority)
                await session.flush()
            token, row = create_token(authority.id, scopes, label)
            session.add(row)
            await append_audit(session, actor="cli", action="token.created", subject=row.id, detail={"label": label})
            return token, authority.id
    finally:
        await runtime.stop()
