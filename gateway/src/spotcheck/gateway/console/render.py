"""Rendering console pages: one Jinja2 environment (autoescape, StrictUndefined) and the context every page gets.

Every page is rendered through :func:`page`, which adds the officer, the CSRF token for its forms, the current
nav section and the time filters (Asia/Shanghai, ``2026-12-14 23:59``). Values from the database reach a page only
through autoescaping, so a shop called ``<script>alert(1)</script>`` is shown as text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from litestar import Request, Response
from litestar.enums import MediaType

from spotcheck.gateway.console.attention import basis_label, rule_label
from spotcheck.gateway.console.security import SECURITY_HEADERS, csrf_token_for
from spotcheck.gateway.legal import basis
from spotcheck.gateway.web.problems import ProblemError

if TYPE_CHECKING:
    from markupsafe import Markup  # jinja2's markup type; nothing is imported from it at run time

    from spotcheck.gateway.console.auth import Officer

__all__ = [
    "NAV",
    "bj",
    "bj_date",
    "environment",
    "error_page",
    "form_macro",
    "page",
    "pager",
    "problem_message",
    "render",
]

_CHINA: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
NAV: Final = (
    ("dashboard", "工作台", "/console/"),
    ("cases", "案件", "/console/cases"),
    ("new_case", "新建案件", "/console/cases/new"),
    ("plans", "抽检计划", "/console/plans"),
    ("platforms", "平台", "/console/platforms"),
    ("merchants", "经营者与生产者", "/console/merchants"),
    ("audit", "审计日志", "/console/audit"),
)
"""The console's sections: key (``nav=`` of :func:`page`), label, address."""
_SECTION_OF_PATH: Final = (
    ("/console/cases/new", "new_case"),
    ("/console/cases", "cases"),
    ("/console/plans", "plans"),
    ("/console/draws", "plans"),
    ("/console/platforms", "platforms"),
    ("/console/merchants", "merchants"),
    ("/console/manufacturers", "merchants"),
    ("/console/audit", "audit"),
)
_STATUS_TITLES: Final = {
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持的操作",
    409: "操作冲突",
    413: "内容过大",
    422: "无法处理",
    429: "请求过于频繁",
    500: "系统错误",
    503: "服务暂不可用",
}
_PROBLEM_WORDS: Final = {
    "insufficient-scope": "您的账户角色无权进行此操作。",
    "forbidden": "您无权进行此操作。",
    "outside-jurisdiction": "此案件或对象不在您所在部门的管辖范围内。",
    "not-found": "要找的对象不存在，或已被删除。",
    "illegal-transition": "案件当前所处的阶段不允许这一操作。",
    "illegal-plan-state": "抽检计划当前的状态不允许这一操作。",
    "application-pending": "复检申请尚未处理，暂不能进行这一操作。",
    "no-window": "这一操作的法定期限窗口尚未开始或已经结束。",
    "not-failing": "只有检验结论为不合格的案件才能进行这一操作。",
    "conflict": "案件已被他人同时修改，请刷新页面后重试。",
    "invalid-request": "提交的内容有误。",
    "invalid-field": "提交的内容有误。",
    "unavailable": "数据库暂时不可用，本次操作没有记录，请稍后重试。",
    "too-large": "提交的内容超过了允许的大小。",
}


def bj(value: datetime | None) -> str:
    """A moment as officers read it: Beijing time to the minute, ``2026-12-14 23:59`` (no offset shown)."""
    if value is None:
        return "—"
    return value.astimezone(_CHINA).strftime("%Y-%m-%d %H:%M")


