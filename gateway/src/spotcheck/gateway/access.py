"""Who may do what: regulator tokens (hashed at rest), jurisdictions (the opinion's 二), the master key for secrets.

A token reads ``sct_<id>_<secret>``; only SHA-256 of the secret is stored, compared in constant time.
Jurisdiction follows division codes: a provincial authority ``330000`` covers every code starting ``33``,
a municipal ``330100`` every code starting ``3301``; the national authority covers all; an entrustment
from a higher authority lets a lower one act in the entrusted area.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ColumnElement, bindparam, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from spotcheck.gateway.store.models import ApiToken, Authority, Case, Entrustment
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import ProblemError

__all__ = [
    "LEVELS",
    "SCOPES",
    "BoundScope",
    "MasterKey",
    "Principal",
    "authenticate",
    "covers",
    "create_token",
    "division_prefix",
    "level_of_code",
    "principal_of",
    "scope_clause",
    "visible_cases",
]

LEVELS = ("national", "provincial", "municipal", "county")
SCOPES = ("read", "write", "admin", "supervise")
"""Token scopes; ``supervise`` approves sampling plans (a supervisor, never the plan's own author token)."""
NATIONAL_CODE = "100000"
_TOKEN_PREFIX = "sct_"  # noqa: S105 - a prefix, not a credential
_MAX_TOKEN_LENGTH = 200
_MASTER_KEY_BYTES = 32


def level_of_code(code: str) -> str:
    """The administrative level a division code denotes (``100000`` is the national administration)."""
    if code == NATIONAL_CODE:
        return "national"
    if code.endswith("0000"):
        return "provincial"
    if code.endswith("00"):
        return "municipal"
    return "county"


def division_prefix(code: str, level: str) -> str:
    """The code prefix an authority of ``level`` at ``code`` covers ("" for national)."""
    return {"national": "", "provincial": code[:2], "municipal": code[:4]}.get(level, code)


def covers(authority_code: str, authority_level: str, division: str) -> bool:
    """Whether an authority at ``authority_code``/``authority_level`` has ``division`` inside its area."""
    return division.startswith(division_prefix(authority_code, authority_level))


@dataclass(frozen=True)
class Principal:
    """An authenticated regulator: the token, its authority and what it may do."""

    token_id: str
    authority_id: str
    authority_name: str
    division_code: str
    level: str
    scopes: frozenset[str]
    entrusted_divisions: tuple[str, ...]
    officer: str | None = None
    """The officer behind a console session, by username (``token_id`` is then the officer's id); None for tokens."""

    @property
    def actor(self) -> str:
        """How this principal appears in history and audit records: the token, or the officer by username."""
        if self.officer is not None:
            return f"authority:{self.authority_id}/officer:{self.officer}"
        return f"authority:{self.authority_id}/token:{self.token_id}"

    def can_act_in(self, division: str) -> bool:
        """Own area (national: everywhere) or an area a higher authority entrusted to this one."""
        if covers(self.division_code, self.level, division):
            return True
        return any(division.startswith(division_prefix(code, level_of_code(code))) for code in self.entrusted_divisions)

    def can_access_case(self, case: Case) -> bool:
        """The case's organising authority, an authority above it in that area, or the national administration."""
        return case.authority_id == self.authority_id or self.can_act_in(case.jurisdiction_division)

    def require_scope(self, scope: str) -> None:
        """Refuse with 403 ``insufficient-scope`` unless this principal carries ``scope`` (the one scope check)."""
        if scope not in self.scopes:
            raise ProblemError(403, "insufficient-scope", f"this token lacks the {scope!r} scope")


def visible_cases(principal: Principal) -> ColumnElement[bool]:
    """The SQL condition for the cases ``principal`` may see: :meth:`Principal.can_access_case` as a WHERE clause.

    Division codes are six digits, so "starts with the prefix" is a range on the indexed column.
    """
    return _in_scope(principal, Case.authority_id, Case.jurisdiction_division)


def _in_scope(
    principal: Principal, authority: QueryableAttribute[Any], division: QueryableAttribute[Any]
) -> ColumnElement[bool]:
    scope = BoundScope.of(principal)
    return scope_clause(authority, division, scope.ranges, values=scope.params)


@dataclass(frozen=True)
class BoundScope:
    """A principal's scope as the values a prebuilt statement binds (:func:`scope_clause` is that statement's part).

    The dashboard's statements are built once per shape of scope and reused: only these values change per officer.
    """

    ranges: int | None
    """How many division ranges the scope compares (its own area and each entrusted one); None: it sees all."""
    params: dict[str, str]
    """The values to bind: ``scope_authority`` and ``scope_lo{i}``/``scope_hi{i}`` per range (none when it sees all)."""

    @classmethod
    def of(cls, principal: Principal) -> BoundScope:
        """The scope of :meth:`Principal.can_access_case`: the own authority, or a division in one of the ranges."""
        prefixes = [division_prefix(principal.division_code, principal.level)]
        prefixes += [division_prefix(code, level_of_code(code)) for code in principal.entrusted_divisions]
        if not all(prefixes):
            return cls(None, {})
        params = {"scope_authority": principal.authority_id}
        for i, prefix in enumerate(prefixes):
            params[f"scope_lo{i}"] = prefix.ljust(6, "0")
            params[f"scope_hi{i}"] = prefix.ljust(6, "9")
        return cls(len(prefixes), params)


def scope_clause(
    authority: QueryableAttribute[Any],
    division: QueryableAttribute[Any],
    ranges: int | None,
    *,
    values: Mapping[str, str] | None = None,
) -> ColumnElement[bool]:
    """The WHERE clause of a :class:`BoundScope` with ``ranges`` ranges, on a table's copy of the case's scope.

    Without ``values`` its parameters are bound at execution (a prebuilt statement); with them, in the clause itself
    (each parameter unique, so two such clauses can share a statement).
    """
    if ranges is None:
        return true()

    def bound(name: str) -> Any:
        return bindparam(name) if values is None else bindparam(name, values[name], unique=True)

    return or_(
        authority == bound("scope_authority"),
        *(division.between(bound(f"scope_lo{i}"), bound(f"scope_hi{i}")) for i in range(ranges)),
    )


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(authority_id: str, scopes: list[str], label: str = "") -> tuple[str, ApiToken]:
    """A new token row and the token string to hand out once (never stored)."""
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"scopes: unknown scope(s) {sorted(unknown)}; use {', '.join(SCOPES)}")
    token_id = new_id("tok").split("_", 1)[1].lower()
    secret = secrets.token_urlsafe(32)
    row = ApiToken(
        id=token_id,
        authority_id=authority_id,
        secret_sha256=_hash_secret(secret),
        scopes=sorted(set(scopes) | {"read"}),
        label=label,
    )
    return f"{_TOKEN_PREFIX}{token_id}_{secret}", row


