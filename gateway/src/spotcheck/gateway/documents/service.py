"""Producing a notice's documents inside the case action that sends it: check, number, render, sign, store, refer.

:class:`DocumentProducer` is what :class:`~spotcheck.gateway.cases.service.CaseService` calls from its one send
path. For each document the notice's kind has (:func:`~spotcheck.gateway.documents.kinds.kinds_for`) it

1. checks the notice has every field the template needs (422 naming the field; nothing numbered),
2. takes the next 文号 in the action's own transaction (:mod:`~spotcheck.gateway.documents.numbering`),
3. renders the HTML to PDF and signs it with the authority's key, in a worker thread,
4. stores the PDF by SHA-256 and adds the ``documents`` row,

and returns the notice with ``data.documents`` referring to them. The action then commits the notice, the
documents and their numbers together; if anything fails first, the transaction rolls back and the numbers with
it, so a number is never given to a document that does not exist. The same notice object sent to several
recipients (the merchant through its platform, by e-mail, by announcement) serves the same documents; a notice
served by announcement also carries the 公告.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.delivery.service import Recipient
from spotcheck.gateway.documents.kinds import PUBLIC_NOTICE, DocumentSpec, kinds_for
from spotcheck.gateway.documents.numbering import document_year, format_document_number, next_document_number
from spotcheck.gateway.documents.profile import AuthorityProfile
from spotcheck.gateway.documents.render import MEDIA_TYPE, render_pdf
from spotcheck.gateway.documents.store import DocumentStoreError, save_pdf
from spotcheck.gateway.documents.templates import DocumentPage, document_html, missing_field, notice_fields
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, OutboundMessage
from spotcheck.gateway.store.models_documents import Document, DocumentDelivery
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.schemas import DocumentRef, Message, message_type_of

__all__ = ["DocumentProducer", "ProducedPdf", "addressee_of", "document_url", "produce_pdf"]

_log = structlog.get_logger("spotcheck.gateway.documents")
_ADAPTERS_WITH_OWN_URL: Final = frozenset({"announcement"})


@dataclass(frozen=True)
class ProducedPdf:
    """A rendered and signed document: its bytes and who signed it."""

    pdf: bytes
    signer: str


def produce_pdf(page: DocumentPage, fields: dict[str, Any], profile: AuthorityProfile) -> ProducedPdf:
    """Render the page and sign the PDF with the profile's key (CPU work: run it in a worker thread)."""
    html = document_html(page, fields)
    pdf = render_pdf(html)
    signed = profile.signer.sign(pdf, reason=f"{page.spec.title} {page.number}", location=page.authority)
    return ProducedPdf(pdf=signed, signer=profile.signer.subject)


def document_url(base_url: str, document_id: str, recipient: Recipient) -> str:
    """Where the recipient fetches the document: a platform signs its request; an announcement is public."""
    base = base_url.rstrip("/")
    if recipient.kind == "platform" and recipient.adapter not in _ADAPTERS_WITH_OWN_URL:
        return f"{base}/v1/platforms/{recipient.id}/documents/{document_id}"
    if recipient.adapter == "announcement":
        return f"{base}/public/documents/{document_id}"
    return f"{base}/v1/documents/{document_id}"


def addressee_of(message: Message, recipient: Recipient) -> str:
    """Whom the document is addressed to: the party it concerns, even when a platform relays it."""
    data: Any = message.data
    role = getattr(data, "addressee_role", None)
    if role == "manufacturer" and getattr(data, "manufacturer", None) is not None:
        return str(data.manufacturer.name)
    if role in {None, "merchant"} and message_type_of(message) in {
        "sampling.notice",
        "result.notice",
        "stop_sale.order",
    }:
        return str(data.merchant.legal_name or data.merchant.shop_name)
    if getattr(data, "recipient", None) is not None:
        return str(data.recipient.name)
    return recipient.name


