"""The documents' HTML, from Jinja2 templates laid out after GB/T 9704 (title, 文号, body, signature block, date).

A template reads the notice's own ``data`` (the wire contract, as builtins with datetimes kept), so a document
says exactly what the notice that serves it says. Times are shown in Beijing time as ``2026-12-14 23:59``; the
date under the signature as ``2026年12月14日``. Undefined names fail loudly: a template never prints a blank where
a fact belongs, and the fields a kind cannot do without are checked first (:func:`missing_field`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import jinja2
import msgspec

from spotcheck.gateway.documents.kinds import DocumentSpec

__all__ = ["CHINA", "DocumentPage", "beijing", "chinese_date", "document_html", "missing_field", "notice_fields"]

CHINA: Final = ZoneInfo("Asia/Shanghai")
"""Times in documents are Beijing time."""

_TEMPLATES: Final = Path(__file__).parent / "templates"


def beijing(moment: datetime | str) -> str:
    """``2026-12-14T15:59:00Z`` → ``2026-12-14 23:59`` (Beijing time)."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def chinese_date(moment: datetime) -> str:
    """The date under the signature (成文日期), in Beijing: ``2026年12月7日``."""
    day = moment.astimezone(CHINA)
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class DocumentPage:
    """Everything one document's page shows besides the notice's data."""

    spec: DocumentSpec
    authority: str
    number: str
    addressee: str
    case_id: str
    message_type: str
    issued_at: datetime
    seal: str | None = None
    served: list[dict[str, str]] = field(default_factory=list)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["beijing"] = beijing
    return env


def notice_fields(data: msgspec.Struct) -> dict[str, Any]:
    """A notice's ``data`` as builtins for a template, datetimes and dates kept as objects."""
    fields: dict[str, Any] = msgspec.to_builtins(data, builtin_types=(datetime, date))
    return fields


def missing_field(spec: DocumentSpec, fields: dict[str, Any]) -> str | None:
    """The first field the kind's template needs that the notice lacks (None, empty), or None when complete."""
    for name in spec.requires:
        if fields.get(name) in (None, "", []):
            return name
    return None


def document_html(page: DocumentPage, fields: dict[str, Any]) -> str:
    """The document's HTML page."""
    template = _environment().get_template(page.spec.template)
    return template.render(
        spec=page.spec,
        authority=page.authority,
        number=page.number,
        addressee=page.addressee,
        addressee_name=page.addressee,
        case_id=page.case_id,
        message_type=page.message_type,
        issued_on=chinese_date(page.issued_at),
        seal=page.seal,
        served=page.served,
        data=fields,
    )
