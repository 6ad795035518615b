"""The documents' PDFs on disk, content-addressed like evidence: ``<data_dir>/documents/files/sha256/ab/cd/<hex>``.

The evidence store already writes a file under its digest atomically, refuses what is not a PDF, and re-hashes
a file before it is served; documents use it as it is, in a folder of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Final

from spotcheck.gateway.evidence.store import EvidenceError, EvidenceStore, StoredFile

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "DocumentStoreError",
    "document_reader",
    "document_store",
    "documents_root",
    "save_pdf",
]

MAX_DOCUMENT_BYTES: Final = 64 * 1024 * 1024
"""The largest PDF a document may be (a seal image and a few pages are well under a megabyte)."""

DocumentStoreError = EvidenceError
"""What the store raises: a full or unwritable store, or a file altered or missing on disk (its ``problem()``)."""

_stores: dict[Path, EvidenceStore] = {}


def documents_root(data_dir: Path) -> Path:
    """The folder of the documents' files."""
    return data_dir / "documents" / "files"


def document_store(data_dir: Path) -> EvidenceStore:
    """The content-addressed store of documents under ``data_dir`` (one instance per folder)."""
    root = documents_root(data_dir)
    store = _stores.get(root)
    if store is None:
        store = _stores[root] = EvidenceStore(root, max_bytes=MAX_DOCUMENT_BYTES)
    return store


async def save_pdf(data_dir: Path, pdf: bytes) -> StoredFile:
    """Store the PDF's bytes under their SHA-256 (the same bytes are stored once)."""

    async def one_chunk() -> AsyncIterator[bytes]:
        yield pdf

    return await document_store(data_dir).save(one_chunk())


def document_reader(data_dir: Path) -> Callable[[str], Awaitable[bytes]]:
    """What the delivery worker lends adapters: a document's bytes by SHA-256, re-hashed before they are read."""
    store = document_store(data_dir)

    async def read(sha256: str) -> bytes:
        path = await store.verify(sha256)
        return await asyncio.to_thread(path.read_bytes)

    return read