class DocumentProducer:
    """The documents of one case action's notices, in that action's session (which the action commits)."""

    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self._made: list[tuple[Message, list[Document]]] = []

    async def attach(self, case: Case, message: Message, recipient: Recipient) -> tuple[Message, list[Document]]:
        """The notice with ``data.documents`` referring to its documents (made now, or earlier in this action).

        Raises:
            ProblemError: 422 naming the field a document's template needs and the notice lacks; 500 when a
                document could not be rendered, signed or stored (nothing numbered, nothing sent).
        """
        by_announcement = recipient.adapter == "announcement"
        specs = kinds_for(message, by_announcement=by_announcement)
        if not specs:
            return message, []
        documents = next((docs for made, docs in self._made if made is message), None)
        if documents is None:
            documents = [
                await self._produce(case, message, recipient, spec) for spec in specs if spec is not PUBLIC_NOTICE
            ]
            self._made.append((message, documents))
        if by_announcement:
            documents = [*documents, await self._produce(case, message, recipient, PUBLIC_NOTICE, served=documents)]
        base_url = self.runtime.settings.http.public_base_url
        refs = [
            DocumentRef(
                kind=doc.kind,  # type: ignore[arg-type]
                number=doc.number,
                sha256=doc.sha256,
                media_type=doc.media_type,
                url=document_url(base_url, doc.id, recipient),
            )
            for doc in documents
        ]
        data = msgspec.structs.replace(message.data, documents=refs)
        return msgspec.structs.replace(message, data=data), documents

    def carried(self, documents: list[Document], row: OutboundMessage) -> None:
        """Record that the outbound message ``row`` serves ``documents`` (its delivery proves their service)."""
        self.session.add_all(DocumentDelivery(document_id=doc.id, message_id=row.id) for doc in documents)

    async def _produce(
        self,
        case: Case,
        message: Message,
        recipient: Recipient,
        spec: DocumentSpec,
        *,
        served: list[Document] | None = None,
    ) -> Document:
        fields = notice_fields(message.data)
        missing = missing_field(spec, fields)
        if missing is not None:
            raise field_error(
                422,
                missing,
                f"{spec.title}需要“{missing}”，本案尚无此项 (the document needs this field; nothing was sent)",
                code="document-field-missing",
            )
        data: Any = message.data
        authority_name = str(data.authority.name)
        settings = self.runtime.settings
        profile = await asyncio.to_thread(
            AuthorityProfile.for_authority, settings.store.data_dir, case.authority_id, authority_name
        )
        issued_at: datetime = data.issued_at
        year = document_year(issued_at)
        seq = await next_document_number(self.session, case.authority_id, spec.kind, year)
        number = format_document_number(profile.prefix or authority_name, spec.code, year, seq)
        addressee = addressee_of(message, recipient)
        page = DocumentPage(
            spec=spec,
            authority=authority_name,
            number=number,
            addressee=addressee,
            case_id=case.id,
            message_type=message_type_of(message),
            issued_at=issued_at,
            seal=profile.seal,
            served=[{"title": doc.title, "number": doc.number} for doc in served or []],
        )
        try:
            produced = await asyncio.to_thread(produce_pdf, page, fields, profile)
            stored = await save_pdf(settings.store.data_dir, produced.pdf)
        except DocumentStoreError as exc:
            raise exc.problem() from exc
        except Exception as exc:
            _log.exception("document not produced", kind=spec.kind, case_id=case.id)
            raise ProblemError(
                500,
                "document-not-produced",
                f"{spec.title}未能生成，未编号、未发送 (the document could not be produced)",
            ) from exc
        document = Document(
            id=new_id("doc"),
            case_id=case.id,
            authority_id=case.authority_id,
            kind=spec.kind,
            title=spec.title,
            number=number,
            number_year=year,
            number_seq=seq,
            addressee_kind=recipient.kind,
            addressee_id=recipient.id,
            addressee_name=addressee,
            message_type=message_type_of(message),
            basis=spec.basis,
            sha256=stored.sha256,
            media_type=MEDIA_TYPE,
            size_bytes=stored.size_bytes,
            signer=produced.signer[:300],
            issued_at=issued_at or utcnow(),
        )
        self.session.add(document)
        return document
