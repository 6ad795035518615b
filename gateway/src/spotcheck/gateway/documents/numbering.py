"""Document numbers (文号): ``浙市监网抽通〔2026〕12号``, gap-free per authority, kind and year, never reused.

The sequence row is bumped by one atomic upsert inside the transaction that stores the document and sends its
notice: on PostgreSQL the upsert leaves the row locked until that transaction ends, so concurrent requests for
the same authority, kind and year queue behind it, and a transaction that fails (a render that raises, a
refused action) rolls its number back with everything else. SQLite serialises writers anyway. The unique
constraint on ``documents`` is the last guard against reuse.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.documents.templates import CHINA
from spotcheck.gateway.store.models_documents import DocumentNumberSequence

__all__ = ["document_year", "format_document_number", "next_document_number"]


def document_year(moment: datetime) -> int:
    """The year a document number carries: the calendar year in Beijing at ``moment``."""
    return moment.astimezone(CHINA).year


def format_document_number(prefix: str, code: str, year: int, seq: int) -> str:
    """``format_document_number("浙市监", "网抽通", 2026, 12)`` → ``浙市监网抽通〔2026〕12号``."""
    return f"{prefix}{code}〔{year}〕{seq}号"


async def next_document_number(session: AsyncSession, authority_id: str, kind: str, year: int) -> int:
    """The next number of ``kind`` for ``authority_id`` in ``year``, taken (and locked) in the caller's transaction."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = insert(DocumentNumberSequence).values(authority_id=authority_id, kind=kind, year=year, last=1)
    bumped = upsert.on_conflict_do_update(
        index_elements=["authority_id", "kind", "year"], set_={"last": DocumentNumberSequence.last + 1}
    ).returning(DocumentNumberSequence.last)
    value = (await session.execute(bumped)).scalar_one()
    return int(value)
