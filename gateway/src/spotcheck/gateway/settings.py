"""Gateway settings, read once from the environment (``SPOTCHECK_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

__all__ = ["Settings", "get_settings"]

_TRUE = {"1", "true", "yes", "on"}

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
"""Standard Webhooks retries after the immediate first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10, 14, 20 and 24 h."""


def _env_schedule(name: str) -> tuple[float, ...]:
    raw = os.environ.get(name)
    if not raw:
        return DEFAULT_RETRY_SCHEDULE
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"{name}: expected comma-separated seconds, got {raw!r}") from None
    if any(v < 0 for v in values):
        raise ValueError(f"{name}: delays cannot be negative")
    return values


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a number, got {raw!r}") from None


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
        worker_lease_s: how long a claimed delivery is held before another worker may take it over.
        worker_batch: deliveries claimed at most per claim (the worker tops up free slots as deliveries finish).
        worker_concurrency: deliveries in flight at once per worker.
        retry_schedule: delays in seconds before each retry (Standard Webhooks schedule by default);
            when they run out the message is dead-lettered.
        retry_jitter: relative random spread applied to each delay (0.2 = ±20 %).
        circuit_failures: consecutive failures after which an endpoint's circuit opens.
        circuit_cooldown_s: first pause of an open circuit (doubling up to an hour).
        endpoint_rate_per_s: deliveries per second at most to any one endpoint.
        http_transport: ``aiohttp`` (default, faster under concurrency) or ``httpx`` connection pool.
        smtp_url: ``smtp://user:password@host:port?security=starttls&from=addr`` for e-mail notices.
        evidence_dir: where evidence files are stored by SHA-256 (default ``<data_dir>/evidence``).
        max_evidence_bytes: largest evidence file an upload may carry (videos of unpacking and sealing).
        checkpoint_interval_s: how often a signed audit checkpoint is due (0 turns periodic checkpoints off).
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
    worker_lease_s: int = 60
    worker_batch: int = 64
    worker_concurrency: int = 32
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    retry_jitter: float = 0.2
    circuit_failures: int = 5
    circuit_cooldown_s: float = 30.0
    endpoint_rate_per_s: float = 50.0
    http_transport: str = "aiohttp"
    smtp_url: str | None = None
    evidence_dir: Path | None = None
    max_evidence_bytes: int = 2 * 1024**3
    checkpoint_interval_s: int = 3600
    log_json: bool = True
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        # Written to refuse NaN and infinity as well: a limiter needs a finite, positive rate.
        if not 0 < self.endpoint_rate_per_s < float("inf"):
            raise ValueError(
                "SPOTCHECK_ENDPOINT_RATE_PER_S: deliveries per second to one endpoint must be a positive number, "
                f"got {self.endpoint_rate_per_s!r}"
            )
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
            worker_lease_s=_env_int("SPOTCHECK_WORKER_LEASE_S", 60, minimum=1),
            worker_batch=_env_int("SPOTCHECK_WORKER_BATCH", 64, minimum=1),
            worker_concurrency=_env_int("SPOTCHECK_WORKER_CONCURRENCY", 32, minimum=1),
            retry_schedule=_env_schedule("SPOTCHECK_RETRY_SCHEDULE"),
            retry_jitter=_env_float("SPOTCHECK_RETRY_JITTER", 0.2),
            circuit_failures=_env_int("SPOTCHECK_CIRCUIT_FAILURES", 5, minimum=1),
            circuit_cooldown_s=_env_float("SPOTCHECK_CIRCUIT_COOLDOWN_S", 30.0),
            endpoint_rate_per_s=_env_float("SPOTCHECK_ENDPOINT_RATE_PER_S", 50.0),
            http_transport=os.environ.get("SPOTCHECK_HTTP_TRANSPORT") or "aiohttp",
            smtp_url=os.environ.get("SPOTCHECK_SMTP_URL") or None,
            evidence_dir=Path(evidence) if (evidence := os.environ.get("SPOTCHECK_EVIDENCE_DIR")) else None,
            max_evidence_bytes=_env_int("SPOTCHECK_MAX_EVIDENCE_BYTES", 2 * 1024**3, minimum=1024),
            checkpoint_interval_s=_env_int("SPOTCHECK_CHECKPOINT_INTERVAL_S", 3600, minimum=0),
            log_json=_env_bool("SPOTCHECK_LOG_JSON", default=True),
            log_level=(os.environ.get("SPOTCHECK_LOG_LEVEL") or "INFO").upper(),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
