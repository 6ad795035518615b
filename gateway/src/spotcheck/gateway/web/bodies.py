"""What every request body of the regulator API shares.

Requests reject unknown fields by name (``forbid_unknown_fields``) and reuse the wire contract's value types,
so a bad division code or USCC is refused at the edge with the field's path.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from spotcheck.schemas import (
    is_valid_uscc,
)

__all__ = ["Email", "RequestBody", "Url", "WorkingDays", "check_uscc_field"]

Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
WorkingDays = Annotated[int, Meta(ge=1, le=30, description="platform answer SLA in working days")]
Url = Annotated[str, Meta(max_length=1000, pattern=r"^https?://")]


def check_uscc_field(field: str, value: str | None) -> None:
    """Refuse a USCC whose GB 32100-2015 check character is wrong, naming the field."""
    if value is not None and not is_valid_uscc(value):
        raise ValueError(f"`{field}`: not a valid unified social credit code (GB 32100-2015 check character)")


class RequestBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Base of request bodies: keyword-only, immutable, unknown fields refused."""