async def authenticate(session: AsyncSession, token: str, *, now: datetime | None = None) -> Principal | None:
    """The principal behind ``token``, or None when it is malformed, unknown, revoked, expired or wrong."""
    if not token.startswith(_TOKEN_PREFIX) or len(token) > _MAX_TOKEN_LENGTH:
        return None
    token_id, sep, secret = token[len(_TOKEN_PREFIX) :].partition("_")
    if not sep or not token_id or not secret:
        return None
    row = await session.get(ApiToken, token_id)
    candidate = _hash_secret(secret)
    if row is None:
        hmac.compare_digest(candidate, candidate)  # keep timing alike for unknown ids
        return None
    if not hmac.compare_digest(candidate, row.secret_sha256):
        return None
    moment = now or utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= moment):
        return None
    return await principal_of(session, row.authority_id, token_id=row.id, scopes=frozenset(row.scopes))


# Read for every request's principal: built once, the authority bound per request.
_LIVE_ENTRUSTMENTS = select(Entrustment.division_code).where(
    Entrustment.agent_id == bindparam("agent"), Entrustment.revoked_at.is_(None)
)


async def principal_of(
    session: AsyncSession,
    authority_id: str,
    *,
    token_id: str,
    scopes: frozenset[str],
    officer: str | None = None,
) -> Principal | None:
    """The principal acting for ``authority_id`` with ``scopes`` (None if the authority is gone).

    One place builds the jurisdiction (own area and live entrustments) for tokens and console officers alike.
    """
    authority = await session.get(Authority, authority_id)
    if authority is None:
        return None
    entrusted = (await session.scalars(_LIVE_ENTRUSTMENTS, {"agent": authority.id})).all()
    return Principal(
        token_id=token_id,
        authority_id=authority.id,
        authority_name=authority.name,
        division_code=authority.division_code,
        # From the code, not the stored column: an authority registered before levels were checked against codes
        # may hold a broader one ("national" at a district's code) that would widen its area.
        level=level_of_code(authority.division_code),
        scopes=scopes,
        entrusted_divisions=tuple(entrusted),
        officer=officer,
    )


class MasterKey:
    """AES-256-GCM key that encrypts signing secrets at rest (``SPOTCHECK_MASTER_KEY`` or a 0600 file)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _MASTER_KEY_BYTES:
            raise ValueError("master key: expected 32 bytes")
        self._aead = AESGCM(key)
        self._key = key

    @classmethod
    def load(cls, data_dir: Path) -> MasterKey:
        """From ``SPOTCHECK_MASTER_KEY`` (base64) or ``<data_dir>/master.key``, created on first use."""
        raw = os.environ.get("SPOTCHECK_MASTER_KEY")
        if raw:
            try:
                return cls(base64.b64decode(raw, validate=True))
            except ValueError as exc:
                raise ValueError("SPOTCHECK_MASTER_KEY: expected 32 bytes, base64-encoded") from exc
        path = data_dir / "master.key"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(AESGCM.generate_key(bit_length=256)))
        return cls(base64.b64decode(path.read_bytes()))

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one ``purpose`` (e.g. signing the console's CSRF tokens), HMAC-SHA256 of the master key.

        Derived keys are independent of each other and reveal nothing of the master key or of encrypted secrets.
        """
        return hmac.new(self._key, b"spotcheck-derive/v1\n" + purpose.encode(), hashlib.sha256).digest()

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """Nonce + ciphertext; ``context`` (e.g. the key id) is bound as associated data."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """The plaintext of :meth:`encrypt`'s output; fails if the blob or its context was altered."""
        return self._aead.decrypt(blob[:12], blob[12:], context.encode()).decode()
