"""Evidence endpoints: streamed upload, list per case, verified download."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterable
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import InternalServerException
from litestar.params import FromPath, FromQuery
from litestar.response import File
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.chain import append_audit
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.evidence.store import (
    _CONTROL,
    _EXTENSIONS,
    _MAX_DESCRIPTION,
    _UPLOAD_TYPES,
    EvidenceError,
    EvidenceIntegrityError,
    EvidenceStep,
    StoredFile,
    _log,
    evidence_store,
    is_sha256,
)
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, OperationalEvent
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime
from spotcheck.gateway.web.problems import ProblemError, field_error


async def _load_case(session: AsyncSession, principal: Principal, runtime: Runtime, case_id: str) -> Case:
    return await CaseService(session, principal, runtime).load(case_id)


class EvidenceView(msgspec.Struct, kw_only=True):
    """One evidence file linked to a case; the first five fields form the wire contract's ``EvidenceRef``."""

    sha256: str
    media_type: str
    size_bytes: int
    step: str
    description: str
    id: str
    case_id: str
    uploaded_by: str
    created_at: datetime
    download_url: str


def _view(row: EvidenceFile) -> EvidenceView:
    return EvidenceView(
        sha256=row.sha256,
        media_type=row.media_type,
        size_bytes=row.size_bytes,
        step=row.step,
        description=row.description,
        id=row.id,
        case_id=row.case_id,
        uploaded_by=row.uploaded_by,
        created_at=row.created_at,
        download_url=f"/v1/evidence/{row.sha256}",
    )


def _clean_description(description: str) -> str:
    text = description.strip()
    if len(text) > _MAX_DESCRIPTION:
        raise field_error(400, "description", f"at most {_MAX_DESCRIPTION} characters")
    if _CONTROL.search(text):
        raise field_error(400, "description", "must not contain control characters")
    return text


async def _existing_link(session: AsyncSession, case_id: str, step: str, sha256: str) -> EvidenceFile | None:
    found: EvidenceFile | None = await session.scalar(
        select(EvidenceFile).where(
            EvidenceFile.case_id == case_id, EvidenceFile.step == step, EvidenceFile.sha256 == sha256
        )
    )
    return found


async def _link(
    session: AsyncSession, principal: Principal, case: Case, stored: StoredFile, step: str, description: str
) -> tuple[EvidenceFile, bool]:
    existing = await _existing_link(session, case.id, step, stored.sha256)
    if existing is not None:
        return existing, False
    row = EvidenceFile(
        id=new_id("evd"),
        case_id=case.id,
        sha256=stored.sha256,
        media_type=stored.media_type,
        size_bytes=stored.size_bytes,
        step=step,
        description=description,
        uploaded_by=principal.actor,
    )
    session.add(row)
    await session.flush()
    await append_audit(
        session,
        actor=principal.actor,
        action="evidence.recorded",
        subject=case.id,
        detail={
            "evidence": row.id,
            "sha256": stored.sha256,
            "media_type": stored.media_type,
            "size_bytes": stored.size_bytes,
            "step": step,
        },
    )
    return row, True


async def _report(session: AsyncSession, *, kind: str, case_id: str | None, detail: dict[str, Any]) -> None:
    """Raise an operational event and audit it, in a transaction of its own."""
    session.add(OperationalEvent(id=new_id("evt"), kind=kind, case_id=case_id, detail=detail))
    await append_audit(session, actor="gateway", action=kind, subject=case_id or "evidence-store", detail=detail)
    await session.commit()


