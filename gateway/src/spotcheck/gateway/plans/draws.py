"""Random draws of a plan (随机抽查, 双随机一公开) by the SDK's commit-reveal protocol ``spotcheck.draw.v1``.

The gateway builds every record with the SDK's own :func:`commit_draw` and :func:`reveal_draw`, so the server
and ``spotcheck-sdk draws verify`` cannot disagree. Commit freezes the candidates the plan's scope gives in the
object directory (and the authority's inspectors), seals a fresh 32-byte secret with the master key and publishes
the commitment; reveal takes a beacon from a second token, opens the secret and publishes the selection.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Final

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal, division_prefix
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Authority
from spotcheck.gateway.store.models_plans import Draw, Inspector, MerchantDirectoryEntry, Plan
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.sdk import DrawRecord, InspectorDraw, commit_draw, reveal_draw

__all__ = ["DrawScopeSpec", "DrawService", "draw_record", "load_draw", "new_secret"]

_ID_MAX: Final = 40
_RUNNING: Final = ("approved", "in_progress")


class DrawScopeSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Which directory merchants a draw is among: platforms, product categories, a division prefix (any of them)."""

    platforms: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    division_prefix: str | None = None

    def canonical(self) -> dict[str, Any]:
        """The scope as published and hashed: sorted, duplicates removed."""
        return {
            "platforms": sorted(set(self.platforms)),
            "categories": sorted(set(self.categories)),
            "division_prefix": self.division_prefix,
        }


def draw_record(row: Draw) -> DrawRecord:
    """The published record of a stored draw (the SDK's format, field for field)."""
    inspectors = None
    if row.inspector_candidates is not None and row.inspector_count is not None:
        inspectors = InspectorDraw(
            count=row.inspector_count,
            candidates_sha256=row.inspector_candidates_sha256 or "",
            selected=tuple(row.inspector_selected) if row.inspector_selected is not None else None,
            candidates=tuple(row.inspector_candidates),
        )
    return DrawRecord(
        draw_id=row.id,
        plan_number=row.plan_number,
        scope=row.scope,
        count=row.count,
        candidates_sha256=row.candidates_sha256,
        commitment=row.commitment,
        committed_at=row.committed_at,
        beacon=row.beacon,
        secret=row.secret,
        seed=row.seed,
        revealed_at=row.revealed_at,
        selected=tuple(row.selected) if row.selected is not None else None,
        inspectors=inspectors,
        candidates=tuple(row.candidates),
    )


async def load_draw(session: AsyncSession, principal: Principal, draw_id: str) -> Draw:
    """The draw, if this principal may see it (404 unknown, 403 of an authority outside its area)."""
    row = await session.get(Draw, draw_id) if len(draw_id) <= _ID_MAX else None
    if row is None:
        raise field_error(404, "draw_id", f"no such draw: {draw_id}", code="not-found")
    if row.authority_id != principal.authority_id:
        authority = await session.get(Authority, row.authority_id)
        if authority is None or not principal.can_act_in(authority.division_code):
            raise ProblemError(403, "outside-jurisdiction", "this draw belongs to an authority outside your area")
    return row


def new_secret() -> bytes:
    """A fresh 32-byte draw secret from the operating system's CSPRNG (tests replace it with a fixed vector)."""
    return secrets.token_bytes(32)


def _value_error(exc: ValueError | TypeError) -> ProblemError:
    # The SDK's messages read "<field>: <reason>"; the field is what the caller sent.
    field, _, reason = str(exc).partition(": ")
    return field_error(422, field or "body", reason or str(exc))


