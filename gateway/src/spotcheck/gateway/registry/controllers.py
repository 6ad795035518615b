"""Registry endpoints: authorities, entrustments, platforms and their keys, merchants, manufacturers."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from spotcheck.adapters import (
    AdapterConfigError,
    AdapterNotFoundError,
    UnsafeEndpointError,
    check_endpoint_url,
    load_adapter,
)
from spotcheck.gateway.access import covers, level_of_code
from spotcheck.gateway.audit.chain import append_audit
from spotcheck.gateway.delivery.routing import seal_adapter_config
from spotcheck.gateway.registry.schemas import (
    AuthorityCreate,
    AuthorityView,
    EntrustmentCreate,
    ManufacturerCreate,
    MerchantCreate,
    PlatformCreate,
    PlatformCreated,
    PlatformKeyRotate,
)
from spotcheck.gateway.store.models import Authority, Entrustment, Manufacturer, Merchant, Platform, PlatformKey
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.deps import (
    CurrentPrincipal,
    RuntimeDep,
    Session,
    provide_principal,
    provide_runtime,
)
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.sdk import Webhook, generate_secret

__all__ = ["RegistryController"]

_DEPS = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}


def _fingerprint(material: str) -> str:
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _key_row(platform_id: FromPath[str], direction: str, material: str, runtime: RuntimeDep, field: str) -> PlatformKey:
    """A stored key: public keys in clear, shared secrets encrypted under the master key."""
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
            fingerprint=_fingerprint(material),
        )
    if material.startswith("whsec_"):
        return PlatformKey(
            id=key_id,
            platform_id=platform_id,
            direction=direction,
            kind="whsec",
            secret_ciphertext=runtime.master_key.encrypt(material, context=key_id),
            fingerprint=_fingerprint(material),
        )
    raise field_error(400, field, "expected a whpk_ public key or a whsec_ secret (never send a whsk_ secret key)")


class RegistryController(Controller):
    """Who takes part: authorities, platforms, merchants and manufacturers."""

    path = "/v1"
    tags = ["registry"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = _DEPS
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post("/authorities", summary="Register an authority (admin)")
    async def create_authority(
        self, data: JSONBody[AuthorityCreate], session: Session, principal: CurrentPrincipal
    ) -> AuthorityView:
        """Register an authority inside the caller's own area."""
        principal.require_scope("admin")
        if not principal.can_act_in(data.division_code):
            raise field_error(403, "division_code", "outside this authority's area", code="outside-jurisdiction")
        if await session.scalar(select(Authority.id).where(Authority.division_code == data.division_code)):
            raise field_error(
                409, "division_code", "an authority with this code is already registered", code="conflict"
            )
        if data.parent_id is not None and await session.get(Authority, data.parent_id) is None:
            raise field_error(404, "parent_id", "no such authority", code="not-found")
        row = Authority(
            id=new_id("auth"),
            name=data.name,
            level=data.level or level_of_code(data.division_code),
            division_code=data.division_code,
            parent_id=data.parent_id or principal.authority_id,
            contact_email=data.contact_email,
        )
        session.add(row)
        await append_audit(
            session,
            actor=principal.actor,
            action="authority.created",
            subject=row.id,
            detail={"division_code": row.division_code},
        )
        await session.commit()
        return AuthorityView(
            id=row.id, name=row.name, level=row.level, division_code=row.division_code, parent_id=row.parent_id
        )

    @get("/authorities", summary="List authorities")
    async def list_authorities(self, session: Session, principal: CurrentPrincipal) -> list[AuthorityView]:
        """Every registered authority (names and codes are public information)."""
        rows = await session.scalars(select(Authority).order_by(Authority.division_code))
        return [
            AuthorityView(id=r.id, name=r.name, level=r.level, division_code=r.division_code, parent_id=r.parent_id)
            for r in rows
        ]

    @post("/entrustments", summary="Entrust a lower authority with sampling in an area")
    async def create_entrustment(
        self, data: JSONBody[EntrustmentCreate], session: Session, principal: CurrentPrincipal
    ) -> dict[str, str]:
        """A higher authority entrusts a lower one (seed 二): only inside the principal's own area."""
        principal.require_scope("admin")
        agent = await session.get(Authority, data.agent_authority_id)
        if agent is None:
            raise field_error(404, "agent_authority_id", "no such authority", code="not-found")
        if not covers(principal.division_code, principal.level, data.division_code):
            raise field_error(
                403, "division_code", "only an area this authority covers can be entrusted", code="outside-jurisdiction"
            )
        row = Entrustment(
            id=new_id("ent"),
            principal_id=principal.authority_id,
            agent_id=agent.id,
            division_code=data.division_code,
            note=data.note,
        )
        session.add(row)
        await append_audit(
            session,
            actor=principal.actor,
            action="entrustment.created",
            subject=row.id,
            detail={"agent": agent.id, "division_code": data.division_code},
        )
        await session.commit()
        return {"id": row.id}

    @post("/platforms", summary="Register a platform operator and its endpoint")
    async def create_platform(
        self, data: JSONBody[PlatformCreate], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> PlatformCreated:
        """Register a platform; the answer carries, once, the secret its notices are signed with."""
        principal.require_scope("admin")
        if await session.get(Platform, data.id) is not None:
            raise field_error(409, "id", "a platform with this id is already registered", code="conflict")
        config: dict[str, Any] = dict(data.adapter_config)
        if data.endpoint_url is not None:
            config["url"] = data.endpoint_url
        outbound_secret = generate_secret()
        config_for_check = {**config, "secret": outbound_secret} if data.adapter == "webhook" else config
        try:
            adapter_cls = load_adapter(data.adapter)
            adapter_cls.validate_config(config_for_check)
        except AdapterNotFoundError as exc:
            raise field_error(400, "adapter", str(exc)) from None
        except AdapterConfigError as exc:
            raise field_error(400, f"adapter_config.{exc.field}", exc.reason) from None
        if "url" in config:
            try:
                check_endpoint_url(
                    str(config["url"]),
                    allow_private=runtime.settings.allow_private_endpoints,
                    resolve=not runtime.settings.allow_private_endpoints,
                )
            except UnsafeEndpointError as exc:
                raise field_error(400, "endpoint_url", str(exc)) from None
        config = seal_adapter_config(config, runtime.master_key, data.id)
        platform = Platform(
            id=data.id,
            name=data.name,
            uscc=data.uscc,
            province_code=data.province_code,
            contact=msgspec.to_builtins(data.contact),
            adapter=data.adapter,
            adapter_config=config,
        )
        session.add(platform)
        await session.flush()
        keys = [
            _key_row(platform.id, "inbound", k, runtime, f"inbound_keys[{i}]") for i, k in enumerate(data.inbound_keys)
        ]
        keys.append(_key_row(platform.id, "outbound", outbound_secret, runtime, "outbound"))
        session.add_all(keys)
        await append_audit(
            session,
            actor=principal.actor,
            action="platform.registered",
            subject=platform.id,
            detail={"adapter": data.adapter, "keys": [k.fingerprint for k in keys]},
        )
        await session.commit()
        return PlatformCreated(
            id=platform.id,
            name=platform.name,
            province_code=platform.province_code,
            adapter=platform.adapter,
            outbound_signing_secret=outbound_secret,
            inbound_key_ids=[k.id for k in keys if k.direction == "inbound"],
        )

    @get("/platforms", summary="List platforms")
    async def list_platforms(self, session: Session, principal: CurrentPrincipal) -> list[dict[str, Any]]:
        """Registered platforms, without any key material."""
        rows = await session.scalars(select(Platform).order_by(Platform.id))
        return [
            {
                "id": p.id,
                "name": p.name,
                "province_code": p.province_code,
                "adapter": p.adapter,
                "disabled_at": p.disabled_at,
            }
            for p in rows
        ]

    @post("/platforms/{platform_id:str}/keys", summary="Rotate a platform key with an overlap window")
    async def rotate_key(
        self,
        platform_id: FromPath[str],
        data: JSONBody[PlatformKeyRotate],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> dict[str, Any]:
        """Add the new key; older keys of that direction stay valid for ``overlap_hours`` and then stop."""
        principal.require_scope("admin")
        platform = await session.get(Platform, platform_id)
        if platform is None:
            raise ProblemError(404, "not-found", f"no such platform: {platform_id}")
        if data.direction == "inbound" and not data.key:
            raise field_error(400, "key", "the platform's new public key or secret is required for inbound")
        material = data.key if data.direction == "inbound" and data.key else generate_secret()
        until = utcnow() + timedelta(hours=data.overlap_hours)
        for old in await session.scalars(
            select(PlatformKey).where(
                PlatformKey.platform_id == platform_id,
                PlatformKey.direction == data.direction,
            )
        ):
            if old.valid_until is None or old.valid_until > until:
                old.valid_until = until
        row = _key_row(platform_id, data.direction, material, runtime, "key")
        session.add(row)
        await append_audit(
            session,
            actor=principal.actor,
            action="platform.key_rotated",
            subject=platform_id,
            detail={"direction": data.direction, "fingerprint": row.fingerprint, "old_valid_until": until.isoformat()},
        )
        await session.commit()
        if data.direction == "inbound":
            runtime.forget_inbound_keys(platform_id)  # this process at once; other replicas within seconds
        answer: dict[str, Any] = {"key_id": row.id, "old_keys_valid_until": until}
        if data.direction == "outbound":
            answer["outbound_signing_secret"] = material
        return answer

    @post("/merchants", summary="Register a sampled merchant")
    async def create_merchant(
        self, data: JSONBody[MerchantCreate], session: Session, principal: CurrentPrincipal
    ) -> dict[str, str]:
        """Register a merchant (a shop on a platform, or an independent website)."""
        principal.require_scope("write")
        if data.platform_id is not None and await session.get(Platform, data.platform_id) is None:
            raise field_error(404, "platform_id", "no such platform", code="not-found")
        if data.platform_id is not None and await session.scalar(
            select(Merchant.id).where(Merchant.platform_id == data.platform_id, Merchant.shop_id == data.shop_id)
        ):
            raise field_error(409, "shop_id", "this shop is already registered on the platform", code="conflict")
        row = Merchant(
            id=new_id("mer"),
            platform_id=data.platform_id,
            shop_id=data.shop_id,
            shop_name=data.shop_name,
            kind=data.kind,
            legal_name=data.legal_name,
            uscc=data.uscc,
            registration_division=data.registration_division,
            address=data.address,
            contact_email=data.contact_email,
            contact_phone=data.contact_phone,
            website=data.website,
            icp_filing=data.icp_filing,
        )
        session.add(row)
        await append_audit(session, actor=principal.actor, action="merchant.registered", subject=row.id)
        await session.commit()
        return {"id": row.id}

    @post("/merchants/{merchant_id:str}/unreachable", summary="Record that a merchant cannot be contacted")
    async def mark_unreachable(
        self, merchant_id: FromPath[str], session: Session, principal: CurrentPrincipal
    ) -> dict[str, Any]:
        """Mark a merchant unreachable (enables a takedown order, 四(二))."""
        principal.require_scope("write")
        row = await session.get(Merchant, merchant_id)
        if row is None:
            raise ProblemError(404, "not-found", f"no such merchant: {merchant_id}")
        platform = await session.get(Platform, row.platform_id) if row.platform_id else None
        areas = [code for code in (row.registration_division, platform.province_code if platform else None) if code]
        if not any(principal.can_act_in(code) for code in areas):
            raise ProblemError(403, "outside-jurisdiction", f"merchant {merchant_id} is outside this jurisdiction")
        row.unreachable_since = row.unreachable_since or utcnow()
        await append_audit(session, actor=principal.actor, action="merchant.unreachable", subject=row.id)
        await session.commit()
        return {"id": row.id, "unreachable_since": row.unreachable_since}

    @post("/manufacturers", summary="Register a labelled manufacturer")
    async def create_manufacturer(
        self, data: JSONBody[ManufacturerCreate], session: Session, principal: CurrentPrincipal
    ) -> dict[str, str]:
        """Register a manufacturer as labelled on samples."""
        principal.require_scope("write")
        row = Manufacturer(
            id=new_id("mfr"),
            name=data.name,
            uscc=data.uscc,
            address=data.address,
            division_code=data.division_code,
            contact_email=data.contact_email,
        )
        session.add(row)
        await append_audit(session, actor=principal.actor, action="manufacturer.registered", subject=row.id)
        await session.commit()
        return {"id": row.id}
