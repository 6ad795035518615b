"""Sanctions endpoints: officers record penalty decisions after a case and publish consumer warnings.

* ``POST /v1/cases/{case_id}/penalties``, ``GET /v1/cases/{case_id}/penalties``: 行政处罚决定 (四(三));
* ``POST /v1/warnings``: 消费警示 (一, 六(二)).

The hazard list needs no endpoint of its own: the delisting order (``POST /v1/cases/{case_id}/delisting``)
publishes the entry. What the public reads is under ``/public/hazard-list``, ``/public/warnings`` and
``/public/penalties``.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody

from spotcheck.gateway.sanctions.schemas import PenaltyCreate, PenaltyView, WarningCreate, WarningView
from spotcheck.gateway.sanctions.service import PenaltyParty, PenaltyService, WarningService
from spotcheck.gateway.store.models_sanctions import ConsumerWarning, PenaltyDecision
from spotcheck.gateway.web.deps import CurrentPrincipal, RuntimeDep, Session, provide_principal, provide_runtime

__all__ = ["SanctionsController"]


def _penalty_view(row: PenaltyDecision, base_url: str) -> PenaltyView:
    return PenaltyView(
        id=row.id,
        case_id=row.case_id,
        merchant_id=row.merchant_id,
        decision_no=row.decision_no,
        decided_on=row.decided_on,
        party_role=row.party_role,
        party_name=row.party_name,
        party_uscc=row.party_uscc,
        legal_representative=row.legal_representative,
        violation_type=row.violation_type,
        facts=row.facts,
        legal_basis=row.legal_basis,
        content=row.content,
        fine_fen=row.fine_fen,
        confiscated_fen=row.confiscated_fen,
        authority_name=row.authority_name,
        published_at=row.published_at,
        public_url=f"{base_url}/public/penalties/{row.id}",
    )


def _warning_view(row: ConsumerWarning, base_url: str) -> WarningView:
    return WarningView(
        id=row.id,
        title=row.title,
        body=row.body,
        authority_name=row.authority_name,
        case_ids=list(row.case_ids),
        hazard_listing_ids=list(row.hazard_listing_ids),
        published_at=row.published_at,
        public_url=f"{base_url}/public/warnings/{row.id}",
    )


class SanctionsController(Controller):
    """Penalty decisions and consumer warnings, recorded by officers and published on the public site."""

    path = "/v1"
    tags = ["sanctions"]  # noqa: RUF012 - Litestar reads it as a class attribute
    dependencies = {"principal": Provide(provide_principal), "runtime": Provide(provide_runtime)}  # noqa: RUF012
    security = [{"regulatorToken": []}]  # noqa: RUF012

    @post("/cases/{case_id:str}/penalties", summary="Record an administrative penalty decision (四(三))")
    async def record_penalty(
        self,
        case_id: FromPath[str],
        data: JSONBody[PenaltyCreate],
        session: Session,
        principal: CurrentPrincipal,
        runtime: RuntimeDep,
    ) -> PenaltyView:
        """Record the decision after a failing case; it is published on ``/public/penalties`` at once."""
        row = await PenaltyService(session, principal, runtime).record(
            case_id,
            decision_no=data.decision_no,
            decided_on=data.decided_on,
            party=PenaltyParty(
                role=data.party.role,
                name=data.party.name,
                uscc=data.party.uscc,
                legal_representative=data.party.legal_representative,
            ),
            violation_type=data.violation_type,
            facts=data.facts,
            legal_basis=data.legal_basis,
            content=data.content,
            fine_fen=data.fine_fen,
            confiscated_fen=data.confiscated_fen,
            authority_name=data.authority_name,
        )
        return _penalty_view(row, runtime.settings.http.public_base_url.rstrip("/"))

    @get("/cases/{case_id:str}/penalties", summary="Penalty decisions recorded on a case")
    async def case_penalties(
        self, case_id: FromPath[str], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> list[PenaltyView]:
        """The case's decisions, oldest first."""
        rows = await PenaltyService(session, principal, runtime).for_case(case_id)
        base = runtime.settings.http.public_base_url.rstrip("/")
        return [_penalty_view(row, base) for row in rows]

    @post("/warnings", summary="Publish a consumer warning (消费警示)")
    async def publish_warning(
        self, data: JSONBody[WarningCreate], session: Session, principal: CurrentPrincipal, runtime: RuntimeDep
    ) -> WarningView:
        """Publish a warning tied to published results or hazard-list entries; shown on ``/public/warnings``."""
        row = await WarningService(session, principal, runtime).publish(
            title=data.title, body=data.body, case_ids=data.case_ids, hazard_listing_ids=data.hazard_listing_ids
        )
        return _warning_view(row, runtime.settings.http.public_base_url.rstrip("/"))
