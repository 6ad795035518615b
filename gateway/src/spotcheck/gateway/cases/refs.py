"""Turning stored rows into the wire contract's reference structs."""

from __future__ import annotations

from spotcheck.gateway.store.models import Authority, Case, Manufacturer, Merchant, Platform
from spotcheck.schemas import AuthorityRef, ManufacturerRef, MerchantRef, PlatformRef, ProductRef

__all__ = ["authority_ref", "manufacturer_ref", "merchant_ref", "platform_ref", "product_ref"]


def authority_ref(authority: Authority) -> AuthorityRef:
    """The issuing or receiving authority."""
    return AuthorityRef(code=authority.division_code, name=authority.name, level=authority.level)  # type: ignore[arg-type]


def platform_ref(platform: Platform) -> PlatformRef:
    """The platform operator."""
    return PlatformRef(platform_id=platform.id, name=platform.name, uscc=platform.uscc)


def merchant_ref(merchant: Merchant) -> MerchantRef:
    """The merchant as far as it is known (contacts may be unknown)."""
    return MerchantRef(
        shop_id=merchant.shop_id,
        shop_name=merchant.shop_name,
        kind=merchant.kind,  # type: ignore[arg-type]
        legal_name=merchant.legal_name,
        uscc=merchant.uscc,
        registration_division=merchant.registration_division,
        address=merchant.address,
        contact=merchant.contact_email or merchant.contact_phone,
    )


def manufacturer_ref(manufacturer: Manufacturer) -> ManufacturerRef:
    """The labelled manufacturer."""
    return ManufacturerRef(
        name=manufacturer.name,
        address=manufacturer.address,
        uscc=manufacturer.uscc,
        division=manufacturer.division_code,
    )


def product_ref(case: Case) -> ProductRef:
    """The sampled product as recorded on the case."""
    return ProductRef(
        sample_name=case.sample_name,
        trademark=case.trademark,
        spec_model=case.spec_model,
        production_date=case.production_date,
        batch_no=case.batch_no,
        listing_id=case.listing_id,
        listing_url=case.listing_url,
    )
