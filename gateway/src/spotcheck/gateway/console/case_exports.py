"""The case list as a file: CSV (UTF-8 with a byte order mark, so Excel reads the Chinese) and XLSX (openpyxl).

Cells are text from shops, products and plans: a spreadsheet must never run one as a formula. The CSV prefixes a
cell that starts like a formula with an apostrophe (as ``/public/results.csv`` does); the XLSX stores every text
cell as a string, so ``=HYPERLINK(…)`` is shown as typed and never evaluated. Times are Beijing time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from spotcheck.gateway.console.case_search import CaseRow
from spotcheck.gateway.console.render import bj

__all__ = ["EXPORT_COLUMNS", "cases_csv", "cases_xlsx", "export_cells"]

EXPORT_COLUMNS: Final = (
    "案件编号",
    "样品名称",
    "标称商标",
    "规格型号",
    "被抽检经营者",
    "第三方交易平台",
    "抽检计划",
    "案件状态",
    "期限状态",
    "最近截止时间（北京时间）",
    "立案时间（北京时间）",
)
"""Header row of both exports."""
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def export_cells(row: CaseRow) -> list[str]:
    """One case's cells, as text, in :data:`EXPORT_COLUMNS` order."""
    return [
        row.case_id,
        row.sample_name,
        row.trademark,
        row.spec_model,
        row.shop_name,
        row.platform_name or "—",
        row.plan_reference or "—",
        row.state_label,
        row.urgency_label,
        bj(row.next_due_at),
        bj(row.created_at),
    ]


def _defused(value: str) -> str:
    # A leading =, +, -, @ (or a tab or CR before one) would make a spreadsheet run the cell (CSV injection).
    return "'" + value if value.startswith(_FORMULA_START) else value


def cases_csv(rows: Iterable[CaseRow]) -> bytes:
    """The cases as RFC 4180 CSV with CRLF line ends, UTF-8 with a byte order mark, headings in Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_defused(cell) for cell in export_cells(row)])
    return buffer.getvalue().encode("utf-8-sig")


def cases_xlsx(rows: Iterable[CaseRow]) -> bytes:
    """The cases as an XLSX workbook: one sheet, headings in Chinese, every cell stored as text."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("案件")
    sheet.append(list(EXPORT_COLUMNS))
    for row in rows:
        cells = []
        for value in export_cells(row):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # openpyxl would store "=…" as a formula; a string cell is never evaluated
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
