"""A plan's expense ledger (购样费用台账): every purchase of its cases, the buyer's basis for reimbursement.

The opinion 六(二): the plan is what a buyer is reimbursed against. One line per case purchase: when, who bought
(buyer, kind, account), on which platform, which orders, delivered where, and what was paid. As JSON, CSV (UTF-8
with a byte order mark, so that Excel reads the Chinese) and XLSX (openpyxl).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.store.models import Case
from spotcheck.gateway.store.models_plans import Plan

__all__ = ["HEADERS", "KIND_LABELS", "ExpenseLine", "expense_lines", "ledger_csv", "ledger_json", "ledger_xlsx"]

_CHINA = ZoneInfo("Asia/Shanghai")
KIND_LABELS: Final = {"officer": "执法人员", "institution_staff": "承检机构人员", "consumer": "消费者"}
HEADERS: Final = (
    ("case_id", "案件编号"),
    ("purchased_at", "购买时间"),
    ("buyer_id", "买样人编号"),
    ("buyer_name", "买样人"),
    ("buyer_kind", "买样人类别"),
    ("platform_id", "平台"),
    ("account", "购买账号"),
    ("order_nos", "订单号"),
    ("address", "收货地址"),
    ("amount_fen", "金额（分）"),
    ("amount_yuan", "金额（元）"),
)
"""Ledger columns: the JSON key and the heading the CSV and XLSX carry."""


@dataclass(frozen=True)
class ExpenseLine:
    """One purchase of a plan's case."""

    case_id: str
    purchased_at: str
    buyer_id: str
    buyer_name: str
    buyer_kind: str
    platform_id: str
    account: str
    order_nos: str
    address: str
    amount_fen: int
    amount_yuan: str


def _china_time(text: str) -> str:
    try:
        return datetime.fromisoformat(text).astimezone(_CHINA).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def _line(case: Case, purchase: dict[str, Any], plan: Plan) -> ExpenseLine:
    buyers = {b.get("id"): b for b in plan.buyers}
    addresses = {a.get("id"): a for a in plan.addresses}
    buyer = buyers.get(purchase.get("buyer_id")) or {}
    address = addresses.get(purchase.get("address_id")) or {}
    orders = purchase.get("orders") or []
    amount = purchase.get("amount_fen")
    if amount is None:
        amount = sum(int(order.get("amount_fen") or 0) for order in orders)
    return ExpenseLine(
        case_id=case.id,
        purchased_at=_china_time(str(purchase.get("purchased_at", ""))),
        buyer_id=str(purchase.get("buyer_id") or ""),
        buyer_name=str(buyer.get("name") or purchase.get("buyer_name") or ""),
        buyer_kind=KIND_LABELS.get(str(buyer.get("kind")), ""),
        platform_id=case.platform_id or "",
        account=str(purchase.get("account") or purchase.get("buyer_account") or ""),
        order_nos=" ".join(str(order.get("order_no", "")) for order in orders),
        address=str(address.get("address") or purchase.get("delivery_address") or ""),
        amount_fen=int(amount),
        amount_yuan=f"{int(amount) // 100}.{int(amount) % 100:02d}",
    )


async def expense_lines(session: AsyncSession, plan: Plan) -> list[ExpenseLine]:
    """The plan's purchases, in the order the cases were opened."""
    cases = await session.scalars(
        select(Case).where(Case.plan_id == plan.id, Case.purchase.is_not(None)).order_by(Case.id)
    )
    return [_line(case, case.purchase, plan) for case in cases if case.purchase]


def ledger_json(plan: Plan, lines: list[ExpenseLine]) -> dict[str, Any]:
    """The ledger as the JSON answer: plan, lines and the total in fen."""
    return {
        "plan_id": plan.id,
        "plan_number": plan.number,
        "lines": [asdict(line) for line in lines],
        "total_fen": sum(line.amount_fen for line in lines),
    }


def _cells(line: ExpenseLine) -> list[Any]:
    return [getattr(line, key) for key, _ in HEADERS]


def ledger_csv(lines: list[ExpenseLine]) -> bytes:
    """The ledger as CSV, UTF-8 with a byte order mark, headings in Chinese, a total line last."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for _, label in HEADERS])
    writer.writerows(_cells(line) for line in lines)
    total = sum(line.amount_fen for line in lines)
    writer.writerow(["合计", *[""] * (len(HEADERS) - 3), total, f"{total // 100}.{total % 100:02d}"])
    return out.getvalue().encode("utf-8-sig")


def ledger_xlsx(plan: Plan, lines: list[ExpenseLine]) -> bytes:
    """The ledger as an XLSX workbook: one sheet, headings in Chinese, amounts as numbers, a total line."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has one sheet
    sheet.title = "购样费用台账"
    sheet.append([f"{plan.number or plan.title} 购样费用台账"])
    sheet.append([label for _, label in HEADERS])
    for line in lines:
        sheet.append([*_cells(line)[:-1], line.amount_fen / 100])
    total = sum(line.amount_fen for line in lines)
    sheet.append(["合计", *[None] * (len(HEADERS) - 3), total, total / 100])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
