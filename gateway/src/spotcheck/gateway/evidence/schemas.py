"""Response bodies of the evidence API."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["EvidenceView"]


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
