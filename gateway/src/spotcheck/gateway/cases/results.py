"""From the test result to its publication: result notices, re-inspection, finality (三(二), 三(三), 四(一))."""

from __future__ import annotations

from typing import Literal

import msgspec
from sqlalchemy import select

from spotcheck.gateway import workdays as clocks
from spotcheck.gateway.cases import notices
from spotcheck.gateway.cases.lifecycle import CaseState
from spotcheck.gateway.cases.queries import CaseDetail
from spotcheck.gateway.cases.records import ReinspectionApplicationRecord, ResultRecord
from spotcheck.gateway.cases.service import CaseService
from spotcheck.gateway.deadlines.service import (
    Application,
    PartyRole,
    Waiver,
    beijing,
    open_windows,
    record_application,
    record_waiver,
    refresh_windows,
    settle_lapsed_windows,
    unsettled_windows,
)
from spotcheck.gateway.legal import basis
from spotcheck.gateway.store.models import Case, ReinspectionApplication
from spotcheck.gateway.store.statuses import DeadlineKind
from spotcheck.gateway.store.types import utcnow
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.schemas import FailingItem, ResultNotice

__all__ = ["ResultsService"]


class ResultsService(CaseService):
    """The result, who is told of it, the re-inspection a party may ask for, finality and publication."""

    async def record_result(self, case_id: str, result: ResultRecord) -> CaseDetail:
        """Record the test result; starts the five-working-day result notice clock (三(二))."""
        case = await self._open(case_id)
        self._happened({"received_at": result.received_at})
        self._step(case, "record_result", {"conclusion": result.conclusion, "report_no": result.report_no})
        case.result = msgspec.to_builtins(result)
        case.conclusion = result.conclusion
        case.hazardous = result.hazardous
        case.mandatory_standard_failed = result.mandatory_standard_failed
        case.result_received_at = result.received_at
        clock = clocks.deadline_for_result_notice(result.received_at, calendar=self.calendar)
        self._add_deadline(case, DeadlineKind.RESULT_NOTICE, "regulator", clock)
        return await self._commit(case)

    async def send_result_notices(self, case_id: str) -> CaseDetail:
        """Notify the merchant, the labelled manufacturer when failing and the platform when bought through one.

        A failing result is always notified to the labelled manufacturer (三(二)): while the case names none it
        cannot be marked notified. A party that cannot be reached is notified by announcement on the official
        website. A failing result opens one fifteen-day re-inspection window per party, counted from that party's
        receipt (三(三)).
        """
        case = await self._open(case_id)
        merchant, platform, manufacturer = await self._parties(case)
        failing = case.conclusion == "fail"
        if failing and manufacturer is None:
            raise ProblemError(
                409,
                "manufacturer-unknown",
                f"检验不合格的，还应当通知样品标称的生产者（{basis('三(二)')}）：本案尚未指定标称生产者，"
                "请先登记生产者 (POST /v1/manufacturers) 并在立案时指定 manufacturer_id",
            )
        authority = await self._authority()
        self._step(case, "send_result_notices", {})
        now = utcnow()
        case.result_notified_at = now
        roles: list[PartyRole] = ["merchant", "manufacturer"] if failing else []
        windows = open_windows(case, roles, now, self.calendar)
        self.session.add_all(windows)
        case.reinspection_deadline = max((w.due_at for w in windows), default=None)

        def notice(role: Literal["merchant", "manufacturer", "platform"]) -> ResultNotice:
            return notices.result_notice(
                case, authority, merchant, manufacturer, role, reinspection_deadline=case.reinspection_deadline, at=now
            )

        await self._tell_merchant(case, merchant, platform, notice("merchant"), "经营者地址不详 (address unknown)")
        if failing and manufacturer is not None:
            await self._send(case, notice("manufacturer"), notices.manufacturer_recipient(manufacturer))
        if platform is not None:
            await self._send(case, notice("platform"), notices.platform_recipient(platform))
        await self._meet_deadlines(case, DeadlineKind.RESULT_NOTICE)
        return await self._commit(case)

    async def apply_reinspection(self, case_id: str, application: ReinspectionApplicationRecord) -> CaseDetail:
        """Record a written application received directly, inside the applicant's window (三(三))."""
        case = await self._open(case_id)
        if case.conclusion != "fail":
            raise ProblemError(409, "not-failing", "re-inspection applies to a failing result only")
        self._step(case, "apply_reinspection", {"applicant": application.applicant_role})
        received = Application(
            applicant_role=application.applicant_role,
            applicant_name=application.applicant_name,
            applied_at=application.applied_at,
            received_via="direct",
            document_sha256=application.document_sha256,
            reason=application.reason,
        )
        await record_application(self.session, case, received, self.calendar, field="applied_at")
        return await self._commit(case)

    async def waive_reinspection(self, case_id: str, waiver: Waiver) -> CaseDetail:
        """Record a party's written waiver of re-inspection (三(三) 放弃复检): its window closes, the waiver is kept."""
        case = await self._open(case_id)
        if case.conclusion != "fail":
            raise ProblemError(409, "not-failing", "re-inspection applies to a failing result only")
        detail = {
            "party_role": waiver.party_role,
            "waived_by": waiver.waived_by,
            "statement_sha256": waiver.statement_sha256,
            "relayed_reply_id": waiver.relayed_reply_id,
        }
        self._step(case, "waive_reinspection", detail)
        await record_waiver(self.session, case, waiver, self.calendar, recorded_by=self.principal.actor)
        return await self._commit(case)

    async def decide_reinspection(
        self, case_id: str, application_id: str, *, decision: Literal["accepted", "rejected"], reason: str
    ) -> CaseDetail:
        """Accept (the case enters re-inspection) or reject an application; the applicant's platform is told."""
        case = await self._open(case_id)
        application = await self._get(ReinspectionApplication, application_id, "application_id")
        if application.case_id != case.id:
            raise field_error(404, "application_id", "not an application of this case", code="not-found")
        if application.decision is not None:
            raise ProblemError(
                409, "already-decided", f"application {application_id} was already {application.decision}"
            )
        to = CaseState.REINSPECTION if decision == "accepted" else None
        self._step(case, "decide_reinspection", {"application": application_id, "decision": decision}, to=to)
        application.decision = decision
        application.decision_reason = reason
        application.decided_at = utcnow()
        await self._tell_reinspection(case, application, decision, reason, None)
        return await self._commit(case)

    async def record_reinspection_outcome(
        self,
        case_id: str,
        *,
        outcome: Literal["upheld", "overturned"],
        report_no: str,
        conclusion: Literal["pass", "fail"],
        failing_items: list[FailingItem],
    ) -> CaseDetail:
        """Record the re-inspection result, which is final (三(三)); an overturned result replaces the first."""
        case = await self._open(case_id)
        application = await self.session.scalar(
            select(ReinspectionApplication).where(
                ReinspectionApplication.case_id == case.id, ReinspectionApplication.decision == "accepted"
            )
        )
        self._step(case, "record_reinspection_outcome", {"outcome": outcome, "report_no": report_no})
        items = msgspec.to_builtins(failing_items)
        result = dict(case.result or {})
        result["reinspection"] = {
            "outcome": outcome,
            "report_no": report_no,
            "conclusion": conclusion,
            "failing_items": items,
        }
        if outcome == "overturned":
            result.update(conclusion=conclusion, failing_items=items)
            if conclusion == "pass":
                case.hazardous = False
                case.mandatory_standard_failed = False
        case.conclusion = conclusion
        case.result = result
        case.final_at = utcnow()
        if application is not None:
            application.decision = outcome
            await self._tell_reinspection(case, application, outcome, f"复检结论 {outcome}", report_no)
        return await self._commit(case)

    async def _tell_reinspection(
        self, case: Case, application: ReinspectionApplication, decision: str, reason: str, report_no: str | None
    ) -> None:
        _, platform, _ = await self._parties(case)
        if platform is None:
            return
        authority = await self._authority()
        message = notices.reinspection_decision(case, authority, application.id, decision, reason, report_no)
        await self._send(case, message, notices.platform_recipient(platform))

    async def finalize(self, case_id: str, *, waived: bool = False) -> CaseDetail:
        """Make the result final once every party's window has lapsed or been waived in writing (三(三)).

        The deadline sweep does the same by itself; this is the regulator's act. 409 names each party whose
        window is still open, and until when (Beijing time), or that its receipt of the notice is not known yet;
        ``waived`` (a flag, not a written statement) is refused with 422.
        """
        if waived:
            raise field_error(
                422,
                "waived",
                "放弃复检须逐一记录当事人的书面声明 (record each party's written waiver with "
                "POST /v1/cases/{id}/reinspection-waivers, then finalize)",
            )
        case = await self._open(case_id)
        now = utcnow()
        pending = await self.session.scalar(
            select(ReinspectionApplication.id).where(
                ReinspectionApplication.case_id == case.id, ReinspectionApplication.decision.is_(None)
            )
        )
        if pending is not None:
            raise ProblemError(409, "application-pending", f"re-inspection application {pending} awaits a decision")
        windows = await refresh_windows(self.session, case, self.calendar)
        settle_lapsed_windows(windows, now)
        still_open = unsettled_windows(windows)
        if still_open:
            parts = [
                f"{w.party}: 尚未确认收到结果通知 (receipt not yet known)"
                if w.provisional
                else f"{w.party}: 期限至 {beijing(w.due_at)}（北京时间）"
                for w in still_open
            ]
            raise ProblemError(
                409,
                "window-open",
                "复检申请期限尚未届满 (the re-inspection window is open): "
                + "；".join(parts)
                + "。期限届满或当事人书面放弃复检 (POST /v1/cases/{id}/reinspection-waivers) 后方为最终结果",
                allowed=["waive_reinspection", "apply_reinspection"],
            )
        self._step(case, "finalize", {"windows": {w.party: w.status for w in windows}, "by_deadline": False})
        case.final_at = now
        return await self._commit(case)

    async def publish(self, case_id: str, *, note: str | None) -> CaseDetail:
        """Publish the result with the fields the opinion lists (四(一)); the platform is told."""
        case = await self._open(case_id)
        merchant, platform, manufacturer = await self._parties(case)
        authority = await self._authority()
        self._step(case, "publish", {"note": note} if note else {})
        now = utcnow()
        case.published_at = now
        if platform is not None:
            url = self.runtime.settings.http.public_base_url.rstrip("/") + f"/public/results/{case.id}"
            message = notices.results_published(
                case, authority, merchant, manufacturer, platform, published_url=url, at=now
            )
            await self._send(case, message, notices.platform_recipient(platform))
        return await self._commit(case)
