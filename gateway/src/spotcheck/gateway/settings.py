"""Gateway settings, read once from the environment (``SPOTCHECK_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

__all__ = ["Settings", "get_settings"]

_TRUE = {"1", "true", "yes", "on"}


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}: expected a boolean (true/false), got {raw!r}")


def _env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the gateway can be told from outside; immutable once built.

    Attributes:
        data_dir: where the embedded SQLite database, the master key and evidence files live.
        database_url: SQLAlchemy async URL; defaults to an SQLite file in ``data_dir`` (WAL mode).
        host: interface ``spotcheck serve`` binds to.
        port: port ``spotcheck serve`` binds to.
        public_base_url: how platforms and the public reach this gateway (used in notices and feeds).
        allow_private_endpoints: accept loopback/private endpoint URLs (development and tests only).
        max_request_bytes: largest request body any endpoint accepts.
        calendar_overlay: extra working-day overlay file the regulator maintains, if any.
        platform_answer_working_days: default SLA for platform answers to takedown and delisting orders.
        signature_tolerance_s: how far a reply's ``webhook-timestamp`` may be from now (replay window).
        run_worker: run the delivery worker inside ``spotcheck serve`` (the single-machine default).
        log_json: emit JSON logs (default) or human-readable console logs.
        log_level: minimum log level.
    """

    data_dir: Path = field(default_factory=lambda: Path("var"))
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    allow_private_endpoints: bool = False
    max_request_bytes: int = 1_048_576
    calendar_overlay: Path | None = None
    platform_answer_working_days: int = 2
    signature_tolerance_s: int = 300
    run_worker: bool = True
    log_json: bool = True
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite+aiosqlite:///{self.data_dir / 'spotcheck.db'}")

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is the embedded SQLite engine."""
        return self.database_url.startswith("sqlite")

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some values replaced (the database URL is re-derived when only ``data_dir`` changes)."""
        if "data_dir" in changes and "database_url" not in changes and self.database_url.endswith("/spotcheck.db"):
            changes["database_url"] = ""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> Settings:
        """Read ``SPOTCHECK_*`` variables; a malformed value raises ValueError naming the variable."""
        overlay = os.environ.get("SPOTCHECK_CALENDAR_OVERLAY")
        return cls(
            data_dir=Path(os.environ.get("SPOTCHECK_DATA_DIR") or "var"),
            database_url=os.environ.get("SPOTCHECK_DATABASE_URL", ""),
            host=os.environ.get("SPOTCHECK_HOST") or "127.0.0.1",
            port=_env_int("SPOTCHECK_PORT", 8000, minimum=1),
            public_base_url=os.environ.get("SPOTCHECK_PUBLIC_BASE_URL") or "http://127.0.0.1:8000",
            allow_private_endpoints=_env_bool("SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS", default=False),
            max_request_bytes=_env_int("SPOTCHECK_MAX_REQUEST_BYTES", 1_048_576, minimum=1024),
            calendar_overlay=Path(overlay) if overlay else None,
            platform_answer_working_days=_env_int("SPOTCHECK_PLATFORM_ANSWER_WORKING_DAYS", 2, minimum=1),
            signature_tolerance_s=_env_int("SPOTCHECK_SIGNATURE_TOLERANCE_S", 300, minimum=30),
            run_worker=_env_bool("SPOTCHECK_RUN_WORKER", default=True),
            log_json=_env_bool("SPOTCHECK_LOG_JSON", default=True),
            log_level=(os.environ.get("SPOTCHECK_LOG_LEVEL") or "INFO").upper(),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
