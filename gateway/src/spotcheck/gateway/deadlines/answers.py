"""Whether a platform's answers add up to the answer a request asked for (三(一)).

A records request names orders; it is answered when every order is confirmed (``order.confirmed``) or declared,
with a reason, as one the platform cannot provide (``records.unavailable``), and the records and logs asked for
have arrived complete (``records.provided``) or every order was declared unavailable. Until then the request's
deadline stays open and :func:`records_missing` says what is still missing.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.store.models import Case, InboundMessage, OutboundMessage, RecordUpload

__all__ = ["RECORDS", "declared_unavailable", "records_missing", "requested_orders"]

RECORDS = "records"
"""The item of :func:`records_missing` that stands for the transaction records and logs themselves."""


def requested_orders(notice: OutboundMessage) -> list[str]:
    """The order numbers a records request names (empty for any other notice)."""
    if notice.message_type != "records.request":
        return []
    orders = msgspec.json.decode(notice.body).get("data", {}).get("orders", [])
    return [str(order) for order in orders]


async def declared_unavailable(session: AsyncSession, notice: OutboundMessage) -> set[str]:
    """The orders of ``notice`` the platform declared, with a reason, it cannot provide."""
    rows = await session.scalars(
        select(InboundMessage.body).where(
            InboundMessage.case_id == notice.case_id, InboundMessage.message_type == "records.unavailable"
        )
    )
    declared: set[str] = set()
    for body in rows:
        data = msgspec.json.decode(body).get("data", {})
        if data.get("in_reply_to") == notice.id:
            declared.update(str(order) for order in data.get("orders", []))
    return declared


async def records_missing(
    session: AsyncSession, case: Case, notice: OutboundMessage, *, also_declared: Iterable[str] = ()
) -> list[str]:
    """What a records request still lacks: ``order:<no>`` per order neither confirmed nor declared, and ``records``.

    ``also_declared`` adds a declaration being applied now (not stored yet).
    """
    orders = requested_orders(notice)
    if not orders:
        return []
    confirmed = set((case.order_confirmation or {}).keys())
    declared = await declared_unavailable(session, notice) | set(also_declared)
    missing = [f"order:{order}" for order in orders if order not in confirmed and order not in declared]
    if not set(orders) <= declared:
        complete = await session.scalar(
            select(RecordUpload.id).where(RecordUpload.in_reply_to == notice.id, RecordUpload.completed_at.is_not(None))
        )
        if complete is None:
            missing.append(RECORDS)
    return missing
