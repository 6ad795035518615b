"""The hash chain the audit trail was before its log: migrated into the log's first leaves, its checkpoints kept.

A database with chained records and a signed chain checkpoint is made at revision 0003, then migrated: the records
become the first leaves in ``seq`` order, the old checkpoints still verify (``/public/audit/checkpoints``,
``/public/audit/key``, :func:`spotcheck.sdk.verify_checkpoint`), and ``spotcheck audit verify`` checks both.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text

from spotcheck.gateway.app import create_app
from spotcheck.gateway.audit.chain import GENESIS, record_hash
from spotcheck.gateway.audit.checkpoints import (
    SIGNING_KEY_FILE,
    GatewaySigningKey,
    canonical_checkpoint,
    format_checkpoint_time,
    signing_key_for,
    verify_checkpoint,
)
from spotcheck.gateway.audit.leaves import record_leaf_hash
from spotcheck.gateway.audit.sequencer import LogSigner
from spotcheck.gateway.audit.verify import audit_report
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store import migrations
from spotcheck.gateway.store.engine import create_engine
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.types import JSONType, UTCDateTime
from spotcheck.sdk import generate_keypair

pytestmark = pytest.mark.postgres

_OLD_RECORDS = sa.table(
    "audit_records",
    sa.column("seq", sa.BigInteger()),
    sa.column("at", UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("detail", JSONType),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
_OLD_CHECKPOINTS = sa.table(
    "audit_checkpoints",
    sa.column("seq", sa.BigInteger()),
    sa.column("head_hash", sa.String()),
    sa.column("record_count", sa.BigInteger()),
    sa.column("at", UTCDateTime()),
    sa.column("public_key", sa.String()),
    sa.column("signature", sa.String()),
)


async def _old_chain_database(settings: Settings, count: int) -> list[bytes]:
    """A database at revision 0003 holding ``count`` chained records and one signed checkpoint of its head."""
    engine = create_engine(settings.store.url)
    key = signing_key_for(settings)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    try:
        await migrations.upgrade(engine, "0003")
        rows: list[dict[str, Any]] = []
        prev = GENESIS
        for n in range(count):
            at = start + timedelta(seconds=n, microseconds=n)
            detail = {"n": n, "名": "甲"}
            digest = record_hash(prev, at, "regulator:1", "case.changed", f"case_{n % 3}", detail)
            rows.append(
                {
                    "at": at,
                    "actor": "regulator:1",
                    "action": "case.changed",
                    "subject": f"case_{n % 3}",
                    "detail": detail,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        at = start + timedelta(hours=1)
        payload = canonical_checkpoint(seq=count, head_hash=prev, count=count, at=format_checkpoint_time(at))
        async with engine.begin() as conn:
            await conn.execute(sa.insert(_OLD_RECORDS), rows)
            await conn.execute(
                sa.insert(_OLD_CHECKPOINTS),
                [
                    {
                        "seq": count,
                        "head_hash": prev,
                        "record_count": count,
                        "at": at,
                        "public_key": key.public_key,
                        "signature": key.sign(payload),
                    }
                ],
            )
        return [record_leaf_hash(r["at"], r["actor"], r["action"], r["subject"], r["detail"]) for r in rows]
    finally:
        await engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings().with_changes(
        {
            "store.data_dir": tmp_path,
            "store.database_url": database_url,
            "worker.run": False,
            "log.level": "WARNING",
            "http.public_base_url": "https://spotcheck.example.gov.cn",
        }
    )


async def test_the_old_chain_becomes_the_first_leaves_and_its_checkpoints_still_verify(
    settings: Settings, sequence: Any
) -> None:
    expected = await _old_chain_database(settings, 12)
    runtime = Runtime(settings)
    try:
        await runtime.start()  # migrates 0003 -> head
        async with runtime.sessions() as session, session.begin():
            from spotcheck.gateway.audit.service import append_audit

            await append_audit(session, actor="test", action="case.created", subject="case_new")
        await sequence(runtime.sessions, settings)
        async with runtime.sessions() as session:
            rows = (
                await session.execute(select(AuditRecord.leaf_index, AuditRecord.leaf_hash).order_by(AuditRecord.seq))
            ).all()
            report = await audit_report(session, LogSigner.for_settings(settings))
        assert [index for index, _ in rows] == list(range(13))
        assert [digest for _, digest in rows[:12]] == expected  # the old records first, in seq order
        assert report.ok, report.describe()
        assert report.checkpoints == 2  # the old chain's and the log's

        async with AsyncTestClient(app=create_app(settings)) as client:
            published = (await client.get("/public/audit/checkpoints")).json()
            key = (await client.get("/public/audit/key")).json()["public_key"]
        assert len(published) == 1
        assert verify_checkpoint(published[0], key)
        assert published[0]["seq"] == published[0]["count"] == 12

        async with runtime.sessions() as session, session.begin():
            await session.execute(text("UPDATE audit_records SET hash = :h WHERE seq = 12"), {"h": "f" * 64})
        async with runtime.sessions() as session:
            broken = await audit_report(session, LogSigner.for_settings(settings))
        assert broken.broken is not None
        assert broken.broken.seq == 12
        assert any("chain checkpoint" in failure for failure in broken.checkpoint_failures)
    finally:
        await runtime.stop()


async def test_the_signing_key_file_is_private(settings: Settings) -> None:
    key = signing_key_for(settings)
    key_file = settings.store.data_dir / SIGNING_KEY_FILE
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert GatewaySigningKey(key_file.read_text()).public_key == key.public_key


def test_signing_key_from_environment_matches_the_sdk(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    secret, public = generate_keypair()
    monkeypatch.setenv("SPOTCHECK_GATEWAY_SIGNING_KEY", secret)
    key = GatewaySigningKey.load(tmp_path)
    assert key.public_key == public
    assert not (tmp_path / SIGNING_KEY_FILE).exists()
    assert secret not in repr(key)
    monkeypatch.setenv("SPOTCHECK_GATEWAY_SIGNING_KEY", "whsk_AAAA")
    with pytest.raises(ValueError, match="SPOTCHECK_GATEWAY_SIGNING_KEY"):
        GatewaySigningKey.load(tmp_path)


def test_canonical_form_is_sorted_compact_json() -> None:
    payload = canonical_checkpoint(seq=12, head_hash="a" * 64, count=11, at="2026-03-02T08:15:00.123456Z")
    assert payload == (
        b'{"at":"2026-03-02T08:15:00.123456Z","count":11,"head_hash":"' + b"a" * 64 + b'","seq":12,'
        b'"type":"spotcheck.audit.checkpoint.v1"}'
    )
    key = GatewaySigningKey.generate()
    document = {"seq": 12, "head_hash": "a" * 64, "count": 11, "at": "2026-03-02T08:15:00.123456Z"}
    document["signature"] = key.sign(payload)
    assert verify_checkpoint(document, key.public_key)
