"""Gateway settings: one typed, immutable object, read once from ``SPOTCHECK_*`` variables, grouped by concern.

Each setting is declared once, on its field: type, bounds, default, and the environment variable it is read
from (``env("SPOTCHECK_…")``). Values from the environment (:meth:`Settings.from_env`) and changes made in code
(:meth:`Settings.with_changes`) go through the same validation (``msgspec.convert``), so a bad value is refused
at start-up naming the variable, the setting and the reason, e.g.
``SPOTCHECK_WORKER_BATCH (worker.batch): Expected `int` >= 1``. (Building the group Structs directly skips the
bounds, as msgspec constructors do: use those two doors.)

Tests and tools start from the defaults and change what they need, by dotted name::

    Settings().with_changes({"store.data_dir": tmp_path, "worker.run": False})
"""

from __future__ import annotations

import math
import os
import typing
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta

from spotcheck.adapters import available_adapters

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "ConsoleSettings",
    "DeadlineSettings",
    "DeliverySettings",
    "HttpSettings",
    "IntakeSettings",
    "LogSettings",
    "Settings",
    "StoreSettings",
    "WorkerSettings",
    "adapter_url_variable",
    "get_settings",
]

DEFAULT_RETRY_SCHEDULE: Final[tuple[float, ...]] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
"""Standard Webhooks retries after the immediate first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10, 14, 20 and 24 h."""

HttpTransport = Literal["aiohttp", "httpx"]
"""The delivery worker's HTTP connection pool: ``aiohttp`` (faster under concurrency) or ``httpx``."""

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def env(name: str, **bounds: Any) -> Meta:
    """Field metadata: the environment variable a setting is read from, and its bounds (``ge``, ``le``, …)."""
    return Meta(extra={"env": name}, **bounds)


