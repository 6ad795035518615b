"""Set-up the intake's tests share: a case with a notice the gateway sent a platform, ready to be answered."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from spotcheck.gateway.store.models import Case, OutboundMessage
from spotcheck.sdk import new_message_id


async def case_with_notice(
    gw: Any, message_type: str = "records.request", *, platform_id: str = "batch-mall", issued: datetime | None = None
) -> tuple[Any, str, str]:
    """A platform, a case of its merchant, and a ``message_type`` notice sent to it (written into the outbox).

    ``issued`` is the notice's creation time (now when None): a receipt before it is refused (422).
    """
    token = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(token, platform_id)
    merchant = await gw.post(
        "/v1/merchants",
        token,
        {"platform_id": platform.id, "shop_id": "s-1", "shop_name": "店", "kind": "natural_person"},
    )
    product = {"sample_name": "插座", "trademark": "公牛", "spec_model": "GN-1"}
    body = {"merchant_id": merchant["id"], "plan_reference": "计划", "product": product}
    case = await gw.post("/v1/cases", token, body)
    notice_id = new_message_id()
    async with gw.sessions() as session, session.begin():
        opened = await session.get(Case, case["id"])
        assert opened is not None
        notice = OutboundMessage(
            id=notice_id,
            case_id=case["id"],
            **opened.scope(),
            message_type=message_type,
            recipient_kind="platform",
            recipient_id=platform.id,
            recipient_name="测试商城",
            adapter="webhook",
            destination={"platform_id": platform.id},
            body=b"{}",
            timestamp=int(time.time()),
        )
        if issued is not None:
            notice.created_at = issued
        session.add(notice)
    return platform, case["id"], notice_id
