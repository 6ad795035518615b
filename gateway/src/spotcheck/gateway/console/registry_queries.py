"""What the console's registry pages read: merchants, manufacturers and a platform's delivery health, in the area.

The area is the one :class:`~spotcheck.gateway.access.Principal` decides for the API (own division prefix and
the entrusted ones, from :func:`~spotcheck.gateway.access.division_prefix`), written as SQL so that the lists
paginate in the database. Deliveries follow the delivery API: an administrator (a gateway operator) sees every
message; any other officer the messages of the cases they may access.

The circuit breaker lives in each worker's memory (:mod:`spotcheck.gateway.delivery.guards`), so the console
reads its traces in the store: messages a worker put back because the circuit was open, and the run of failed
attempts at the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal, division_prefix, level_of_code
from spotcheck.gateway.store.models import Case, DeliveryAttempt, Manufacturer, Merchant, OutboundMessage, Platform
from spotcheck.gateway.store.models_plans import MerchantDirectoryEntry
from spotcheck.gateway.store.statuses import MessageStatus, RecipientKind
from spotcheck.gateway.store.types import utcnow

__all__ = [
    "CircuitView",
    "Failure",
    "MerchantRow",
    "circuit_of",
    "dead_letter_page",
    "dead_letters_visible",
    "in_area",
    "manufacturer_page",
    "merchant_page",
    "recent_failures",
    "visible_case_ids",
]

_ALIVE: Final = ("delivered", "rejected")  # the outcomes that close a circuit (guards._ALIVE)
_CIRCUIT_OPEN: Final = "circuit open"  # the reason the worker puts a message back with (stages.prepare_dispatch)


def in_area(principal: Principal, column: Any) -> ColumnElement[bool]:
    """``column`` (a division code) inside the principal's own or entrusted area; the national area is all."""
    prefixes = {division_prefix(principal.division_code, principal.level)}
    prefixes |= {division_prefix(code, level_of_code(code)) for code in principal.entrusted_divisions}
    if "" in prefixes:
        return true()
    return or_(*(column.startswith(prefix, autoescape=True) for prefix in sorted(prefixes)))


def visible_case_ids(principal: Principal) -> Select[str]:
    """The ids of the cases the principal may access (:meth:`Principal.can_access_case`, as SQL)."""
    return select(Case.id).where(
        or_(Case.authority_id == principal.authority_id, in_area(principal, Case.jurisdiction_division))
    )


async def _count(session: AsyncSession, query: Select[*tuple[Any, ...]]) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


# ---- merchants and manufacturers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantRow:
    """A merchant as the list shows it, with its object-directory entry when it has one."""

    merchant: Merchant
    entry: MerchantDirectoryEntry | None


def _merchant_visible(principal: Principal) -> ColumnElement[bool]:
    entry = MerchantDirectoryEntry
    directory = select(entry.merchant_id).where(
        or_(entry.authority_id == principal.authority_id, in_area(principal, entry.division_code))
    )
    cases = select(Case.merchant_id).where(Case.id.in_(visible_case_ids(principal)))
    registered = Merchant.registration_division.is_not(None) & in_area(principal, Merchant.registration_division)
    # A province samples any goods on the platforms located in it (二), as RegistryService.merchant_record allows.
    platforms = select(Platform.id).where(in_area(principal, Platform.province_code))
    return or_(Merchant.id.in_(directory), registered, Merchant.platform_id.in_(platforms), Merchant.id.in_(cases))


async def merchant_page(
    session: AsyncSession, principal: Principal, *, term: str, offset: int, limit: int
) -> tuple[list[MerchantRow], int]:
    """One page of the merchants in the principal's area (directory, registration, platform, cases); total."""
    query = (
        select(Merchant, MerchantDirectoryEntry)
        .outerjoin(MerchantDirectoryEntry, MerchantDirectoryEntry.merchant_id == Merchant.id)
        .where(_merchant_visible(principal))
    )
    if term:
        query = query.where(
            or_(
                Merchant.shop_name.contains(term, autoescape=True),
                Merchant.shop_id.contains(term, autoescape=True),
                Merchant.legal_name.contains(term, autoescape=True),
                Merchant.uscc.contains(term, autoescape=True),
                Merchant.platform_id.contains(term, autoescape=True),
                Merchant.id == term,
            )
        )
    total = await _count(session, query)
    rows = await session.execute(query.order_by(Merchant.id.desc()).offset(offset).limit(limit))
    return [MerchantRow(merchant, entry) for merchant, entry in rows], total


async def manufacturer_page(
    session: AsyncSession, principal: Principal, *, term: str, offset: int, limit: int
) -> tuple[list[Manufacturer], int]:
    """One page of the manufacturers located in the principal's area or named on its cases; total."""
    cases = select(Case.manufacturer_id).where(Case.id.in_(visible_case_ids(principal)))
    located = Manufacturer.division_code.is_not(None) & in_area(principal, Manufacturer.division_code)
    query = select(Manufacturer).where(or_(located, Manufacturer.id.in_(cases)))
    if term:
        query = query.where(
            or_(
                Manufacturer.name.contains(term, autoescape=True),
                Manufacturer.uscc.contains(term, autoescape=True),
                Manufacturer.id == term,
            )
        )
    total = await _count(session, query)
    rows = await session.scalars(query.order_by(Manufacturer.id.desc()).offset(offset).limit(limit))
    return list(rows), total


