"""The audit chain under tampering: records altered in the database, rewritten history, forged checkpoints."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text

from spotcheck.gateway.audit.chain import record_hash, verify_chain
from spotcheck.gateway.audit.checkpoints import (
    CHECKPOINT_TYPE,
    SIGNING_KEY_FILE,
    GatewaySigningKey,
    audit_report,
    canonical_checkpoint,
    checkpoint_if_due,
    signing_key_for,
    verify_checkpoint,
)
from spotcheck.gateway.cli import main
from spotcheck.gateway.store.models import AuditRecord
from spotcheck.gateway.store.models_public import Checkpoint
from spotcheck.sdk import generate_keypair, public_key_of

pytestmark = pytest.mark.postgres


async def spotcheck(gw: Any, *args: str) -> Result:
    """Run the ``spotcheck`` command against the gateway's database, in a thread with its own event loop."""
    env = {
        "SPOTCHECK_DATA_DIR": str(gw.settings.store.data_dir),
        "SPOTCHECK_DATABASE_URL": gw.settings.store.url,
        "SPOTCHECK_LOG_LEVEL": "WARNING",
    }
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)


async def tamper(gw: Any, seq: int) -> None:
    """Alter one audit record directly in the database, as an intruder with SQL access would."""
    async with gw.sessions() as session, session.begin():
        await session.execute(text("UPDATE audit_records SET actor = 'intruder' WHERE seq = :seq"), {"seq": seq})


async def seqs_after(gw: Any, after: int) -> list[int]:
    async with gw.sessions() as session:
        return list(await session.scalars(select(AuditRecord.seq).where(AuditRecord.seq > after).order_by("seq")))


