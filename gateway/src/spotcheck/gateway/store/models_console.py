"""Tables of the regulator console: officers' accounts, their server-side sessions, login throttling (``0005``).

Officers are people of an authority who log in with a password (Argon2id hash only); API tokens stay for machines.
A console session is kept server-side and found by the SHA-256 of the random id its cookie carries, so a copy of
the table opens no session. Failed logins are counted per typed username, whether or not such an officer exists,
so the lock-out behaves the same for every name and tells nobody which usernames are real.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from spotcheck.gateway.store.models import Base
from spotcheck.gateway.store.types import utcnow

__all__ = ["ConsoleSession", "LoginThrottle", "OfficerAccount"]


class OfficerAccount(Base):
    """A person who works in the console for one authority, with a role that decides their scopes.

    Roles: ``officer`` (read, write), ``supervisor`` (also approves plans), ``admin`` (also manages the registry).
    """

    __tablename__ = "officers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A logged-in browser: found by the SHA-256 of its cookie's random id, ended by logout, idleness or age."""

    __tablename__ = "console_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[str] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class LoginThrottle(Base):
    """Consecutive failed logins for one (normalised) username, and until when that name is locked out."""

    __tablename__ = "console_login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
