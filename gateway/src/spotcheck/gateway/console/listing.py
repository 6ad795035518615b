"""Page numbers and search terms of the console's registry, audit and plan lists (paginated in the database).

A page number or a search term that cannot be used is a 400 naming the parameter, in Chinese, never a 5xx; the
links to the neighbouring pages come from :func:`spotcheck.gateway.console.render.pager`.
"""

from __future__ import annotations

import re
from typing import Final

from spotcheck.gateway.web.problems import field_error

__all__ = ["PER_PAGE", "offset_of", "page_number", "search_term"]

PER_PAGE: Final = 20
"""Rows on one page of a console list."""

_MAX_PAGE: Final = 100_000
_MAX_TERM: Final = 100
_DIGITS: Final = re.compile(r"\A[0-9]{1,6}\Z")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def page_number(raw: str | None) -> int:
    """The page asked for (1 when none).

    Raises:
        ProblemError: 400 naming ``page`` when it is not a whole number from 1 to 100000.
    """
    if raw is None or raw == "":
        return 1
    if not _DIGITS.match(raw) or not 1 <= int(raw) <= _MAX_PAGE:
        raise field_error(400, "page", f"页码须为 1 至 {_MAX_PAGE} 的整数", code="invalid-query")
    return int(raw)


def search_term(name: str, raw: str | None) -> str:
    """A search or filter term, trimmed ("" when none).

    Raises:
        ProblemError: 400 naming the parameter when it is too long or holds control characters.
    """
    term = (raw or "").strip()
    if len(term) > _MAX_TERM:
        raise field_error(400, name, f"不能超过 {_MAX_TERM} 个字符", code="invalid-query")
    if _CONTROL.search(term):
        raise field_error(400, name, "不能包含控制字符", code="invalid-query")
    return term


def offset_of(page: int) -> int:
    """The first row of ``page`` (counting from 1) in a list of :data:`PER_PAGE` rows a page."""
    return (page - 1) * PER_PAGE