class _Group(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of a group of settings."""


class StoreSettings(_Group, frozen=True, kw_only=True):
    """Where the gateway keeps its data.

    Attributes:
        data_dir: the embedded SQLite database, the master key, the signing key and (by default) evidence files.
        database_url: SQLAlchemy async URL; empty means an SQLite file in ``data_dir`` (WAL mode).
        evidence_dir: where evidence files are stored by SHA-256 (default ``<data_dir>/evidence``).
        max_evidence_bytes: largest evidence file an upload may carry (videos of unpacking and sealing).
    """

    data_dir: Annotated[Path, env("SPOTCHECK_DATA_DIR")] = Path("var")
    database_url: Annotated[str, env("SPOTCHECK_DATABASE_URL")] = ""
    evidence_dir: Annotated[Path | None, env("SPOTCHECK_EVIDENCE_DIR")] = None
    max_evidence_bytes: Annotated[int, env("SPOTCHECK_MAX_EVIDENCE_BYTES", ge=1024)] = 2 * 1024**3

    @property
    def url(self) -> str:
        """The database URL in force: the configured one, or the SQLite file in ``data_dir``."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'spotcheck.db'}"

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is the embedded SQLite engine."""
        return self.url.startswith("sqlite")


class HttpSettings(_Group, frozen=True, kw_only=True):
    """How the gateway is served and reached.

    Attributes:
        host: interface ``spotcheck serve`` binds to.
        port: port ``spotcheck serve`` binds to.
        public_base_url: how platforms and the public reach this gateway (used in notices and feeds).
        max_request_bytes: largest request body any endpoint accepts.
    """

    host: Annotated[str, env("SPOTCHECK_HOST", min_length=1)] = "127.0.0.1"
    port: Annotated[int, env("SPOTCHECK_PORT", ge=1, le=65535)] = 8000
    public_base_url: Annotated[str, env("SPOTCHECK_PUBLIC_BASE_URL", pattern=r"^https?://")] = "http://127.0.0.1:8000"
    max_request_bytes: Annotated[int, env("SPOTCHECK_MAX_REQUEST_BYTES", ge=1024)] = 1_048_576


class WorkerSettings(_Group, frozen=True, kw_only=True):
    """The delivery worker's process settings.

    Attributes:
        run: run the delivery worker and scheduler inside ``spotcheck serve`` (the single-machine default).
        lease_s: how long a claimed delivery is held before another worker may take it over.
        batch: deliveries claimed at most per claim (the worker tops up free slots as deliveries finish).
        concurrency: deliveries in flight at once per worker.
    """

    run: Annotated[bool, env("SPOTCHECK_RUN_WORKER")] = True
    lease_s: Annotated[int, env("SPOTCHECK_WORKER_LEASE_S", ge=1)] = 60
    batch: Annotated[int, env("SPOTCHECK_WORKER_BATCH", ge=1)] = 64
    concurrency: Annotated[int, env("SPOTCHECK_WORKER_CONCURRENCY", ge=1)] = 32


class DeliverySettings(_Group, frozen=True, kw_only=True):
    """How notices are delivered to destinations.

    Attributes:
        allow_private_endpoints: accept loopback/private endpoint URLs (development and tests only); also the
            SSRF check at registration.
        retry_schedule: delays in seconds before each retry (Standard Webhooks schedule by default); when they
            run out the message is dead-lettered. From the environment: comma-separated seconds.
        retry_jitter: relative random spread applied to each delay (0.2 = ±20 %).
        circuit_failures: consecutive failures after which an endpoint's circuit opens.
        circuit_cooldown_s: first pause of an open circuit (doubling up to an hour).
        endpoint_rate_per_s: deliveries per second at most to any one endpoint.
        http_transport: the HTTP connection pool adapters use.
        adapter_urls: the URL that configures an adapter which takes one, by adapter name, read from
            ``SPOTCHECK_<NAME>_URL`` for every installed adapter (:func:`adapter_url_variable`): e.g.
            ``SPOTCHECK_SMTP_URL=smtp://user:password@host:port?security=starttls&from=addr`` for e-mail notices.
    """

    allow_private_endpoints: Annotated[bool, env("SPOTCHECK_ALLOW_PRIVATE_ENDPOINTS")] = False
    retry_schedule: Annotated[tuple[Annotated[float, Meta(ge=0)], ...], env("SPOTCHECK_RETRY_SCHEDULE")] = (
        DEFAULT_RETRY_SCHEDULE
    )
    retry_jitter: Annotated[float, env("SPOTCHECK_RETRY_JITTER", ge=0, le=1)] = 0.2
    circuit_failures: Annotated[int, env("SPOTCHECK_CIRCUIT_FAILURES", ge=1)] = 5
    circuit_cooldown_s: Annotated[float, env("SPOTCHECK_CIRCUIT_COOLDOWN_S", gt=0)] = 30.0
    endpoint_rate_per_s: Annotated[float, env("SPOTCHECK_ENDPOINT_RATE_PER_S", gt=0)] = 50.0
    http_transport: Annotated[HttpTransport, env("SPOTCHECK_HTTP_TRANSPORT")] = "aiohttp"
    adapter_urls: dict[str, str] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        # msgspec's bounds let infinity through; a limiter needs a finite rate.
        if not math.isfinite(self.endpoint_rate_per_s):
            raise ValueError("`endpoint_rate_per_s`: must be a finite number of deliveries per second")


class IntakeSettings(_Group, frozen=True, kw_only=True):
    """The signed intake of platform replies.

    Attributes:
        signature_tolerance_s: how far a reply's ``webhook-timestamp`` may be from now (the replay window).
        max_batch: most replies stored in one shared transaction (the group commit; 1 turns it off).
    """

    signature_tolerance_s: Annotated[int, env("SPOTCHECK_SIGNATURE_TOLERANCE_S", ge=30)] = 300
    max_batch: Annotated[int, env("SPOTCHECK_INTAKE_MAX_BATCH", ge=1, le=1000)] = 128


class DeadlineSettings(_Group, frozen=True, kw_only=True):
    """Legal clocks.

    Attributes:
        calendar_overlay: a working-day overlay file the regulator maintains (holidays, adjusted working days).
        platform_answer_working_days: default answer deadline for platforms' answers to requests.
        order_acknowledge_hours: a stop-sale, delisting or takedown order (立即, 四(二)) is acknowledged within
            this many hours unless the ordering authority set its own.
        order_effect_hours: such an order is reported carried out within this many hours unless the ordering
            authority set its own.
    """

    calendar_overlay: Annotated[Path | None, env("SPOTCHECK_CALENDAR_OVERLAY")] = None
    platform_answer_working_days: Annotated[int, env("SPOTCHECK_PLATFORM_ANSWER_WORKING_DAYS", ge=1, le=30)] = 2
    order_acknowledge_hours: Annotated[int, env("SPOTCHECK_ORDER_ACKNOWLEDGE_HOURS", ge=1, le=72)] = 2
    order_effect_hours: Annotated[int, env("SPOTCHECK_ORDER_EFFECT_HOURS", ge=1, le=168)] = 24


class LogSettings(_Group, frozen=True, kw_only=True):
    """Logging.

    Attributes:
        json: emit JSON logs (default) or human-readable console logs.
        level: minimum log level.
    """

    json: Annotated[bool, env("SPOTCHECK_LOG_JSON")] = True
    level: Annotated[LogLevel, env("SPOTCHECK_LOG_LEVEL")] = "INFO"


class ConsoleSettings(_Group, frozen=True, kw_only=True):
    """The regulator console's sessions and logins.

    Attributes:
        idle_timeout_minutes: a console session unused this long ends (the officer logs in again).
        session_max_hours: a console session ends this long after login, however busy.
        max_failed_logins: consecutive failed logins for one username before it is locked out.
        lockout_minutes: how long a locked-out username is refused, even with the right password.
    """

    idle_timeout_minutes: Annotated[int, env("SPOTCHECK_CONSOLE_IDLE_TIMEOUT_MINUTES", ge=1, le=1440)] = 30
    session_max_hours: Annotated[int, env("SPOTCHECK_CONSOLE_SESSION_MAX_HOURS", ge=1, le=168)] = 12
    max_failed_logins: Annotated[int, env("SPOTCHECK_CONSOLE_MAX_FAILED_LOGINS", ge=1, le=100)] = 5
    lockout_minutes: Annotated[int, env("SPOTCHECK_CONSOLE_LOCKOUT_MINUTES", ge=1, le=1440)] = 15


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the gateway can be told from outside, by concern; immutable once built."""

    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    http: HttpSettings = msgspec.field(default_factory=HttpSettings)
    worker: WorkerSettings = msgspec.field(default_factory=WorkerSettings)
    delivery: DeliverySettings = msgspec.field(default_factory=DeliverySettings)
    intake: IntakeSettings = msgspec.field(default_factory=IntakeSettings)
    deadlines: DeadlineSettings = msgspec.field(default_factory=DeadlineSettings)
    log: LogSettings = msgspec.field(default_factory=LogSettings)
    console: ConsoleSettings = msgspec.field(default_factory=ConsoleSettings)

    def with_changes(self, changes: Mapping[str, object]) -> Settings:
        """A copy with some values replaced, by dotted name (``{"worker.batch": 2}``), validated like the rest."""
        values = msgspec.to_builtins(self, enc_hook=_encode)
        for dotted, value in changes.items():
            group, _, name = dotted.partition(".")
            if group not in values or not name or name not in values[group]:
                raise ValueError(f"{dotted}: no such setting")
            values[group][name] = value
        return _build(values)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``SPOTCHECK_*`` variables; a malformed value raises ValueError naming the variable and the reason."""
        source = os.environ if environ is None else environ
        values: dict[str, dict[str, Any]] = {}
        for group, group_type in _GROUPS.items():
            for name, variable in _env_names(group_type).items():
                raw = source.get(variable)
                if raw is None or raw.strip() == "":
                    continue
                values.setdefault(group, {})[name] = _from_text(raw.strip(), group_type, name)
        urls = {
            adapter: source[variable].strip()
            for adapter in available_adapters()
            if (variable := adapter_url_variable(adapter)) not in _OWN_VARIABLES and source.get(variable, "").strip()
        }
        if urls:
            values.setdefault("delivery", {})["adapter_urls"] = urls
        return _build(values)


def adapter_url_variable(adapter: str) -> str:
    """The environment variable that holds the URL configuring ``adapter`` (``smtp`` → ``SPOTCHECK_SMTP_URL``)."""
    return f"SPOTCHECK_{adapter.replace('-', '_').upper()}_URL"


def _env_names(group_type: type[_Group]) -> dict[str, str]:
    hints = typing.get_type_hints(group_type, include_extras=True)
    return {
        name: meta.extra["env"]
        for name in group_type.__struct_fields__
        for meta in getattr(hints[name], "__metadata__", ())
        if isinstance(meta, Meta) and meta.extra and "env" in meta.extra
    }


_GROUPS: Final[dict[str, type[_Group]]] = {
    name: typing.get_type_hints(Settings)[name] for name in Settings.__struct_fields__
}
_VARIABLES: Final = {
    f"{group}.{name}": variable
    for group, group_type in _GROUPS.items()
    for name, variable in _env_names(group_type).items()
}
"""The environment variable of each setting, by dotted name (errors name both)."""
# The gateway's own variables are never read as an adapter's (an adapter named "database" gets no DSN).
_OWN_VARIABLES: Final = frozenset(_VARIABLES.values())
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def _from_text(raw: str, group_type: type[_Group], name: str) -> object:
    """An environment string in the shape msgspec's lax conversion expects for the field."""
    default = getattr(group_type(), name)
    if isinstance(default, bool):
        lowered = raw.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else raw
    if isinstance(default, tuple):
        return [part.strip() for part in raw.split(",")]
    if group_type is LogSettings and name == "level":
        return raw.upper()  # `info` has always been accepted for INFO
    return raw


def _encode(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    raise NotImplementedError


def _decode(type_: type, value: object) -> object:
    if type_ is Path and isinstance(value, str | os.PathLike):
        return Path(value)
    raise NotImplementedError


def _build(values: Mapping[str, object]) -> Settings:
    try:
        return msgspec.convert(values, Settings, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        reason, _, where = str(exc).rpartition(" - at `")
        where = where.rstrip("`").partition("[")[0]  # a tuple element is reported by its setting
        if reason.startswith("`") and "`: " in reason:  # raised by a group's own check: it names the field
            field, _, reason = reason[1:].partition("`: ")
            where = f"{where}.{field}"
        setting = where.removeprefix("$.")
        variable = _VARIABLES.get(setting)
        raise ValueError(f"{variable} ({setting}): {reason}" if variable else f"{setting}: {reason}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
