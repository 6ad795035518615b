"""Officers' accounts: create, disable, reset a password, and check a login (with the lock-out).

Passwords are hashed with Argon2id (``argon2-cffi``'s RFC 9106 low-memory profile) and hashed or checked in a
worker thread so that a login never stalls the event loop. A login for a username nobody has still verifies a
password against a fixed dummy hash and counts towards that name's lock-out, so the answer and its timing are
the same for an unknown name, a wrong password and a disabled account: usernames cannot be enumerated.
"""

from __future__ import annotations

import asyncio
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.service import append_audit
from spotcheck.gateway.settings import ConsoleSettings
from spotcheck.gateway.store.models import Authority
from spotcheck.gateway.store.models_console import ConsoleSession, LoginThrottle, OfficerAccount
from spotcheck.gateway.store.types import new_id, utcnow

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "ROLE_LABELS",
    "ROLE_SCOPES",
    "AccountError",
    "AccountService",
    "LoginOutcome",
    "normalise_username",
]

ROLES: Final = ("officer", "supervisor", "admin")
ROLE_SCOPES: Final[dict[str, frozenset[str]]] = {
    "officer": frozenset({"read", "write"}),
    "supervisor": frozenset({"read", "write", "supervise"}),
    "admin": frozenset({"read", "write", "admin"}),
}
"""The API scopes each console role carries: the same checks as a token with those scopes."""
ROLE_LABELS: Final = {"officer": "执法人员", "supervisor": "审核人", "admin": "管理员"}
MIN_PASSWORD_LENGTH: Final = 10
MAX_PASSWORD_LENGTH: Final = 256
_USERNAME: Final = re.compile(r"\A[a-z0-9][a-z0-9._-]{1,63}\Z")
_HASHER: Final = PasswordHasher()  # Argon2id, t=3, m=64 MiB, p=4 (argon2-cffi's RFC 9106 low-memory profile)
_DUMMY_HASH: Final = _HASHER.hash("spotcheck-console-no-such-officer")
"""Verified against for unknown usernames so that they take as long as real ones."""
_ACTOR_CLI: Final = "cli"
_HASH_SLOTS: Final = threading.BoundedSemaphore(4)
"""At most four hashes at once (64 MiB each): a flood of logins queues instead of exhausting memory."""
_FORGET_FAILURES_AFTER: Final = timedelta(days=1)
"""A name's failed logins are forgotten a day after the last one (unless it is still locked)."""


class AccountError(ValueError):
    """A refused account change: ``field`` names the input and ``reason`` says why, in Chinese."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt came to: the officer on success, else why (never shown as such to the person)."""

    officer: OfficerAccount | None
    refusal: Literal["bad-credentials", "disabled", "locked"] | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the officer may have a session."""
        return self.officer is not None and self.refusal is None


def normalise_username(raw: str) -> str:
    """The username as stored: NFKC, trimmed, lower-case (so ``Zhang.San`` and ``zhang.san`` are one person)."""
    return unicodedata.normalize("NFKC", raw).strip().lower()


def check_password(password: str) -> None:
    """Refuse a password that is too short or too long (a long one would only make hashing slow)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"密码至少 {MIN_PASSWORD_LENGTH} 个字符")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password", f"密码最长 {MAX_PASSWORD_LENGTH} 个字符")


