"""The evidence capability's commands and queries: a case's files, linked to its steps, listed, read back verified.

The bytes live in the content-addressed store (:mod:`spotcheck.gateway.evidence.store`). This service links a
stored file to a case and a step of it (audited), lists a case's files, and serves a file only after re-hashing
it: a file altered or missing on disk is refused, logged, audited and raised as an operational event, as is a
store that cannot take uploads. Streaming a file in and re-hashing it run outside any database transaction, so a
large video holds neither SQLite's write lock nor a PostgreSQL snapshot.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.evidence.store import (
    EvidenceError,
    EvidenceIntegrityError,
    EvidenceStep,
    StoredFile,
    evidence_store,
    file_name,
    is_sha256,
)
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, OperationalEvent
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.problems import ProblemError, field_error

__all__ = ["MAX_DESCRIPTION", "EvidenceService", "RecordedEvidence", "VerifiedFile"]

MAX_DESCRIPTION: Final = 500
"""Characters an evidence file's description may have."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STORE_UNAVAILABLE = frozenset({503, 507})  # the store failed, not the upload: operators must hear of it
_log = structlog.get_logger("spotcheck.gateway.evidence")


@dataclass(frozen=True)
class RecordedEvidence:
    """An evidence link and whether this upload made it (False: the file was already linked to that step)."""

    evidence: EvidenceFile
    created: bool


@dataclass(frozen=True)
class VerifiedFile:
    """A stored evidence file whose bytes were just checked against its digest."""

    path: Path
    sha256: str
    media_type: str
    file_name: str


class EvidenceService:
    """A regulator's evidence files inside one database session, limited to the cases it may see."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.runtime = runtime

    async def record_upload(
        self,
        case_id: str,
        *,
        step: EvidenceStep,
        description: str,
        content: AsyncIterable[bytes],
        declared_size: int | None = None,
    ) -> RecordedEvidence:
        """Store the file ``content`` streams and link it to the case's ``step`` (write); audited, commits.

        The same bytes already linked to the same case and step keep their first link (``created`` False).
        ``declared_size`` (the announced length, if any) refuses an oversized file before reading it.

        Raises:
            ProblemError: 403 scope or jurisdiction, 404 unknown case, 400 a bad description, an empty or
                interrupted upload; 413 too large; 415 content of an unaccepted media type; 507 and 503 when
                the store cannot take the file (also raised as an operational event).
        """
        self.principal.require_scope("write")
        text = _clean_description(description)
        await self._case(case_id)
        store = evidence_store(self.runtime.settings)
        if declared_size is not None and declared_size > store.max_bytes:
            raise ProblemError(413, "too-large", f"an evidence file may carry at most {store.max_bytes} bytes")
        # End the read transaction before a long upload: on SQLite it would hold the database's write lock.
        await self.session.rollback()
        try:
            stored = await store.save(content)
        except EvidenceError as exc:
            if exc.status in _STORE_UNAVAILABLE:
                await self._report("evidence.storage_failed", case_id, {"problem": exc.code})
            raise exc.problem() from exc
        try:
            return await self._link(case_id, stored, step, text)
        except IntegrityError:
            # The same file reached the same case and step twice at once: the other upload's link stands.
            await self.session.rollback()
            return await self._link(case_id, stored, step, text)

    async def list_for_case(self, case_id: str) -> Sequence[EvidenceFile]:
        """Every evidence file linked to the case, oldest first (404 unknown case, 403 outside jurisdiction)."""
        await self._case(case_id)
        rows = await self.session.scalars(
            select(EvidenceFile).where(EvidenceFile.case_id == case_id).order_by(EvidenceFile.created_at)
        )
        return rows.all()

    async def read_verified(self, sha256: str) -> VerifiedFile:
        """The stored file named ``sha256``, once its bytes are shown to still have that digest.

        Raises:
            ProblemError: 400 not a lowercase hex SHA-256; 404 no case has such a file; 403 only cases outside
                the principal's jurisdiction have it; 409 the file is altered or missing on disk (logged,
                audited and raised as an operational event).
        """
        if not is_sha256(sha256):
            raise field_error(400, "sha256", "expected 64 lowercase hex digits")
        rows = (await self.session.scalars(select(EvidenceFile).where(EvidenceFile.sha256 == sha256))).all()
        if not rows:
            raise ProblemError(404, "not-found", f"no evidence file {sha256}")
        visible = [row for row in rows if await self._may_see(row.case_id)]
        if not visible:
            raise ProblemError(403, "outside-jurisdiction", "this evidence belongs to cases outside your jurisdiction")
        # Read before the rollback below expires the loaded rows.
        evidence_id, case_id, media_type = visible[0].id, visible[0].case_id, visible[0].media_type
        await self.session.rollback()  # hashing a large video must not hold a database transaction open
        try:
            path = await evidence_store(self.runtime.settings).verify(sha256)
        except EvidenceIntegrityError as exc:
            _log.error("evidence integrity failure", sha256=sha256, reason=exc.reason)
            detail = {"sha256": sha256, "reason": exc.reason, "actual_sha256": exc.actual, "evidence": evidence_id}
            await self._report("evidence.integrity_failed", case_id, detail)
            raise exc.problem() from exc
        except EvidenceError as exc:
            raise exc.problem() from exc
        return VerifiedFile(path=path, sha256=sha256, media_type=media_type, file_name=file_name(sha256, media_type))

    async def _case(self, case_id: str) -> Case:
        return await CaseService(self.session, self.principal, self.runtime).load(case_id)

    async def _may_see(self, case_id: str) -> bool:
        case = await self.session.get(Case, case_id)
        return case is not None and self.principal.can_access_case(case)

    async def _link(self, case_id: str, stored: StoredFile, step: str, description: str) -> RecordedEvidence:
        """Link the stored file to the case's step unless it already is; audits a new link and commits."""
        case = await self._case(case_id)  # again: the upload ran outside any transaction
        existing = await self.session.scalar(
            select(EvidenceFile).where(
                EvidenceFile.case_id == case.id, EvidenceFile.step == step, EvidenceFile.sha256 == stored.sha256
            )
        )
        if existing is not None:
            await self.session.commit()
            return RecordedEvidence(evidence=existing, created=False)
        row = EvidenceFile(
            id=new_id("evd"),
            case_id=case.id,
            sha256=stored.sha256,
            media_type=stored.media_type,
            size_bytes=stored.size_bytes,
            step=step,
            description=description,
            uploaded_by=self.principal.actor,
        )
        self.session.add(row)
        await self.session.flush()
        await append_audit(
            self.session,
            actor=self.principal.actor,
            action="evidence.recorded",
            subject=case.id,
            detail={
                "evidence": row.id,
                "sha256": stored.sha256,
                "media_type": stored.media_type,
                "size_bytes": stored.size_bytes,
                "step": step,
            },
        )
        await self.session.commit()
        return RecordedEvidence(evidence=row, created=True)

    async def _report(self, kind: str, case_id: str | None, detail: dict[str, Any]) -> None:
        """Raise an operational event and audit it, in a transaction of its own."""
        self.session.add(OperationalEvent(id=new_id("evt"), kind=kind, case_id=case_id, detail=detail))
        await append_audit(
            self.session, actor="gateway", action=kind, subject=case_id or "evidence-store", detail=detail
        )
        await self.session.commit()


def _clean_description(description: str) -> str:
    text = description.strip()
    if len(text) > MAX_DESCRIPTION:
        raise field_error(400, "description", f"at most {MAX_DESCRIPTION} characters")
    if _CONTROL.search(text):
        raise field_error(400, "description", "must not contain control characters")
    return text
