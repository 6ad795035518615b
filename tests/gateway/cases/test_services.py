"""The case services without HTTP: lifecycle guards, access, and one audit record per action with what it sent."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, update

from spotcheck.gateway.access import Principal
from spotcheck.gateway.cases.measures import MeasuresService
from spotcheck.gateway.cases.queries import CaseDetail, CaseQueries
from spotcheck.gateway.cases.records import PurchaseRecord, PurchaseScreenshots, ResultRecord, SealingRecord
from spotcheck.gateway.cases.results import ResultsService
from spotcheck.gateway.cases.sampling import SamplingService
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.deadlines.service import Waiver
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import (
    AuditRecord,
    Case,
    CaseEvent,
    Deadline,
    Manufacturer,
    Merchant,
    OutboundMessage,
    Platform,
)
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.problems import ProblemError
from spotcheck.schemas import EvidenceRef, FailingItem, OrderRef, ProductRef

pytestmark = pytest.mark.postgres

NOW = datetime.now(UTC)
S = TypeVar("S", bound=CaseService)
T = TypeVar("T")

PURCHASE = PurchaseRecord(
    purchased_at=NOW - timedelta(days=20),
    buyer_account="buyer_zj01",
    buyer_name="张三",
    delivery_address="杭州市西湖区某路1号",
    orders=[OrderRef(order_no="T2026001", ordered_at=NOW - timedelta(days=20), amount_fen=19900)],
    screenshots=PurchaseScreenshots(merchant=["a1" * 32], product=["a2" * 32], transaction=["a3" * 32]),
)
# The files the purchase and sealing name, as the evidence service links them to every case opened here (三(一)).
STORED_EVIDENCE = {"a1" * 32: "image/png", "a2" * 32: "image/png", "a3" * 32: "image/png", "ab" * 32: "video/mp4"}
SEALING = SealingRecord(
    sealed_at=NOW - timedelta(days=15),
    sample_seal_no="FY-001",
    backup_seal_no="FY-002",
    witnesses=["买样人 张三", "承检机构 李四", "执法人员 王五"],
    evidence=[
        EvidenceRef(sha256="ab" * 32, media_type="video/mp4", size_bytes=1, step="sealing", description="封样录像")
    ],
)
LEAKAGE = FailingItem(item="泄漏电流", standard="GB 4706.1-2005", required="≤0.75 mA", measured="2.1 mA")


def result(*, conclusion: str = "fail", hazardous: bool = False, mandatory: bool = False) -> ResultRecord:
    failing = conclusion == "fail"
    return ResultRecord(
        received_at=NOW,
        conclusion=conclusion,  # type: ignore[arg-type]
        report_no="ZJ-2026-0456",
        institution="浙江省质检院",
        failing_items=[LEAKAGE] if failing else [],
        hazardous=hazardous,
        mandatory_standard_failed=mandatory,
    )


@dataclass
class Regulator:
    """A principal calling the services directly, each call in a session of its own as a request would."""

    runtime: Runtime
    principal: Principal

    async def do(self, kind: type[S], call: Callable[[S], Awaitable[T]]) -> T:
        async with self.runtime.sessions() as session:
            return await call(kind(session, self.principal, self.runtime))

    async def ask(self, call: Callable[[CaseQueries], Awaitable[T]]) -> T:
        async with self.runtime.sessions() as session:
            return await call(CaseQueries(session, self.principal, self.runtime))

    async def refused(self, kind: type[S], call: Callable[[S], Awaitable[Any]]) -> ProblemError:
        with pytest.raises(ProblemError) as caught:
            await self.do(kind, call)
        return caught.value


@dataclass
class World:
    """Zhejiang with a platform in its province and one elsewhere, a merchant on it and a manufacturer."""

    runtime: Runtime
    zj: Regulator
    platform_id: str
    merchant_id: str
    manufacturer_id: str

    async def open_case(self, merchant_id: str | None = None) -> str:
        detail = await self.zj.do(
            SamplingService,
            lambda s: s.create(
                merchant_id=merchant_id or self.merchant_id,
                manufacturer_id=self.manufacturer_id,
                plan_reference="浙市监抽〔2026〕12号",
                product=ProductRef(sample_name="电热水壶", trademark="美的", spec_model="MK-HJ1705", listing_id="L-88"),
            ),
        )
        async with self.runtime.sessions() as session, session.begin():
            for sha256, media_type in STORED_EVIDENCE.items():
                session.add(
                    EvidenceFile(
                        id=new_id("evd"),
                        case_id=detail.case.id,
                        sha256=sha256,
                        media_type=media_type,
                        size_bytes=1,
                        step="sealing" if media_type.startswith("video/") else "purchase",
                        uploaded_by="test",
                    )
                )
        return detail.case.id

    async def waive_and_finalize(self, case_id: str) -> CaseDetail:
        """Finalize; a failing result after both parties waived re-inspection in writing (三(三))."""
        statement = next(iter(STORED_EVIDENCE))
        failing = (await self.zj.ask(lambda q: q.detail(case_id))).case.conclusion == "fail"
        for role in ("merchant", "manufacturer") if failing else ():
            waiver = Waiver(
                party_role=role,  # type: ignore[arg-type]
                waived_by=f"{role} 法定代表人",
                statement_sha256=statement,
                relayed_reply_id=None,
                note="",
            )
            await self.zj.do(ResultsService, lambda s, w=waiver: s.waive_reinspection(case_id, w))  # type: ignore[misc]
        return await self.zj.do(ResultsService, lambda s: s.finalize(case_id))

    async def advance(self, case_id: str, to: str, outcome: ResultRecord | None = None) -> CaseDetail:
        """Drive the case along the main line until it is in state ``to``."""
        steps: list[tuple[str, Callable[[], Awaitable[CaseDetail]]]] = [
            ("purchased", lambda: self.zj.do(SamplingService, lambda s: s.record_purchase(case_id, PURCHASE))),
            ("sealed", lambda: self.zj.do(SamplingService, lambda s: s.record_sealing(case_id, SEALING))),
            ("sampling_notified", lambda: self.zj.do(SamplingService, lambda s: s.send_sampling_notice(case_id))),
            (
                "result_received",
                lambda: self.zj.do(ResultsService, lambda s: s.record_result(case_id, outcome or result())),
            ),
            ("result_notified", lambda: self.zj.do(ResultsService, lambda s: s.send_result_notices(case_id))),
            ("final", lambda: self.waive_and_finalize(case_id)),
            ("published", lambda: self.zj.do(ResultsService, lambda s: s.publish(case_id, note=None))),
        ]
        detail = await self.zj.ask(lambda q: q.detail(case_id))
        states = [state for state, _ in steps]
        for state, step in steps[states.index(detail.case.state) + 1 if detail.case.state in states else 0 :]:
            detail = await step()
            assert detail.case.state == state
            if state == to:
                break
        return detail


@pytest.fixture
async def world(runtime: Runtime, regulator: Callable[..., Awaitable[Principal]]) -> World:
    zj = Regulator(runtime, await regulator("330000"))
    async with runtime.sessions() as session, session.begin():
        for platform_id, province in (("tmall-test", "330000"), ("jd-test", "110000")):
            session.add(Platform(id=platform_id, name=f"{platform_id} 网络有限公司", province_code=province))
        await session.flush()
        merchant = Merchant(
            id=new_id("mer"),
            platform_id="tmall-test",
            shop_id="shop-1001",
            shop_name="某某电器旗舰店",
            kind="registered_entity",
            legal_name="杭州某某电器有限公司",
            registration_division="330106",
        )
        maker = Manufacturer(
            id=new_id("mfr"), name="佛山某某电器制造有限公司", division_code="440604", contact_email="qa@maker.example"
        )
        session.add_all([merchant, maker])
    return World(runtime, zj, "tmall-test", merchant.id, maker.id)


async def audit_of(runtime: Runtime, case_id: str) -> list[AuditRecord]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(AuditRecord).where(AuditRecord.subject == case_id).order_by(AuditRecord.seq)
        )
        return list(rows)


async def sent_on(runtime: Runtime, case_id: str) -> list[OutboundMessage]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(OutboundMessage).where(OutboundMessage.case_id == case_id).order_by(OutboundMessage.id)
        )
        return list(rows)


# ---- the lifecycle's guards -------------------------------------------------------------------------------------


async def test_an_action_the_state_does_not_allow_answers_409_naming_the_allowed_and_changes_nothing(
    world: World,
) -> None:
    case_id = await world.open_case()
    refusal = await world.zj.refused(ResultsService, lambda s: s.publish(case_id, note=None))
    assert (refusal.status_code, refusal.code, refusal.allowed) == (409, "illegal-transition", ["record_purchase"])
    assert "cannot publish in state planned" in refusal.detail
    later = await world.zj.refused(MeasuresService, lambda s: s.close(case_id, note="x"))
    assert later.allowed == ["record_purchase"]
    detail = await world.zj.ask(lambda q: q.detail(case_id))
    assert detail.case.state == "planned"
    assert detail.allowed_actions == ["record_purchase"]
    assert [r.action for r in await audit_of(world.runtime, case_id)] == ["case.create"]


async def test_a_read_only_principal_may_read_but_not_act(
    world: World, regulator: Callable[..., Awaitable[Principal]]
) -> None:
    case_id = await world.open_case()
    reader = Regulator(world.runtime, await regulator("330000", scopes=("read",)))
    assert (await reader.ask(lambda q: q.detail(case_id))).case.id == case_id
    for refusal in (
        await reader.refused(SamplingService, lambda s: s.record_purchase(case_id, PURCHASE)),
        await reader.refused(
            SamplingService,
            lambda s: s.create(
                merchant_id=world.merchant_id,
                manufacturer_id=None,
                plan_reference="p",
                product=ProductRef(sample_name="插座", trademark="公牛", spec_model="GN-1"),
            ),
        ),
        # The scope is checked before the action's own guards: a writer would hear 409 not-failing here.
        await reader.refused(
            MeasuresService, lambda s: s.order_stop_sale(case_id, warning_measures=[], working_days=2)
        ),
    ):
        assert (refusal.status_code, refusal.code) == (403, "insufficient-scope")
    assert (await world.zj.ask(lambda q: q.detail(case_id))).case.state == "planned"


async def test_another_jurisdiction_can_neither_see_nor_act_nor_open_the_case(
    world: World, regulator: Callable[..., Awaitable[Principal]]
) -> None:
    case_id = await world.open_case()
    gd = Regulator(world.runtime, await regulator("440000"))
    with pytest.raises(ProblemError) as seen:
        await gd.ask(lambda q: q.detail(case_id))
    assert (seen.value.status_code, seen.value.code) == (403, "outside-jurisdiction")
    acted = await gd.refused(SamplingService, lambda s: s.record_purchase(case_id, PURCHASE))
    assert (acted.status_code, acted.code) == (403, "outside-jurisdiction")
    opened = await gd.refused(
        SamplingService,
        lambda s: s.create(
            merchant_id=world.merchant_id,
            manufacturer_id=None,
            plan_reference="p",
            product=ProductRef(sample_name="插座", trademark="公牛", spec_model="GN-1"),
        ),
    )
    assert opened.status_code == 403
    assert "二" in opened.detail
    assert await gd.ask(lambda q: q.cases()) == []
    unknown = await world.zj.refused(SamplingService, lambda s: s.record_purchase("case_missing", PURCHASE))
    assert (unknown.status_code, unknown.code) == (404, "not-found")


async def test_stop_sale_before_the_result_is_final_is_for_hazardous_products_only(world: World) -> None:
    ordinary = await world.open_case()
    await world.advance(ordinary, "result_received", result())
    early = await world.zj.refused(
        MeasuresService, lambda s: s.order_stop_sale(ordinary, warning_measures=[], working_days=2)
    )
    assert (early.status_code, early.code, early.allowed) == (409, "not-final", ["finalize"])

    hazardous = await world.open_case()
    await world.advance(hazardous, "result_received", result(hazardous=True))
    detail = await world.zj.do(
        MeasuresService, lambda s: s.order_stop_sale(hazardous, warning_measures=["下架"], working_days=2)
    )
    assert detail.case.state == "result_received"  # the result may still be re-inspected
    # 四(二): the hazardous product's 通报 to the manufacturer's authority is recorded with the order (sent or open).
    assert [m["kind"] for m in detail.case.measures] == ["stop_sale", "hazard_notification"]
    sent = {(m.message_type, m.recipient_kind) for m in await sent_on(world.runtime, hazardous)}
    assert ("stop_sale.order", "platform") in sent
    # No authority of Foshan (440604) is registered with a channel: an open task, never a pretend announcement.
    assert ("hazard.notification", "authority") not in sent
    tasks = [d.deadline for d in detail.deadlines if d.deadline.kind == "hazard_notification"]
    assert [(t.rule, t.status) for t in tasks] == [("通报未送达", "open")]
    answer = [d.deadline for d in detail.deadlines if d.deadline.kind == "platform_answer"]
    assert [d.party for d in answer] == ["platform:tmall-test"]

    passing = await world.open_case()
    await world.advance(passing, "final", result(conclusion="pass"))
    refused = await world.zj.refused(
        MeasuresService, lambda s: s.order_stop_sale(passing, warning_measures=[], working_days=2)
    )
    assert (refused.status_code, refused.code) == (409, "not-failing")


async def test_delisting_is_for_hazardous_products_failing_a_mandatory_standard(world: World) -> None:
    hazardous_only = await world.open_case()
    await world.advance(hazardous_only, "published", result(hazardous=True))
    refusal = await world.zj.refused(
        MeasuresService, lambda s: s.order_delisting(hazardous_only, mandatory_standard="GB 4706.1", working_days=2)
    )
    assert (refusal.status_code, refusal.code) == (409, "not-listable")

    listable = await world.open_case()
    await world.advance(listable, "published", result(hazardous=True, mandatory=True))
    detail = await world.zj.do(
        MeasuresService, lambda s: s.order_delisting(listable, mandatory_standard="GB 4706.1", working_days=2)
    )
    assert detail.case.state == "measures"
    orders = [m for m in await sent_on(world.runtime, listable) if m.message_type == "delisting.order"]
    assert sorted(m.recipient_id for m in orders) == ["jd-test", "tmall-test"]
    clocks = sorted(d.deadline.party for d in detail.deadlines if d.deadline.kind == "platform_answer")
    assert clocks == ["platform:jd-test", "platform:tmall-test"]


async def test_takedown_needs_a_merchant_that_cannot_be_reached(world: World) -> None:
    case_id = await world.open_case()
    await world.advance(case_id, "final")
    refusal = await world.zj.refused(
        MeasuresService,
        lambda s: s.order_takedown(case_id, measures=["delete"], include_shop=True, working_days=2),
    )
    assert (refusal.status_code, refusal.code, refusal.allowed) == (409, "merchant-reachable", ["order_stop_sale"])
    async with world.runtime.sessions() as session, session.begin():
        await session.execute(update(Merchant).values(unreachable_since=NOW))
    detail = await world.zj.do(
        MeasuresService,
        lambda s: s.order_takedown(case_id, measures=["delete", "block"], include_shop=True, working_days=2),
    )
    assert detail.case.state == "measures"
    [order] = [m for m in await sent_on(world.runtime, case_id) if m.message_type == "takedown.order"]
    assert [d.deadline.message_id for d in detail.deadlines if d.deadline.kind == "platform_answer"] == [order.id]


# ---- the unit of work and its audit record ----------------------------------------------------------------------


async def test_each_action_writes_one_audit_record_that_lists_the_messages_it_sent(world: World) -> None:
    case_id = await world.open_case()
    await world.advance(case_id, "result_notified", result(hazardous=True))
    records = await audit_of(world.runtime, case_id)
    assert [r.action for r in records] == [
        "case.create",
        "case.record_purchase",
        "case.record_sealing",
        "case.send_sampling_notice",
        "case.record_result",
        "case.send_result_notices",
    ]
    async with world.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).where(AuditRecord.action == "message.enqueued")) == 0
    sent = await sent_on(world.runtime, case_id)
    listed = [m for r in records for m in r.detail.get("messages", [])]
    assert listed == [
        {
            "id": m.id,
            "type": m.message_type,
            "recipient": f"{m.recipient_kind}:{m.recipient_id}",
            "adapter": m.adapter,
            "body_sha256": hashlib.sha256(m.body).hexdigest(),
        }
        for m in sent
    ]
    by_action = {r.action: r.detail for r in records}
    assert "messages" not in by_action["case.record_purchase"]
    assert {m["type"] for m in by_action["case.send_sampling_notice"]["messages"]} == {"sampling.notice"}
    assert {m["recipient"] for m in by_action["case.send_result_notices"]["messages"]} == {
        "platform:tmall-test",
        f"manufacturer:{world.manufacturer_id}",
    }
    assert by_action["case.send_result_notices"]["from"] == "result_received"
    assert by_action["case.send_result_notices"]["to"] == "result_notified"
    assert by_action["case.create"]["merchant_id"] == world.merchant_id


async def test_a_command_commits_and_wakes_the_outbox_only_when_it_sent_something(world: World) -> None:
    case_id = await world.open_case()
    world.runtime.outbox_wakeup.clear()
    await world.advance(case_id, "sealed")
    assert not world.runtime.outbox_wakeup.is_set()
    detail = await world.zj.do(SamplingService, lambda s: s.send_sampling_notice(case_id))
    assert world.runtime.outbox_wakeup.is_set()
    async with world.runtime.sessions() as session:
        stored = await session.get(Case, case_id)
        assert stored is not None
        assert stored.state == detail.case.state == "sampling_notified"
        history = await session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case_id))
        assert list(history)[-1] == "send_sampling_notice"


async def test_a_refused_command_leaves_no_trace(world: World) -> None:
    case_id = await world.open_case()
    await world.advance(case_id, "purchased")
    bad = SealingRecord(
        sealed_at=NOW, sample_seal_no="same", backup_seal_no="same", witnesses=["甲", "乙", "丙"], evidence=[]
    )
    refusal = await world.zj.refused(SamplingService, lambda s: s.record_sealing(case_id, bad))
    assert (refusal.status_code, refusal.errors[0].field) == (400, "backup_seal_no")
    async with world.runtime.sessions() as session:
        stored = await session.get(Case, case_id)
        assert stored is not None
        assert (stored.state, stored.sealing) == ("purchased", None)
        assert await session.scalar(select(func.count()).where(Deadline.case_id == case_id)) == 0
    assert [r.action for r in await audit_of(world.runtime, case_id)] == ["case.create", "case.record_purchase"]