async def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (PHC string), computed off the event loop."""

    def run() -> str:
        with _HASH_SLOTS:
            return _HASHER.hash(password)

    return await asyncio.to_thread(run)


async def _verify(password_hash: str, password: str) -> bool:
    def run() -> bool:
        with _HASH_SLOTS:
            try:
                return _HASHER.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    return await asyncio.to_thread(run)


def officer_actor(officer: OfficerAccount) -> str:
    """How an officer appears in the audit trail (the same form as :attr:`Principal.actor`)."""
    return f"authority:{officer.authority_id}/officer:{officer.username}"


class AccountService:
    """Officers' accounts in one database session; each method commits its change with its audit record."""

    def __init__(self, session: AsyncSession, settings: ConsoleSettings, *, actor: str = _ACTOR_CLI) -> None:
        self.session = session
        self.settings = settings
        self.actor = actor

    async def by_username(self, username: str) -> OfficerAccount | None:
        """The officer with that username (normalised), if any."""
        return await self.session.scalar(
            select(OfficerAccount).where(OfficerAccount.username == normalise_username(username))
        )

    async def _existing(self, username: str) -> OfficerAccount:
        officer = await self.by_username(username)
        if officer is None:
            raise AccountError("username", f"没有用户名为 {normalise_username(username)!r} 的账户")
        return officer

    async def create(
        self, username: str, *, authority_code: str, role: str, password: str, display_name: str | None = None
    ) -> OfficerAccount:
        """A new officer of the authority at ``authority_code``; refuses a taken name, an unknown role or code."""
        name = normalise_username(username)
        if not _USERNAME.match(name):
            raise AccountError("username", "用户名为 2–64 个小写字母、数字或 . _ -，以字母或数字开头")
        if role not in ROLES:
            raise AccountError("role", f"角色应为 {'、'.join(ROLES)} 之一")
        check_password(password)
        shown = (display_name or name).strip()
        if not shown or len(shown) > 100 or not shown.isprintable():  # noqa: PLR2004 - the column's width
            raise AccountError("display_name", "姓名应为 1–100 个可显示的字符")
        authority = await self.session.scalar(select(Authority).where(Authority.division_code == authority_code))
        if authority is None:
            raise AccountError("authority_code", f"没有区划代码为 {authority_code!r} 的市场监管部门")
        if await self.by_username(name) is not None:
            raise AccountError("username", f"用户名 {name!r} 已被使用")
        officer = OfficerAccount(
            id=new_id("off"),
            username=name,
            display_name=shown,
            authority_id=authority.id,
            role=role,
            password_hash=await hash_password(password),
            disabled=False,
        )
        self.session.add(officer)
        await append_audit(
            self.session,
            actor=self.actor,
            action="officer.created",
            subject=f"officer:{name}",
            detail={"authority_id": authority.id, "role": role},
        )
        await self.session.commit()
        return officer

    async def disable(self, username: str) -> OfficerAccount:
        """Disable an account and end its sessions at once."""
        officer = await self._existing(username)
        officer.disabled = True
        await self.session.execute(delete(ConsoleSession).where(ConsoleSession.officer_id == officer.id))
        await append_audit(
            self.session, actor=self.actor, action="officer.disabled", subject=f"officer:{officer.username}"
        )
        await self.session.commit()
        return officer

    async def reset_password(self, username: str, password: str) -> OfficerAccount:
        """Set a new password, lift any lock-out and end the account's sessions (they were opened with the old one)."""
        check_password(password)
        officer = await self._existing(username)
        officer.password_hash = await hash_password(password)
        officer.password_changed_at = utcnow()
        await self.session.execute(delete(ConsoleSession).where(ConsoleSession.officer_id == officer.id))
        await self.session.execute(delete(LoginThrottle).where(LoginThrottle.username == officer.username))
        await append_audit(
            self.session, actor=self.actor, action="officer.password_reset", subject=f"officer:{officer.username}"
        )
        await self.session.commit()
        return officer

    async def verify_login(self, username: str, password: str, *, now: datetime | None = None) -> LoginOutcome:
        """Check a login and record it (success, failure, lock-out) in the audit trail; commits.

        A locked name is refused without looking at the password. Otherwise the password is always verified
        (against a dummy hash for an unknown name); a failure counts towards the lock-out of the typed name.
        """
        moment = now or utcnow()
        name = normalise_username(username)[:64]
        throttle = await self.session.get(LoginThrottle, name) if name else None
        if throttle is not None and throttle.locked_until is not None and throttle.locked_until > moment:
            officer = await self.by_username(name)
            await self._audit_refusal(officer, "locked")
            await self.session.commit()
            return LoginOutcome(None, "locked", throttle.locked_until)
        officer = await self.by_username(name) if name else None
        matches = await _verify(officer.password_hash if officer else _DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
        if officer is not None and matches and officer.disabled:
            await self._audit_refusal(officer, "disabled")
            await self.session.commit()
            return LoginOutcome(None, "disabled")
        if officer is None or not matches:
            return await self._count_failure(name, officer, throttle, moment)
        if throttle is not None:
            await self.session.delete(throttle)
        if _HASHER.check_needs_rehash(officer.password_hash):
            officer.password_hash = await hash_password(password)
        officer.last_login_at = moment
        await append_audit(
            self.session, actor=officer_actor(officer), action="console.login", subject=f"officer:{officer.username}"
        )
        await self.session.commit()
        return LoginOutcome(officer)

    async def _count_failure(
        self, name: str, officer: OfficerAccount | None, throttle: LoginThrottle | None, moment: datetime
    ) -> LoginOutcome:
        locked_until = None
        # Names typed once and never again (scans, typos) do not pile up: forget stale, unlocked counts.
        await self.session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.last_failure_at < moment - _FORGET_FAILURES_AFTER,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < moment),
                LoginThrottle.username != name,
            )
        )
        last_failure = throttle.last_failure_at if throttle is not None else None
        if throttle is not None and last_failure is not None and last_failure < moment - _FORGET_FAILURES_AFTER:
            throttle.failures = 0
        if name:
            if throttle is None:
                throttle = LoginThrottle(username=name, failures=0)
                self.session.add(throttle)
            throttle.failures += 1
            throttle.last_failure_at = moment
            if throttle.failures >= self.settings.max_failed_logins:
                throttle.failures = 0
                throttle.locked_until = locked_until = moment + timedelta(minutes=self.settings.lockout_minutes)
        await self._audit_refusal(officer, "locked" if locked_until else "bad-credentials")
        await self.session.commit()
        if locked_until is not None:
            return LoginOutcome(None, "locked", locked_until)
        return LoginOutcome(None, "bad-credentials")

    async def _audit_refusal(self, officer: OfficerAccount | None, reason: str) -> None:
        # An unknown typed name is not recorded: people sometimes type their password into the username field.
        actor = officer_actor(officer) if officer else "console"
        subject = f"officer:{officer.username}" if officer else "officer:unknown"
        await append_audit(
            self.session, actor=actor, action="console.login_refused", subject=subject, detail={"reason": reason}
        )