def bj_date(value: datetime | date | None) -> str:
    """The Beijing calendar day of a moment (or a date as it is), ``2026-12-14``."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(_CHINA).strftime("%Y-%m-%d")
    return value.isoformat()


def environment() -> Environment:
    """The console's Jinja2 environment (templates in ``console/templates/console/``)."""
    env = Environment(
        loader=PackageLoader("spotcheck.gateway.console", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        auto_reload=False,  # packaged templates never change while serving: no stat() per render
    )
    env.filters["bj"] = bj
    env.filters["bj_date"] = bj_date
    env.filters["rule_zh"] = rule_label
    env.filters["basis_zh"] = basis_label
    env.globals["bj"] = bj
    env.globals["bj_date"] = bj_date
    env.globals["basis"] = basis
    env.globals["NAV"] = NAV
    return env


_ENV: Final = environment()


def _section(path: str) -> str:
    for prefix, section in _SECTION_OF_PATH:
        if path == prefix or path.startswith((prefix + "/", prefix + ".")):
            return section
    return "dashboard"


def pager(path: str, params: Mapping[str, str], page: int, per_page: int, total: int) -> dict[str, Any]:
    """Page count and the addresses of the first, previous, next and last pages (None where there is none).

    ``params`` are the listing's other query parameters (filters), kept in every link; ``page`` counts from 1.
    The result is what the ``pagination`` macro of ``console/_macros.html`` shows.
    """
    pages = max(1, -(-total // per_page))
    base = {key: value for key, value in params.items() if key != "page" and value}

    def link(number: int) -> str:
        query = urlencode({**base, "page": str(number)} if number > 1 else base)
        return f"{path}?{query}" if query else path

    return {
        "page": page,
        "pages": pages,
        "total": total,
        "first": link(1) if page > 1 else None,
        "prev": link(min(page - 1, pages)) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
        "last": link(pages) if page < pages else None,
    }


def form_macro(name: str) -> Callable[..., Markup]:
    """A macro of ``console/_case_form.html`` (``nodes``, ``form_errors``) to call from Python; it returns markup."""
    macro: Callable[..., Markup] = getattr(_ENV.get_template("console/_case_form.html").module, name)
    return macro


def render(request: Request[Any, Any, Any], template: str, officer: Officer | None, **context: Any) -> str:
    """A template rendered to a string with the console's common context (for fragments and pages alike)."""
    context.setdefault("nav", _section(request.url.path))
    context.setdefault("csrf_token", csrf_token_for(request))
    context.setdefault("request_path", request.url.path)
    return _ENV.get_template(template).render(officer=officer, **context)


def page(
    request: Request[Any, Any, Any],
    template: str,
    officer: Officer | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    """An HTML response of ``template`` (``console/…``) with ``officer``, ``csrf_token``, ``nav`` and ``bj``.

    ``nav`` defaults to the section of the request's path; pass ``nav="cases"`` to choose it.
    """
    # The headers are also set by ConsoleHeadersMiddleware; an unmatched path's 404 never passes through it.
    return Response(
        render(request, template, officer, **context),
        status_code=status_code,
        media_type=MediaType.HTML,
        headers={**SECURITY_HEADERS, "cache-control": "no-store", **(headers or {})},
    )


def problem_message(problem: ProblemError) -> str:
    """An API problem in words an officer understands (Chinese), keeping the API's own detail as the reason."""
    words = _PROBLEM_WORDS.get(problem.code)
    fields = "；".join(f"{error.field}：{error.reason}" for error in problem.errors)
    if words and fields:
        return f"{words}（{fields}）"
    if words:
        return words
    if fields:
        return f"提交的内容有误：{fields}"
    return f"操作未完成：{problem.detail}"


def error_page(request: Request[Any, Any, Any], status_code: int, message: str | None = None) -> Response[str]:
    """The console's error page (403, 404, 5xx …) in Chinese, without the nav of a logged-in officer."""
    title = _STATUS_TITLES.get(status_code, "出错了")
    if message is None:
        message = {
            400: "请求的参数有误，请检查后重试。",
            403: "您无权访问此页面，或表单已失效（请返回上一页刷新后重试）。",
            404: "您要找的页面或对象不存在。",
            405: "此页面不支持这种操作。",
            413: "提交的内容超过了允许的大小。",
        }.get(status_code, "系统未能完成此请求，已记录错误，请稍后重试。")
    return page(
        request,
        "console/error.html",
        None,
        status_code=status_code,
        title=title,
        message=message,
        status=status_code,
    )
