"""A case's official documents (文书) on the console: listed with their service, downloaded as the API does.

Both read through :class:`~spotcheck.gateway.documents.queries.DocumentQueries`, the API's own queries behind
``GET /v1/cases/{id}/documents`` and ``GET /v1/documents/{id}``, so the console shows and serves exactly what the
API would: 404 unknown, 403 outside the officer's jurisdiction, 409 a PDF altered on disk, each as the console's
error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.documents.queries import CaseDocument, DocumentFile, DocumentQueries
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models_documents import Document
from spotcheck.gateway.web.problems import ProblemError

__all__ = ["DOCUMENT_ID_LIMIT", "DocumentDownload", "content_disposition", "list_case_documents", "read_document"]

DOCUMENT_ID_LIMIT: Final = 40
"""The longest document id there is (the column's width); a longer one is unknown without asking the database."""


async def list_case_documents(
    session: AsyncSession, principal: Principal, runtime: Runtime, case_id: str
) -> list[CaseDocument]:
    """The case's documents, oldest first, with the notices that served them (as the API lists them)."""
    return await DocumentQueries(session, principal, runtime).list_for_case(case_id)


@dataclass(frozen=True)
class DocumentDownload:
    """A document and its PDF, whose bytes were just checked against its digest."""

    document: Document
    file: DocumentFile

    @property
    def headers(self) -> dict[str, str]:
        """Saved under its 文号; never cached, never sniffed."""
        return {
            "content-disposition": content_disposition(self.document.number, fallback=self.document.id),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        }


async def read_document(
    session: AsyncSession, principal: Principal, runtime: Runtime, document_id: str
) -> DocumentDownload:
    """The document's PDF after its bytes were checked against its digest (404, 403, 409 as the API answers)."""
    if len(document_id) > DOCUMENT_ID_LIMIT:
        raise ProblemError(404, "not-found", f"no document {document_id[:DOCUMENT_ID_LIMIT]}…")
    document, verified = await DocumentQueries(session, principal, runtime).read(document_id)
    return DocumentDownload(document, verified)


def content_disposition(number: str, *, fallback: str) -> str:
    """``attachment`` named after the 文号: an ASCII ``filename`` for old clients and the RFC 5987 ``filename*``.

    Everything outside RFC 5987's unreserved characters is percent-encoded as UTF-8, so a 文号 can neither break
    out of the header nor name a path (slashes are encoded too).
    """
    ascii_name = "".join(c for c in fallback if c.isascii() and (c.isalnum() or c in "-_")) or "document"
    return f"attachment; filename=\"{ascii_name}.pdf\"; filename*=UTF-8''{quote(number + '.pdf', safe='')}"
