"""Evidence files: streamed upload, content addressing, detection, verified read-back, failures that leave nothing."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import struct
import zlib
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from spotcheck.gateway.evidence.store import (
    ACCEPTED_MEDIA_TYPES,
    EvidenceError,
    EvidenceStore,
    detect_media_type,
    is_sha256,
)
from spotcheck.gateway.store.models import AuditRecord, OutboundMessage
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.schemas import EvidenceRef, decode_notice

pytestmark = pytest.mark.postgres


def png(marker: bytes = b"") -> bytes:
    """A valid 1x1 PNG; ``marker`` goes into a text chunk so that different markers give different files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    text = chunk(b"tEXt", b"Comment\x00" + marker) if marker else b""
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + text + pixels + chunk(b"IEND", b"")


MP4 = struct.pack(">I", 24) + b"ftypisom\x00\x00\x02\x00isomiso2" + struct.pack(">I", 8) + b"free" + b"\x00" * 64
MOV = struct.pack(">I", 20) + b"ftypqt  \x00\x00\x02\x00qt  " + struct.pack(">I", 8) + b"wide" + b"\x00" * 64
WEBM = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d4287810442858102") + b"\x00" * 32
WEBP = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8 " + b"\x00" * 30
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def upload(
    gw: Any,
    token: str,
    case_id: str,
    data: bytes | Any,
    *,
    step: str = "purchase",
    description: str = "商品页面截图",
    content_type: str = "application/octet-stream",
) -> Any:
    return await gw.client.post(
        f"/v1/cases/{case_id}/evidence",
        params={"step": step, "description": description},
        content=data,
        headers={**gw.auth(token), "content-type": content_type},
    )


async def asgi_upload(
    gw: Any, token: str, case_id: str, chunks: list[bytes], *, disconnect: bool = False
) -> tuple[int, bytes]:
    """Call the app with raw ASGI messages: body chunks, then the end of the body or a client disconnect."""
    path = f"/v1/cases/{case_id}/evidence"
    end: dict[str, Any] = {"type": "http.disconnect"} if disconnect else {"type": "http.request", "body": b""}
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks] + [end]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"step=sealing",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/octet-stream")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    # The test client runs the app on its own event loop (a portal thread); the call must run there too.
    await asyncio.to_thread(gw.client.blocking_portal.call, gw.client.app, scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def open_case(gw: Any, publish_case: Any, token: str, platform_id: str, shop: str) -> str:
    case_id: str = await publish_case(gw, token, platform_id, shop=shop, publish=False)
    return case_id


def store_root(gw: Any) -> Path:
    root: Path = gw.settings.store.data_dir / "evidence"
    return root


def stored_path(gw: Any, sha: str) -> Path:
    return store_root(gw) / "sha256" / sha[:2] / sha[2:4] / sha


def temp_files(gw: Any) -> list[Path]:
    folder = store_root(gw) / "tmp"
    return list(folder.iterdir()) if folder.exists() else []


async def evidence_rows(gw: Any, case_id: str) -> list[EvidenceFile]:
    async with gw.sessions() as session:
        rows = await session.scalars(
            select(EvidenceFile).where(EvidenceFile.case_id == case_id).order_by(EvidenceFile.created_at)
        )
        return list(rows)


# ---- scenarios, grouped into a few tests so each store is set up once per test --------------------------------


async def stored_by_digest_listed_audited_and_read_back(gw: Any, zj: str, platform_id: str, publish_case: Any) -> None:
    case_id = await open_case(gw, publish_case, zj, platform_id, "shop-roundtrip")
    data = png(b"listing")
    sha = hashlib.sha256(data).hexdigest()

    response = await upload(gw, zj, case_id, data, step="listing", description="商品页面截图（含价格）")
    assert response.status_code == 201, response.text
    view = response.json()
    assert view["sha256"] == sha
    assert view["media_type"] == "image/png"
    assert view["size_bytes"] == len(data)
    assert view["step"] == "listing"
    assert view["description"] == "商品页面截图（含价格）"
    assert view["download_url"] == f"/v1/evidence/{sha}"
    assert stored_path(gw, sha).read_bytes() == data
    assert temp_files(gw) == []

    listed = await gw.get(f"/v1/cases/{case_id}/evidence", zj)
    assert [item["sha256"] for item in listed] == [sha]
    # The first five fields are the wire contract's EvidenceRef, ready to cite in a purchase or sealing record.
    fields = ("sha256", "media_type", "size_bytes", "step", "description")
    assert msgspec.convert({k: listed[0][k] for k in fields}, EvidenceRef).sha256 == sha

    download = await gw.client.get(f"/v1/evidence/{sha}", headers=gw.auth(zj))
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"].startswith("image/png")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["repr-digest"].startswith("sha-256=:")

    async with gw.sessions() as session:
        audited = (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.action == "evidence.recorded", AuditRecord.subject == case_id)
            )
        ).all()
    assert [(r.detail["sha256"], r.detail["step"]) for r in audited] == [(sha, "listing")]


