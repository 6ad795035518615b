"""The public log against the live app: checkpoint note, key, leaves, proofs; the intake's leaf hash; the watcher."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from spotcheck.gateway.app import create_app
from spotcheck.gateway.audit.sequencer import LogSigner, Sequencer
from spotcheck.gateway.store.models import OutboundMessage
from spotcheck.schemas import NoticeAcknowledged, NoticeAcknowledgedData, encode_message
from spotcheck.sdk import (
    LogWatcher,
    WatchState,
    leaf_for_message,
    leaf_hash,
    new_message_id,
    parse_verifier_key,
    verify_consistency,
    verify_inclusion,
    verify_log_checkpoint,
)

pytestmark = pytest.mark.postgres

ORIGIN = "spotcheck.example.gov.cn/log"


async def _sequence(gw: Any, sequence: Any) -> None:
    await sequence(gw.sessions, gw.settings)


async def test_checkpoint_key_leaves_and_proofs_are_served_in_the_standard_forms(
    gateway: Any, append: Any, sequence: Any
) -> None:
    gw = gateway
    await append(gw.sessions, 13)
    await _sequence(gw, sequence)
    key = (await gw.client.get("/public/log/key")).text.strip()
    assert key.startswith(f"{ORIGIN}+")
    assert parse_verifier_key(key).name == ORIGIN
    answer = await gw.client.get("/public/log/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    checkpoint = verify_log_checkpoint(answer.text, key, origin=ORIGIN)
    size = checkpoint.size
    assert answer.text.startswith(f"{ORIGIN}\n{size}\n{base64.b64encode(checkpoint.root_hash).decode()}\n\n\u2014 ")

    leaves = (await gw.client.get(f"/public/log/leaves?start=0&end={size + 5}")).json()["leaf_hashes"]
    assert len(leaves) == size
    for index in (0, size // 2, size - 1):
        by_index = (await gw.client.get(f"/public/log/proof?index={index}&tree_size={size}")).json()
        by_hash = (await gw.client.get(f"/public/log/proof?leaf_hash={leaves[index]}&tree_size={size}")).json()
        assert by_index == by_hash
        assert by_index["leaf_hash"] == leaves[index]
        path = [base64.b64decode(h) for h in by_index["inclusion"]]
        assert verify_inclusion(bytes.fromhex(leaves[index]), index, size, path, checkpoint.root_hash)

    await append(gw.sessions, 5, start=13)
    await _sequence(gw, sequence)
    later = verify_log_checkpoint((await gw.client.get("/public/log/checkpoint")).text, key, origin=ORIGIN)
    consistency = (await gw.client.get(f"/public/log/consistency?first={size}&second={later.size}")).json()
    assert (consistency["first"], consistency["second"]) == (size, later.size)
    proof = [base64.b64decode(h) for h in consistency["proof"]]
    assert verify_consistency(size, later.size, checkpoint.root_hash, later.root_hash, proof)


@pytest.mark.parametrize(
    ("query", "status", "parameter"),
    [
        ("/public/log/leaves?start=0", 400, "end"),
        ("/public/log/leaves?start=x&end=2", 400, "start"),
        ("/public/log/leaves?start=0&end=1001", 400, "end"),
        ("/public/log/leaves?start=5&end=5", 400, "end"),
        # Past a 64-bit integer: refused by name, not bound into the query (it was a 500).
        ("/public/log/leaves?start=9223372036854775808&end=9223372036854775809", 400, "start"),
        ("/public/log/proof?index=0", 400, "tree_size"),
        ("/public/log/proof?tree_size=1", 400, "index"),
        ("/public/log/proof?index=-1&tree_size=1", 400, "index"),
        ("/public/log/proof?index=3&tree_size=3", 400, "index"),
        ("/public/log/proof?index=0&tree_size=999", 400, "tree_size"),
        ("/public/log/proof?leaf_hash=ABC&tree_size=1", 400, "leaf_hash"),
        (f"/public/log/proof?leaf_hash={'0' * 64}&tree_size=3", 404, None),
        ("/public/log/consistency?first=1", 400, "second"),
        ("/public/log/consistency?first=3&second=2", 400, "first"),
        ("/public/log/consistency?first=1&second=999", 400, "second"),
        ("/public/log/consistency?first=01&second=2", 400, "first"),
    ],
)
async def test_bad_parameters_are_400_naming_them_and_unknown_leaves_404(
    gateway: Any, append: Any, sequence: Any, query: str, status: int, parameter: str | None
) -> None:
    await append(gateway.sessions, 3)
    await _sequence(gateway, sequence)
    answer = await gateway.client.get(query)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    if parameter is not None:
        assert [e["field"] for e in answer.json()["errors"]] == [parameter]


async def test_the_intake_returns_the_replys_leaf_and_the_sdk_watcher_proves_both_directions(
    gateway: Any, publish_case: Any, sequence: Any, tmp_path: Any
) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-log")
    case_id = await publish_case(gw, zj, platform.id, shop="shop-log")
    async with gw.sessions() as session:
        notice = await session.scalar(
            select(OutboundMessage)
            .where(OutboundMessage.recipient_id == platform.id, OutboundMessage.case_id == case_id)
            .limit(1)
        )
    assert notice is not None
    ack = NoticeAcknowledged(
        timestamp=datetime.now(UTC),
        data=NoticeAcknowledgedData(
            case_id=case_id, in_reply_to=notice.id, platform_id=platform.id, received_at=datetime.now(UTC)
        ),
    )
    body = encode_message(ack)
    reply_id = new_message_id()
    headers = platform.reply_signer.headers(reply_id, body)
    headers["content-type"] = "application/json"
    answer = await gw.client.post(f"/v1/intake/{platform.id}", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    expected = leaf_hash(leaf_for_message("in", reply_id, headers["webhook-timestamp"], body)).hex()
    assert answer.json()["leaf_hash"] == expected
    again = await gw.client.post(f"/v1/intake/{platform.id}", content=body, headers=headers)
    assert again.json()["status"] == "duplicate"
    assert again.json()["leaf_hash"] == expected

    # What `spotcheck-sdk log add` does on the platform: register what it received and what it sent.
    state = WatchState()
    state, _ = state.with_message("out", notice.id, notice.timestamp, notice.body)
    state, _ = state.with_message("in", reply_id, headers["webhook-timestamp"], body)
    assert state.pending[1].leaf_hash == expected

    # Before the sequencer ran the log holds neither: both wait within the grace period.
    sequencer = Sequencer(LogSigner.for_settings(gw.settings), batch=1)
    async with gw.sessions() as session, session.begin():
        await sequencer.integrate(session)  # one round of one leaf: a small tree for the next to be consistent with
    second_app = create_app(gw.settings)

    def watch(current: WatchState, grace: float) -> Any:
        with TestClient(app=second_app) as client, LogWatcher("http://testserver", client=client) as watcher:
            return watcher.check(current, grace=grace)

    first = await asyncio.to_thread(watch, state, 3600.0)
    assert first.key_pinned
    assert {m.leaf_hash for m in first.waiting} == {m.leaf_hash for m in state.pending}
    state = first.apply(state)

    await sequence(gw.sessions, gw.settings)
    second = await asyncio.to_thread(watch, state, 0.0)
    assert second.kept_size == first.checkpoint.size < second.checkpoint.size
    assert not second.missing
    assert {m.leaf_hash for m in second.proven} == {m.leaf_hash for m in state.pending}
    state = second.apply(state)
    assert state.pending == ()
    state.save(tmp_path / "watch.json")
    assert WatchState.load(tmp_path / "watch.json") == state
