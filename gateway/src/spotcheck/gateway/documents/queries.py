"""Reading documents: a case's list with its proof of service, and a PDF for a regulator, a platform or the public.

Service (送达) is not declared, it is proven: each document lists the notices that carried it, and a notice's
delivery (the platform's 2xx, the mail relay's acceptance, the publication of the announcement) and its
acknowledgement (the platform's signed ``notice.acknowledged``, the electronic 送达回证) say when it was served,
on whom and how. A PDF is served only after its bytes are re-hashed against the digest the notice carried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.documents.store import DocumentStoreError, document_store
from spotcheck.gateway.intake.verifiers import inbound_verifier
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import OutboundMessage
from spotcheck.gateway.store.models_documents import Document, DocumentDelivery
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.sdk import VerificationError

__all__ = [
    "SERVICE_METHODS",
    "CaseDocument",
    "DocumentFile",
    "DocumentQueries",
    "Service",
    "platform_fetch_target",
    "read_platform_document",
    "read_public_document",
]

SERVICE_METHODS: Final[dict[str, str]] = {
    "webhook": "电子送达（平台接口）",
    "open_platform": "电子送达（平台开放接口）",
    "smtp": "电子送达（电子邮件）",
    "announcement": "公告送达",
    "memory": "电子送达（测试）",
}
"""How a notice's adapter serves a document, as the case shows it (送达方式)."""


@dataclass(frozen=True)
class Service:
    """One notice that carried the document: to whom, how, and whether and when it arrived and was acknowledged."""

    message_id: str
    on: str
    recipient_kind: str
    method: str
    status: str
    delivered_at: datetime | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class CaseDocument:
    """A document of a case and its proof of service: ``served_at`` is the first delivery of a notice carrying it."""

    document: Document
    services: list[Service]

    @property
    def served_at(self) -> datetime | None:
        """When the document was first served (a carrying notice was delivered), or None while it is not."""
        times = [s.delivered_at for s in self.services if s.delivered_at is not None]
        return min(times) if times else None

    @property
    def acknowledged_at(self) -> datetime | None:
        """When its addressee first acknowledged a notice carrying it (the electronic 送达回证), or None."""
        times = [s.acknowledged_at for s in self.services if s.acknowledged_at is not None]
        return min(times) if times else None


@dataclass(frozen=True)
class DocumentFile:
    """A document's PDF whose bytes were just checked against its digest."""

    path: Path
    sha256: str
    media_type: str
    file_name: str


def platform_fetch_target(platform_id: str, document_id: str) -> bytes:
    """What a platform signs to fetch a document, in place of a body: ``GET /v1/platforms/{id}/documents/{id}``."""
    return f"GET /v1/platforms/{platform_id}/documents/{document_id}".encode()


def _service(row: Any) -> Service:
    """A carrying notice's service, from its row (or the columns :data:`_SERVICE_COLUMNS` read of it)."""
    return Service(
        message_id=row.id,
        on=row.recipient_name,
        recipient_kind=row.recipient_kind,
        method=SERVICE_METHODS.get(row.adapter, f"电子送达（{row.adapter}）"),
        status=row.status,
        delivered_at=row.delivered_at,
        acknowledged_at=row.acknowledged_at,
    )


async def _verified(runtime: Runtime, document: Document) -> DocumentFile:
    sha256, media_type, number = document.sha256, document.media_type, document.number_seq
    file_name = f"{document.kind}-{document.number_year}-{number}.pdf"
    try:
        path = await document_store(runtime.settings.store.data_dir).verify(sha256)
    except DocumentStoreError as exc:
        raise exc.problem() from exc
    return DocumentFile(path=path, sha256=sha256, media_type=media_type, file_name=file_name)


# What a document's service shows of each notice that carried it: never its body or destination.
_SERVICE_COLUMNS: Final = (
    OutboundMessage.id,
    OutboundMessage.recipient_name,
    OutboundMessage.recipient_kind,
    OutboundMessage.adapter,
    OutboundMessage.status,
    OutboundMessage.delivered_at,
    OutboundMessage.acknowledged_at,
)


