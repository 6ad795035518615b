"""Evidence endpoints: streamed upload, list per case, verified download.

* ``POST /v1/cases/{case_id}/evidence?step=…&description=…`` with the raw file as ``application/octet-stream``;
* ``GET /v1/cases/{case_id}/evidence``: the case's evidence, each entry usable as an ``EvidenceRef``;
* ``GET /v1/evidence/{sha256}``: the file, after its digest was checked.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import InternalServerException
from litestar.params import FromPath, FromQuery
from litestar.response import File

from spotcheck.gateway.evidence.schemas import EvidenceView
from spotcheck.gateway.evidence.service import EvidenceService
from spotcheck.gateway.evidence.store import ACCEPTED_MEDIA_TYPES, EvidenceError, EvidenceStep
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime
from spotcheck.gateway.web.problems import ProblemError

__all__ = ["EvidenceController"]

_DECLARED_TYPES: Final = ACCEPTED_MEDIA_TYPES | {"application/octet-stream"}
"""Content types an upload may declare; what counts is the type detected from the bytes."""


def _view(row: EvidenceFile) -> EvidenceView:
    return EvidenceView(
        sha256=row.sha256,
        media_type=row.media_type,
        size_bytes=row.size_bytes,
        step=row.step,
        description=row.description,
        id=row.id,
        case_id=row.case_id,
        uploaded_by=row.uploaded_by,
        created_at=row.created_at,
        download_url=f"/v1/evidence/{row.sha256}",
    )


async def _body(request: Request[Any, Any, State]) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except InternalServerException as exc:
        # Litestar signals a client that hung up mid-body this way; nothing is stored.
        raise EvidenceError(400, "upload-interrupted", "the client disconnected before the upload ended") from exc


class EvidenceController(Controller):
    """Evidence files of a case: upload (streamed, content-addressed), list, and verified download."""

    path = "/v1"
    tags = ["evidence"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post(
        "/cases/{case_id:str}/evidence",
        summary="Upload an evidence file (raw body, application/octet-stream) for a step of the case (三(一))",
        description=(
            "Send the file's bytes as the request body. The media type is detected from the content: PNG, JPEG, "
            "WebP, MP4, WebM, QuickTime or PDF. The file is stored once under its SHA-256; uploading the same "
            "bytes again answers 200 with the existing link instead of 201."
        ),
        request_max_body_size=None,  # evidence has its own, larger limit, enforced while streaming
        status_code=201,
    )
    async def upload(
        self,
        request: Request[Any, Any, State],
        case_id: FromPath[str],
        step: FromQuery[EvidenceStep],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
        description: FromQuery[str] = "",
    ) -> Response[EvidenceView]:
        """Store the file and link it to the case and step; audited."""
        declared = request.headers.get("content-type", "application/octet-stream").split(";", 1)[0].strip().lower()
        if declared not in _DECLARED_TYPES:
            raise ProblemError(
                415, "unsupported-media-type", "send the file's bytes as the body, as application/octet-stream"
            )
        recorded = await EvidenceService(session, principal, runtime).record_upload(
            case_id,
            step=step,
            description=description,
            content=_body(request),
            declared_size=request.content_length,
        )
        return Response(_view(recorded.evidence), status_code=201 if recorded.created else 200)

    @get("/cases/{case_id:str}/evidence", summary="The case's evidence files")
    async def list_evidence(
        self, case_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> list[EvidenceView]:
        """Every evidence file linked to the case, oldest first."""
        rows = await EvidenceService(session, principal, runtime).list_for_case(case_id)
        return [_view(row) for row in rows]

    @get(
        "/evidence/{sha256:str}",
        summary="Download an evidence file after verifying its SHA-256",
        description="A file whose bytes no longer match its digest answers 409 and raises an operational event.",
    )
    async def download(
        self, sha256: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> File:
        """Stream the file back; 404 unknown, 403 outside the jurisdiction, 409 altered or missing on disk."""
        verified = await EvidenceService(session, principal, runtime).read_verified(sha256)
        digest = base64.b64encode(bytes.fromhex(verified.sha256)).decode()
        return File(
            verified.path,
            filename=verified.file_name,
            media_type=verified.media_type,
            headers={
                "repr-digest": f"sha-256=:{digest}:",
                "x-content-type-options": "nosniff",
                "cache-control": "private, no-store",
            },
        )