async def test_an_altered_record_is_named_by_verify_chain_the_cli_and_the_checkpoint_api(
    gateway: Any, publish_case: Any
) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-audit")
    await publish_case(gw, zj, platform.id, shop="shop-1")

    intact = await spotcheck(gw, "audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "audit chain intact" in intact.output
    signed = await spotcheck(gw, "audit", "checkpoint")
    assert signed.exit_code == 0, signed.output
    checkpoint = json.loads(signed.output.strip().splitlines()[-1])
    key = (await gw.client.get("/public/audit/key")).json()["public_key"]
    assert verify_checkpoint(checkpoint, key)

    await publish_case(gw, zj, platform.id, shop="shop-2")
    later = await seqs_after(gw, checkpoint["seq"] + 1)
    victim = later[len(later) // 2]
    await tamper(gw, victim)

    async with gw.sessions() as session:
        checked, broken = await verify_chain(session)
    assert broken is not None
    assert broken.seq == victim
    assert "altered" in broken.reason
    assert checked == len([seq for seq in await seqs_after(gw, 0) if seq < victim])

    report = await spotcheck(gw, "audit", "verify")
    assert report.exit_code == 1
    assert f"BROKEN at seq {victim}" in report.output
    refused = await spotcheck(gw, "audit", "checkpoint")
    assert refused.exit_code == 1
    assert f"seq {victim}" in refused.output
    api = await gw.client.post("/v1/audit/checkpoints", headers=gw.auth(zj))
    assert api.status_code == 409
    assert api.json()["type"] == "urn:spotcheck:problem:audit-chain-broken"
    assert f"seq {victim}" in api.json()["detail"]
    assert len((await gw.client.get("/public/audit/checkpoints")).json()) == 1


async def test_rewritten_history_passes_the_chain_but_not_the_signed_checkpoint(
    gateway: Any, publish_case: Any
) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-audit")
    await publish_case(gw, zj, platform.id, shop="shop-1")
    taken = await gw.client.post("/v1/audit/checkpoints", headers=gw.auth(zj))
    assert taken.status_code == 201, taken.text
    checkpoint = taken.json()

    # Rewrite from record 3 onwards, recomputing every hash, so the chain links up again.
    async with gw.sessions() as session, session.begin():
        rows = (await session.scalars(select(AuditRecord).where(AuditRecord.seq >= 3).order_by(AuditRecord.seq))).all()
        prev = (await session.get(AuditRecord, 2)).hash  # type: ignore[union-attr]
        for row in rows:
            actor = "intruder" if row.seq == 3 else row.actor
            new_hash = record_hash(prev, row.at, actor, row.action, row.subject, row.detail)
            await session.execute(
                text("UPDATE audit_records SET actor = :actor, prev_hash = :prev, hash = :hash WHERE seq = :seq"),
                {"actor": actor, "prev": prev, "hash": new_hash, "seq": row.seq},
            )
            prev = new_hash

    async with gw.sessions() as session:
        _, broken = await verify_chain(session)
        report = await audit_report(session, signing_key_for(gw.settings))
    assert broken is None
    assert not report.ok
    assert f"checkpoint {checkpoint['id']} (seq {checkpoint['seq']})" in report.describe()
    assert "history rewritten" in report.describe()
    cli = await spotcheck(gw, "audit", "verify")
    assert cli.exit_code == 1
    assert "history rewritten" in cli.output


async def test_checkpoints_are_signed_published_and_forgeries_fail(gateway: Any, publish_case: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    reader = await gw.authority("330000", "浙江省市场监督管理局", scopes=("read", "write"))
    platform = await gw.register_platform(zj, "tmall-audit")
    await publish_case(gw, zj, platform.id, shop="shop-1", publish=False)

    assert (await gw.client.post("/v1/audit/checkpoints", headers=gw.auth(reader))).status_code == 403
    assert (await gw.client.post("/v1/audit/checkpoints")).status_code == 401
    first = (await gw.client.post("/v1/audit/checkpoints", headers=gw.auth(zj))).json()
    second = (await gw.client.post("/v1/audit/checkpoints", headers=gw.auth(zj))).json()
    assert second["seq"] == first["seq"] + 1  # the first checkpoint's own audit record
    assert first["type"] == CHECKPOINT_TYPE

    key = (await gw.client.get("/public/audit/key")).json()
    assert key["algorithm"] == "Ed25519"
    published = (await gw.client.get("/public/audit/checkpoints")).json()
    assert [c["id"] for c in published] == [second["id"], first["id"]]
    assert all(verify_checkpoint(c, key["public_key"]) for c in published)
    assert [c["id"] for c in (await gw.client.get("/public/audit/checkpoints?limit=1")).json()] == [second["id"]]
    assert (await gw.client.get("/public/audit/checkpoints?limit=x")).status_code == 400

    key_file = gw.settings.store.data_dir / SIGNING_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert public_key_of(key_file.read_text().strip()) == key["public_key"]

    forgeries: list[dict[str, Any]] = [
        {**first, "seq": first["seq"] + 1},
        {**first, "count": first["count"] - 1},
        {**first, "head_hash": "0" * 64},
        {**first, "at": first["at"].replace("Z", "+00:00")},
        {**first, "signature": base64.b64encode(b"\x00" * 64).decode()},
        {**first, "seq": str(first["seq"])},
        {**first, "seq": True},
        {**first, "signature": "not base64!"},
        {k: v for k, v in first.items() if k != "signature"},
    ]
    assert not any(verify_checkpoint(f, key["public_key"]) for f in forgeries)
    assert not verify_checkpoint(first, generate_keypair()[1])
    assert not verify_checkpoint(first, "whpk_garbage")

    async with gw.sessions() as session, session.begin():
        await session.execute(
            text("UPDATE audit_checkpoints SET head_hash = :h WHERE id = :id"), {"h": "f" * 64, "id": first["id"]}
        )
    report = await spotcheck(gw, "audit", "verify")
    assert report.exit_code == 1
    assert f"checkpoint {first['id']} (seq {first['seq']}): signature does not verify" in report.output


async def test_checkpoint_if_due_takes_one_only_when_due(gateway: Any) -> None:
    gw = gateway
    key = signing_key_for(gw.settings)
    async with gw.sessions() as session, session.begin():
        assert await checkpoint_if_due(session, key, interval_s=3600) is None  # nothing to vouch for yet
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    await gw.register_platform(zj, "tmall-audit")
    async with gw.sessions() as session, session.begin():
        assert await checkpoint_if_due(session, key, interval_s=0) is None  # periodic checkpoints off
        taken = await checkpoint_if_due(session, key, interval_s=3600)
        assert taken is not None
    await gw.register_platform(zj, "jd-audit")
    async with gw.sessions() as session, session.begin():
        assert await checkpoint_if_due(session, key, interval_s=3600) is None  # grown, but not an hour old
        # Age the checkpoint instead of waiting for the clock.
        last = await session.get(Checkpoint, taken.id)
        assert last is not None
        last.at = datetime(2020, 1, 1, tzinfo=UTC)
    async with gw.sessions() as session, session.begin():
        again = await checkpoint_if_due(session, key, interval_s=3600, actor="worker:test")
        assert again is not None
        assert again.seq > taken.seq
    async with gw.sessions() as session, session.begin():
        assert await checkpoint_if_due(session, key, interval_s=1) is None  # only its own record since


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
