"""Evidence of the sampling (seed 三(一)): streamed uploads stored by SHA-256, listed per case, read back verified.

The seed asks for the merchant, the listing and the purchase to be recorded by screenshots and video, and for the
unpacking and sealing to be filmed and kept. Files live at ``<evidence_dir>/sha256/ab/cd/<hex>``: an upload is
written to ``<evidence_dir>/tmp`` while it is hashed, its media type is read from its first bytes, and only then
is it renamed into place (same filesystem, so atomically): a file never carries a digest name it does not have.
The same bytes uploaded again are stored once; each upload links the file to a case and a step, and that link
is audited. Reading a file back re-hashes it first; a file altered on disk is refused with 409, recorded in the
audit trail and raised as an operational event.

Endpoints (regulator tokens, the case's jurisdiction as for every case endpoint):

* ``POST /v1/cases/{case_id}/evidence?step=…&description=…`` with the raw file as ``application/octet-stream``;
* ``GET /v1/cases/{case_id}/evidence``: the case's evidence, each entry usable as an ``EvidenceRef``;
* ``GET /v1/evidence/{sha256}``: the file, after its digest was checked.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
import puremagic
import structlog
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
from spotcheck.gateway.api.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime
from spotcheck.gateway.audit import append_audit
from spotcheck.gateway.cases import CaseService
from spotcheck.gateway.problems import ProblemError, field_error
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.settings import Settings
from spotcheck.gateway.store.models import Case, OperationalEvent
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.gateway.store.types import new_id

__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "EvidenceController",
    "EvidenceError",
    "EvidenceIntegrityError",
    "EvidenceStep",
    "EvidenceStore",
    "EvidenceView",
    "StoredFile",
    "detect_media_type",
    "evidence_root",
    "evidence_store",
    "is_sha256",
]

_log = structlog.get_logger("spotcheck.gateway.evidence")

ACCEPTED_MEDIA_TYPES: frozenset[str] = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/webp",
        "video/mp4",
        "video/webm",
        "video/quicktime",
        "application/pdf",
    }
)
"""Media types an evidence file may have, as detected from its content (the declared type is not trusted)."""

EvidenceStep = Literal["purchase", "listing", "unpacking", "sealing", "other"]
"""The step of the case an evidence file records (the ``step`` of an ``EvidenceRef``)."""

_SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEAD_BYTES = 64 * 1024  # enough for every signature puremagic checks in the accepted formats
_WRITE_BUFFER = 1024 * 1024  # bytes gathered before one write in a worker thread
_READ_CHUNK = 1024 * 1024
_MAX_DESCRIPTION = 500
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "application/pdf": "pdf",
}
_UPLOAD_TYPES = ACCEPTED_MEDIA_TYPES | {"application/octet-stream"}


class EvidenceError(Exception):
    """An upload or read-back the evidence store refuses; ``status`` and ``code`` become the problem's."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def problem(self) -> ProblemError:
        """The RFC 9457 problem answering this error."""
        headers = {"retry-after": "60"} if self.status == 503 else None  # noqa: PLR2004 - HTTP status
        return ProblemError(self.status, self.code, self.detail, headers=headers)


class EvidenceIntegrityError(EvidenceError):
    """The stored file is missing or no longer hashes to its name (altered on disk)."""

    def __init__(self, sha256: str, reason: str, actual: str | None) -> None:
        detail = (
            f"evidence file {sha256} is missing from the evidence store"
            if actual is None
            else f"evidence file {sha256} no longer matches its SHA-256 (altered on disk); it is not served"
        )
        super().__init__(409, "evidence-integrity", detail)
        self.sha256 = sha256
        self.reason = reason
        self.actual = actual


def evidence_root(settings: Settings) -> Path:
    """The evidence folder: ``settings.evidence_dir`` or ``<data_dir>/evidence``."""
    return settings.evidence_dir or settings.data_dir / "evidence"


def is_sha256(value: str) -> bool:
    """Whether ``value`` is a SHA-256 digest in lowercase hex, the only form evidence is named by."""
    return bool(_SHA256.match(value))


def detect_media_type(head: bytes) -> str | None:
    """The accepted media type the file's first bytes show, or None when they show none of them.

    Only the most confident matches count, so a file that merely contains another format's signature further in
    is not accepted under that format.
    """
    if not head:
        return None
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    if not matches:
        return None
    best = max(match.confidence for match in matches)
    for match in matches:
        if match.confidence == best and match.mime_type in ACCEPTED_MEDIA_TYPES:
            return str(match.mime_type)
    return None


def _storage_error(exc: OSError) -> EvidenceError:
    name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    if exc.errno in _FULL:
        return EvidenceError(
            507,
            "insufficient-storage",
            f"the evidence store is full ({name}); nothing was recorded, try again later",
        )
    return EvidenceError(
        503, "evidence-store-unavailable", f"the evidence store cannot be written ({name}); nothing was recorded"
    )


@dataclass(frozen=True)
class StoredFile:
    """A file now in the store: its digest, size, detected media type, and whether these bytes were new."""

    sha256: str
    size_bytes: int
    media_type: str
    new: bool


