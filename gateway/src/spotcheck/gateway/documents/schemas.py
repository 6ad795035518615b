"""Response bodies of the documents API."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["DocumentView", "ServiceView"]


class ServiceView(msgspec.Struct, kw_only=True):
    """One notice that carried the document (送达): on whom, how, delivered and acknowledged when."""

    message_id: str
    on: str
    recipient_kind: str
    method: str
    status: str
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    delivered_at_beijing: str | None
    acknowledged_at_beijing: str | None


class DocumentView(msgspec.Struct, kw_only=True):
    """A numbered, signed document of a case; ``served`` says whether, when, on whom and how it was served."""

    id: str
    case_id: str
    kind: str
    title: str
    number: str
    addressee: str
    basis: str
    sha256: str
    media_type: str
    size_bytes: int
    signer: str
    issued_at: datetime
    download_url: str
    served: bool
    served_at: datetime | None
    served_at_beijing: str | None
    acknowledged_at: datetime | None
    services: list[ServiceView]
