"""Migration 0010: clocks and notices already stored get their case's scope, and the dashboard then sees them.

The dashboard counts clocks and notices by the copy of their case's authority and jurisdiction they carry, so a row
the migration left without one would vanish from every officer's dashboard. This fills a store at 0009, migrates it,
and checks every copy, then goes down and up again, on SQLite and on PostgreSQL. The store holds what a store in
service holds: rows of other tables referring to the clocks and notices (a finding, an attempt, a clock's order),
which SQLite's rebuild of a table must keep.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, inspect, select

from spotcheck.gateway.store import migrations
from spotcheck.gateway.store.engine import create_engine
from spotcheck.gateway.store.models import (
    Authority,
    Case,
    Deadline,
    DeliveryAttempt,
    Merchant,
    OutboundMessage,
    Platform,
)
from spotcheck.gateway.store.models_duties import PlatformFinding

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


async def _fill_at_0009(engine: Any) -> None:
    """Two cases of two authorities, a clock on each, a notice about each and one about no case."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(Authority.__table__),
            [
                {"id": "auth_zj", "name": "浙江省市场监督管理局", "level": "provincial", "division_code": "330000"},
                {"id": "auth_gd", "name": "广东省市场监督管理局", "level": "provincial", "division_code": "440000"},
            ],
        )
        await conn.execute(insert(Platform.__table__), [{"id": "tmall", "name": "天猫", "province_code": "330000"}])
        merchant = {"platform_id": "tmall", "shop_name": "店", "kind": "natural_person"}
        await conn.execute(insert(Merchant.__table__), [{"id": "mer_1", "shop_id": "s-1", **merchant}])
        case = {"jurisdiction_basis": "二", "state": "planned", "platform_id": "tmall", "merchant_id": "mer_1"}
        product = {"sample_name": "插座", "trademark": "公牛", "spec_model": "GN-1"}
        await conn.execute(
            insert(Case.__table__),
            [
                {"id": "case_zj", "authority_id": "auth_zj", "jurisdiction_division": "330100", **case, **product},
                {"id": "case_gd", "authority_id": "auth_gd", "jurisdiction_division": "440300", **case, **product},
            ],
        )
        notice = {
            "message_type": "sampling.notice",
            "recipient_kind": "platform",
            "recipient_id": "tmall",
            "recipient_name": "天猫",
            "adapter": "webhook",
            "body": b"{}",
            "timestamp": 0,
        }
        await conn.execute(
            insert(OutboundMessage.__table__),
            [
                {"id": "msg_zj", "case_id": "case_zj", **notice},
                {"id": "msg_gd", "case_id": "case_gd", **notice},
                {"id": "msg_none", "case_id": None, **notice},
            ],
        )
        clock = {"kind": "platform_answer", "party": "platform:tmall", "rule": "2 working days", "basis": "五(三)"}
        await conn.execute(
            insert(Deadline.__table__),
            [
                {
                    "id": f"dl_{place}",
                    "case_id": f"case_{place}",
                    "message_id": f"msg_{place}",
                    "due_at": NOW + timedelta(days=2),
                    **clock,
                }
                for place in ("zj", "gd")
            ],
        )
        # Rows that refer to a clock and to notices: rebuilding their tables must neither fail on nor lose them.
        await conn.execute(
            insert(PlatformFinding.__table__),
            [
                {
                    "id": "pf_1",
                    "platform_id": "tmall",
                    "case_id": "case_zj",
                    "deadline_id": "dl_zj",
                    "kind": "delay",
                    "order_type": "takedown.order",
                    "basis": "五(三)",
                }
            ],
        )
        attempt = {"attempt": 1, "worker": "w", "latency_ms": 5, "outcome": "delivered", "http_status": 200}
        await conn.execute(
            insert(DeliveryAttempt.__table__),
            [{"message_id": message_id, **attempt} for message_id in ("msg_zj", "msg_gd", "msg_none")],
        )


EVERY_ROW = {"deadlines": 2, "outbound_messages": 3, "platform_findings": 1, "delivery_attempts": 3}


async def _counts(engine: Any) -> dict[str, int]:
    counts = {}
    async with engine.connect() as conn:
        for table in EVERY_ROW:
            counts[table] = int((await conn.execute(select(func.count()).select_from(_table(table)))).scalar_one())
    return counts


def _table(name: str) -> Any:
    """The model's table of that name (the test reads plain counts, whatever the revision's columns)."""
    tables = {t.__tablename__: t.__table__ for t in (Deadline, OutboundMessage, PlatformFinding, DeliveryAttempt)}
    return tables[name]


async def _columns(engine: Any, table: str) -> set[str]:
    async with engine.connect() as conn:
        return {c["name"] for c in await conn.run_sync(lambda sync: inspect(sync).get_columns(table))}


async def test_0010_copies_each_cases_scope_onto_its_stored_clocks_and_notices(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrations.upgrade(engine, "0009")
        await _fill_at_0009(engine)
        await migrations.upgrade(engine)
        async with engine.connect() as conn:
            clocks = await conn.execute(select(Deadline.id, Deadline.authority_id, Deadline.jurisdiction_division))
            notices = await conn.execute(
                select(OutboundMessage.id, OutboundMessage.authority_id, OutboundMessage.jurisdiction_division)
            )
            assert sorted(clocks.all()) == [("dl_gd", "auth_gd", "440300"), ("dl_zj", "auth_zj", "330100")]
            assert sorted(notices.all()) == [
                ("msg_gd", "auth_gd", "440300"),
                ("msg_none", None, None),
                ("msg_zj", "auth_zj", "330100"),
            ]

        assert await _counts(engine) == EVERY_ROW

        await migrations.downgrade(engine, "0009")
        for table in ("deadlines", "outbound_messages"):
            assert not {"authority_id", "jurisdiction_division"} & await _columns(engine, table)
        # Going down keeps the rows: nothing of what was stored before 0010 is lost either way.
        assert await _counts(engine) == EVERY_ROW
        await migrations.upgrade(engine)
        assert await _counts(engine) == EVERY_ROW
        async with engine.connect() as conn:
            again = await conn.execute(select(Deadline.authority_id).where(Deadline.id == "dl_gd"))
            assert again.scalar_one() == "auth_gd"
    finally:
        await engine.dispose()


async def test_a_sqlite_migration_that_would_break_a_reference_is_refused_and_rolled_back(tmp_path: Any) -> None:
    """Foreign keys are off during a migration on SQLite (tables are rebuilt); the check before commit stands in."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    try:
        await migrations.upgrade(engine)
        await migrations.downgrade(engine, "0009")
        await _fill_at_0009(engine)

        def orphan_the_finding(cfg: Any) -> None:
            cfg.attributes["connection"].exec_driver_sql("DELETE FROM deadlines WHERE id = 'dl_zj'")

        with pytest.raises(migrations.ForeignKeyViolationError, match="platform_findings"):
            await migrations._migrate(engine, orphan_the_finding)
        assert await _counts(engine) == EVERY_ROW  # nothing of the refused migration was committed
        async with engine.connect() as conn:
            # Enforcement is back on for the connection the store goes on using.
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        await engine.dispose()
