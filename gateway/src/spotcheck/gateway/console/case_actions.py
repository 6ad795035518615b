"""The case actions the console offers: for each lifecycle action, its Chinese title, clause, body and service call.

Each call is the one ``cases/controllers.py`` makes for the same action, with the same body type, so an action
taken in the console does exactly what the API does; only the words around it are the console's. An action the
lifecycle reports that is not listed here is shown to the officer as offered by the API only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.cases.measures import MeasuresService
from spotcheck.gateway.cases.queries import CaseDetail
from spotcheck.gateway.cases.results import ResultsService
from spotcheck.gateway.cases.sampling import SamplingService
from spotcheck.gateway.cases.schemas import (
    CloseBody,
    DelistingBody,
    FinalizeBody,
    IdentityRequestBody,
    PublishBody,
    PurchaseRecord,
    RecordsRequestBody,
    ReferralBody,
    ReinspectionApplicationRecord,
    ReinspectionDecisionBody,
    ReinspectionOutcomeBody,
    ResultRecord,
    SealingRecord,
    StopSaleBody,
    TakedownBody,
    TransferBody,
    WaiverBody,
)
from spotcheck.gateway.deadlines.windows import Waiver
from spotcheck.gateway.runtime import Runtime

__all__ = ["ACTION_SPECS", "ActionSpec", "Services"]


@dataclass(frozen=True)
class Services:
    """The case services of one request, for the officer's principal (the same classes the API builds)."""

    sampling: SamplingService
    results: ResultsService
    measures: MeasuresService

    @classmethod
    def of(cls, session: AsyncSession, principal: Principal, runtime: Runtime) -> Services:
        """The services acting as ``principal`` in ``session``."""
        return cls(
            SamplingService(session, principal, runtime),
            ResultsService(session, principal, runtime),
            MeasuresService(session, principal, runtime),
        )


Run = Callable[[Services, str, Any, dict[str, str]], Awaitable[CaseDetail]]
"""Carry out an action: the services, the case id, the decoded body (None without one), the path parameters."""


@dataclass(frozen=True)
class ActionSpec:
    """One action as the console offers it."""

    name: str
    title: str
    clause: str
    """The opinion's clause the action carries out, e.g. ``三(一)`` (empty when none applies)."""
    body: type[msgspec.Struct] | None
    run: Run
    path_params: tuple[str, ...] = ()
    """Parameters the API takes in the path besides the case id (``application_id``), asked for in the form."""
    confirm: str = ""
    """What submitting it does, said before the button (for actions that send notices)."""


async def _purchase(s: Services, case_id: str, body: PurchaseRecord, _: dict[str, str]) -> CaseDetail:
    return await s.sampling.record_purchase(case_id, body)


async def _sealing(s: Services, case_id: str, body: SealingRecord, _: dict[str, str]) -> CaseDetail:
    return await s.sampling.record_sealing(case_id, body)


async def _sampling_notice(s: Services, case_id: str, _: None, __: dict[str, str]) -> CaseDetail:
    return await s.sampling.send_sampling_notice(case_id)


async def _records(s: Services, case_id: str, body: RecordsRequestBody, _: dict[str, str]) -> CaseDetail:
    return await s.sampling.request_records(
        case_id,
        order_nos=body.order_nos,
        records_from=body.records_from,
        records_until=body.records_until,
        items=body.items,
        working_days=body.working_days,
    )


async def _identity(s: Services, case_id: str, body: IdentityRequestBody, _: dict[str, str]) -> CaseDetail:
    return await s.sampling.request_merchant_identity(case_id, working_days=body.working_days)


async def _result(s: Services, case_id: str, body: ResultRecord, _: dict[str, str]) -> CaseDetail:
    return await s.results.record_result(case_id, body)


async def _result_notices(s: Services, case_id: str, _: None, __: dict[str, str]) -> CaseDetail:
    return await s.results.send_result_notices(case_id)


async def _apply(s: Services, case_id: str, body: ReinspectionApplicationRecord, _: dict[str, str]) -> CaseDetail:
    return await s.results.apply_reinspection(case_id, body)


async def _waive(s: Services, case_id: str, body: WaiverBody, _: dict[str, str]) -> CaseDetail:
    waiver = Waiver(
        party_role=body.party_role,
        waived_by=body.waived_by,
        statement_sha256=body.statement_sha256,
        relayed_reply_id=body.relayed_reply_id,
        note=body.note or "",
    )
    return await s.results.waive_reinspection(case_id, waiver)


async def _decide(s: Services, case_id: str, body: ReinspectionDecisionBody, path: dict[str, str]) -> CaseDetail:
    return await s.results.decide_reinspection(
        case_id, path["application_id"], decision=body.decision, reason=body.reason
    )


async def _outcome(s: Services, case_id: str, body: ReinspectionOutcomeBody, _: dict[str, str]) -> CaseDetail:
    return await s.results.record_reinspection_outcome(
        case_id,
        outcome=body.outcome,
        report_no=body.report_no,
        conclusion=body.conclusion,
        failing_items=body.failing_items,
    )


