"""Documents endpoints: a case's documents, one document's PDF for a regulator, a platform and the public.

* ``GET /v1/cases/{case_id}/documents``: the case's documents and their proof of service (token);
* ``GET /v1/documents/{document_id}``: the PDF, for a regulator (token);
* ``GET /v1/platforms/{platform_id}/documents/{document_id}``: the PDF, for the platform it was served on,
  signed with its reply key over ``GET /v1/platforms/{platform_id}/documents/{document_id}`` (Standard Webhooks
  headers, as the intake verifies replies);
* ``GET /public/documents/{document_id}``: the PDF of a document served by announcement (公告送达).

Every PDF is re-hashed before it is sent; ``repr-digest`` carries its SHA-256.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import File

from spotcheck.gateway.documents.queries import (
    CaseDocument,
    DocumentFile,
    DocumentQueries,
    read_platform_document,
    read_public_document,
)
from spotcheck.gateway.documents.schemas import DocumentView, ServiceView
from spotcheck.gateway.documents.templates import beijing
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime

__all__ = ["DocumentController", "PlatformDocumentController", "PublicDocumentController"]


def _local(moment: datetime | None) -> str | None:
    return beijing(moment) if moment is not None else None


def _view(entry: CaseDocument) -> DocumentView:
    doc = entry.document
    return DocumentView(
        id=doc.id,
        case_id=doc.case_id,
        kind=doc.kind,
        title=doc.title,
        number=doc.number,
        addressee=doc.addressee_name,
        basis=doc.basis,
        sha256=doc.sha256,
        media_type=doc.media_type,
        size_bytes=doc.size_bytes,
        signer=doc.signer,
        issued_at=doc.issued_at,
        download_url=f"/v1/documents/{doc.id}",
        served=entry.served_at is not None,
        served_at=entry.served_at,
        served_at_beijing=_local(entry.served_at),
        acknowledged_at=entry.acknowledged_at,
        services=[
            ServiceView(
                message_id=s.message_id,
                on=s.on,
                recipient_kind=s.recipient_kind,
                method=s.method,
                status=s.status,
                delivered_at=s.delivered_at,
                acknowledged_at=s.acknowledged_at,
                delivered_at_beijing=_local(s.delivered_at),
                acknowledged_at_beijing=_local(s.acknowledged_at),
            )
            for s in entry.services
        ],
    )


def _pdf(verified: DocumentFile, *, cache: str) -> File:
    digest = base64.b64encode(bytes.fromhex(verified.sha256)).decode()
    return File(
        verified.path,
        filename=verified.file_name,
        media_type=verified.media_type,
        headers={"repr-digest": f"sha-256=:{digest}:", "x-content-type-options": "nosniff", "cache-control": cache},
    )


class DocumentController(Controller):
    """A regulator's documents (文书): listed per case with their service, downloaded verified."""

    path = "/v1"
    tags = ["documents"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @get("/cases/{case_id:str}/documents", summary="The case's documents and when each was served, on whom, how")
    async def list_documents(
        self, case_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> list[DocumentView]:
        """Every document of the case, oldest first, with the notices that served it."""
        entries = await DocumentQueries(session, principal, runtime).list_for_case(case_id)
        return [_view(entry) for entry in entries]

    @get(
        "/documents/{document_id:str}",
        summary="Download a document's signed PDF after verifying its SHA-256",
        media_type="application/pdf",
    )
    async def download(
        self, document_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> File:
        """The PDF; 404 unknown, 403 outside the jurisdiction, 409 altered on disk."""
        _, verified = await DocumentQueries(session, principal, runtime).read(document_id)
        return _pdf(verified, cache="private, no-store")


class PlatformDocumentController(Controller):
    """The documents served on a platform, fetched with a request signed by its reply key."""

    path = "/v1/platforms"
    tags = ["documents"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/{platform_id:str}/documents/{document_id:str}",
        summary="A platform fetches a document served on it (signed request)",
        description=(
            "Standard Webhooks headers signed with the platform's reply key over "
            "`{webhook-id}.{webhook-timestamp}.GET /v1/platforms/{platform_id}/documents/{document_id}`."
        ),
        media_type="application/pdf",
    )
    async def fetch(
        self,
        platform_id: FromPath[str],
        document_id: FromPath[str],
        request: Request[Any, Any, State],
        session: Session,
    ) -> File:
        """The PDF; 401 bad signature, 404 not served on this platform, 409 altered on disk."""
        runtime: Runtime = request.app.state.runtime
        headers = {k.lower(): v for k, v in request.headers.items()}
        _, verified = await read_platform_document(session, runtime, platform_id, document_id, headers)
        return _pdf(verified, cache="private, no-store")


class PublicDocumentController(Controller):
    """Documents served by announcement on the regulator's site (公告送达)."""

    path = "/public"
    tags = ["public"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/documents/{document_id:str}", summary="A document served by announcement (PDF)", media_type="application/pdf"
    )
    async def public_document(
        self, document_id: FromPath[str], request: Request[Any, Any, State], session: Session
    ) -> File:
        """The PDF of an announced document; 404 for any other."""
        runtime: Runtime = request.app.state.runtime
        verified = await read_public_document(session, runtime, document_id)
        return _pdf(verified, cache="public, max-age=300")
