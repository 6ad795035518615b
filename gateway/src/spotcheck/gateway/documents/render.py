"""HTML to PDF with WeasyPrint: A4, the CJK fonts of Debian's ``fonts-noto-cjk``, real (extractable) text.

WeasyPrint lays text out with Pango and embeds subsets of the fonts the page uses, so ``pdftotext`` and a
reader's search find every character. It is CPU work: call :func:`render_pdf` from a worker thread.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Final

import weasyprint
from weasyprint.text.fonts import FontConfiguration

__all__ = ["MEDIA_TYPE", "render_pdf"]

MEDIA_TYPE: Final = "application/pdf"
"""What a rendered document is."""

# WeasyPrint narrates every layout step at INFO: one document would fill the gateway's log with them.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def _fonts() -> FontConfiguration:
    # One configuration per process: building it scans fontconfig, which costs more than a page.
    return FontConfiguration()


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """The PDF of ``html`` (one or more A4 pages, as the page's ``@page`` rule says)."""
    document = weasyprint.HTML(string=html, base_url=base_url)
    pdf: bytes = document.write_pdf(font_config=_fonts())
    return pdf
