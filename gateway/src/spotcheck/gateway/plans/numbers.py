"""Plan numbers (文号): ``浙市监抽〔2026〕12号``, gap-free per authority and year.

The counter row is bumped with one atomic upsert in the approving transaction: on PostgreSQL the row stays
locked until that transaction ends, so concurrent approvals queue and a rolled-back approval gives its number
back. SQLite serialises writers anyway.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.store.models_plans import PlanNumberCounter

__all__ = ["format_plan_number", "next_plan_number", "plan_year"]

_CHINA = ZoneInfo("Asia/Shanghai")


def plan_year(moment: datetime) -> int:
    """The year a plan number carries: the calendar year in China at ``moment``."""
    return moment.astimezone(_CHINA).year


def format_plan_number(prefix: str, year: int, seq: int) -> str:
    """``format_plan_number("浙市监抽", 2026, 12)`` → ``浙市监抽〔2026〕12号``."""
    return f"{prefix}〔{year}〕{seq}号"


async def next_plan_number(session: AsyncSession, authority_id: str, year: int) -> int:
    """The next sequence number of ``authority_id`` in ``year``, taken in the caller's transaction."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = insert(PlanNumberCounter).values(authority_id=authority_id, year=year, last=1)
    bumped = upsert.on_conflict_do_update(
        index_elements=["authority_id", "year"], set_={"last": PlanNumberCounter.last + 1}
    ).returning(PlanNumberCounter.last)
    value = (await session.execute(bumped)).scalar_one()
    return int(value)