# Built once: building this three-table statement cost twice what running it did, on every case page.
_DOCUMENTS_WITH_CARRIERS = (
    select(Document, *_SERVICE_COLUMNS)
    .outerjoin(DocumentDelivery, DocumentDelivery.document_id == Document.id)
    .outerjoin(OutboundMessage, OutboundMessage.id == DocumentDelivery.message_id)
    .where(Document.case_id == bindparam("case_id"))
    .order_by(Document.id, OutboundMessage.id)
)


async def _with_carriers(session: AsyncSession, case_id: str) -> list[CaseDocument]:
    """The case's documents (by id) each with the notices that carried it (by id): one query, outer-joined."""
    rows = await session.execute(_DOCUMENTS_WITH_CARRIERS, {"case_id": case_id})
    listed: dict[str, CaseDocument] = {}
    for row in rows:
        document = row[0]
        entry = listed.get(document.id)
        if entry is None:
            entry = listed[document.id] = CaseDocument(document, [])
        if row.id is not None:  # a document no notice carried yet has one row, without a notice
            entry.services.append(_service(row))
    return list(listed.values())


class DocumentQueries:
    """What a regulator may read of documents, limited to the cases it may see."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.runtime = runtime

    async def list_for_case(self, case_id: str) -> list[CaseDocument]:
        """The case's documents in the order they were made, each with its proof of service (404, 403)."""
        await CaseService(self.session, self.principal, self.runtime).load(case_id)
        return await _with_carriers(self.session, case_id)

    async def read(self, document_id: str) -> tuple[Document, DocumentFile]:
        """The document and its verified PDF (404 unknown, 403 outside the jurisdiction, 409 altered on disk)."""
        document = await self.session.get(Document, document_id)
        if document is None:
            raise ProblemError(404, "not-found", f"no document {document_id}")
        await CaseService(self.session, self.principal, self.runtime).load(document.case_id)
        return document, await _verified(self.runtime, document)


async def read_platform_document(
    session: AsyncSession, runtime: Runtime, platform_id: str, document_id: str, headers: dict[str, str]
) -> tuple[Document, DocumentFile]:
    """A document a notice served on the platform, for a request signed with the platform's reply key.

    The platform signs :func:`platform_fetch_target` as Standard Webhooks signs a body, with the key it signs its
    replies with, and the intake's own verifier checks it.

    Raises:
        ProblemError: 401 a missing or bad signature; 404 no such document among those served on the platform
            (whether it exists elsewhere is not told); 409 the PDF is altered on disk.
    """
    webhook = await inbound_verifier(session, runtime, platform_id)
    try:
        webhook.verify(platform_fetch_target(platform_id, document_id), headers)
    except VerificationError as exc:
        raise ProblemError(401, "bad-signature", f"signature verification failed: {exc.reason}") from exc
    served = await session.scalar(
        select(Document)
        .join(DocumentDelivery, DocumentDelivery.document_id == Document.id)
        .join(OutboundMessage, OutboundMessage.id == DocumentDelivery.message_id)
        .where(
            Document.id == document_id,
            OutboundMessage.recipient_kind == "platform",
            OutboundMessage.recipient_id == platform_id,
        )
        .limit(1)
    )
    if served is None:
        raise ProblemError(404, "not-found", f"no document {document_id} was served on platform {platform_id}")
    return served, await _verified(runtime, served)


async def read_public_document(session: AsyncSession, runtime: Runtime, document_id: str) -> DocumentFile:
    """A document served by announcement (公告送达): public by law, so anyone may read it (404 otherwise)."""
    announced = await session.scalar(
        select(Document)
        .join(DocumentDelivery, DocumentDelivery.document_id == Document.id)
        .join(OutboundMessage, OutboundMessage.id == DocumentDelivery.message_id)
        .where(Document.id == document_id, OutboundMessage.adapter == "announcement")
        .limit(1)
    )
    if announced is None:
        raise ProblemError(404, "not-found", f"no announced document {document_id}")
    return await _verified(runtime, announced)
