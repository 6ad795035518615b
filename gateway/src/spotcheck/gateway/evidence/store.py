"""The evidence store: files of the sampling kept by SHA-256, streamed in, read back verified (the opinion's 三(一)).

The opinion asks for the merchant, the listing and the purchase to be recorded by screenshots and video, and for
the unpacking and sealing to be filmed and kept. Files live at ``<evidence_dir>/sha256/ab/cd/<hex>``: an upload is
written to ``<evidence_dir>/tmp`` while it is hashed, its media type is read from its first bytes, and only then
is it renamed into place (same filesystem, so atomically): a file never carries a digest name it does not have.
The same bytes uploaded again are stored once. Reading a file back re-hashes it first, so a file altered on disk
is never served.

Linking a file to a case and a step, auditing it and reporting a file altered on disk belong to the evidence
service (:mod:`spotcheck.gateway.evidence.service`); this module knows files, not cases.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import puremagic
import structlog

from spotcheck.gateway.settings import Settings
from spotcheck.gateway.web.problems import ProblemError

__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "EvidenceError",
    "EvidenceIntegrityError",
    "EvidenceStep",
    "EvidenceStore",
    "StoredFile",
    "detect_media_type",
    "evidence_root",
    "evidence_store",
    "file_name",
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
_HEAD_BYTES = 64 * 1024  # enough for every signature puremagic checks in the accepted formats
_WRITE_BUFFER = 1024 * 1024  # bytes gathered before one write in a worker thread
_READ_CHUNK = 1024 * 1024
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
    """The evidence folder: ``settings.store.evidence_dir`` or ``<data_dir>/evidence``."""
    return settings.store.evidence_dir or settings.store.data_dir / "evidence"


def file_name(sha256: str, media_type: str) -> str:
    """The name an evidence file is offered under for download: its digest and its media type's extension."""
    return f"{sha256}.{_EXTENSIONS.get(media_type, 'bin')}"


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
    key = (evidence_root(settings), settings.store.max_evidence_bytes)
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = EvidenceStore(key[0], max_bytes=key[1])
    return store