async def _chunks(request: Request[Any, Any, State]) -> AsyncIterable[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except InternalServerException as exc:
        # Litestar signals a client that hung up mid-body this way; nothing is stored.
        raise EvidenceError(400, "upload-interrupted", "the client disconnected before the upload ended") from exc


class EvidenceController(Controller):
    """Evidence files of a case: upload (streamed, content-addressed), list, and verified download."""

    path = "/v1"
    tags = ["evidence"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post(
        "/cases/{case_id:str}/evidence",
        summary="Upload an evidence file (raw body, application/octet-stream) for a step of the case (三(一))",
        description=(
            "Send the file's bytes as the request body. The media type is detected from the content: PNG, JPEG, "
            "WebP, MP4, WebM, QuickTime or PDF. The file is stored once under its SHA-256; uploading the same "
            "bytes again answers 200 with the existing link instead of 201."
        ),
        request_max_body_size=None,  # evidence has its own, larger limit, enforced while streaming
        status_code=201,
    )
    async def upload(
        self,
        request: Request[Any, Any, State],
        case_id: FromPath[str],
        step: FromQuery[EvidenceStep],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
        description: FromQuery[str] = "",
    ) -> Response[EvidenceView]:
        """Store the file and link it to the case and step; audited."""
        principal.require_scope("write")
        text = _clean_description(description)
        declared = request.headers.get("content-type", "application/octet-stream").split(";", 1)[0].strip().lower()
        if declared not in _UPLOAD_TYPES:
            raise ProblemError(
                415, "unsupported-media-type", "send the file's bytes as the body, as application/octet-stream"
            )
        await _load_case(session, principal, runtime, case_id)
        store = evidence_store(runtime.settings)
        if request.content_length is not None and request.content_length > store.max_bytes:
            raise ProblemError(413, "too-large", f"an evidence file may carry at most {store.max_bytes} bytes")
        # End the read transaction before a long upload: on SQLite it would hold the database's write lock.
        await session.rollback()
        try:
            stored = await store.save(_chunks(request))
        except EvidenceError as exc:
            if exc.status in {503, 507}:
                await _report(session, kind="evidence.storage_failed", case_id=case_id, detail={"problem": exc.code})
            raise exc.problem() from exc
        for attempt in range(2):
            case = await _load_case(session, principal, runtime, case_id)
            try:
                row, created = await _link(session, principal, case, stored, step, text)
                await session.commit()
                break
            except IntegrityError:
                # The same file reached the same case and step twice at once: the other upload's link stands.
                await session.rollback()
                if attempt:
                    raise
        return Response(_view(row), status_code=201 if created else 200)

    @get("/cases/{case_id:str}/evidence", summary="The case's evidence files")
    async def list_evidence(
        self, case_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> list[EvidenceView]:
        """Every evidence file linked to the case, oldest first."""
        await _load_case(session, principal, runtime, case_id)
        rows = await session.scalars(
            select(EvidenceFile).where(EvidenceFile.case_id == case_id).order_by(EvidenceFile.created_at)
        )
        return [_view(row) for row in rows]

    @get(
        "/evidence/{sha256:str}",
        summary="Download an evidence file after verifying its SHA-256",
        description="A file whose bytes no longer match its digest answers 409 and raises an operational event.",
    )
    async def download(
        self, sha256: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> File:
        """Stream the file back; 404 unknown, 403 outside the jurisdiction, 409 altered or missing on disk."""
        if not is_sha256(sha256):
            raise field_error(400, "sha256", "expected 64 lowercase hex digits")
        rows = (await session.scalars(select(EvidenceFile).where(EvidenceFile.sha256 == sha256))).all()
        if not rows:
            raise ProblemError(404, "not-found", f"no evidence file {sha256}")
        visible: list[EvidenceFile] = []
        for row in rows:
            case = await session.get(Case, row.case_id)
            if case is not None and principal.can_access_case(case):
                visible.append(row)
        if not visible:
            raise ProblemError(403, "outside-jurisdiction", "this evidence belongs to cases outside your jurisdiction")
        # Read before the rollback below expires the loaded rows.
        evidence_id, case_id, media_type = visible[0].id, visible[0].case_id, visible[0].media_type
        await session.rollback()  # hashing a large video must not hold a database transaction open
        try:
            path = await evidence_store(runtime.settings).verify(sha256)
        except EvidenceIntegrityError as exc:
            _log.error("evidence integrity failure", sha256=sha256, reason=exc.reason)
            detail = {"sha256": sha256, "reason": exc.reason, "actual_sha256": exc.actual, "evidence": evidence_id}
            await _report(session, kind="evidence.integrity_failed", case_id=case_id, detail=detail)
            raise exc.problem() from exc
        except EvidenceError as exc:
            raise exc.problem() from exc
        digest = base64.b64encode(bytes.fromhex(sha256)).decode()
        return File(
            path,
            filename=f"{sha256}.{_EXTENSIONS.get(media_type, 'bin')}",
            media_type=media_type,
            headers={
                "repr-digest": f"sha-256=:{digest}:",
                "x-content-type-options": "nosniff",
                "cache-control": "private, no-store",
            },
        )