async def listed_evidence_travels_in_the_sampling_notice(gw: Any, zj: str, platform_id: str, publish_case: Any) -> None:
    case_id = await open_case(gw, publish_case, zj, platform_id, "shop-notice")
    purchase_ref = (await upload(gw, zj, case_id, png(b"order"), step="purchase")).json()
    sealing_ref = (await upload(gw, zj, case_id, MP4, step="sealing", description="封样全程录像")).json()
    fields = ("sha256", "media_type", "size_bytes", "step", "description")
    at = "2026-03-02T10:00:00+08:00"
    purchase = {
        "purchased_at": at,
        "buyer_account": "buyer",
        "buyer_name": "张三",
        "delivery_address": "杭州市西湖区某路1号",
        "orders": [{"order_no": "T-1", "ordered_at": at, "amount_fen": 100}],
        "evidence": [{k: purchase_ref[k] for k in fields}],
        "screenshots": (await gw.sampling_evidence(zj, case_id))[0],
    }
    await gw.post(f"/v1/cases/{case_id}/purchase", zj, purchase)
    sealing = {
        "sealed_at": at,
        "sample_seal_no": "FY-1",
        "backup_seal_no": "FY-2",
        "witnesses": ["买样人 张三", "承检机构 李四", "执法人员 王五"],
        "evidence": [{k: sealing_ref[k] for k in fields}],
    }
    await gw.post(f"/v1/cases/{case_id}/sealing", zj, sealing)
    await gw.post(f"/v1/cases/{case_id}/sampling-notice", zj)
    async with gw.sessions() as session:
        notice = await session.scalar(
            select(OutboundMessage).where(
                OutboundMessage.case_id == case_id, OutboundMessage.message_type == "sampling.notice"
            )
        )
    assert notice is not None
    evidence = decode_notice(notice.body).data.evidence  # type: ignore[union-attr]
    assert [(e.sha256, e.media_type) for e in evidence] == [
        (purchase_ref["sha256"], "image/png"),
        (sealing_ref["sha256"], "video/mp4"),
    ]


