"""案件详情 and 新建案件: one case's timeline, notices, documents, replies, evidence, deadlines and allowed actions.

A document's PDF is downloaded from ``/console/documents/{document_id}`` through the API's own query
(:mod:`~spotcheck.gateway.console.case_documents`), saved under its 文号.

Every action is a form posted to ``/console/cases/{case_id}/{action}``; its body is decoded by
:mod:`~spotcheck.gateway.console.forms` into the API's own request body and passed to the same service method the
API calls (:mod:`~spotcheck.gateway.console.case_actions`), acting as the officer's principal. A refused form comes
back with what was typed and a reason per field; a refused action shows the API's problem in an officer's words.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import File, Redirect

from spotcheck.gateway.cases.jurisdiction import jurisdiction_for
from spotcheck.gateway.cases.schemas import CaseCreate
from spotcheck.gateway.console import case_labels
from spotcheck.gateway.console.auth import CurrentOfficer, Officer
from spotcheck.gateway.console.case_actions import ACTION_SPECS, ActionSpec, Services
from spotcheck.gateway.console.case_documents import read_document
from spotcheck.gateway.console.case_record import CaseRecord, TimelineEntry, is_block, pretty, read_case_record
from spotcheck.gateway.console.compliance import DEADLINE_KIND_LABELS, STATE_LABELS, URGENCY_LABELS
from spotcheck.gateway.console.form_words import reason_zh
from spotcheck.gateway.console.forms import (
    EvidenceChoice,
    Form,
    FormContext,
    Input,
    Node,
    build_form,
    parse_form,
)
from spotcheck.gateway.console.registry_queries import manufacturer_page, merchant_page
from spotcheck.gateway.console.render import bj, form_macro, page, problem_message
from spotcheck.gateway.evidence.service import EvidenceService
from spotcheck.gateway.evidence.store import EvidenceStep
from spotcheck.gateway.plans.service import PlanService
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Merchant, Platform
from spotcheck.gateway.web.deps import RuntimeDep, Session, provide_runtime
from spotcheck.gateway.web.problems import ProblemError

if TYPE_CHECKING:
    from markupsafe import Markup  # jinja2's markup type; nothing is imported from it at run time

__all__ = ["CaseDetailController"]

Req = Request[Any, Any, State]
_CHOICES_LIMIT: Final = 500
_CHUNK: Final = 1 << 20
_EVIDENCE_STEPS: Final = ("purchase", "listing", "unpacking", "sealing", "other")
UPLOAD_LIMIT: Final = 64 * 1024 * 1024
"""The largest evidence file the console's upload form takes (bytes)."""


def _values(form: Any) -> dict[str, list[str]]:
    """The submitted text fields as lists (files and the CSRF token left out)."""
    values: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key != "csrf_token":
            values.setdefault(key, []).append(value)
    return values


def _evidence_choices(record: CaseRecord) -> list[EvidenceChoice]:
    return [
        EvidenceChoice(
            id=row.id,
            label=(
                f"{case_labels.label(case_labels.EVIDENCE_STEP_LABELS, row.step)} · {row.description or '（无说明）'}"
                f" · {row.media_type} · SHA-256 {row.sha256[:12]}…"
            ),
            ref={
                "sha256": row.sha256,
                "media_type": row.media_type,
                "size_bytes": row.size_bytes,
                "step": row.step,
                "description": row.description or case_labels.label(case_labels.EVIDENCE_STEP_LABELS, row.step),
            },
        )
        for row in record.evidence
    ]


def _extra_inputs(spec: ActionSpec, record: CaseRecord) -> tuple[Input, ...]:
    """The path parameters an action asks for, as selects of what the case has."""
    if "application_id" not in spec.path_params:
        return ()
    choices = tuple(
        (a.id, f"{a.applicant_name}（{'经营者' if a.applicant_role == 'merchant' else '生产者'}）")
        for a in record.pending_applications
    )
    return (Input("application_id", "复检申请", "select", required=True, choices=choices),)


def _context(record: CaseRecord) -> FormContext:
    return FormContext(evidence=_evidence_choices(record))


@dataclass(frozen=True)
class _TimelineLine:
    """One timeline entry with its words worked out here, exactly as the template looked them up.

    A label looked up from the template (a call through Jinja's context per label) cost more than the entry's markup.
    """

    kind: str
    at_iso: str
    at_text: str
    tag: str
    subject: str
    """The step, evidence step or message in Chinese."""
    actor: str
    """Who, as the entry's kind shows it (an officer's words for steps and evidence, the platform's id otherwise)."""
    moved_to: str | None
    """A step's new state in Chinese when the step changed the state."""
    basis: Any


