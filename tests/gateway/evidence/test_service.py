"""The evidence service without HTTP: record, list and read back verified; jurisdiction; failures reported."""

from __future__ import annotations

import errno
import hashlib
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from spotcheck.gateway.access import Principal
from spotcheck.gateway.evidence.service import MAX_DESCRIPTION, EvidenceService
from spotcheck.gateway.evidence.store import EvidenceStore
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import AuditRecord, Case, Merchant, OperationalEvent
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.problems import ProblemError

pytestmark = pytest.mark.postgres

Regulator = Callable[..., Awaitable[Principal]]


def png(marker: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"tEXt", b"Comment\x00" + marker) + pixels + chunk(b"IEND", b"")


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def open_case(runtime: Runtime, principal: Principal) -> str:
    """A planned case of the principal's authority in its own province, straight in the store."""
    async with runtime.sessions() as session, session.begin():
        merchant = Merchant(
            id=new_id("mer"), shop_id="shop", shop_name="某店", kind="natural_person", website="https://shop.example.cn"
        )
        session.add(merchant)
        await session.flush()
        case = Case(
            id=new_id("case"),
            authority_id=principal.authority_id,
            jurisdiction_division=principal.division_code,
            jurisdiction_basis="test",
            state="planned",
            merchant_id=merchant.id,
            sample_name="电热水壶",
            trademark="美的",
            spec_model="MK-HJ1705",
        )
        session.add(case)
    return case.id


async def record(runtime: Runtime, principal: Principal, case_id: str, data: bytes, **options: Any) -> Any:
    async with runtime.sessions() as session:
        return await EvidenceService(session, principal, runtime).record_upload(
            case_id,
            step=options.pop("step", "purchase"),
            description=options.pop("description", " 商品页面截图 "),
            content=chunks(data),
            **options,
        )


async def refusal(call: Awaitable[Any]) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        await call
    return caught.value


async def test_recorded_once_per_step_listed_audited_and_read_back(runtime: Runtime, regulator: Regulator) -> None:
    zj = await regulator("330000")
    case_id = await open_case(runtime, zj)
    data = png(b"listing")
    sha = hashlib.sha256(data).hexdigest()

    first = await record(runtime, zj, case_id, data, declared_size=len(data))
    again = await record(runtime, zj, case_id, data, description="重复")
    other_step = await record(runtime, zj, case_id, data, step="sealing")
    assert (first.created, again.created, other_step.created) == (True, False, True)
    assert again.evidence.id == first.evidence.id
    assert (first.evidence.sha256, first.evidence.media_type, first.evidence.description) == (
        sha,
        "image/png",
        "商品页面截图",
    )

    async with runtime.sessions() as session:
        listed = await EvidenceService(session, zj, runtime).list_for_case(case_id)
        audited = (await session.scalars(select(AuditRecord).where(AuditRecord.action == "evidence.recorded"))).all()
    async with runtime.sessions() as session:
        verified = await EvidenceService(session, zj, runtime).read_verified(sha)
    assert [(row.step, row.sha256) for row in listed] == [("purchase", sha), ("sealing", sha)]
    assert verified.path.read_bytes() == data
    assert (verified.media_type, verified.file_name) == ("image/png", f"{sha}.png")
    assert [(r.subject, r.detail["step"]) for r in audited] == [(case_id, "purchase"), (case_id, "sealing")]


