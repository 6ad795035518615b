"""Which authority organises the sampling of a merchant's goods (the opinion 二)."""

from __future__ import annotations

from spotcheck.gateway.access import Principal
from spotcheck.gateway.store.models import Merchant, Platform
from spotcheck.gateway.web.problems import field_error

__all__ = ["jurisdiction_for"]

_REGISTRATION = "二: 本辖区内依法登记的网络商品经营者 (province of registration)"
_PLATFORM_PROVINCE = "二: 第三方交易平台经营者所在地省级部门根据需要抽检平台内商品 (platform province)"


def jurisdiction_for(merchant: Merchant, platform: Platform | None, principal: Principal) -> tuple[str, str]:
    """The province whose authority organises sampling of this merchant's goods, and the basis in the opinion (二).

    Registered merchants fall to the province of registration; natural persons selling on a platform and the
    platform's own goods fall to the province where the platform operator is located, which may also sample
    any other goods traded on its platform. A natural person without a platform answers 409.
    """
    platform_province = platform.province_code[:2] + "0000" if platform is not None else None
    if merchant.kind == "registered_entity" and merchant.registration_division:
        home = merchant.registration_division[:2] + "0000"
        if principal.can_act_in(merchant.registration_division) or platform_province is None:
            return home, _REGISTRATION
        if principal.can_act_in(platform_province):
            return platform_province, _PLATFORM_PROVINCE
        return home, _REGISTRATION
    if platform_province is None:
        raise field_error(409, "merchant_id", "a natural-person merchant must sell through a registered platform")
    kind = (
        "第三方交易平台经营者自营商品"
        if merchant.kind == "platform_self_operated"
        else "自然人通过第三方交易平台经营的商品"
    )
    return platform_province, f"二: {kind} (platform province)"