def _timeline_line(entry: TimelineEntry) -> _TimelineLine:
    detail, kind = entry.detail, entry.kind
    moved_to = None
    if kind == "step":
        subject, actor = case_labels.label(case_labels.ACTION_LABELS, entry.subject), case_labels.actor(entry.actor)
        to = detail.get("to")
        if to and detail.get("from") != to:
            moved_to = STATE_LABELS.get(to, to)
    elif kind == "evidence":
        subject = case_labels.label(case_labels.EVIDENCE_STEP_LABELS, entry.subject)
        actor = case_labels.actor(entry.actor)
    else:
        subject, actor = case_labels.label(case_labels.MESSAGE_LABELS, entry.subject), entry.actor
    return _TimelineLine(
        kind=kind,
        at_iso=entry.at.isoformat(),
        at_text=bj(entry.at),
        tag=case_labels.label(case_labels.TIMELINE_LABELS, kind),
        subject=subject,
        actor=actor,
        moved_to=moved_to,
        basis=detail.get("basis") if kind == "step" else None,
    )


# A fresh action form renders the same for the same inputs (its values are the body's defaults, it has no errors):
# rendered once per action and inputs, it is reused; the inputs name the case's evidence, so the cache is bounded.
_FRESH_FORMS: dict[tuple[str, tuple[Node, ...]], Markup] = {}
_FRESH_FORMS_LIMIT: Final = 512


def _fresh_form_html(name: str, form: Form) -> Markup:
    """The markup of a fresh action form (as the ``nodes`` macro writes it), rendered once per action and inputs."""
    key = (name, form.nodes)
    html = _FRESH_FORMS.get(key)
    if html is None:
        if len(_FRESH_FORMS) >= _FRESH_FORMS_LIMIT:
            _FRESH_FORMS.clear()
        html = _FRESH_FORMS[key] = form_macro("nodes")(f"a-{name}", form.nodes, form)
    return html


def _detail_page(
    request: Req,
    officer: CurrentOfficer,
    record: CaseRecord,
    *,
    failed: tuple[str, Form] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    """The case detail page; ``failed`` is the refused action's form (kept as typed), ``problem`` why it failed."""
    context = _context(record)
    actions: list[dict[str, Any]] = []
    for name in record.detail.allowed_actions:
        spec = ACTION_SPECS.get(name)
        if spec is None:
            actions.append({"name": name, "spec": None, "form": None, "problem": None, "html": None})
            continue
        if failed is not None and failed[0] == name:
            form, shown_problem, html = failed[1], problem, None
        else:
            form, shown_problem = build_form(spec.body, context, extra=_extra_inputs(spec, record)), None
            html = _fresh_form_html(name, form)
        actions.append({"name": name, "spec": spec, "form": form, "problem": shown_problem, "html": html})
    # A refused action the case no longer offers (a stale page) has no form to show its problem beside.
    refused = None
    if failed is not None and failed[0] not in {a["name"] for a in actions} and failed[0] != "evidence":
        refused = f"{case_labels.label(case_labels.ACTION_LABELS, failed[0])}：{problem or '未能办理'}"
    done = case_labels.ACTION_LABELS.get(request.query_params.get("done", ""))
    uploaded = request.query_params.get("uploaded") == "1"
    return page(
        request,
        "console/case_detail.html",
        officer,
        nav="cases",
        status_code=status_code,
        record=record,
        timeline=[_timeline_line(entry) for entry in record.timeline],
        case=record.detail.case,
        actions=actions,
        done=done or ("证据文件已上传并登记" if uploaded else None),
        refused=refused,
        upload_problem=problem if failed is not None and failed[0] == "evidence" else None,
        upload_limit_mb=UPLOAD_LIMIT // (1024 * 1024),
        evidence_steps=[(s, case_labels.EVIDENCE_STEP_LABELS[s]) for s in _EVIDENCE_STEPS],
        labels=case_labels,
        state_labels=STATE_LABELS,
        deadline_labels=DEADLINE_KIND_LABELS,
        urgency_labels=URGENCY_LABELS,
        pretty=pretty,
        is_block=is_block,
    )


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_CHUNK):
        yield chunk