class _TempFile:
    """An open temporary upload file; ``fd`` is None once closed."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd: int | None = fd
        self.path = path


class EvidenceStore:
    """The content-addressed folder of evidence files (blocking file work runs in worker threads).

    Args:
        root: the evidence folder; ``sha256/`` and ``tmp/`` are created inside it on first use.
        max_bytes: the largest file an upload may carry; a larger one is refused with 413 and leaves nothing.
    """

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_for(self, sha256: str) -> Path:
        """Where the file with this digest lives: ``<root>/sha256/ab/cd/<hex>``."""
        if not is_sha256(sha256):
            raise ValueError("sha256: expected 64 lowercase hex digits")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    async def save(self, chunks: AsyncIterable[bytes]) -> StoredFile:
        """Stream ``chunks`` into the store, hashing as they come, and return what was stored.

        Raises:
            EvidenceError: 413 too large, 400 empty, 415 not an accepted media type, 507 store full,
                503 store not writable. The temporary file is removed in every case, and nothing is renamed
                into the store unless the whole upload was accepted.
        """
        try:
            temp = await asyncio.to_thread(self._open_temp)
        except OSError as exc:
            raise _storage_error(exc) from exc
        digest = hashlib.sha256()
        size = 0
        head = bytearray()
        buffer = bytearray()
        committed = False
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > self.max_bytes:
                    raise EvidenceError(413, "too-large", f"an evidence file may carry at most {self.max_bytes} bytes")
                if len(head) < _HEAD_BYTES:
                    head += chunk[: _HEAD_BYTES - len(head)]
                buffer += chunk
                if len(buffer) >= _WRITE_BUFFER:
                    data, buffer = bytes(buffer), bytearray()
                    await asyncio.to_thread(self._absorb, temp, digest, data)
            if buffer:
                await asyncio.to_thread(self._absorb, temp, digest, bytes(buffer))
            if size == 0:
                raise EvidenceError(400, "empty-file", "the upload carried no bytes")
            media_type = detect_media_type(bytes(head))
            if media_type is None:
                raise EvidenceError(
                    415,
                    "unsupported-media-type",
                    "evidence must be an image (PNG, JPEG, WebP), a video (MP4, WebM, QuickTime) or a PDF; "
                    "the file's content shows none of these",
                )
            sha256 = digest.hexdigest()
            new = await asyncio.to_thread(self._commit, temp, self.path_for(sha256))
            committed = True
        except OSError as exc:
            raise _storage_error(exc) from exc
        finally:
            if not committed:
                await asyncio.to_thread(self._discard, temp)
        return StoredFile(sha256=sha256, size_bytes=size, media_type=media_type, new=new)

    async def verify(self, sha256: str) -> Path:
        """The file's path after re-hashing it.

        Raises:
            EvidenceIntegrityError: the file is missing or its bytes no longer hash to ``sha256``.
            EvidenceError: 503 when the store cannot be read.
        """
        path = self.path_for(sha256)
        try:
            actual = await asyncio.to_thread(_hash_file, path)
        except FileNotFoundError:
            raise EvidenceIntegrityError(sha256, "missing", None) from None
        except OSError as exc:
            raise EvidenceError(
                503, "evidence-store-unavailable", "the evidence store cannot be read; try again later"
            ) from exc
        if actual != sha256:
            raise EvidenceIntegrityError(sha256, "altered", actual)
        return path

    # ---- blocking helpers (worker threads) -------------------------------------------------------------------

    def _open_temp(self) -> _TempFile:
        folder = self.root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"upload-{secrets.token_hex(12)}.part"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return _TempFile(fd, path)

    def _absorb(self, temp: _TempFile, digest: Any, data: bytes) -> None:
        digest.update(data)
        self._write(temp, data)

    def _write(self, temp: _TempFile, data: bytes) -> None:
        assert temp.fd is not None  # noqa: S101 - only called while the file is open
        view = memoryview(data)
        while view:
            written = os.write(temp.fd, view)
            view = view[written:]

    def _commit(self, temp: _TempFile, final: Path) -> bool:
        assert temp.fd is not None  # noqa: S101 - only called while the file is open
        os.fsync(temp.fd)
        os.close(temp.fd)
        temp.fd = None
        final.parent.mkdir(parents=True, exist_ok=True)
        new = not final.exists()
        # Read-only on disk, and replacing (not skipping) an existing name heals a file someone altered.
        temp.path.chmod(0o400)
        temp.path.replace(final)
        _fsync_dir(final.parent)
        return new

    def _discard(self, temp: _TempFile) -> None:
        if temp.fd is not None:
            try:
                os.close(temp.fd)
            except OSError:
                _log.warning("closing a discarded upload failed", path=str(temp.path))
            temp.fd = None
        try:
            temp.path.unlink(missing_ok=True)
        except OSError:
            _log.warning("removing a discarded upload failed", path=str(temp.path))


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_READ_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder entry is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_stores: dict[tuple[Path, int], EvidenceStore] = {}


def evidence_store(settings: Settings) -> EvidenceStore:
    """The evidence store these settings describe (one instance per folder and limit)."""
    key = (evidence_root(settings), settings.max_evidence_bytes)
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = EvidenceStore(key[0], max_bytes=key[1])
    return store


async def _load_case(session: AsyncSession, principal: Principal, runtime: Runtime, case_id: str) -> Case:
    return await CaseService(session, principal, runtime).load(case_id)


def _require_write(principal: Principal) -> None:
    if "write" not in principal.scopes:
        raise ProblemError(403, "insufficient-scope", "this token lacks the 'write' scope")


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
        _require_write(principal)
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
