"""Fixtures of the sanctions tests: a bureau with a platform and a hazardous case published and ready to list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Bureau:
    """The Zhejiang bureau's token, its platform, and a second platform registered at the gateway."""

    gw: Any
    token: str
    platform_id: str
    other_platform_id: str


@pytest.fixture
async def bureau(gateway: Any) -> Bureau:
    """The Zhejiang bureau with two registered platforms."""
    token = await gateway.authority("330000", "浙江省市场监督管理局")
    platform = await gateway.register_platform(token, "mall-a")
    other = await gateway.register_platform(token, "mall-b")
    return Bureau(gw=gateway, token=token, platform_id=platform.id, other_platform_id=other.id)