# ---- a platform's deliveries --------------------------------------------------------------------------------


def _to_platform(principal: Principal, platform_id: str) -> ColumnElement[bool]:
    """Messages to the platform that the principal may see (operators: all; officers: their cases')."""
    mine = OutboundMessage.recipient_kind == RecipientKind.PLATFORM
    mine &= OutboundMessage.recipient_id == platform_id
    if "admin" in principal.scopes:
        return mine
    return mine & OutboundMessage.case_id.is_not(None) & OutboundMessage.case_id.in_(visible_case_ids(principal))


async def dead_letter_page(
    session: AsyncSession, principal: Principal, platform_id: str, *, offset: int, limit: int
) -> tuple[list[OutboundMessage], int]:
    """One page of the platform's dead letters the principal may see, newest first; total."""
    query = select(OutboundMessage).where(
        _to_platform(principal, platform_id), OutboundMessage.status == MessageStatus.DEAD
    )
    total = await _count(session, query)
    rows = await session.scalars(query.order_by(OutboundMessage.id.desc()).offset(offset).limit(limit))
    return list(rows), total


async def dead_letters_visible(session: AsyncSession, principal: Principal) -> dict[str, int]:
    """How many dead letters the principal may see, by platform."""
    dead = OutboundMessage.status == MessageStatus.DEAD
    platform = OutboundMessage.recipient_kind == RecipientKind.PLATFORM
    query = select(OutboundMessage.recipient_id, func.count()).where(dead, platform)
    if "admin" not in principal.scopes:
        query = query.where(OutboundMessage.case_id.in_(visible_case_ids(principal)))
    rows = await session.execute(query.group_by(OutboundMessage.recipient_id))
    return {recipient: int(count) for recipient, count in rows}


@dataclass(frozen=True)
class Failure:
    """One failed delivery attempt at a platform's endpoint."""

    attempt: DeliveryAttempt
    message: OutboundMessage


async def recent_failures(
    session: AsyncSession, principal: Principal, platform_id: str, *, limit: int = 10
) -> list[Failure]:
    """The newest failed attempts at the platform's endpoint, among the messages the principal may see."""
    rows = await session.execute(
        select(DeliveryAttempt, OutboundMessage)
        .join(OutboundMessage, OutboundMessage.id == DeliveryAttempt.message_id)
        .where(_to_platform(principal, platform_id), DeliveryAttempt.outcome.not_in(_ALIVE))
        .order_by(DeliveryAttempt.id.desc())
        .limit(limit)
    )
    return [Failure(attempt, message) for attempt, message in rows]


@dataclass(frozen=True)
class CircuitView:
    """Where the platform endpoint's circuit stands, as far as the store shows it.

    ``state`` is ``disabled`` (the endpoint answered 410; a replay enables it again), ``open`` (a worker put
    messages back until ``open_until``), ``tripped`` (the latest attempts failed as often as opens a circuit),
    ``failing`` (some of the latest attempts failed) or ``closed``.
    """

    state: str
    consecutive_failures: int
    threshold: int
    open_until: datetime | None
    last_attempt_at: datetime | None
    disabled_reason: str | None = None


async def circuit_of(session: AsyncSession, platform: Platform, *, threshold: int) -> CircuitView:
    """The platform endpoint's circuit from the store: held messages, the latest attempts, a 410 stop."""
    to_platform = (OutboundMessage.recipient_kind == RecipientKind.PLATFORM) & (
        OutboundMessage.recipient_id == platform.id
    )
    latest = (
        await session.execute(
            select(DeliveryAttempt.outcome, DeliveryAttempt.started_at)
            .join(OutboundMessage, OutboundMessage.id == DeliveryAttempt.message_id)
            .where(to_platform)
            .order_by(DeliveryAttempt.id.desc())
            .limit(threshold)
        )
    ).all()
    failures = 0
    for outcome, _ in latest:
        if outcome in _ALIVE:
            break
        failures += 1
    last_at = latest[0][1] if latest else None
    open_until = await session.scalar(
        select(func.max(OutboundMessage.next_attempt_at)).where(
            to_platform,
            OutboundMessage.status == MessageStatus.PENDING,
            OutboundMessage.last_error == _CIRCUIT_OPEN,
            OutboundMessage.next_attempt_at > utcnow(),
        )
    )
    if platform.disabled_at is not None:
        state = "disabled"
    elif open_until is not None:
        state = "open"
    elif failures >= threshold:
        state = "tripped"
    elif failures:
        state = "failing"
    else:
        state = "closed"
    return CircuitView(
        state=state,
        consecutive_failures=failures,
        threshold=threshold,
        open_until=open_until,
        last_attempt_at=last_at,
        disabled_reason=platform.disabled_reason,
    )