async def _finalize(s: Services, case_id: str, _: FinalizeBody, __: dict[str, str]) -> CaseDetail:
    return await s.results.finalize(case_id)


async def _publish(s: Services, case_id: str, body: PublishBody, _: dict[str, str]) -> CaseDetail:
    return await s.results.publish(case_id, note=body.note)


async def _stop_sale(s: Services, case_id: str, body: StopSaleBody, _: dict[str, str]) -> CaseDetail:
    return await s.measures.order_stop_sale(case_id, warning_measures=body.warning_measures)


async def _delisting(s: Services, case_id: str, body: DelistingBody, _: dict[str, str]) -> CaseDetail:
    return await s.measures.order_delisting(case_id, mandatory_standard=body.mandatory_standard)


async def _takedown(s: Services, case_id: str, body: TakedownBody, _: dict[str, str]) -> CaseDetail:
    return await s.measures.order_takedown(case_id, measures=body.measures, include_shop=body.include_shop)


async def _hazard(s: Services, case_id: str, _: None, __: dict[str, str]) -> CaseDetail:
    return await s.measures.notify_hazard_authority(case_id)


async def _referral(s: Services, case_id: str, body: ReferralBody, _: dict[str, str]) -> CaseDetail:
    return await s.measures.refer_to_telecom(
        case_id, telecom_authority=body.telecom_authority, telecom_email=body.telecom_email, measure=body.measure
    )


async def _transfer(s: Services, case_id: str, body: TransferBody, _: dict[str, str]) -> CaseDetail:
    return await s.measures.transfer_violation(case_id, violation=body.violation)


async def _close(s: Services, case_id: str, body: CloseBody, _: dict[str, str]) -> CaseDetail:
    return await s.measures.close(case_id, note=body.note)


ACTION_SPECS: Final[dict[str, ActionSpec]] = {
    spec.name: spec
    for spec in (
        ActionSpec("record_purchase", "记录网络购样", "三(一)", PurchaseRecord, _purchase),
        ActionSpec("record_sealing", "记录拆封与封样", "三(一)", SealingRecord, _sealing),
        ActionSpec(
            "send_sampling_notice",
            "发出抽检告知",
            "三(一)",
            None,
            _sampling_notice,
            confirm="向被抽检经营者（经平台转达，并按登记的电子邮箱）和平台发出抽检告知书，告知备份样品的退回义务。",
        ),
        ActionSpec("request_records", "请平台确认订单并提供交易记录", "三(一)", RecordsRequestBody, _records),
        ActionSpec("request_merchant_identity", "请平台提供经营者身份信息", "五(一)", IdentityRequestBody, _identity),
        ActionSpec("record_result", "录入检验结果", "三(二)", ResultRecord, _result),
        ActionSpec(
            "send_result_notices",
            "发出检验结果通知",
            "三(二)",
            None,
            _result_notices,
            confirm="向经营者、（不合格时）标称生产者和平台发出检验结果通知；不合格时复检申请期限自此起算。",
        ),
        ActionSpec("apply_reinspection", "登记书面复检申请", "三(三)", ReinspectionApplicationRecord, _apply),
        ActionSpec("waive_reinspection", "登记当事人书面放弃复检", "三(三)", WaiverBody, _waive),
        ActionSpec(
            "decide_reinspection",
            "决定是否受理复检申请",
            "三(三)",
            ReinspectionDecisionBody,
            _decide,
            path_params=("application_id",),
        ),
        ActionSpec("record_reinspection_outcome", "录入复检结果", "三(三)", ReinspectionOutcomeBody, _outcome),
        ActionSpec("finalize", "确认检验结论为最终结论", "三(三)", FinalizeBody, _finalize),
        ActionSpec("publish", "公布抽检结果", "四(一)", PublishBody, _publish),
        ActionSpec("order_stop_sale", "责令经营者停止销售", "四(二)", StopSaleBody, _stop_sale),
        ActionSpec(
            "notify_hazard_authority",
            "向生产者所在地市场监管部门通报",
            "四(二)",
            None,
            _hazard,
            confirm="经登记的渠道重新发出危害通报，办结“通报未送达”待办事项。",
        ),
        ActionSpec("order_delisting", "列入停止销售名单并通知各平台", "四(二)", DelistingBody, _delisting),
        ActionSpec("order_takedown", "责令平台删除、屏蔽或断开链接", "四(二)", TakedownBody, _takedown),
        ActionSpec("refer_to_telecom", "提请电信主管部门处置网站", "四(二)", ReferralBody, _referral),
        ActionSpec("transfer_violation", "移送平台经营者违法行为", "四(三)", TransferBody, _transfer),
        ActionSpec("close", "结案", "", CloseBody, _close),
    )
}
"""Every action the console has a form for, by lifecycle name."""
