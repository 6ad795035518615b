"""The audit service without HTTP: appends that take no lock, checkpoints signed on demand, message leaves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.chain import verify_chain
from spotcheck.gateway.audit.leaves import event_leaf_data, message_detail, record_leaf_data
from spotcheck.gateway.audit.service import AuditService, append_audit_many, message_entry, message_leaf_hash
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.sdk import leaf_for_message, leaf_hash, verify_log_checkpoint

pytestmark = pytest.mark.postgres

Regulator = Callable[..., Awaitable[Principal]]


def test_a_message_leaf_is_exactly_the_sdks() -> None:
    body = b'{"type":"sampling.notice"}'
    detail = message_detail("out", "msg_1", 1767225600, body)
    assert record_leaf_data(datetime.now(UTC), "x", "log.message", "msg_1", detail) == leaf_for_message(
        "out", "msg_1", "1767225600", body
    )
    assert (
        message_leaf_hash("in", "msg_1", "1767225600", body)
        == leaf_hash(leaf_for_message("in", "msg_1", 1767225600, body)).hex()
    )
    with pytest.raises(ValueError, match="webhook_id"):
        message_entry("in", "bad\nid", 1, body, actor="x")


def test_an_event_leaf_is_versioned_canonical_json() -> None:
    at = datetime(2026, 3, 2, 8, 15, 0, 123456, tzinfo=UTC)
    data = event_leaf_data(at, "regulator:1", "case.create", "case_1", {"b": 1, "a": "甲"})
    assert data == (
        b'spotcheck-event/v1\n{"action":"case.create","actor":"regulator:1","at":"2026-03-02T08:15:00.123456Z",'
        b'"detail":{"a":"\xe7\x94\xb2","b":1},"subject":"case_1"}\n'
    )


async def test_appending_reads_nothing_and_the_sequencer_places_records_in_insertion_order(
    runtime: Runtime, append: Any, sequence: Any
) -> None:
    statements: list[str] = []
    async with runtime.sessions() as session, session.begin():
        connection = await session.connection()
        from sqlalchemy import event

        def log(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        event.listen(connection.sync_connection, "before_cursor_execute", log)
        hashes = await append_audit_many(session, [message_entry("out", "msg_1", 1, b"{}", actor="t")])
        event.remove(connection.sync_connection, "before_cursor_execute", log)
    assert [s.split()[0] for s in statements] == ["INSERT"]  # no advisory lock, no read of a head
    assert hashes == [message_leaf_hash("out", "msg_1", 1, b"{}")]
    await append(runtime.sessions, 4)
    signed = await sequence(runtime.sessions, runtime.settings)
    async with runtime.sessions() as session:
        placed = (
            await session.execute(select(AuditRecord.seq, AuditRecord.leaf_index).order_by(AuditRecord.seq))
        ).all()
        assert await verify_chain(session) == (5, None)
    assert [index for _, index in placed] == [0, 1, 2, 3, 4]
    assert [s.tree_size for s in signed] == [5]


async def test_a_checkpoint_on_demand_needs_admin_and_refuses_a_broken_tree(
    runtime: Runtime, regulator: Regulator, append: Any
) -> None:
    admin = await regulator("330000")
    writer = await regulator("330000", scopes=("read", "write"))
    async with runtime.sessions() as session:
        with pytest.raises(ProblemError) as refused:
            await AuditService(session, runtime.settings).sign_checkpoint(writer)
    assert (refused.value.status_code, refused.value.code) == (403, "insufficient-scope")

    await append(runtime.sessions, 3)
    async with runtime.sessions() as session:
        service = AuditService(session, runtime.settings)
        head = await service.sign_checkpoint(admin)
        again = await service.sign_checkpoint(admin)  # nothing new: the same checkpoint
    assert head.tree_size >= 3
    assert again.tree_size == head.tree_size
    from spotcheck.gateway.audit.sequencer import LogSigner

    signer = LogSigner.for_settings(runtime.settings)
    assert verify_log_checkpoint(head.note, signer.verifier_key).size == head.tree_size

    async with runtime.sessions() as session, session.begin():
        await session.execute(text("UPDATE log_nodes SET hash = :h"), {"h": b"\0" * 32})  # the edge too
    await append(runtime.sessions, 1, start=3)
    async with runtime.sessions() as session:
        with pytest.raises(ProblemError) as broken:
            await AuditService(session, runtime.settings).sign_checkpoint(admin)
    assert (broken.value.status_code, broken.value.code) == (409, "audit-log-broken")