class CaseDetailController(Controller):
    """``/console/cases/new``, ``/console/cases/{case_id}``, its actions, evidence uploads, evidence and documents."""

    path = "/console"
    include_in_schema = False
    dependencies = {"runtime": Provide(provide_runtime)}  # noqa: RUF012 - Litestar reads it as a class attribute

    # ---- a new case ----------------------------------------------------------------------------------------------

    @get("/cases/new")
    async def new_case(
        self, request: Req, session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """The new-case form; a merchant given in the query shows which authority has jurisdiction, and why."""
        given = {k: request.query_params.getall(k) for k in request.query_params if k != "csrf_token"}
        context = await _new_case_context(session, officer, runtime)
        form = build_form(CaseCreate, context, given or None)
        return await _new_case_page(request, session, officer, form)

    @get("/cases/new/jurisdiction")
    async def jurisdiction(self, request: Req, session: Session, officer: CurrentOfficer) -> Response[str]:
        """The jurisdiction box alone (htmx swaps it in when the merchant changes)."""
        decided = await _jurisdiction(session, officer, request.query_params.get("merchant_id", ""))
        return page(request, "console/_jurisdiction.html", officer, decided=decided)

    @post("/cases/new")
    async def create_case(
        self, request: Req, session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str] | Redirect:
        """Open the case (as ``POST /v1/cases``); on success to its page, else the form again as typed."""
        values = _values(await request.form())
        context = await _new_case_context(session, officer, runtime)
        form = parse_form(CaseCreate, values, context)
        if not form.ok:
            return await _new_case_page(request, session, officer, form, status_code=400)
        data: CaseCreate = form.parsed
        try:
            detail = await Services.of(session, officer.principal, runtime).sampling.create(
                merchant_id=data.merchant_id,
                manufacturer_id=data.manufacturer_id,
                plan_reference=data.plan_reference,
                product=data.product,
                plan_id=data.plan_id,
                origin=msgspec.to_builtins(data.origin) if data.origin is not None else None,
            )
        except ProblemError as exc:
            await session.rollback()
            _pin(form, exc)
            return await _new_case_page(
                request, session, officer, form, problem=problem_message(exc), status_code=exc.status_code
            )
        return Redirect(f"/console/cases/{detail.case.id}?done=create", status_code=303)

    # ---- one case ------------------------------------------------------------------------------------------------

    @get("/cases/{case_id:str}")
    async def case_detail(
        self, request: Req, case_id: FromPath[str], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str]:
        """The case: timeline, notices, replies, evidence, deadlines and the actions allowed now."""
        record = await read_case_record(session, officer.principal, runtime, case_id)
        return _detail_page(request, officer, record)

    # A form upload arrives whole (multipart) before it is streamed into the store, so it gets a bound of its own
    # above the API's 1 MB body limit; larger videos go through the API's streamed upload.
    @post("/cases/{case_id:str}/evidence", request_max_body_size=UPLOAD_LIMIT)
    async def upload_evidence(
        self, request: Req, case_id: FromPath[str], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> Response[str] | Redirect:
        """Store an evidence file (as ``POST /v1/cases/{case_id}/evidence``) and link it to the case's step."""
        submitted = await request.form()
        upload = submitted.get("file")
        step = str(submitted.get("step") or "")
        description = str(submitted.get("description") or "")
        problem: str | None = None
        status = 400
        if not isinstance(upload, UploadFile) or not upload.filename:
            problem = "请选择要上传的文件"
        elif step not in _EVIDENCE_STEPS:
            problem = "请选择取证环节"
        else:
            evidence_step = cast("EvidenceStep", step)  # checked against the steps above
            try:
                await EvidenceService(session, officer.principal, runtime).record_upload(
                    case_id, step=evidence_step, description=description, content=_chunks(upload)
                )
            except ProblemError as exc:
                await session.rollback()
                if exc.status_code == 404:  # noqa: PLR2004 - an unknown case is the page's own 404
                    raise
                problem, status = problem_message(exc), exc.status_code
            else:
                return Redirect(f"/console/cases/{case_id}?uploaded=1#evidence", status_code=303)
        record = await read_case_record(session, officer.principal, runtime, case_id)
        empty = build_form(None)
        return _detail_page(request, officer, record, failed=("evidence", empty), problem=problem, status_code=status)

    @post("/cases/{case_id:str}/{action:str}")
    async def act(
        self,
        request: Req,
        case_id: FromPath[str],
        action: FromPath[str],
        session: Session,
        officer: CurrentOfficer,
        runtime: RuntimeDep,
    ) -> Response[str] | Redirect:
        """Take ``action`` on the case with the submitted form, exactly as the API's endpoint for it would."""
        spec = ACTION_SPECS.get(action)
        if spec is None:
            raise ProblemError(404, "not-found", f"没有这一案件操作：{action}")
        record = await read_case_record(session, officer.principal, runtime, case_id)
        values = _values(await request.form())
        form = parse_form(spec.body, values, _context(record), extra=_extra_inputs(spec, record))
        if not form.ok:
            return _detail_page(request, officer, record, failed=(action, form), status_code=400)
        path = {name: values.get(name, [""])[0].strip() for name in spec.path_params}
        try:
            await spec.run(Services.of(session, officer.principal, runtime), case_id, form.parsed, path)
        except ProblemError as exc:
            await session.rollback()
            _pin(form, exc)
            record = await read_case_record(session, officer.principal, runtime, case_id)
            return _detail_page(
                request,
                officer,
                record,
                failed=(action, form),
                problem=problem_message(exc),
                status_code=exc.status_code,
            )
        return Redirect(f"/console/cases/{case_id}?done={action}#timeline", status_code=303)

    # ---- evidence files ------------------------------------------------------------------------------------------

    @get("/evidence/{sha256:str}")
    async def evidence_file(
        self, sha256: FromPath[str], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> File:
        """An evidence file for previewing (as ``GET /v1/evidence/{sha256}``: digest checked, jurisdiction too)."""
        verified = await EvidenceService(session, officer.principal, runtime).read_verified(sha256)
        return File(
            verified.path,
            filename=verified.file_name,
            media_type=verified.media_type,
            content_disposition_type="inline",
            headers={"x-content-type-options": "nosniff", "cache-control": "private, no-store"},
        )

    # ---- documents (文书) ----------------------------------------------------------------------------------------

    @get("/documents/{document_id:str}")
    async def document_file(
        self, document_id: FromPath[str], session: Session, officer: CurrentOfficer, runtime: RuntimeDep
    ) -> File:
        """A document's signed PDF saved under its 文号 (as ``GET /v1/documents/{id}``: digest and jurisdiction)."""
        download = await read_document(session, officer.principal, runtime, document_id)
        return File(
            download.file.path,
            filename=download.file.file_name,
            media_type=download.file.media_type,
            headers=download.headers,
        )


def _pin(form: Form, exc: ProblemError) -> None:
    """File the problem's field errors against the form's inputs (those the form has)."""
    names = form.names()
    for error in exc.errors:
        if error.field in names:
            form.errors.setdefault(error.field, reason_zh(error.reason))


async def _new_case_context(session: Session, officer: Officer, runtime: Runtime) -> FormContext:
    """Choices for the new-case form: the merchants, manufacturers and plans of the officer's area."""
    merchants, _ = await merchant_page(session, officer.principal, term="", offset=0, limit=_CHOICES_LIMIT)
    makers, _ = await manufacturer_page(session, officer.principal, term="", offset=0, limit=_CHOICES_LIMIT)
    plans = await PlanService(session, officer.principal, runtime).list_plans()
    return FormContext(
        choices={
            "merchant_id": [
                (m.merchant.id, f"{m.merchant.shop_name}（{m.merchant.platform_id or '自建网站'}）") for m in merchants
            ],
            "manufacturer_id": [(m.id, m.name) for m in makers],
            "plan_id": [(p.id, f"{p.number or '未编号'} {p.title}") for p in plans],
        }
    )


async def _jurisdiction(session: Session, officer: Officer, merchant_id: str) -> dict[str, Any] | None:
    """Which authority would organise sampling of this merchant's goods, on what basis, and whether it is us."""
    merchant = await session.get(Merchant, merchant_id) if merchant_id and len(merchant_id) <= 128 else None  # noqa: PLR2004
    if merchant is None:
        return None
    platform = await session.get(Platform, merchant.platform_id) if merchant.platform_id else None
    try:
        division, basis = jurisdiction_for(merchant, platform, officer.principal)
    except ProblemError as exc:
        return {"division": None, "basis": problem_message(exc), "ours": False}
    return {"division": division, "basis": basis, "ours": officer.principal.can_act_in(division)}


async def _new_case_page(
    request: Req,
    session: Session,
    officer: CurrentOfficer,
    form: Form,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    decided = await _jurisdiction(session, officer, form.value("merchant_id"))
    return page(
        request,
        "console/case_new.html",
        officer,
        nav="new_case",
        status_code=status_code,
        form=form,
        decided=decided,
        problem=problem,
    )
