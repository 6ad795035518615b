"""The two directories of 双随机: merchants (检查对象名录库) and inspectors (执法检查人员名录库).

Merchants come in as CSV, one per row, and are imported all or nothing: every row is checked first and any
problem answers the whole list of ``(row, column, reason)`` without storing a thing. An imported merchant is a
registry merchant (so a case can be opened on it) plus its directory entry (platform, division, categories).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Final

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import Principal
from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.store.models import Case, Merchant, Platform
from spotcheck.gateway.store.models_plans import Inspector, MerchantDirectoryEntry
from spotcheck.gateway.store.types import new_id
from spotcheck.schemas import DivisionCode, is_valid_uscc

__all__ = ["COLUMNS", "DirectoryService", "ImportRejectedError", "RowError"]

COLUMNS: Final = ("platform_id", "shop_id", "shop_name", "kind", "legal_name", "uscc", "division_code", "categories")
"""The CSV header (UTF-8, BOM allowed); ``categories`` separated by ``;`` or ``；``."""

_REQUIRED: Final = ("platform_id", "shop_id", "shop_name", "kind", "division_code")
_KINDS: Final = frozenset({"natural_person", "registered_entity", "platform_self_operated"})
_SHOP_ID: Final = re.compile(r"\A[A-Za-z0-9._:-]{1,128}\Z")
_MAX_ROWS: Final = 200_000
_MAX_TEXT: Final = 200


@dataclass(frozen=True)
class RowError:
    """One refused cell: the row (the header is row 1) and column, and why."""

    row: int
    column: str
    reason: str


class ImportRejectedError(Exception):
    """The CSV was refused; nothing was imported. ``status`` is 422 (bad rows) or 403 (rows outside the area)."""

    def __init__(self, status: int, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the CSV; nothing was imported")
        self.status = status
        self.errors = errors


@dataclass(frozen=True)
class _Known:
    merchants: dict[tuple[str | None, str], Merchant]
    entries: dict[str, MerchantDirectoryEntry]


@dataclass(frozen=True)
class _Row:
    number: int
    values: dict[str, str]
    categories: list[str]


def _check_division(value: str) -> str | None:
    try:
        msgspec.convert(value, DivisionCode)
    except msgspec.ValidationError:
        return "不是有效的行政区划代码 (expected 6 digits, GB/T 2260)"
    return None


class DirectoryService:
    """Directory commands and queries for one regulator in one session; each command commits."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    async def import_merchants(self, text: str) -> int:
        """Import every row of the CSV or none; returns how many rows were imported.

        Raises:
            ImportRejectedError: every problem found, by row and column (nothing stored).
            ProblemError: 403 without the write scope.
        """
        self.principal.require_scope("write")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in _REQUIRED if name not in header]
        if missing:
            errors = [RowError(1, name, "缺少该列 (column missing from the header)") for name in missing]
            raise ImportRejectedError(422, errors)
        reader.fieldnames = header
        rows, errors = await self._checked_rows(reader)
        known = await self._known(rows) if rows and not errors else _Known({}, {})
        errors += await self._foreign_rows(rows, known)
        outside = [e for e in errors if e.reason.startswith("outside")]
        if errors:
            raise ImportRejectedError(403 if outside and len(outside) == len(errors) else 422, errors)
        if not rows:
            raise ImportRejectedError(422, [RowError(2, "platform_id", "the CSV has no data rows")])
        self._store(rows, known)
        await append_audit(
            self.session,
            actor=self.principal.actor,
            action="directory.import_merchants",
            subject=self.principal.authority_id,
            detail={"rows": len(rows)},
        )
        await self.session.commit()
        return len(rows)

    async def _checked_rows(self, reader: csv.DictReader[str]) -> tuple[list[_Row], list[RowError]]:
        platforms = set(await self.session.scalars(select(Platform.id)))
        rows: list[_Row] = []
        errors: list[RowError] = []
        seen: dict[tuple[str, str], int] = {}
        try:
            for index, raw in enumerate(reader, start=2):
                if index - 1 > _MAX_ROWS:
                    errors.append(RowError(index, "platform_id", f"more than {_MAX_ROWS} rows; split the file"))
                    break
                values = {k: (v or "").strip() for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
                found = self._row_errors(index, values, platforms)
                key = (values.get("platform_id", ""), values.get("shop_id", ""))
                if key in seen:
                    found.append(RowError(index, "shop_id", f"重复: the same shop as row {seen[key]}"))
                seen.setdefault(key, index)
                errors.extend(found)
                categories = [c.strip() for c in re.split("[;；]", values.get("categories", "")) if c.strip()]
                rows.append(_Row(index, values, categories))
        except csv.Error as exc:
            errors.append(RowError(reader.line_num, "platform_id", f"not readable as CSV: {exc}"))
        return rows, errors

    def _row_errors(self, index: int, values: dict[str, str], platforms: set[str]) -> list[RowError]:
        errors = [RowError(index, name, "必填 (required)") for name in _REQUIRED if not values.get(name)]
        errors += [
            RowError(index, name, f"longer than {_MAX_TEXT} characters")
            for name, value in values.items()
            if len(value) > _MAX_TEXT or "\x00" in value
        ]
        platform, shop, kind = values.get("platform_id", ""), values.get("shop_id", ""), values.get("kind", "")
        if platform and platform not in platforms:
            errors.append(RowError(index, "platform_id", f"no registered platform {platform!r}"))
        if shop and not _SHOP_ID.match(shop):
            errors.append(RowError(index, "shop_id", "letters, digits and . _ : - only"))
        if kind and kind not in _KINDS:
            errors.append(RowError(index, "kind", f"use one of {', '.join(sorted(_KINDS))}"))
        uscc = values.get("uscc", "")
        if uscc and not is_valid_uscc(uscc):
            errors.append(RowError(index, "uscc", "统一社会信用代码校验位错误 (not a valid USCC, GB 32100-2015)"))
        division = values.get("division_code", "")
        problem = _check_division(division) if division else None
        if problem:
            errors.append(RowError(index, "division_code", problem))
        elif division and not self.principal.can_act_in(division):
            errors.append(RowError(index, "division_code", "outside this authority's area"))
        return errors

    async def _known(self, rows: list[_Row]) -> _Known:
        """The merchants the rows name that are already registered, and their directory entries."""
        platforms = {r.values["platform_id"] for r in rows}
        # Two queries by platform (few) for what is already known, instead of a look-up per row.
        merchants = {
            (m.platform_id, m.shop_id): m
            for m in await self.session.scalars(select(Merchant).where(Merchant.platform_id.in_(platforms)))
        }
        entries = {
            e.merchant_id: e
            for e in await self.session.scalars(
                select(MerchantDirectoryEntry)
                .join(Merchant, Merchant.id == MerchantDirectoryEntry.merchant_id)
                .where(Merchant.platform_id.in_(platforms))
            )
        }
        return _Known(merchants, entries)

    async def _foreign_rows(self, rows: list[_Row], known: _Known) -> list[RowError]:
        """Rows that would rewrite a registered shop outside the importer's area.

        A row about a registered shop rewrites its name, kind, legal name, USCC and registration, and takes its
        directory entry over: the importer must cover where the shop is now (its registration and its entry's
        division; for a shop with neither, its platform's province and its cases' jurisdictions), or one province
        could move another's merchant (and its cases' public results) into its own area.
        """
        named = [
            (row, merchant)
            for row in rows
            if (merchant := known.merchants.get((row.values["platform_id"], row.values["shop_id"]))) is not None
        ]
        if not named:
            return []
        platforms = await self.session.execute(select(Platform.id, Platform.province_code))
        provinces: dict[str, str | None] = {row.id: row.province_code for row in platforms}
        case_areas: dict[str, set[str]] = {}
        for merchant_id, division in await self.session.execute(
            select(Case.merchant_id, Case.jurisdiction_division).where(Case.merchant_id.in_([m.id for _, m in named]))
        ):
            case_areas.setdefault(merchant_id, set()).add(division)
        errors: list[RowError] = []
        for row, merchant in named:
            entry = known.entries.get(merchant.id)
            areas = {code for code in (merchant.registration_division, entry.division_code if entry else None) if code}
            if not areas:
                areas = {provinces.get(merchant.platform_id or ""), *case_areas.get(merchant.id, ())} - {None, ""}
            if any(not self.principal.can_act_in(code) for code in areas if code):
                errors.append(RowError(row.number, "shop_id", "outside this authority's area"))
        return errors

    def _store(self, rows: list[_Row], known: _Known) -> None:
        existing, entries = known.merchants, known.entries
        for row in rows:
            values = row.values
            merchant = existing.get((values["platform_id"], values["shop_id"]))
            division = values["division_code"]
            if merchant is None:
                merchant = Merchant(id=new_id("mer"), platform_id=values["platform_id"], shop_id=values["shop_id"])
                self.session.add(merchant)
            merchant.shop_name, merchant.kind = values["shop_name"], values["kind"]
            merchant.legal_name = values.get("legal_name") or merchant.legal_name
            merchant.uscc = values.get("uscc") or merchant.uscc
            if values["kind"] == "registered_entity":
                merchant.registration_division = division
            entry = entries.get(merchant.id)
            if entry is None:
                entry = MerchantDirectoryEntry(merchant_id=merchant.id)
                self.session.add(entry)
            entry.authority_id, entry.platform_id = self.principal.authority_id, values["platform_id"]
            entry.division_code, entry.categories = division, row.categories

    async def add_inspector(self, *, name: str, kind: str, organisation: str, certificate_no: str | None) -> Inspector:
        """Add an officer or testing-institution staff member to this authority's directory; audited."""
        self.principal.require_scope("write")
        row = Inspector(
            id=new_id("insp"),
            authority_id=self.principal.authority_id,
            name=name,
            kind=kind,
            organisation=organisation,
            certificate_no=certificate_no,
        )
        self.session.add(row)
        await self.session.flush()
        await append_audit(
            self.session, actor=self.principal.actor, action="directory.add_inspector", subject=row.id, detail={}
        )
        await self.session.commit()
        return row

    async def merchants(
        self, *, platform_id: str | None, category: str | None, division_prefix: str | None, limit: int, offset: int
    ) -> list[tuple[MerchantDirectoryEntry, Merchant]]:
        """This authority's object directory, by platform and shop, filtered as asked."""
        self.principal.require_scope("read")
        query = (
            select(MerchantDirectoryEntry, Merchant)
            .join(Merchant, Merchant.id == MerchantDirectoryEntry.merchant_id)
            .where(MerchantDirectoryEntry.authority_id == self.principal.authority_id)
            .order_by(MerchantDirectoryEntry.platform_id, Merchant.shop_id)
        )
        if platform_id:
            query = query.where(MerchantDirectoryEntry.platform_id == platform_id)
        if division_prefix:
            query = query.where(MerchantDirectoryEntry.division_code.startswith(division_prefix, autoescape=True))
        rows = [(entry, merchant) for entry, merchant in await self.session.execute(query)]
        if category:
            # Categories are a JSON list: filtered here, the same way on SQLite and PostgreSQL.
            rows = [(entry, merchant) for entry, merchant in rows if category in entry.categories]
        return rows[offset : offset + limit]

    async def inspectors(self) -> list[Inspector]:
        """This authority's inspectors, in the order they were added."""
        self.principal.require_scope("read")
        rows = await self.session.scalars(
            select(Inspector).where(Inspector.authority_id == self.principal.authority_id).order_by(Inspector.id)
        )
        return list(rows)
