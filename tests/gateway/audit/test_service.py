"""The audit service without HTTP: records appended through its surface, checkpoints signed on demand and listed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select, text

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.chain import verify_chain
from spotcheck.gateway.audit.service import (
    AuditEntry,
    AuditService,
    append_audit,
    append_audit_many,
    checkpoint_document,
)
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_public import Checkpoint
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.sdk import verify_checkpoint

pytestmark = pytest.mark.postgres

Regulator = Callable[..., Awaitable[Principal]]


async def append(runtime: Runtime, count: int) -> None:
    async with runtime.sessions() as session, session.begin():
        await append_audit(session, actor="test", action="case.created", subject="case_1", detail={"n": 0})
        await append_audit_many(
            session, [AuditEntry("test", "case.changed", "case_1", {"n": n}) for n in range(1, count)]
        )


async def test_checkpoints_are_signed_committed_audited_and_listed_newest_first(
    runtime: Runtime, regulator: Regulator
) -> None:
    admin = await regulator("330000")
    await append(runtime, 3)
    async with runtime.sessions() as session:
        service = AuditService(session, runtime.settings)
        first = await service.sign_checkpoint(admin)
    await append(runtime, 2)
    async with runtime.sessions() as session:
        second = await AuditService(session, runtime.settings).sign_checkpoint(admin)

    assert (first.seq, first.record_count) == (3, 3)
    assert (second.seq, second.record_count) == (6, 6)  # the first checkpoint's own record is in the chain
    async with runtime.sessions() as session:
        service = AuditService(session, runtime.settings)
        listed = await service.recent_checkpoints(10)
        newest = await service.recent_checkpoints(1)
        audited = (await session.scalars(select(AuditRecord).where(AuditRecord.action == "audit.checkpoint"))).all()
        checked, broken = await verify_chain(session)
    assert [c.id for c in listed] == [second.id, first.id]
    assert [c.id for c in newest] == [second.id]
    assert [r.actor for r in audited] == [admin.actor, admin.actor]
    assert (checked, broken) == (7, None)
    assert all(verify_checkpoint(checkpoint_document(c), service.signing_key.public_key) for c in listed)


async def test_a_checkpoint_needs_the_admin_scope(runtime: Runtime, regulator: Regulator) -> None:
    writer = await regulator("330000", scopes=("read", "write"))
    await append(runtime, 1)
    async with runtime.sessions() as session:
        with pytest.raises(ProblemError) as refused:
            await AuditService(session, runtime.settings).sign_checkpoint(writer)
    assert (refused.value.status_code, refused.value.code) == (403, "insufficient-scope")


async def test_a_broken_chain_answers_409_and_nothing_is_signed(runtime: Runtime, regulator: Regulator) -> None:
    admin = await regulator("330000")
    await append(runtime, 3)
    async with runtime.sessions() as session, session.begin():
        await session.execute(text("UPDATE audit_records SET actor = 'intruder' WHERE seq = 2"))
    async with runtime.sessions() as session:
        with pytest.raises(ProblemError) as refused:
            await AuditService(session, runtime.settings).sign_checkpoint(admin)
    assert (refused.value.status_code, refused.value.code) == (409, "audit-chain-broken")
    assert "seq 2" in refused.value.detail
    async with runtime.sessions() as session:
        assert (await session.scalars(select(Checkpoint))).all() == []