async def same_bytes_again_is_a_noop_that_links_again(gw: Any, zj: str, platform_id: str, publish_case: Any) -> None:
    first_case = await open_case(gw, publish_case, zj, platform_id, "shop-a")
    second_case = await open_case(gw, publish_case, zj, platform_id, "shop-b")
    data = png(b"shared")
    sha = hashlib.sha256(data).hexdigest()

    created = await upload(gw, zj, first_case, data, step="unpacking")
    again = await upload(gw, zj, first_case, data, step="unpacking", description="重复上传")
    assert (created.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == created.json()["id"]
    assert again.json()["description"] == "商品页面截图"

    other_step = await upload(gw, zj, first_case, data, step="sealing")
    other_case = await upload(gw, zj, second_case, data, step="unpacking")
    assert (other_step.status_code, other_case.status_code) == (201, 201)
    assert len({created.json()["id"], other_step.json()["id"], other_case.json()["id"]}) == 3
    assert len(list((store_root(gw) / "sha256").rglob(sha))) == 1
    assert len(await evidence_rows(gw, first_case)) == 2
    assert len(await evidence_rows(gw, second_case)) == 1
    assert temp_files(gw) == []


async def jurisdiction_and_scope(gw: Any, zj: str, platform_id: str, publish_case: Any) -> None:
    gd = await gw.authority("440000", "广东省市场监督管理局")
    zj_read_only = await gw.authority("330000", "浙江省市场监督管理局", scopes=("read",))
    case_id = await open_case(gw, publish_case, zj, platform_id, "shop-jurisdiction")
    sha = (await upload(gw, zj, case_id, png(b"j"))).json()["sha256"]

    assert (await upload(gw, gd, case_id, png(b"k"))).status_code == 403
    assert (await upload(gw, zj_read_only, case_id, png(b"k"))).status_code == 403
    assert (await upload(gw, zj, "case_00000000000000000000000000", png(b"k"))).status_code == 404
    assert (await gw.client.get(f"/v1/cases/{case_id}/evidence", headers=gw.auth(gd))).status_code == 403
    assert (await gw.client.get(f"/v1/evidence/{sha}", headers=gw.auth(gd))).status_code == 403
    assert (await gw.client.get(f"/v1/evidence/{sha}", headers=gw.auth(zj_read_only))).status_code == 200
    assert (await gw.client.get(f"/v1/evidence/{'0' * 64}", headers=gw.auth(zj))).status_code == 404
    traversal = await gw.client.get("/v1/evidence/..%2F..%2Fmaster.key", headers=gw.auth(zj))
    assert traversal.status_code in {400, 404}
    assert (await gw.client.get(f"/v1/evidence/{sha.upper()}", headers=gw.auth(zj))).status_code == 400
    assert (await gw.client.get(f"/v1/evidence/{sha}")).status_code == 401


async def test_evidence_is_stored_once_listed_audited_cited_and_read_back(gateway: Any, publish_case: Any) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-ev")
    await stored_by_digest_listed_audited_and_read_back(gw, zj, platform.id, publish_case)
    await listed_evidence_travels_in_the_sampling_notice(gw, zj, platform.id, publish_case)
    await same_bytes_again_is_a_noop_that_links_again(gw, zj, platform.id, publish_case)
    await jurisdiction_and_scope(gw, zj, platform.id, publish_case)


async def refused_uploads_leave_nothing(gw: Any, zj: str, case_id: str) -> None:
    text = await upload(gw, zj, case_id, b"not an image at all")
    assert text.status_code == 415
    assert text.json()["type"] == "urn:spotcheck:problem:unsupported-media-type"
    # The declared type is not trusted: HTML sent as image/png is still refused.
    disguised = await upload(gw, zj, case_id, b"<html><body>x</body></html>", content_type="image/png")
    assert disguised.status_code == 415
    empty = await upload(gw, zj, case_id, b"")
    assert empty.status_code == 400
    assert empty.json()["type"] == "urn:spotcheck:problem:empty-file"
    multipart = await upload(gw, zj, case_id, png(), content_type="multipart/form-data; boundary=x")
    assert multipart.status_code == 415
    bad_step = await upload(gw, zj, case_id, png(), step="shipping")
    assert bad_step.status_code == 400
    long_text = await upload(gw, zj, case_id, png(), description="长" * 501)
    assert long_text.status_code == 400
    assert long_text.json()["errors"][0]["field"] == "description"


async def full_disk_and_unwritable_store(gw: Any, zj: str, case_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(self: EvidenceStore, temp: Any, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def read_only(self: EvidenceStore) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    with monkeypatch.context() as patch:
        patch.setattr(EvidenceStore, "_write", disk_full)
        full = await upload(gw, zj, case_id, png(b"full"))
    assert full.status_code == 507
    assert full.json()["type"] == "urn:spotcheck:problem:insufficient-storage"
    with monkeypatch.context() as patch:
        patch.setattr(EvidenceStore, "_open_temp", read_only)
        unwritable = await upload(gw, zj, case_id, png(b"ro"))
    assert unwritable.status_code == 503
    assert unwritable.json()["type"] == "urn:spotcheck:problem:evidence-store-unavailable"
    assert unwritable.headers["retry-after"] == "60"
    events = [e for e in await gw.get("/v1/events", zj) if e["kind"] == "evidence.storage_failed"]
    assert sorted(e["detail"]["problem"] for e in events) == ["evidence-store-unavailable", "insufficient-storage"]
    assert {e["case_id"] for e in events} == {case_id}


async def size_limit_holds_with_and_without_content_length(
    gw: Any, zj: str, case_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = gw.client.app.state.runtime
    monkeypatch.setattr(runtime, "settings", runtime.settings.with_changes({"store.max_evidence_bytes": 4096}))
    big = MP4 + b"\x00" * 8192
    announced = await upload(gw, zj, case_id, big)
    assert announced.status_code == 413
    assert announced.json()["type"] == "urn:spotcheck:problem:too-large"
    # Straight through ASGI: chunks without a content-length, as a chunked upload arrives from a real server.
    streamed = await asgi_upload(gw, zj, case_id, [big[i : i + 1000] for i in range(0, len(big), 1000)])
    assert streamed[0] == 413
    interrupted = await asgi_upload(gw, zj, case_id, [MP4, b"\x00" * 100], disconnect=True)
    assert interrupted[0] == 400
    assert b"upload-interrupted" in interrupted[1]
    monkeypatch.undo()


async def test_refused_and_failed_uploads_leave_no_file_no_row_and_no_temp(
    gateway: Any, publish_case: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-ev")
    case_id = await open_case(gw, publish_case, zj, platform.id, "shop-refused")
    await refused_uploads_leave_nothing(gw, zj, case_id)
    await full_disk_and_unwritable_store(gw, zj, case_id, monkeypatch)
    await size_limit_holds_with_and_without_content_length(gw, zj, case_id, monkeypatch)

    assert await evidence_rows(gw, case_id) == []
    assert not any(p.is_file() for p in store_root(gw).rglob("*"))
    async with gw.sessions() as session:
        recorded = await session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "evidence.recorded")
        )
    assert recorded == 0
    # Within the limit, the same case takes the file.
    assert (await upload(gw, zj, case_id, MP4 + b"\x00" * 1000)).status_code == 201


async def test_a_file_altered_on_disk_is_refused_reported_and_healed_by_reupload(
    gateway: Any, publish_case: Any
) -> None:
    gw = gateway
    zj = await gw.authority("330000", "浙江省市场监督管理局")
    platform = await gw.register_platform(zj, "tmall-ev")
    case_id = await open_case(gw, publish_case, zj, platform.id, "shop-altered")
    data = png(b"seal")
    sha = (await upload(gw, zj, case_id, data, step="sealing")).json()["sha256"]
    path = stored_path(gw, sha)
    path.chmod(0o600)
    path.write_bytes(data.replace(b"seal", b"SEAL"))

    refused = await gw.client.get(f"/v1/evidence/{sha}", headers=gw.auth(zj))
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:spotcheck:problem:evidence-integrity"
    [event] = [e for e in await gw.get("/v1/events", zj) if e["kind"] == "evidence.integrity_failed"]
    assert event["case_id"] == case_id
    assert event["detail"]["sha256"] == sha
    assert event["detail"]["reason"] == "altered"

    # Uploading the true bytes again puts them back under their name.
    assert (await upload(gw, zj, case_id, data, step="sealing")).status_code == 200
    healed = await gw.client.get(f"/v1/evidence/{sha}", headers=gw.auth(zj))
    assert healed.status_code == 200
    assert healed.content == data

    path.unlink()
    missing = await gw.client.get(f"/v1/evidence/{sha}", headers=gw.auth(zj))
    assert missing.status_code == 409
    assert "missing" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (png(b"x"), "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (MP4, "video/mp4"),
        (MOV, "video/quicktime"),
        (WEBM, "video/webm"),
        (PDF, "application/pdf"),
    ],
)
def test_accepted_media_types_are_detected_from_content(data: bytes, media_type: str) -> None:
    assert detect_media_type(data) == media_type
    assert media_type in ACCEPTED_MEDIA_TYPES


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"<html><script>alert(1)</script></html>",
        b"GIF89a" + b"\x00" * 20,
        b"PK\x03\x04" + b"\0" * 30,
    ],
)
def test_other_content_is_not_detected(data: bytes) -> None:
    assert detect_media_type(data) is None


async def test_store_streams_with_a_limit_and_removes_its_temporary_file(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "ev", max_bytes=64 * 1024)
    payload = MP4 + bytes(range(256)) * 100

    async def chunks(data: bytes, size: int) -> Any:
        for start in range(0, len(data), size):
            yield data[start : start + size]

    stored = await store.save(chunks(payload, 999))
    assert stored.sha256 == hashlib.sha256(payload).hexdigest()
    assert (stored.media_type, stored.size_bytes, stored.new) == ("video/mp4", len(payload), True)
    assert store.path_for(stored.sha256).read_bytes() == payload
    assert (store.path_for(stored.sha256).stat().st_mode & 0o777) == 0o400
    assert (await store.save(chunks(payload, 4096))).new is False
    assert await store.verify(stored.sha256) == store.path_for(stored.sha256)

    with pytest.raises(EvidenceError) as too_large:
        await store.save(chunks(MP4 + b"\x00" * (64 * 1024), 8192))
    assert too_large.value.status == 413
    assert list((tmp_path / "ev" / "tmp").iterdir()) == []
    with pytest.raises(ValueError, match="sha256"):
        store.path_for("../../etc/passwd")
    assert is_sha256(stored.sha256)
    assert not is_sha256(stored.sha256.upper())
