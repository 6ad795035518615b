"""Registry endpoints: authorities, entrustments, platforms and their keys, merchants, manufacturers."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, JSONBody

from spotcheck.gateway.registry.channels import ChannelService
from spotcheck.gateway.registry.schemas import (
    AuthorityChannelSet,
    AuthorityChannelView,
    AuthorityCreate,
    AuthorityView,
    EntrustmentCreate,
    ManufacturerCreate,
    MerchantCreate,
    PlatformCreate,
    PlatformCreated,
    PlatformKeyRotate,
)
from spotcheck.gateway.registry.service import PlatformService, RegistryService
from spotcheck.gateway.store.models import Authority
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime

__all__ = ["RegistryController"]


def _authority_view(row: Authority) -> AuthorityView:
    return AuthorityView(
        id=row.id, name=row.name, level=row.level, division_code=row.division_code, parent_id=row.parent_id
    )


class RegistryController(Controller):
    """Who takes part: authorities, platforms, merchants and manufacturers."""

    path = "/v1"
    tags = ["registry"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post("/authorities", summary="Register an authority (admin)")
    async def create_authority(
        self, data: JSONBody[AuthorityCreate], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> AuthorityView:
        """Register an authority inside the caller's own area."""
        row = await RegistryService(session, principal, runtime).create_authority(
            name=data.name,
            division_code=data.division_code,
            level=data.level,
            parent_id=data.parent_id,
            contact_email=data.contact_email,
        )
        return _authority_view(row)

    @get("/authorities", summary="List authorities")
    async def list_authorities(
        self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> list[AuthorityView]:
        """Every registered authority (names and codes are public information)."""
        rows = await RegistryService(session, principal, runtime).list_authorities()
        return [_authority_view(row) for row in rows]

    @put("/authorities/{authority_id:str}/channel", summary="Set how an authority is reached (webhook or e-mail)")
    async def set_channel(
        self,
        authority_id: FromPath[str],
        data: JSONBody[AuthorityChannelSet],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> AuthorityChannelView:
        """The channel the hazard 通报 (四(二)) reaches the authority through, and its orders' answer hours."""
        result = await ChannelService(session, principal, runtime).set_channel(
            authority_id,
            webhook_url=data.webhook_url,
            email=data.email,
            order_acknowledge_hours=data.order_acknowledge_hours,
            order_effect_hours=data.order_effect_hours,
        )
        row = result.channel
        return AuthorityChannelView(
            authority_id=row.authority_id,
            webhook_url=row.webhook_url,
            email=row.email,
            order_acknowledge_hours=row.order_acknowledge_hours,
            order_effect_hours=row.order_effect_hours,
            webhook_signing_secret=result.webhook_signing_secret,
        )

    @post("/entrustments", summary="Entrust a lower authority with sampling in an area")
    async def create_entrustment(
        self, data: JSONBody[EntrustmentCreate], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dict[str, str]:
        """A higher authority entrusts a lower one (the opinion's 二): only inside the principal's own area."""
        row = await RegistryService(session, principal, runtime).create_entrustment(
            agent_authority_id=data.agent_authority_id, division_code=data.division_code, note=data.note
        )
        return {"id": row.id}

    @post("/platforms", summary="Register a platform operator and its endpoint")
    async def create_platform(
        self, data: JSONBody[PlatformCreate], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> PlatformCreated:
        """Register a platform; the answer carries, once, the secret its notices are signed with."""
        registered = await PlatformService(session, principal, runtime).register_platform(
            platform_id=data.id,
            name=data.name,
            uscc=data.uscc,
            province_code=data.province_code,
            contact=msgspec.to_builtins(data.contact),
            adapter=data.adapter,
            endpoint_url=data.endpoint_url,
            adapter_config=data.adapter_config,
            inbound_keys=data.inbound_keys,
        )
        platform = registered.platform
        return PlatformCreated(
            id=platform.id,
            name=platform.name,
            province_code=platform.province_code,
            adapter=platform.adapter,
            outbound_signing_secret=registered.outbound_signing_secret,
            inbound_key_ids=registered.inbound_key_ids,
        )

    @get("/platforms", summary="List platforms")
    async def list_platforms(
        self, session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> list[dict[str, Any]]:
        """Registered platforms, without any key material."""
        rows = await PlatformService(session, principal, runtime).list_platforms()
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
        rotated = await PlatformService(session, principal, runtime).rotate_key(
            platform_id, direction=data.direction, key=data.key, overlap_hours=data.overlap_hours
        )
        answer: dict[str, Any] = {"key_id": rotated.key_id, "old_keys_valid_until": rotated.old_keys_valid_until}
        if rotated.outbound_signing_secret is not None:
            answer["outbound_signing_secret"] = rotated.outbound_signing_secret
        return answer

    @post("/merchants", summary="Register a sampled merchant")
    async def create_merchant(
        self, data: JSONBody[MerchantCreate], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dict[str, str]:
        """Register a merchant (a shop on a platform, or an independent website)."""
        row = await RegistryService(session, principal, runtime).register_merchant(
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
        return {"id": row.id}

    @post("/merchants/{merchant_id:str}/unreachable", summary="Record that a merchant cannot be contacted")
    async def mark_unreachable(
        self, merchant_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dict[str, Any]:
        """Mark a merchant unreachable (enables a takedown order, 四(二))."""
        row = await RegistryService(session, principal, runtime).mark_unreachable(merchant_id)
        return {"id": row.id, "unreachable_since": row.unreachable_since}

    @get("/merchants/{merchant_id:str}", summary="A merchant's record, linking its penalty decisions (四(三))")
    async def merchant_record(
        self, merchant_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dict[str, Any]:
        """The merchant as registered and the penalty decisions filed under it, each with its public address."""
        row, penalties = await RegistryService(session, principal, runtime).merchant_record(merchant_id)
        base = runtime.settings.http.public_base_url.rstrip("/")
        return {
            "id": row.id,
            "platform_id": row.platform_id,
            "shop_id": row.shop_id,
            "shop_name": row.shop_name,
            "kind": row.kind,
            "legal_name": row.legal_name,
            "uscc": row.uscc,
            "registration_division": row.registration_division,
            "address": row.address,
            "contact_email": row.contact_email,
            "contact_phone": row.contact_phone,
            "website": row.website,
            "unreachable_since": row.unreachable_since,
            "penalties": [{**penalty, "url": f"{base}{penalty['url']}"} for penalty in penalties],
        }

    @post("/manufacturers", summary="Register a labelled manufacturer")
    async def create_manufacturer(
        self, data: JSONBody[ManufacturerCreate], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> dict[str, str]:
        """Register a manufacturer as labelled on samples."""
        row = await RegistryService(session, principal, runtime).register_manufacturer(
            name=data.name,
            uscc=data.uscc,
            address=data.address,
            division_code=data.division_code,
            contact_email=data.contact_email,
        )
        return {"id": row.id}