async def test_other_jurisdictions_and_scopes_are_refused(runtime: Runtime, regulator: Regulator) -> None:
    zj = await regulator("330000")
    gd = await regulator("440000")
    reader = await regulator("330000", scopes=("read",))
    case_id = await open_case(runtime, zj)
    sha = (await record(runtime, zj, case_id, png(b"j"))).evidence.sha256

    assert (await refusal(record(runtime, gd, case_id, png(b"k")))).code == "outside-jurisdiction"
    assert (await refusal(record(runtime, reader, case_id, png(b"k")))).code == "insufficient-scope"
    assert (await refusal(record(runtime, zj, "case_missing", png(b"k")))).status_code == 404
    async with runtime.sessions() as session:
        as_gd = EvidenceService(session, gd, runtime)
        assert (await refusal(as_gd.list_for_case(case_id))).status_code == 403
        assert (await refusal(as_gd.read_verified(sha))).status_code == 403
        assert (await refusal(as_gd.read_verified("0" * 64))).status_code == 404
        assert (await refusal(as_gd.read_verified(sha.upper()))).errors[0].field == "sha256"
        assert (await EvidenceService(session, reader, runtime).read_verified(sha)).sha256 == sha


async def test_bad_input_is_refused_before_anything_is_stored(runtime: Runtime, regulator: Regulator) -> None:
    zj = await regulator("330000")
    case_id = await open_case(runtime, zj)
    long_text = await refusal(record(runtime, zj, case_id, png(b"a"), description="长" * (MAX_DESCRIPTION + 1)))
    assert (long_text.status_code, long_text.errors[0].field) == (400, "description")
    control = await refusal(record(runtime, zj, case_id, png(b"a"), description="a\x00b"))
    assert control.errors[0].field == "description"
    too_large = await refusal(
        record(runtime, zj, case_id, png(b"a"), declared_size=runtime.settings.store.max_evidence_bytes + 1)
    )
    assert (too_large.status_code, too_large.code) == (413, "too-large")
    assert (await refusal(record(runtime, zj, case_id, b"plain text"))).status_code == 415
    async with runtime.sessions() as session:
        assert (await session.scalars(select(EvidenceFile))).all() == []


async def test_a_store_that_fails_is_reported_as_an_operational_event(
    runtime: Runtime, regulator: Regulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    zj = await regulator("330000")
    case_id = await open_case(runtime, zj)

    def read_only(self: EvidenceStore) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(EvidenceStore, "_open_temp", read_only)
    unavailable = await refusal(record(runtime, zj, case_id, png(b"ro")))
    assert (unavailable.status_code, unavailable.code) == (503, "evidence-store-unavailable")
    async with runtime.sessions() as session:
        events = (await session.scalars(select(OperationalEvent))).all()
        audited = await session.scalar(select(AuditRecord).where(AuditRecord.action == "evidence.storage_failed"))
    assert [(e.kind, e.case_id, e.detail) for e in events] == [
        ("evidence.storage_failed", case_id, {"problem": "evidence-store-unavailable"})
    ]
    assert audited is not None
    assert audited.subject == case_id


async def test_a_file_altered_on_disk_is_refused_and_reported(runtime: Runtime, regulator: Regulator) -> None:
    zj = await regulator("330000")
    case_id = await open_case(runtime, zj)
    recorded = await record(runtime, zj, case_id, png(b"seal"), step="sealing")
    async with runtime.sessions() as session:
        path = (await EvidenceService(session, zj, runtime).read_verified(recorded.evidence.sha256)).path
    path.chmod(0o600)
    path.write_bytes(png(b"SEAL"))

    async with runtime.sessions() as session:
        altered = await refusal(EvidenceService(session, zj, runtime).read_verified(recorded.evidence.sha256))
    assert (altered.status_code, altered.code) == (409, "evidence-integrity")
    async with runtime.sessions() as session:
        event = await session.scalar(
            select(OperationalEvent).where(OperationalEvent.kind == "evidence.integrity_failed")
        )
        audited = await session.scalar(select(AuditRecord).where(AuditRecord.action == "evidence.integrity_failed"))
    assert event is not None
    assert event.case_id == case_id
    assert (event.detail["reason"], event.detail["evidence"]) == ("altered", recorded.evidence.id)
    assert audited is not None
    assert audited.detail["actual_sha256"] == hashlib.sha256(png(b"SEAL")).hexdigest()