class DrawService:
    """Commit and reveal draws for one regulator in one session; each command commits."""

    def __init__(self, session: AsyncSession, principal: Principal, runtime: Runtime) -> None:
        self.session = session
        self.principal = principal
        self.runtime = runtime

    async def commit(self, plan: Plan, *, scope: DrawScopeSpec, count: int, inspector_count: int | None = None) -> Draw:
        """Freeze the candidates, seal a secret, publish the commitment; audited. One draw per plan and scope.

        Raises:
            ProblemError: 409 for a plan not approved or running, and for a second draw of the same plan and scope
                (the refusal is audited); 422 for an empty scope, a scope matching nobody, a count out of range;
                403 for a division prefix outside the plan's authority.
        """
        self.principal.require_scope("write")
        if plan.state not in _RUNNING or plan.number is None:
            raise ProblemError(409, "illegal-plan-state", f"draws are made from an approved plan; it is {plan.state}")
        published = scope.canonical()
        if not (published["platforms"] or published["categories"] or published["division_prefix"]):
            raise field_error(422, "scope", "name at least one of platforms, categories, division_prefix")
        scope_sha256 = hashlib.sha256(msgspec.json.encode(published, order="sorted")).hexdigest()
        earlier = await self.session.scalar(
            select(Draw.id).where(Draw.plan_id == plan.id, Draw.scope_sha256 == scope_sha256)
        )
        if earlier is not None:
            await self._refuse_reroll(plan, earlier, published)
        candidates = await self._candidates(plan, scope)
        if not candidates:
            raise field_error(422, "scope", "matches no merchant in the object directory (检查对象名录库)")
        staff = await self._inspectors(plan) if inspector_count is not None else None
        secret, draw_id, now = new_secret(), new_id("draw"), utcnow()
        try:
            record = commit_draw(
                draw_id=draw_id,
                plan_number=plan.number,
                scope=published,
                candidates=candidates,
                count=count,
                secret=secret,
                committed_at=now,
                inspectors=staff,
                inspector_count=inspector_count,
            )
        except (ValueError, TypeError) as exc:
            raise _value_error(exc) from exc
        row = Draw(
            id=draw_id,
            plan_id=plan.id,
            authority_id=plan.authority_id,
            plan_number=plan.number,
            scope=published,
            scope_sha256=scope_sha256,
            count=record.count,
            candidates=list(record.candidates),
            candidates_sha256=record.candidates_sha256,
            commitment=record.commitment,
            secret_sealed=self.runtime.master_key.encrypt(secret.hex(), context=f"draw:{draw_id}"),
            committed_at=now,
            committed_by=self.principal.token_id,
        )
        if record.inspectors is not None:
            row.inspector_count = record.inspectors.count
            row.inspector_candidates = list(record.inspectors.candidates)
            row.inspector_candidates_sha256 = record.inspectors.candidates_sha256
        if plan.state == "approved":
            plan.state, plan.started_at = "in_progress", now
        self.session.add(row)
        detail = {"plan_id": plan.id, "plan_number": plan.number, "count": record.count}
        detail |= {"candidates_sha256": record.candidates_sha256, "commitment": record.commitment}
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the same draw committed by a concurrent request
            raise ProblemError(409, "draw-exists", "this plan already has a draw with this scope") from exc
        await append_audit(
            self.session, actor=self.principal.actor, action="draw.commit", subject=draw_id, detail=detail
        )
        await self.session.commit()
        return row

    async def reveal(self, draw_id: str, *, beacon: str, beacon_source: str | None) -> Draw:
        """Reveal with a beacon entered by a token other than the committing one; publishes secret and selection.

        Raises:
            ProblemError: 403 for the committing token; 409 when already revealed; 422 for an unusable beacon.
        """
        row = await load_draw(self.session, self.principal, draw_id)
        self.principal.require_scope("write")
        if row.secret is not None:
            raise ProblemError(
                409, "draw-revealed", f"draw {row.id} was revealed at {row.revealed_at:%Y-%m-%dT%H:%M:%SZ}"
            )
        if row.committed_by == self.principal.token_id:
            raise ProblemError(
                403,
                "same-token",
                "信标须由另一名人员录入: the token that committed the draw cannot enter its beacon",
            )
        secret = bytes.fromhex(self.runtime.master_key.decrypt(row.secret_sealed, context=f"draw:{row.id}"))
        try:
            revealed = reveal_draw(draw_record(row), secret=secret, beacon=beacon, revealed_at=utcnow())
        except ValueError as exc:
            raise _value_error(exc) from exc
        row.beacon, row.beacon_source, row.secret = revealed.beacon, beacon_source, revealed.secret
        row.seed, row.revealed_at, row.revealed_by = revealed.seed, revealed.revealed_at, self.principal.token_id
        row.selected = list(revealed.selected or ())
        if revealed.inspectors is not None:
            row.inspector_selected = list(revealed.inspectors.selected or ())
        detail = {"beacon": beacon, "seed": revealed.seed, "selected": row.selected}
        await append_audit(
            self.session, actor=self.principal.actor, action="draw.reveal", subject=row.id, detail=detail
        )
        await self.session.commit()
        return row

    async def of_plan(self, plan: Plan) -> list[Draw]:
        """The plan's draws, oldest first."""
        self.principal.require_scope("read")
        rows = await self.session.scalars(select(Draw).where(Draw.plan_id == plan.id).order_by(Draw.committed_at))
        return list(rows)

    async def get(self, draw_id: str) -> Draw:
        """One draw (404 unknown, 403 outside the area)."""
        self.principal.require_scope("read")
        return await load_draw(self.session, self.principal, draw_id)

    async def _refuse_reroll(self, plan: Plan, earlier: str, scope: dict[str, Any]) -> None:
        # The attempt itself is evidence (a bureau trying for another result): audit it, then refuse.
        detail = {"plan_id": plan.id, "earlier_draw": earlier, "scope": scope}
        await append_audit(
            self.session, actor=self.principal.actor, action="draw.reroll_refused", subject=plan.id, detail=detail
        )
        await self.session.commit()
        raise ProblemError(
            409,
            "draw-exists",
            f"已对该方案和范围抽取过 (draw {earlier}); a draw is made once: a second draw is refused and audited",
        )

    async def _candidates(self, plan: Plan, scope: DrawScopeSpec) -> list[str]:
        authority = await self.session.get(Authority, plan.authority_id)
        assert authority is not None  # noqa: S101 - a plan's authority exists (foreign key)
        area = division_prefix(authority.division_code, authority.level)
        prefix = area
        if scope.division_prefix is not None:
            if scope.division_prefix.startswith(area):
                prefix = scope.division_prefix
            elif not area.startswith(scope.division_prefix):
                raise field_error(403, "scope.division_prefix", "outside the plan's authority area", code="forbidden")
        entry = MerchantDirectoryEntry
        query = select(entry.merchant_id, entry.categories).where(
            entry.division_code.startswith(prefix, autoescape=True)
        )
        if scope.platforms:
            query = query.where(entry.platform_id.in_(set(scope.platforms)))
        wanted = set(scope.categories)
        rows = await self.session.execute(query)
        return [mid for mid, categories in rows if not wanted or wanted.intersection(categories or ())]

    async def _inspectors(self, plan: Plan) -> list[str]:
        rows = await self.session.scalars(
            select(Inspector.id).where(Inspector.authority_id == plan.authority_id, Inspector.active.is_(True))
        )
        return list(rows)
